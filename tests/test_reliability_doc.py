"""docs/reliability.md's table of hostile cases is generated from the hostile tests."""

from __future__ import annotations

import hostile


def test_the_reliability_page_lists_every_hostile_case_the_tests_try() -> None:
    cases = hostile.load_cases()
    assert {case.kind for case in cases} >= {"bytes", "lines", "compression", "folders",
                                             "names", "interrupts", "options"}
    assert hostile.DOC.read_text(encoding="utf-8") == hostile.rendered_doc(), (
        "docs/reliability.md is out of date: run `python tests/hostile.py --write`")
