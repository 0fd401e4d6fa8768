"""Repair of JSON files cut short: the minimal completion of closing brackets.

Only files the engine found invalid come here, so a scan in Python is fine: a regular
expression finds the strings and brackets, at C speed, however large the file. A file
cut inside a string, or right after a key, is not repaired: guessing the rest of a value
would invent data. Nor is one nested deeper than MAX_DEPTH: no advocate export comes
near it, and Python's parser, which checks the completed text, recurses per level.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

CLOSERS = {"{": "}", "[": "]"}
MAX_DEPTH = 512
# A complete string, a bracket, or a quote that opens a string never closed.
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]|"', re.DOTALL)


@dataclass(frozen=True)
class Repair:
    text: str | None  # the repaired document, or None when it cannot be repaired
    note: str


def complete_brackets(text: str) -> Repair:
    stack: list[str] = []
    for token in _TOKEN.finditer(text):
        char = token.group()
        if char == '"':
            return Repair(None, "cut inside a string")
        if char in CLOSERS:
            stack.append(CLOSERS[char])
            if len(stack) > MAX_DEPTH:
                return Repair(None, f"nested more than {MAX_DEPTH} levels deep")
        elif char in "}]" and (not stack or stack.pop() != char):
            return Repair(None, "brackets do not match")
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
    except RecursionError:
        return Repair(None, f"nested more than {MAX_DEPTH} levels deep")
    if not isinstance(parsed, dict):
        return Repair(None, "not a JSON object")
    return Repair(candidate, f"repaired: appended {closers}")
