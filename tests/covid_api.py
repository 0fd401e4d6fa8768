"""A COVID-19 API for tests: a local HTTP server that answers as scripted (real HTTP,
on a free port), and days written as the API writes them."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

# A real archived response of the public API (1,142 days; covid19api.com, figures from
# the JHU CSSE COVID-19 Data Repository, CC BY 4.0), shipped so that every machine has it.
ARCHIVE = Path(__file__).parent / "fixtures" / "singapore-confirmed.json"
DAYS = [{"Country": "Singapore", "Cases": n * 10, "Status": "confirmed",
         "Date": f"2020-03-{n:02d}T00:00:00Z"} for n in range(1, 8)]
PATH = "/country/singapore/status/confirmed"


@dataclass
class Answer:
    status: int = 200
    body: bytes = json.dumps(DAYS).encode()
    delay: float = 0.0
    headers: tuple[tuple[str, str], ...] = ()


class ScriptedServer:
    """Answers each request with the next scripted answer (the last one repeats)."""

    def __init__(self) -> None:
        self.script: list[Answer] = [Answer()]
        self.requests: list[str] = []
        self.authorizations: list[str | None] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                server.authorizations.append(self.headers.get("Authorization"))
                answer = server.script.pop(0) if len(server.script) > 1 else server.script[0]
                time.sleep(answer.delay)
                self.send_response(answer.status)
                for name, value in answer.headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            def log_message(self, *args: object) -> None:
                return None

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}{PATH}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    running = ScriptedServer()
    yield running
    running.close()


def day(n: int, cases: Any, **fields: Any) -> dict[str, Any]:
    """Day n after 2020-03-01, as the API writes it."""
    when = date(2020, 3, 1) + timedelta(days=n)
    return {"Country": "Singapore", "CountryCode": "SG", "Province": "", "City": "",
            "Cases": cases, "Status": "confirmed", "Date": f"{when}T00:00:00Z", **fields}


def response(path: Path, days: list[dict[str, Any]], modified: float | None = None) -> str:
    """A saved response; `modified`: when it was saved (seconds since the epoch)."""
    path.write_text(json.dumps(days, indent=2), encoding="utf-8")
    if modified is not None:
        os.utime(path, (modified, modified))
    return str(path)
