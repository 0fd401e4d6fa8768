"""`sluice serve`: the dashboard and JSON API over a warehouse, until Ctrl-C or SIGTERM.

Imported by every `--help`: Typer and light modules at the top; the web framework, the
server and the output are imported when the command runs (tests/test_cli_startup.py)."""

from __future__ import annotations

import signal
from typing import Annotated

import typer

from sluice.cli_options import WarehouseOption
from sluice.errors import UsageError

DEFAULT_PORT = 8080


def serve_command(
    port: Annotated[int, typer.Option("--port", min=0, max=65535,
                                      help="The port to listen on (0: any free one).")
                    ] = DEFAULT_PORT,
    host: Annotated[str, typer.Option(
        "--host", help="The address to listen on (0.0.0.0: every interface).")] = "127.0.0.1",
    readers: Annotated[int, typer.Option(
        "--readers", min=1, max=64,
        help="Connections reading the warehouse at once.")] = 4,
    warehouse: WarehouseOption = None,
) -> None:
    """Serve the dashboard and the JSON API (read-only) over the warehouse."""
    import socket

    import uvicorn

    from sluice import console
    from sluice.web.app import create_app
    from sluice.web.readers import Readers

    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                             socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as error:
        listener.close()
        if isinstance(error, socket.gaierror) or error.errno in (99, -2, -3, -5):
            raise UsageError(f"--host {host}: not an address of this machine") from None
        raise UsageError(f"--port {port}: cannot listen on {host}:{port} "
                         f"({error.strerror or 'in use'})") from None
    listener.listen(2048)  # a request made once the address is printed waits for the server
    source = Readers(warehouse, readers=readers,
                     on_wait=lambda message: console.err.print(message, markup=False))
    address = listener.getsockname()
    shown_host = f"[{address[0]}]" if ":" in address[0] else address[0]
    console.out.print(f"serving {source.location if source.postgres else source.path} "
                      f"on http://{shown_host}:{address[1]}/ (API: /api/openapi.json); "
                      "Ctrl-C stops", markup=False)
    server = uvicorn.Server(uvicorn.Config(create_app(source), log_level="warning",
                                           access_log=False, timeout_graceful_shutdown=5))
    # uvicorn takes SIGINT and SIGTERM while it runs and raises them again as it ends;
    # ignored then, so a server stopped as servers are stopped exits 0.
    handlers = {signum: signal.signal(signum, signal.SIG_IGN)
                for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.run(sockets=[listener])
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        listener.close()
