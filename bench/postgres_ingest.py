"""Votes ingest into PostgreSQL: sluice against a bare COPY of the same typed rows.

    python bench/postgres_ingest.py [--votes 10000000] [--repeats 3]
        [--server postgresql://postgres@127.0.0.1:5432]

The baseline is the least any loader must do: `COPY blog_analysis.votes FROM STDIN` of
the rows sluice ends up loading (already typed, deduplicated, valid), as CSV, streamed by
psycopg into an empty table of the same definition. sluice reads the raw JSON Lines
file, checks every line against the contract, deduplicates, quarantines, classifies
against the target and loads by COPY, in one transaction. Each measurement is a fresh
process into a fresh database; baseline and sluice alternate within each repeat; medians
are reported, with the sluice process's peak RSS (wait4). Prints Markdown.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
import psycopg
from compiled import compile_sluice
from votes_ingest import generated, measure, median, sluice

BASELINE = """
import sys, psycopg
url, path = sys.argv[1], sys.argv[2]
with psycopg.connect(url) as con:
    con.execute('CREATE SCHEMA blog_analysis')
    con.execute('''CREATE TABLE blog_analysis.votes ("Id" BIGINT NOT NULL,
        "PostId" BIGINT NOT NULL, "VoteTypeId" SMALLINT NOT NULL,
        "CreationDate" TIMESTAMP NOT NULL, "UserId" BIGINT, "BountyAmount" INTEGER,
        _file_id BIGINT NOT NULL, _line BIGINT)''')
    with con.cursor() as cur, cur.copy("COPY blog_analysis.votes FROM STDIN "
                                       "(FORMAT csv, NULL '\\\\N')") as copy, \\
            open(path, 'rb') as stream:
        while chunk := stream.read(1 << 20):
            copy.write(chunk)
"""


def fresh_database(server: str, name: str) -> str:
    """An empty database, after a checkpoint: the WAL an earlier measurement wrote is
    flushed now, not during the next one."""
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
        admin.execute("CHECKPOINT")
    return f"{server}/{name}"


def drop_database(server: str, name: str) -> None:
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def typed_rows(source: Path, work: Path) -> Path:
    """The rows sluice loads from `source`, as CSV: from a sluice run into a DuckDB file."""
    warehouse = work / "typed.db"
    subprocess.run(sluice("votes", "ingest", str(source), "--warehouse", str(warehouse),
                          "--json"), check=True, stdout=subprocess.DEVNULL)
    rows = work / "typed.csv"
    con = duckdb.connect(":memory:")
    con.execute("ATTACH ? AS w (READ_ONLY)", [str(warehouse)])
    con.execute(f"COPY (SELECT * FROM w.blog_analysis.votes) TO '{rows}' "
                "(FORMAT csv, HEADER false, NULLSTR '\\N')")
    con.close()
    warehouse.unlink()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--votes", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    compile_sluice()

    big = generated(args.votes, "votes")
    lines = sum(1 for _ in big.open("rb"))
    work = Path(tempfile.mkdtemp(prefix="sluice-bench-pg-"))
    rows = typed_rows(big, work)
    loaded = sum(1 for _ in rows.open("rb"))
    with psycopg.connect(f"{args.server}/postgres") as con:
        version = con.execute("SHOW server_version").fetchone()
    print(f"file: {big.name}, {big.stat().st_size / 1e9:.2f} GB, {lines:,} lines, "
          f"{loaded:,} rows to load; PostgreSQL {version[0] if version else '?'}; "
          f"{os.cpu_count()} cores; repeats: {args.repeats}\n")

    env = {**os.environ, "SLUICE_QUARANTINE_DIR": str(work / "quarantine")}
    base_t, base_m, sl_t, sl_m = [], [], [], []
    for repeat in range(args.repeats):
        url = fresh_database(args.server, "sluice_bench_base")
        t, m = measure([sys.executable, "-c", BASELINE, url, str(rows)], work)
        base_t.append(t)
        base_m.append(m)
        drop_database(args.server, "sluice_bench_base")
        url = fresh_database(args.server, "sluice_bench")
        t, m = measure(sluice("votes", "ingest", str(big), "--warehouse", url, "--json"),
                       work, env)
        sl_t.append(t)
        sl_m.append(m)
        with psycopg.connect(url) as con:
            count = con.execute("SELECT count(*) FROM blog_analysis.votes").fetchone()
        assert count is not None and count[0] == loaded, (count, loaded)
        if repeat < args.repeats - 1:
            drop_database(args.server, "sluice_bench")
        print(f"repeat {repeat + 1}: bare COPY {base_t[-1]:.2f} s, sluice {sl_t[-1]:.2f} s")

    print("\n| run | median s | rows/s | peak RSS MB |\n|---|---:|---:|---:|")
    print(f"| bare COPY of the typed rows (psycopg, CSV) | {median(base_t):.2f} | "
          f"{loaded / median(base_t):,.0f} | {median(base_m):,.0f} |")
    print(f"| sluice votes ingest into PostgreSQL | {median(sl_t):.2f} | "
          f"{loaded / median(sl_t):,.0f} | {median(sl_m):,.0f} |")
    print(f"\nthroughput ratio sluice / bare COPY: {median(base_t) / median(sl_t):.2f}")

    url = f"{args.server}/sluice_bench"
    again = [measure(sluice("votes", "ingest", str(big), "--warehouse", url, "--json"),
                     work, env)[0] for _ in range(args.repeats)]
    print(f"\nre-ingest of the loaded file (skipped by checksum): median {median(again):.2f} s")
    new_file = generated(100_000, "new", first_id=3 * args.votes + 10)
    incremental = []
    for _ in range(args.repeats):
        incremental.append(measure(sluice("votes", "ingest", str(new_file), "--warehouse",
                                          url, "--json"), work, env)[0])
        with psycopg.connect(url, autocommit=True) as con:  # the next repeat loads it again
            con.execute("DELETE FROM blog_analysis.votes WHERE _file_id = "
                        "(SELECT max(file_id) FROM sluice.files)")
            con.execute("DELETE FROM sluice.quarantine WHERE file_id = "
                        "(SELECT max(file_id) FROM sluice.files)")
            con.execute("DELETE FROM sluice.files WHERE file_id = "
                        "(SELECT max(file_id) FROM sluice.files)")
    print(f"a new 100,000-vote file into the {loaded:,}-row table: median "
          f"{median(incremental):.2f} s")
    drop_database(args.server, "sluice_bench")


if __name__ == "__main__":
    main()
