"""Repair of JSON files cut short: the minimal completion of closing brackets.

Only files the engine found invalid come here, so a character loop in Python is fine.
A file cut inside a string, or right after a key, is not repaired: guessing the rest
of a value would invent data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

CLOSERS = {"{": "}", "[": "]"}


@dataclass(frozen=True)
class Repair:
    text: str | None  # the repaired document, or None when it cannot be repaired
    note: str


def complete_brackets(text: str) -> Repair:
    stack: list[str] = []
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in CLOSERS:
            stack.append(CLOSERS[char])
        elif char in "}]" and (not stack or stack.pop() != char):
            return Repair(None, "brackets do not match")
    if in_string:
        return Repair(None, "cut inside a string")
    if not stack:
        return Repair(None, "not cut short: invalid JSON")
    body = text.rstrip()
    if body.endswith(","):
        body = body[:-1]
    closers = "".join(reversed(stack))
    candidate = body + closers
    try:
        parsed = json.loads(candidate)
    except json.JSONDecodeError as error:
        return Repair(None, f"closing brackets do not make valid JSON ({error.msg})")
    if not isinstance(parsed, dict):
        return Repair(None, "not a JSON object")
    return Repair(candidate, f"repaired: appended {closers}")
