"""The demo vote generator: realistic shapes, known trouble, same seed same bytes."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from datetime import datetime
from pathlib import Path

from conftest import sluice, sluice_json


def test_same_seed_same_bytes_and_last_line_without_newline(work: Path) -> None:
    sluice("votes", "generate", "a.jsonl", "--votes", "20000", cwd=work)
    sluice("votes", "generate", "b.jsonl", "--votes", "20000", cwd=work)
    sluice("votes", "generate", "c.jsonl", "--votes", "20000", "--seed", "8", cwd=work)
    a, b, c = ((work / n).read_bytes() for n in ("a.jsonl", "b.jsonl", "c.jsonl"))
    assert a == b and a != c
    assert not a.endswith(b"\n")


def test_clean_file_has_realistic_distributions(work: Path) -> None:
    made = sluice_json("votes", "generate", "v.jsonl", "--votes", "200000", "--clean", cwd=work)
    assert made["lines"] == 200_000 and made["duplicates"] == made["broken"] == 0
    votes = [json.loads(line) for line in (work / "v.jsonl").read_text().splitlines()]
    ids = [int(v["Id"]) for v in votes]
    assert ids == sorted(ids) and len(set(ids)) == len(ids) and ids[-1] > len(ids)  # gaps
    types = Counter(v["VoteTypeId"] for v in votes)
    assert 0.72 < types["2"] / len(votes) < 0.78
    assert all(("UserId" in v) == (v["VoteTypeId"] in ("5", "8")) for v in votes)
    assert all(("BountyAmount" in v) == (v["VoteTypeId"] in ("8", "9")) for v in votes)
    weekly = Counter(datetime.fromisoformat(v["CreationDate"]).strftime("%Y-%W")
                     for v in votes)
    assert max(weekly.values()) > 1.5 * statistics.median(weekly.values())
    posts = Counter(v["PostId"] for v in votes)
    top_share = sum(n for _, n in posts.most_common(len(posts) // 100)) / len(votes)
    assert top_share > 0.1  # a few posts draw a large share of votes
