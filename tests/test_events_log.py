"""The event log: group commit, nothing acknowledged is lost, even to SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from sluice.pipelines.events.log import (
    OPEN_SUFFIX,
    EventLog,
    read_all,
    read_segment,
    recover,
    segments,
)

WRITER = """
import sys
from pathlib import Path
from sluice.pipelines.events.log import EventLog
log = EventLog(Path(sys.argv[1]))
n = 0
while True:
    n += 1
    event_id = log.write({"kind": "initial", "uuid": f"u{n}", "symbol": "e", "guess": True,
                          "at": "2026-11-25 10:00:00.000000"})
    print(event_id, flush=True)
"""


def event(n: int) -> dict[str, object]:
    return {"kind": "initial", "uuid": f"u{n}", "symbol": "a", "guess": True,
            "at": "2026-11-25 10:00:00.000000"}


def test_every_written_event_is_read_back_with_a_unique_id(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    ids = [log.write(event(n)) for n in range(50)]
    log.close()
    events = list(read_all(tmp_path))
    assert [e["id"] for e in events] == ids and len(set(ids)) == 50
    assert [e["uuid"] for e in events] == [f"u{n}" for n in range(50)]
    assert [p.name.endswith(OPEN_SUFFIX) for p in segments(tmp_path)] == [False]


def test_concurrent_appends_share_fsyncs(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    acknowledged: list[str] = []
    lock = threading.Lock()

    def client(start: int) -> None:
        for n in range(start, start + 300):
            event_id = log.write(event(n))
            with lock:
                acknowledged.append(event_id)

    threads = [threading.Thread(target=client, args=(i * 1000,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.close()
    assert sorted(e["id"] for e in read_all(tmp_path)) == sorted(acknowledged)
    assert len(acknowledged) == 2400
    assert log.fsyncs < len(acknowledged)  # group commit: waiting events share an fsync


def test_segments_rotate_and_every_event_stays(tmp_path: Path) -> None:
    log = EventLog(tmp_path, segment_bytes=2_000)
    for n in range(200):
        log.write(event(n))
    log.close()
    found = segments(tmp_path)
    assert len(found) > 5
    assert [e["uuid"] for e in read_all(tmp_path)] == [f"u{n}" for n in range(200)]


def test_sigkill_loses_no_acknowledged_event(tmp_path: Path) -> None:
    folder = tmp_path / "log"
    process = subprocess.Popen([sys.executable, "-c", WRITER, str(folder)],
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    acknowledged = []
    deadline = time.monotonic() + 60
    while len(acknowledged) < 500 and time.monotonic() < deadline:
        acknowledged.append(process.stdout.readline().strip())
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    acknowledged += [line.strip() for line in process.stdout if line.strip()]
    assert len(acknowledged) >= 500
    [segment] = segments(folder)
    assert segment.name.endswith(OPEN_SUFFIX)  # killed: never closed
    on_disk = {e["id"] for e in read_segment(segment).events}
    assert set(acknowledged) <= on_disk
    # The next server closes what the dead one left: whole events kept, a torn line cut.
    assert recover(folder) == [folder / "closed" / segment.name.removesuffix(OPEN_SUFFIX)]
    after = read_segment(segments(folder)[0])
    assert after.torn is None and {e["id"] for e in after.events} == on_disk


def test_a_torn_last_line_is_reported_not_read(tmp_path: Path) -> None:
    path = tmp_path / f"segment-20260101T000000000000Z-999999999.jsonl{OPEN_SUFFIX}"
    whole = json.dumps({"id": "x:1", **event(1)})
    path.write_text(whole + "\n" + '{"id": "x:2", "kind": "ini', encoding="utf-8")
    read = read_segment(path)
    assert [e["id"] for e in read.events] == ["x:1"] and read.torn is not None
    recover(tmp_path)
    assert [e["id"] for e in read_all(tmp_path)] == ["x:1"]
    assert not any(p.name.endswith(OPEN_SUFFIX) for p in tmp_path.iterdir())


def test_a_live_writers_open_segment_is_left_alone(tmp_path: Path) -> None:
    log = EventLog(tmp_path)
    log.write(event(1))
    assert recover(tmp_path) == []  # this process is writing it
    assert segments(tmp_path)[0].name.endswith(OPEN_SUFFIX)
    log.close()
