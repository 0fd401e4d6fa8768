"""`sluice events load`: drive the service as its real clients do, and time it.

Each client (one per connection) takes the next letter of an English text as its
symbol, opens with a fresh uuid, and follows up with probability 0.2 after a correct
consonant guess and 0.1 after a correct vowel guess (`y` counts as a consonant). Clients
run concurrently on HTTP/1.1 keep-alive connections (asyncio streams, responses parsed
by httptools, the parser uvicorn uses) until the count of requests is sent or the
duration is over. Every request's latency is kept for the percentiles.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid as uuids
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from typing import Any
from urllib.parse import quote, urlsplit

import httptools

VOWELS = frozenset("aeiou")
FOLLOWUP_AFTER_CONSONANT, FOLLOWUP_AFTER_VOWEL = 0.2, 0.1
PERCENTILES = (50, 90, 99)


class LoadError(Exception):
    """The service could not be driven (not reachable, or it closed the connection)."""


def default_text() -> str:
    return (resources.files(__package__) / "text.txt").read_text(encoding="utf-8")


def letters_of(text: str) -> str:
    """The text's letters a-z, lower-cased, in order: the symbols clients send."""
    letters = "".join(c for c in text.lower() if "a" <= c <= "z")
    if not letters:
        raise ValueError("the text has no letters a-z")
    return letters


@dataclass
class LoadResult:
    seconds: float = 0.0
    latencies: dict[str, list[float]] = field(
        default_factory=lambda: {"initial": [], "followup": []})
    statuses: Counter[int] = field(default_factory=Counter)

    @property
    def requests(self) -> int:
        return sum(len(times) for times in self.latencies.values())

    @property
    def errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status != 200)

    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentiles(self, kind: str | None = None) -> dict[str, float]:
        """Latency percentiles in milliseconds (nearest rank), and the maximum."""
        times = sorted(t for k, ts in self.latencies.items() if kind in (None, k) for t in ts)
        if not times:
            return {}
        found = {f"p{p}": times[min(len(times) - 1, -(-len(times) * p // 100) - 1)] * 1000
                 for p in PERCENTILES}
        found["max"] = times[-1] * 1000
        return {name: round(ms, 3) for name, ms in found.items()}

    def as_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "seconds": round(self.seconds, 3),
                "requests_per_second": round(self.rate(), 1),
                "initial": len(self.latencies["initial"]),
                "followup": len(self.latencies["followup"]),
                "errors": self.errors,
                "statuses": {str(s): n for s, n in sorted(self.statuses.items())},
                "latency_ms": self.percentiles(),
                "initial_latency_ms": self.percentiles("initial")}


class _Connection:
    """One keep-alive HTTP/1.1 connection: a request, then its whole response."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 host: str) -> None:
        self.reader, self.writer, self.host = reader, writer, host
        self._body = bytearray()
        self._done = False
        self._parser = httptools.HttpResponseParser(self)

    def on_body(self, body: bytes) -> None:
        self._body += body

    def on_message_complete(self) -> None:
        self._done = True

    async def post(self, target: str) -> tuple[int, str]:
        self.writer.write(f"POST {target} HTTP/1.1\r\nHost: {self.host}\r\n"
                          "Content-Length: 0\r\n\r\n".encode())
        self._body.clear()
        self._done = False
        while not self._done:
            data = await self.reader.read(65536)
            if not data:
                raise LoadError("the service closed the connection")
            self._parser.feed_data(data)
        return self._parser.get_status_code(), self._body.decode("utf-8", "replace")

    def close(self) -> None:
        self.writer.close()


@dataclass
class _Plan:
    letters: str
    count: int | None
    deadline: float | None
    rng: random.Random
    sent: int = 0
    cursor: int = 0

    def take(self) -> bool:
        """Whether another request may be sent (and count it)."""
        if self.count is not None and self.sent >= self.count:
            return False
        if self.deadline is not None and time.perf_counter() >= self.deadline:
            return False
        self.sent += 1
        return True

    def next_symbol(self) -> str:
        symbol = self.letters[self.cursor % len(self.letters)]
        self.cursor += 1
        return symbol


async def _client(host: str, port: int, plan: _Plan, result: LoadResult) -> None:
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError as error:
        raise LoadError(f"cannot connect to {host}:{port}: {error.strerror or error}") from None
    connection = _Connection(reader, writer, f"{host}:{port}")
    try:
        while plan.take():
            symbol = plan.next_symbol()
            uuid = str(uuids.UUID(int=plan.rng.getrandbits(128), version=4))
            started = time.perf_counter()
            status, answer = await connection.post(f"/initial?uuid={quote(uuid)}&symbol={symbol}")
            result.latencies["initial"].append(time.perf_counter() - started)
            result.statuses[status] += 1
            vowel = symbol in VOWELS
            if status != 200 or answer != str(vowel):
                continue
            chance = FOLLOWUP_AFTER_VOWEL if vowel else FOLLOWUP_AFTER_CONSONANT
            if plan.rng.random() < chance and plan.take():
                started = time.perf_counter()
                status, _ = await connection.post(f"/followup?uuid={quote(uuid)}")
                result.latencies["followup"].append(time.perf_counter() - started)
                result.statuses[status] += 1
    finally:
        connection.close()


async def _drive(host: str, port: int, concurrency: int, plan: _Plan,
                 duration: float | None) -> LoadResult:
    result = LoadResult()
    started = time.perf_counter()
    if duration is not None:
        # From the clock the result is measured by: a run asked to last a second is
        # never reported shorter.
        plan.deadline = started + duration
    await asyncio.gather(*(_client(host, port, plan, result) for _ in range(concurrency)))
    result.seconds = time.perf_counter() - started
    return result


def run_load(url: str, count: int | None = None, duration: float | None = None,
             concurrency: int = 1, text: str | None = None, seed: int | None = None
             ) -> LoadResult:
    """Drive the service at `url` until `count` requests are sent or `duration` seconds
    have passed (at least one of them must be given)."""
    if count is None and duration is None:
        raise ValueError("give a count or a duration")
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"{url!r} is not an http://host:port address")
    rng = random.Random(seed)
    letters = letters_of(text if text is not None else default_text())
    plan = _Plan(letters, count, None, rng, cursor=rng.randrange(len(letters)))
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:
        runner = asyncio.run
    return runner(_drive(parts.hostname, parts.port or 80, concurrency, plan,  # type: ignore[no-any-return]
                         duration))
