from sluice.entry import main

main()
