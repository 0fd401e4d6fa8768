"""`sluice events ...`: serve the service, drive it with load, rebuild its dashboards,
load its log into the warehouse, and the report.

Imported by `--help`: Typer and light modules at the top; each verb imports the engine,
the service and the output when it runs (tests/test_cli_startup.py)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sluice.cli_options import JsonOption, WarehouseOption, check_folder_target, pipeline_app
from sluice.errors import UsageError
from sluice.paths import shown
from sluice.pipelines import events
from sluice.pipelines.events.settings import DEFAULT_PREFIX, DEFAULT_SEAL_AFTER

if TYPE_CHECKING:
    from sluice.ledger import RunSummary
    from sluice.pipelines.events.aggregates import RedisAggregates

app = pipeline_app(events.HELP)

LogOption = Annotated[Path, typer.Option(
    "--log", help="The event log's folder (segments of JSON Lines, one set per process).")]
PrefixOption = Annotated[str, typer.Option(
    "--redis-prefix", help="The prefix of the service's keys in Redis.")]
DEFAULT_LOG = Path("events-log")


def _log_folder(log: Path, must_exist: bool) -> Path:
    check_folder_target(log, "--log")
    if must_exist and not log.is_dir():
        raise UsageError(f"--log {shown(log)}: no such folder")
    return log.resolve()


def _redis(url: str, prefix: str) -> RedisAggregates:
    """Redis, checked to answer now: a wrong URL fails at once, not at the first event."""
    from sluice.pipelines.events.aggregates import RedisAggregates, StoreUnavailable

    try:
        aggregates = RedisAggregates(url, prefix)
        aggregates.marks()
    except StoreUnavailable:
        raise UsageError(f"--redis {url}: Redis cannot be reached there") from None
    except ValueError as error:
        raise UsageError(f"--redis {url}: {error}") from None
    return aggregates


@app.command("serve")
def events_serve(
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    host: Annotated[str, typer.Option("--host", help="The address to listen on.")] = "127.0.0.1",
    redis: Annotated[str | None, typer.Option(
        "--redis", metavar="URL",
        help="Keep the dashboards' aggregates in Redis, e.g. redis://127.0.0.1:6379/0 "
             "[default: in this process's memory, one worker]")] = None,
    redis_prefix: PrefixOption = DEFAULT_PREFIX,
    workers: Annotated[int | None, typer.Option(
        "--workers", min=1, help="Server processes [default: 2 with --redis, else 1].")] = None,
    log: LogOption = DEFAULT_LOG,
    warehouse: WarehouseOption = None,
    load_every: Annotated[float, typer.Option(
        "--load-every", min=0, metavar="SECONDS",
        help="Load closed log segments into the warehouse this often (0: only when the "
             "service stops).")] = 60.0,
    seal_after: Annotated[float, typer.Option(
        "--seal-after", min=0.1, metavar="SECONDS",
        help="Close a log segment after this long, so it can be loaded.")] = DEFAULT_SEAL_AFTER,
) -> None:
    """Serve POST /initial, /followup and GET /dashboard/... until Ctrl-C or SIGTERM."""
    from sluice import console
    from sluice.pipelines.events.load import load_segments
    from sluice.pipelines.events.server import Settings, port_in_use, serve
    from sluice.warehouse import Warehouse

    folder = _log_folder(log, must_exist=False)
    count = workers if workers is not None else (2 if redis else 1)
    if count > 1 and not redis:
        raise UsageError("--workers above 1 needs --redis: without it the dashboards live "
                         "in one process's memory")
    if redis:
        _redis(redis, redis_prefix).close()
    if port_in_use(host, port):
        raise UsageError(f"--port {port}: {host}:{port} is in use or cannot be bound")
    with Warehouse(warehouse):
        pass  # a warehouse that cannot be opened fails now, not at the first load

    def load() -> RunSummary | None:
        with Warehouse(warehouse) as wh:
            return load_segments(wh, folder)

    where = f"Redis {redis} ({redis_prefix}*)" if redis else "memory"
    console.out.print(
        f"serving http://{host}:{port} ({count} worker{'s' if count > 1 else ''}, dashboards "
        f"in {where}); log in {shown(folder)}, loaded into the warehouse every "
        f"{load_every:g} s; Ctrl-C stops", markup=False)
    serve(Settings(str(folder), redis, redis_prefix, seal_after), host, port, count,
          load, load_every, _report)
    console.out.print("stopped; every acknowledged event is in the log", markup=False)


def _report(line: str) -> None:
    from sluice import console

    console.err.print(line, markup=False)


@app.command("rebuild")
def events_rebuild(
    redis: Annotated[str, typer.Option(
        "--redis", metavar="URL", help="The Redis whose aggregates to rebuild.")],
    redis_prefix: PrefixOption = DEFAULT_PREFIX,
    log: LogOption = DEFAULT_LOG,
    json: JsonOption = False,
) -> None:
    """Recount the dashboards in Redis from the log alone (stop the service first)."""
    from sluice import console
    from sluice.pipelines.events.aggregates import StoreUnavailable, rebuild
    from sluice.pipelines.events.log import live_writers, recover, segments

    folder = _log_folder(log, must_exist=True)
    writers = live_writers(folder)
    if writers:
        raise UsageError(f"the service is running (process {writers[0]} writes to "
                         f"{shown(folder)}): stop it first; a running service catches "
                         "its dashboards up with the log by itself")
    aggregates = _redis(redis, redis_prefix)
    try:
        recover(folder)
        replayed = rebuild(aggregates, folder)
    except StoreUnavailable as error:
        raise UsageError(f"--redis {redis}: {error}") from None
    finally:
        aggregates.close()
    found = len(segments(folder))
    console.show_summary({"events": replayed, "segments": found, "redis": redis,
                          "prefix": redis_prefix}, json,
                         f"rebuilt the dashboards in {redis} ({redis_prefix}*) from "
                         f"{replayed:,} events in {found:,} segments")


@app.command("load")
def events_load(
    url: Annotated[str, typer.Option("--url", help="The service's address.")] =
        "http://127.0.0.1:8000",
    count: Annotated[int | None, typer.Option(
        "--count", min=1, help="Send this many requests (initial and followup).")] = None,
    duration: Annotated[float | None, typer.Option(
        "--duration", min=0.1, metavar="SECONDS", help="Send requests for this long.")] = None,
    concurrency: Annotated[int, typer.Option(
        "--concurrency", min=1, max=1024,
        help="Clients at once, each on its own connection (1: sequential).")] = 1,
    text: Annotated[Path | None, typer.Option(
        "--text", help="An English text whose letters are the symbols "
                       "[default: a few classic opening paragraphs].")] = None,
    seed: Annotated[int | None, typer.Option(help="Same seed, same requests.")] = None,
    json: JsonOption = False,
) -> None:
    """Drive the service as its clients do; print requests/s and latency percentiles."""
    from sluice import console
    from sluice.pipelines.events.loadgen import LoadError, run_load

    if count is None and duration is None:
        count = 1_000
    letters = None
    if text is not None:
        try:
            letters = text.read_text(encoding="utf-8", errors="replace")
        except OSError as error:
            raise UsageError(f"--text {shown(text)}: {error.strerror or error}") from None
    try:
        result = run_load(url, count, duration, concurrency, letters, seed)
    except ValueError as error:
        raise UsageError(f"{error}") from None
    except LoadError as error:
        raise UsageError(f"--url {url}: {error}") from None
    summary = result.as_dict()
    latency = result.percentiles()
    line = (f"{result.requests:,} requests ({summary['initial']:,} initial, "
            f"{summary['followup']:,} followup) in {result.seconds:.2f} s over {concurrency} "
            f"connection{'s' if concurrency > 1 else ''}: {result.rate():,.0f} requests/s, "
            f"{result.errors:,} errors\nlatency ms: "
            + "  ".join(f"{name} {ms:.2f}" for name, ms in latency.items()))
    console.show_summary(summary, json, line)


@app.command("ingest")
def events_ingest(log: LogOption = DEFAULT_LOG, warehouse: WarehouseOption = None,
                  json: JsonOption = False) -> None:
    """Load the closed log segments the warehouse lacks into events.raw_events now."""
    from sluice import console
    from sluice.lifecycle import check_all_read
    from sluice.pipelines.events.load import load_segments
    from sluice.pipelines.events.log import recover
    from sluice.warehouse import Warehouse

    folder = _log_folder(log, must_exist=True)
    recover(folder)
    with Warehouse(warehouse) as wh, console.progress_bar(not json) as progress:
        run = load_segments(wh, folder, progress)
    if run is None:
        console.show_summary({"run": None}, json,
                             "nothing to load: no closed segment the warehouse lacks")
        return
    console.show_run(run, json)
    check_all_read(run)


@app.command("report")
def events_report(warehouse: WarehouseOption = None, json: JsonOption = False) -> None:
    """Events in the warehouse by kind, and the per-symbol dashboard computed there."""
    from sluice import console
    from sluice.warehouse import Warehouse

    with Warehouse(warehouse, must_exist=True) as wh:
        events.build_models(wh)
        results = {view: view.query(wh) for view in events.PIPELINE.views}
    console.show_views(results, json)
