"""Realistic vote files of any size, written by DuckDB (set-based, about a second per
million votes), with a known number of duplicates, conflicts and broken lines.

Shapes follow the Stack Exchange data dump: ids rise with gaps, three quarters of votes
are upvotes (type 2), dates are whole days, a few posts draw most votes, some weeks are
far busier than others, and only favourite and bounty votes carry a UserId.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import BinaryIO

import duckdb

from sluice.staging import sql_string

START = date(2021, 1, 4)  # a Monday
WEEKS = 104
BUSY_WEEK_SHARE = 10  # one week in this many carries several times the usual load

# Share of generated lines of each kind of trouble, in parts per 100,000.
DUPLICATE_PPM = 500
CONFLICT_PPM = 50
BROKEN_PPM = 60
BROKEN_KINDS = ("truncated", "missing_id", "non_integer_id", "bad_date", "not_an_object")


@dataclass(frozen=True)
class GeneratedVotes:
    path: Path
    votes: int
    lines: int
    duplicates: int
    conflicts: int
    broken: int
    invalid_utf8: int

    @property
    def rejected(self) -> int:
        return self.conflicts + self.broken + self.invalid_utf8

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "path": str(self.path)}


def generate_votes(
    path: Path, votes: int, seed: int = 7, dirty: bool = True, first_id: int = 1
) -> GeneratedVotes:
    """Write `votes` distinct votes to `path` as JSON Lines; with `dirty`, add duplicates,
    conflicts and broken lines at the rates above. Ids start near `first_id` and rise
    with gaps. The last line has no newline."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    settings = {"votes": votes, "seed": seed, "weeks": WEEKS, "busy_share": BUSY_WEEK_SHARE,
                "start": START, "duplicate_ppm": DUPLICATE_PPM, "conflict_ppm": CONFLICT_PPM,
                "broken_ppm": BROKEN_PPM, "first_id": first_id}
    for name, value in settings.items():
        con.execute(f"SET VARIABLE {name} = ?", [value])
    con.execute(_VOTES_SQL)
    if dirty and votes:
        con.execute(_TROUBLE_SQL)
    else:
        con.execute("CREATE TEMP TABLE lines AS SELECT i AS ord, 0 AS copy, 'vote' AS kind, "
                    "line FROM votes")
    con.execute(f"COPY (SELECT line FROM lines ORDER BY ord, copy, line) TO {sql_string(str(path))} "
                "(FORMAT csv, HEADER false, QUOTE '', ESCAPE '', DELIMITER '\\0')")
    kinds = dict(con.execute("SELECT kind, count(*) FROM lines GROUP BY kind").fetchall())
    con.close()
    invalid = _finish_file(path, votes, seed) if dirty and votes else _strip_last_newline(path)
    return GeneratedVotes(
        path=path, votes=votes, lines=sum(kinds.values()) + invalid,
        duplicates=kinds.get("duplicate", 0), conflicts=kinds.get("conflict", 0),
        broken=sum(kinds.get(k, 0) for k in BROKEN_KINDS), invalid_utf8=invalid,
    )


def _finish_file(path: Path, votes: int, seed: int) -> int:
    """Insert a few lines that are not UTF-8 (Latin-1 text) before the last line, and
    leave the last line without a newline, as exports cut off by a writer often are."""
    invalid = [
        f'{{"Id":"{9_000_000_000 + seed * 1000 + n}","PostId":"1","VoteTypeId":"2",'
        f'"CreationDate":"2021-01-04T00:00:00.000","Comment":"caf\xe9"}}'.encode("latin-1")
        for n in range(max(1, votes // 250_000))
    ]
    with path.open("rb+") as stream:
        last = _last_line(stream)
        stream.truncate(stream.tell())
        stream.write(b"\n".join(invalid) + b"\n" + last)
    return len(invalid)


def _last_line(stream: BinaryIO) -> bytes:
    """The file's last line; leaves the stream positioned at its start."""
    size = stream.seek(0, io.SEEK_END)
    start = max(0, size - 4096)
    stream.seek(start)
    tail = stream.read()
    body = tail.rstrip(b"\n")
    cut = body.rfind(b"\n") + 1
    stream.seek(start + cut)
    return body[cut:]


def _strip_last_newline(path: Path) -> int:
    with path.open("rb+") as stream:
        size = stream.seek(0, 2)
        if size:
            stream.seek(size - 1)
            if stream.read(1) == b"\n":
                stream.truncate(size - 1)
    return 0


_VOTES_SQL = """
CREATE TEMP TABLE weeks AS
WITH w AS (
    SELECT n AS week,
           CASE WHEN hash(n, getvariable('seed'), 'busy') % getvariable('busy_share') = 0
                THEN 1.6 + (hash(n, getvariable('seed')) % 4) * 0.3
                WHEN n % 52 = 51 THEN 0.5  -- the week around New Year is quiet
                ELSE 1 END
             * (0.93 + (hash(n, getvariable('seed'), 'noise') % 15) / 100.0) AS weight
    FROM range(getvariable('weeks')) t(n)
),
bounds AS (
    SELECT week,
           CAST(floor(getvariable('votes') * (sum(weight) OVER (ORDER BY week) - weight)
                      / sum(weight) OVER ()) AS BIGINT) AS first_vote
    FROM w
)
SELECT week, first_vote,
       lead(first_vote, 1, getvariable('votes')) OVER (ORDER BY week) AS next_first,
       CAST(getvariable('start') AS DATE) + CAST(7 * week AS INTEGER) AS monday
FROM bounds;

CREATE TEMP TABLE votes AS
WITH v AS (
    SELECT i, w.monday, w.first_vote, w.next_first
    FROM range(getvariable('votes')) t(i) ASOF JOIN weeks w ON i >= w.first_vote
),
typed AS (
    SELECT i,
           getvariable('first_id') + i * 3 + hash(i, getvariable('seed'), 'gap') % 3 AS id,
           1 + CAST(floor(pow((hash(i, getvariable('seed'), 'post') % 1000000) / 1e6, 3)
                          * greatest(getvariable('votes') // 4, 1)) AS BIGINT) AS post_id,
           CASE WHEN u < 0.75 THEN 2 WHEN u < 0.87 THEN 3 WHEN u < 0.93 THEN 1
                WHEN u < 0.97 THEN 5 WHEN u < 0.98 THEN 10 WHEN u < 0.99 THEN 8
                WHEN u < 0.995 THEN 9 ELSE 6 END AS vote_type,
           monday + CAST(floor(7 * (i - first_vote) / greatest(next_first - first_vote, 1))
                         AS INTEGER) AS day,
           1 + hash(i, getvariable('seed'), 'user') % 250000 AS user_id,
           [50, 100, 150, 200, 250, 300, 500][CAST(1 + hash(i, getvariable('seed'), 'bounty') % 7 AS BIGINT)] AS bounty
    FROM (SELECT *, (hash(i, getvariable('seed'), 'type') % 1000000) / 1e6 AS u FROM v)
)
SELECT i, id, post_id, vote_type, day, user_id, bounty,
       '{"Id":"' || id || '","PostId":"' || post_id || '","VoteTypeId":"' || vote_type || '"'
       || CASE WHEN vote_type IN (5, 8) THEN ',"UserId":"' || user_id || '"' ELSE '' END
       || ',"CreationDate":"' || strftime(day, '%Y-%m-%dT%H:%M:%S.000') || '"'
       || CASE WHEN vote_type IN (8, 9) THEN ',"BountyAmount":"' || bounty || '"' ELSE '' END
       || '}' AS line
FROM typed;
"""

# Each vote may be followed, a little later in the file, by a trouble line.
_TROUBLE_SQL = """
CREATE TEMP TABLE lines AS
WITH pick AS (
    SELECT *, hash(i, getvariable('seed'), 'trouble') % 100000 AS roll FROM votes
)
SELECT i AS ord, 0 AS copy, 'vote' AS kind, line FROM votes
UNION ALL
SELECT i + 1 + hash(i, getvariable('seed'), 'later') % 1000, 1, 'duplicate', line
FROM pick WHERE roll < getvariable('duplicate_ppm')
UNION ALL
SELECT i + 1 + hash(i, getvariable('seed'), 'later') % 1000, 1, 'conflict',
       replace(line, '"PostId":"' || post_id || '"', '"PostId":"' || (post_id + 1) || '"')
FROM pick WHERE roll >= getvariable('duplicate_ppm') AND roll < getvariable('duplicate_ppm') + getvariable('conflict_ppm')
UNION ALL
SELECT i, 2, kind,
       CASE kind
         WHEN 'truncated' THEN left(line, length(line) // 2)
         WHEN 'missing_id' THEN replace(line, '"Id":"' || id || '",', '')
         WHEN 'non_integer_id' THEN replace(line, '"Id":"' || id || '"', '"Id":"v' || id || '"')
         WHEN 'bad_date' THEN replace(line, strftime(day, '%Y-%m-%d'), strftime(day, '%Y-%d-%m') || 'x')
         ELSE '[' || line || ']'
       END
FROM (
    SELECT *, ['truncated', 'missing_id', 'non_integer_id', 'bad_date', 'not_an_object']
              [CAST(1 + hash(i, getvariable('seed'), 'kind') % 5 AS BIGINT)] AS kind
    FROM pick WHERE roll >= getvariable('duplicate_ppm') + getvariable('conflict_ppm') AND roll < getvariable('duplicate_ppm') + getvariable('conflict_ppm') + getvariable('broken_ppm')
);
"""
