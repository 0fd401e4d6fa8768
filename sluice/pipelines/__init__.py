"""The pipelines sluice ships, each with the same shape: contract, load, models, verbs."""
