"""Hostile folders: entries that are not files, folders that cannot be listed, sluice's own
files inside the input, same-named unreadable files, a file growing while it is read
(docs/reliability.md, "Folders", "sluice's own files", "The quarantine folder", "Files that
change while read").
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import hostile
import pytest
from hostile import environment, is_open_by, tried

from conftest import query, sluice, vote, write_lines

NOT_REGULAR = "not a regular file"
HANG_TIMEOUT = 30  # seconds; only so that a run stuck on a pipe fails instead of hanging
NOT_GZIP = b"\x1f\x8b\x08\x00 this is not gzip data at all" * 20


def run(*args: str, cwd: Path, expect: int | None = 0, unprivileged: bool = False,
        may_hang: bool = False) -> subprocess.CompletedProcess[str]:
    """The CLI; in a real process when it must drop privileges, or when the input could
    make it hang (a FIFO), so that it is killed (and the test failed) if it does."""
    if not (unprivileged or may_hang):
        return sluice(*args, cwd=cwd, expect=expect)
    result = subprocess.run(
        [sys.executable, "-m", "sluice", *args], cwd=cwd, env=environment(),
        capture_output=True, text=True, timeout=HANG_TIMEOUT,
        preexec_fn=drop_permission_override if unprivileged else None)
    if expect is not None:
        assert result.returncode == expect, (result.returncode, result.stdout, result.stderr)
    return result


def rows(db: Path, root: Path) -> dict[str, tuple[str, str]]:
    """Ledger rows by path relative to `root`: (status, note)."""
    found: dict[str, tuple[str, str]] = {}
    for path, status, note in query(db, "SELECT path, status, coalesce(note, '') "
                                        "FROM sluice.files ORDER BY file_id"):
        found[os.path.relpath(path, root)] = (status, note)
    return found


def copies(folder: Path, content: bytes) -> list[Path]:
    """The files under `folder` holding exactly `content` (notes aside)."""
    if not folder.is_dir():
        return []
    return [p for p in folder.rglob("*") if p.is_file() and not p.name.endswith(".why.txt")
            and p.read_bytes() == content]


def ids(db: Path) -> list[int]:
    return [i for (i,) in query(db, "SELECT Id FROM blog_analysis.votes ORDER BY Id")]


# --- entries that are not input files ------------------------------------------------------

ENTRIES = tried(
    "folders", "a folder holding a FIFO, a broken link, a link to a folder, a device, a hidden "
               "file, a hidden folder, README.txt, an empty subfolder beside two vote files",
    "no hang; the votes load; every other entry is in the ledger as skipped with its reason "
    "(not a regular file, hidden, not an input file); exit 0")


def make_device(path: Path) -> None:
    """A character device (like /dev/null) if this process may make one, else a link to
    /dev/null: either way a device entry, not a regular file."""
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        path.symlink_to("/dev/null")


def test_every_entry_of_a_folder_is_loaded_or_skipped_with_a_reason(work: Path) -> None:
    folder = work / "in"
    write_lines(folder / "a.jsonl", [vote(1)])
    write_lines(folder / "sub" / "b.ndjson", [vote(2)])
    write_lines(folder / "README.txt", ["not votes"])
    write_lines(folder / ".hidden.jsonl", [vote(3)])
    write_lines(folder / ".git" / "c.jsonl", [vote(4)])
    write_lines(work / "elsewhere" / "d.jsonl", [vote(5)])
    os.mkfifo(folder / "pipe.jsonl")
    (folder / "dangling.jsonl").symlink_to(work / "nothing-here.jsonl")
    (folder / "linked").symlink_to(work / "elsewhere", target_is_directory=True)
    make_device(folder / "device.jsonl")
    (folder / "empty").mkdir()
    run("votes", "ingest", "in", cwd=work, may_hang=True)
    db = work / "warehouse.db"
    hostile.assert_promises(db)
    found = rows(db, folder.resolve())
    assert ids(db) == [1, 2]
    assert found.pop("a.jsonl")[0] == "loaded"
    assert found.pop(os.path.join("sub", "b.ndjson"))[0] == "loaded"
    hidden_folder = found.pop(".git", None) or found.pop(os.path.join(".git", "c.jsonl"), None)
    expected = {"README.txt": "", ".hidden.jsonl": "hidden", "pipe.jsonl": NOT_REGULAR,
                "dangling.jsonl": NOT_REGULAR, "linked": NOT_REGULAR,
                "device.jsonl": NOT_REGULAR}
    assert {name: status for name, (status, _) in found.items()} == dict.fromkeys(
        expected, "skipped")
    for name, reason in expected.items():
        assert found[name][1] and reason in found[name][1], (name, found[name])
    assert hidden_folder is not None, "the hidden folder (or the file in it) has no row"
    assert hidden_folder[0] == "skipped" and "hidden" in hidden_folder[1], hidden_folder
    hostile.assert_rerun_changes_nothing("votes", "ingest", "in", cwd=work, db=db, expect=0)


NAMED = tried("folders", "a FIFO named directly on the command line; /dev/null named directly",
              "no hang: recorded as skipped, not a regular file; exit 0")


@pytest.mark.parametrize("target", ["fifo", "/dev/null"])
def test_a_fifo_or_device_named_directly_is_skipped(work: Path, target: str) -> None:
    if target == "fifo":
        os.mkfifo(work / "pipe.jsonl")
        target = "pipe.jsonl"
    run("votes", "ingest", target, cwd=work, may_hang=target == "pipe.jsonl")
    db = work / "warehouse.db"
    hostile.assert_promises(db)
    [(status, note)] = query(db, "SELECT status, note FROM sluice.files")
    assert status == "skipped" and NOT_REGULAR in note
    assert query(db, "SELECT status FROM sluice.runs") == [("succeeded",)]


EMPTY = tried("folders", "an empty folder", "a run with no files; it succeeds, exit 0")


def test_an_empty_folder(work: Path) -> None:
    (work / "in").mkdir()
    run("votes", "ingest", "in", cwd=work)
    db = work / "warehouse.db"
    hostile.assert_promises(db)
    assert query(db, "SELECT status, files, records_read FROM sluice.runs") == [
        ("succeeded", 0, 0)]


# --- folders and files that cannot be read -------------------------------------------------

def drop_permission_override() -> None:
    """In the child, before exec: give up root's power to ignore permission bits
    (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), so that a mode of 000 really stops it."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def permission_bits_stop_us(probe: Path) -> bool:
    """Whether a process started with `unprivileged=True` is refused a mode-000 folder."""
    probe.mkdir()
    probe.chmod(0)
    try:
        result = subprocess.run(
            [sys.executable, "-c", f"import os; os.listdir({str(probe)!r})"],
            capture_output=True, text=True, timeout=HANG_TIMEOUT,
            preexec_fn=drop_permission_override if os.geteuid() == 0 else None)
    except subprocess.SubprocessError:
        return False
    finally:
        probe.chmod(0o755)
    return "PermissionError" in result.stderr


UNREADABLE = tried(
    "folders", "a subfolder and a file with mode 000 (as root: run without CAP_DAC_OVERRIDE "
               "and CAP_DAC_READ_SEARCH, so the bits apply)",
    "both recorded as unreadable with their reason; the rest loads; exit 5")


def test_a_folder_that_cannot_be_listed_and_a_file_that_cannot_be_opened(work: Path) -> None:
    if not permission_bits_stop_us(work / "probe"):
        pytest.skip("cannot make a folder unreadable here: running as root and the "
                    "capability bounding set cannot be reduced (no CAP_SETPCAP)")
    folder = work / "in"
    write_lines(folder / "a.jsonl", [vote(1)])
    write_lines(folder / "locked" / "b.jsonl", [vote(2)])
    write_lines(folder / "secret.jsonl", [vote(3)])
    (folder / "locked").chmod(0)
    (folder / "secret.jsonl").chmod(0)
    try:
        run("votes", "ingest", "in", cwd=work, expect=5, unprivileged=True)
    finally:
        (folder / "locked").chmod(0o755)
        (folder / "secret.jsonl").chmod(0o644)
    db = work / "warehouse.db"
    hostile.assert_promises(db)
    found = rows(db, folder.resolve())
    assert {name: status for name, (status, _) in found.items()} == {
        "a.jsonl": "loaded", "locked": "unreadable", "secret.jsonl": "unreadable"}
    assert found["locked"][1] and found["secret.jsonl"][1]
    assert ids(db) == [1]


# --- sluice's own files inside the input ---------------------------------------------------

OWN_FILES = {
    "warehouse.db": tried(
        "folders", "the warehouse, its .wal and its quarantine folder inside the folder "
                   "being ingested (`cd in && sluice votes ingest .`), three runs",
        "never read as input: nothing nests in the quarantine folder, nothing is re-read; "
        "each run keeps one copy of the one unreadable file"),
    "votes.jsonl": tried(
        "folders", "a warehouse named votes.jsonl (an input file name) inside the folder "
                   "being ingested, three runs",
        "never read as input, though its name matches; its quarantine folder neither"),
}


@pytest.mark.parametrize("warehouse", [pytest.param(w, id=t.case)
                                       for w, t in OWN_FILES.items()])
def test_sluices_own_files_are_never_input(work: Path, warehouse: str) -> None:
    folder = work / "in"
    write_lines(folder / "a.jsonl", [vote(1), vote(2)])
    (folder / "bad.jsonl.gz").write_bytes(NOT_GZIP)
    args = ("votes", "ingest", ".", "--warehouse", warehouse)
    db = folder / warehouse
    own = {warehouse, f"{warehouse}.wal", f"{warehouse}.tmp", f"{warehouse}.quarantine"}
    kept = folder / f"{warehouse}.quarantine"
    for number in (1, 2, 3):
        if number == 1:
            run(*args, cwd=folder, expect=5)
            hostile.assert_promises(db)
        else:
            hostile.assert_rerun_changes_nothing(*args, cwd=folder, db=db, expect=5)
        this_run = query(db, "SELECT path, status FROM sluice.files WHERE run_id = "
                             "(SELECT max(run_id) FROM sluice.runs) ORDER BY path")
        statuses = {os.path.relpath(p, folder.resolve()): s for p, s in this_run}
        assert statuses.pop("a.jsonl") == ("loaded" if number == 1 else "skipped")
        assert statuses.pop("bad.jsonl.gz") == "unreadable"
        for name, status in statuses.items():  # at most a skip row for sluice's own files
            assert name.split(os.sep)[0] in own and status == "skipped", (name, status)
        assert ids(db) == [1, 2]
        # One copy and its note per run, right inside run-N/: nothing nests.
        assert sorted(p.name for p in kept.iterdir()) == [f"run-{n}"
                                                          for n in range(1, number + 1)]
        for n in range(1, number + 1):
            inside = sorted(p.relative_to(kept / f"run-{n}") for p in
                            (kept / f"run-{n}").rglob("*"))
            [copy] = copies(kept / f"run-{n}", NOT_GZIP)
            assert inside == [Path(copy.name), Path(f"{copy.name}.why.txt")], inside


TWO_WAREHOUSES = tried("folders", "two warehouses in one folder, each ingesting an unreadable "
                                  "file", "each keeps its copy in its own <file>.quarantine/")


def test_two_warehouses_in_one_folder_keep_their_own_quarantine(work: Path) -> None:
    write_lines(work / "in" / "good.jsonl", [vote(1)])
    (work / "in" / "bad.jsonl.gz").write_bytes(NOT_GZIP)
    for name in ("a.db", "b.db"):
        run("votes", "ingest", "in", "--warehouse", name, cwd=work, expect=5)
        hostile.assert_promises(work / name)
        assert len(copies(work / f"{name}.quarantine" / "run-1", NOT_GZIP)) == 1
    leftovers = {p.name for p in work.iterdir()} - {
        "in", "a.db", "b.db", "a.db.wal", "b.db.wal", "a.db.tmp", "b.db.tmp"}
    assert leftovers == {"a.db.quarantine", "b.db.quarantine"}


SAME_NAME = tried("folders", "two unreadable files with the same name in two subfolders",
                  "both copies kept in the run's quarantine folder")
KEPT_PATH = tried("folders", "an unreadable file in a subfolder of the offered folder",
                  "its copy keeps its path inside the offered folder: run-N/x/bad.jsonl.gz")


def offer_same_names(work: Path) -> tuple[bytes, bytes]:
    first, second = NOT_GZIP, NOT_GZIP + b"another"
    (work / "in" / "x").mkdir(parents=True)
    (work / "in" / "y").mkdir()
    (work / "in" / "x" / "bad.jsonl.gz").write_bytes(first)
    (work / "in" / "y" / "bad.jsonl.gz").write_bytes(second)
    write_lines(work / "in" / "good.jsonl", [vote(1)])
    run("votes", "ingest", "in", cwd=work, expect=5)
    hostile.assert_promises(work / "warehouse.db")
    return first, second


def test_same_named_unreadable_files_are_both_kept(work: Path) -> None:
    first, second = offer_same_names(work)
    db = work / "warehouse.db"
    kept = work / "warehouse.db.quarantine" / "run-1"
    assert len(copies(kept, first)) == 1 and len(copies(kept, second)) == 1
    assert sorted(s for s, _ in rows(db, work / "in").values()) == [
        "loaded", "unreadable", "unreadable"]
    hostile.assert_rerun_changes_nothing("votes", "ingest", "in", cwd=work, db=db, expect=5)


def test_a_copy_keeps_its_path_inside_the_offered_folder(work: Path) -> None:
    first, second = offer_same_names(work)
    kept = work / "warehouse.db.quarantine" / "run-1"
    assert (kept / "x" / "bad.jsonl.gz").read_bytes() == first
    assert (kept / "y" / "bad.jsonl.gz").read_bytes() == second


# --- a file that changes while it is read --------------------------------------------------

GROWING = tried(
    "folders", "a 51 MB file appended to (whole lines, every few ms) from the moment sluice "
               "opens it until the run ends",
    "never a checksum of bytes not read: either skipped as changed while being read (exit 5) "
    "or loaded whole as recorded (size, sha256 and count describe the same bytes); after a "
    "second run every line of the final file is accounted for")


def sized(id: int, size: int) -> bytes:
    """A vote line of exactly `size` bytes with its LF. Lines whose sizes divide the page
    size never straddle a page, so a reader never sees the file end inside a line."""
    line = vote(id, Note="")
    return (line.replace('"Note":""', '"Note":"' + "p" * (size - 1 - len(line)) + '"')
            + "\n").encode()


def test_a_file_growing_while_read_is_never_half_recorded(work: Path) -> None:
    if not Path(f"/proc/{os.getpid()}/fd").is_dir():
        pytest.skip("needs /proc to see when sluice opens the file")
    path = (work / "in" / "grow.jsonl").resolve()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"".join(sized(n, 256) for n in range(1, 200_001)))
    process = subprocess.Popen([sys.executable, "-m", "sluice", "votes", "ingest", str(path)],
                               cwd=work, env=environment(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    appended = 0
    stop = threading.Event()

    def append_until_the_run_ends() -> None:
        nonlocal appended
        with path.open("ab", buffering=0) as stream:
            while process.poll() is None and not stop.is_set():
                stream.write(b"".join(sized(1_000_000 + appended + k, 128) for k in range(32)))
                appended += 32
                time.sleep(0.002)

    try:
        while process.poll() is None and not is_open_by(process.pid, path):
            time.sleep(0.0005)
        assert process.poll() is None, "the run ended before the file was seen open"
        appender = threading.Thread(target=append_until_the_run_ends)
        appender.start()
        code = process.wait(timeout=600)
    finally:
        stop.set()
        if process.poll() is None:
            process.kill()
    appender.join()
    assert appended > 0
    stderr = process.stderr.read() if process.stderr else ""
    db = work / "warehouse.db"
    hostile.assert_promises(db)
    final = path.read_bytes()
    [(status, size, sha256, read, loaded, note, file_id)] = query(
        db, "SELECT status, size, sha256, records_read, loaded, coalesce(note, ''), file_id "
            "FROM sluice.files")
    changed = "changed while being read" in note
    if changed:
        assert code == 5, (code, stderr)
        assert not sha256, f"{status}, {note!r}, yet its checksum is recorded: {sha256}"
        assert (read, loaded) == (0, 0)
        assert query(db, "SELECT count(*) FROM blog_analysis.votes") == [(0,)]
    else:
        assert (status, code) == ("loaded", 0), (status, code, note, stderr)
        recorded = final[:size]
        assert recorded.endswith(b"\n"), "the recorded size ends inside a line"
        assert hashlib.sha256(recorded).hexdigest() == sha256, (
            "the recorded checksum is not of the bytes the recorded size covers")
        assert read == loaded == recorded.count(b"\n"), (read, loaded, recorded.count(b"\n"))
        assert query(db, f"SELECT count(*) FROM blog_analysis.votes WHERE _file_id = {file_id}"
                     ) == [(loaded,)]
    # Nothing appends now: the next run accounts for every line of the final file.
    run("votes", "ingest", str(path), cwd=work)
    hostile.assert_promises(db)
    lines = final.count(b"\n")
    assert lines == 200_000 + appended
    assert query(db, "SELECT count(*), count(DISTINCT Id), min(Id), max(Id) "
                     "FROM blog_analysis.votes") == [
        (lines, lines, 1, 1_000_000 + appended - 1)]
    hostile.assert_rerun_changes_nothing("votes", "ingest", str(path), cwd=work, db=db,
                                         expect=0)
    # Last, the status the decisions give a changed file (docs/reliability.md).
    assert not changed or status == "unreadable", f"a file that changed is {status}"
