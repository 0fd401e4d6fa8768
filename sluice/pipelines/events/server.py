"""`sluice events serve`: the service on uvicorn, one process or several workers.

Each worker has its own log (segments named by its pid); a request is answered once its
event is fsynced there, and counting it is not the worker's work. The process that
starts the server does the housekeeping: first it closes the segments dead processes
left and brings the aggregates level with the log; then, while the service runs, it
counts what the workers log (a look at the open segments every `TAIL_EVERY` seconds, a
full pass every `FULL_CATCH_UP_EVERY`), closes a dead worker's segment, and loads the
closed segments into the warehouse every `load_every` seconds; when the server stops, it
loads what is left. A dashboard request counts whatever is still uncounted itself
before it reads, so a client sees its own writes. Without Redis the aggregates live in
one process's memory, so there is one worker.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from starlette.applications import Starlette

from sluice.errors import user_message
from sluice.ledger import RunSummary
from sluice.pipelines.events.aggregates import (
    DEFAULT_PREFIX,
    Aggregates,
    MemoryAggregates,
    RedisAggregates,
    StoreUnavailable,
    catch_up,
)
from sluice.pipelines.events.log import (
    DEFAULT_SEAL_AFTER,
    EventLog,
    closed_path,
    open_segments,
    recover,
    segment_name,
)
from sluice.pipelines.events.service import EventService, LoggedStore

SETTINGS_VARIABLE = "SLUICE_EVENTS_SETTINGS"  # how workers get their settings
TAIL_EVERY = 0.02  # seconds between looks at the open segments
CATCH_UP_EVERY = 2.0  # while the store is down, how often to try it
FULL_CATCH_UP_EVERY = 30.0


@dataclass(frozen=True)
class Settings:
    log: str
    redis: str | None = None
    prefix: str = DEFAULT_PREFIX
    seal_after: float = DEFAULT_SEAL_AFTER

    def aggregates(self) -> Aggregates:
        if self.redis:
            return RedisAggregates(self.redis, self.prefix)
        return MemoryAggregates()


def build_app(settings: Settings, aggregates: Aggregates, rng: random.Random | None = None
              ) -> Starlette:
    """The service over a log of this process's own, which is closed when it stops."""
    store = LoggedStore(EventLog(Path(settings.log), seal_after=settings.seal_after),
                        aggregates)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        store.close()

    return EventService(store, rng).app(lifespan)


def create_app() -> Starlette:
    """A worker's app (uvicorn imports this by name in each worker process)."""
    settings = Settings(**json.loads(os.environ[SETTINGS_VARIABLE]))
    return build_app(settings, settings.aggregates())


# Loads closed segments into the warehouse; None when there was none to load.
Loader = Callable[[], RunSummary | None]


class Housekeeper:
    """The server's own thread: counts what the workers log (every `TAIL_EVERY` seconds,
    the open segments), closes dead workers' segments, and loads closed segments into
    the warehouse, on a timer, until stopped."""

    def __init__(self, folder: Path, aggregates: Aggregates, loader: Loader | None,
                 load_every: float, report: Callable[[str], None]) -> None:
        self.folder, self.aggregates, self.loader = folder, aggregates, loader
        self.load_every, self.report = load_every, report
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sluice-events-housekeeping",
                                        daemon=True)
        self._store_down = False
        self._open_before: set[str] = set()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def catch_up(self, full: bool = True) -> int:
        """Count what the aggregates lack: in every segment (`full`), or in the open
        ones, those closed since the last look, and those just closed for a dead
        process. A full pass every `FULL_CATCH_UP_EVERY` seconds, right after the store
        was down, and as soon as it lost what it held (a flushed Redis), finds anything
        else."""
        recovered = recover(self.folder)
        paths: list[Path] | None = None
        try:
            full = self.aggregates.lost() or full
        except StoreUnavailable:
            full = True  # counted once it is back, below
        if not full:
            current = open_segments(self.folder)
            names = {segment_name(path) for path in current}
            closed_since = [closed_path(self.folder, name) for name in self._open_before - names]
            self._open_before = names
            paths = current + closed_since + recovered
        try:
            applied = catch_up(self.aggregates, self.folder, paths=paths)
        except StoreUnavailable as error:
            if not self._store_down:
                self.report(f"warning: {error}; events are logged, and counted once it is back")
            self._store_down = True
            return 0
        if self._store_down:
            self.report(f"the dashboard store is back: {applied:,} events caught up")
        self._store_down = False
        return applied

    def load(self) -> RunSummary | None:
        if self.loader is None:
            return None
        try:
            loaded = self.loader()
        except Exception as error:
            self.report(f"error: the warehouse load failed: {user_message(error)}; "
                        "the segments wait for the next load")
            return None
        if loaded is not None:
            segments = loaded.file_count
            self.report(f"warehouse load, run {loaded.run_id}: {loaded.total('loaded'):,} "
                        f"events from {segments:,} segment{'s' if segments != 1 else ''}")
        return loaded

    def _loop(self) -> None:
        started = time.monotonic()
        last = {"full": started, "load": started, "try": started}
        while not self._stop.wait(TAIL_EVERY):
            now = time.monotonic()
            if self._store_down and now - last["try"] < CATCH_UP_EVERY:
                continue  # the store is down: try again every few seconds, not 20 a second
            last["try"] = now
            full = self._store_down or now - last["full"] >= FULL_CATCH_UP_EVERY
            try:
                self.catch_up(full)
                if full:
                    last["full"] = now
            except Exception as error:  # the next round tries again; the log keeps all
                self.report(f"error: counting events failed: {user_message(error)}")
            if self.load_every and now - last["load"] >= self.load_every:
                self.load()
                last["load"] = time.monotonic()


def serve(settings: Settings, host: str, port: int, workers: int, loader: Loader | None,
          load_every: float, report: Callable[[str], None]) -> None:
    """Run the service until it is stopped.

    SIGINT and SIGTERM are how a server is meant to stop: uvicorn takes them while it
    runs (and raises them again as it ends, which is ignored here). Once it has stopped,
    the process's own handlers are back, so a second signal can cut the final load
    short (the load rolls back; the segments wait for the next one)."""
    import uvicorn

    folder = Path(settings.log)
    folder.mkdir(parents=True, exist_ok=True)
    aggregates = settings.aggregates()
    keeper = Housekeeper(folder, aggregates, loader, load_every, report)
    caught_up = keeper.catch_up()
    if caught_up:
        report(f"the dashboards caught up with {caught_up:,} events from the log")
    keeper.start()
    handlers = {signum: signal.signal(signum, signal.SIG_IGN)
                for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        if workers == 1:
            uvicorn.run(build_app(settings, aggregates), host=host, port=port,
                        log_level="warning", access_log=False)
        else:
            os.environ[SETTINGS_VARIABLE] = json.dumps(asdict(settings))
            uvicorn.run(f"{__name__}:create_app", factory=True, host=host, port=port,
                        workers=workers, log_level="warning", access_log=False)
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        keeper.stop()
        keeper.catch_up()
        keeper.load()


@contextmanager
def running(app: Starlette, host: str = "127.0.0.1") -> Iterator[str]:
    """The app served from a thread of this process on a free port, until the block
    ends (the embedded demo); yields its address."""
    import uvicorn

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind((host, 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]},
                              name="sluice-events-server", daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the event service did not start")
            time.sleep(0.01)
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join()
        listener.close()


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False
