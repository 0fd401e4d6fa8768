"""A response of the COVID-19 API (`GET /country/<country>/status/confirmed`), from a URL
or from a file holding one: a JSON array of objects with at least `Date`
(`YYYY-MM-DDT00:00:00Z`) and `Cases` (the cumulative count, a whole number).

Fetching is real HTTP with the standard library's client: each attempt has a timeout; a
5xx answer, a timeout or a connection error is tried again after a growing pause (a
`Retry-After` given in seconds is respected, within reason); a 4xx answer, or a body
that is not the expected JSON, is a clear error at once, since asking again would not
change it. What comes back keeps its identity (the URL or path, and when it was fetched)
and its bytes, so the ledger can record it like a file.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from sluice.paths import shown

REQUIRED = ("Date", "Cases")
USER_AGENT = "sluice (covid ingest)"
MAX_BYTES = 64 << 20  # a response larger than this is not the API's
MAX_RETRY_AFTER = 30.0


class FetchError(Exception):
    """The source could not be read, or did not answer with the expected JSON."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{identity(source)}: {reason}")
        self.reason = reason


def identity(source: str) -> str:
    """What the ledger and every message call a source: its URL without a password,
    or the file."""
    if not is_url(source):
        return shown(Path(source))
    parts = urlsplit(source)
    if parts.password is None:
        return source
    netloc = f"{parts.username}:***@{parts.hostname or ''}" + (
        f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


@dataclass(frozen=True)
class Response:
    source: str  # the URL or the file's path
    fetched_at: str  # UTC, ISO 8601
    body: bytes
    records: list[dict[str, Any]]
    attempts: int = 1


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    timeout: float = 10.0  # seconds per attempt
    first_pause: float = 0.5  # doubled after each failed attempt
    sleep: Callable[[float], None] = time.sleep


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def fetch(source: str, policy: RetryPolicy | None = None) -> Response:
    """The response at `source` (a URL, or a file's path), checked."""
    policy = policy or RetryPolicy()
    fetched_at = datetime.now(UTC).isoformat(timespec="microseconds")
    if not is_url(source):
        body = _read_file(Path(source))
        return Response(source, fetched_at, body, parse(body, source))
    body, attempts = _get(source, policy)
    return Response(source, fetched_at, body, parse(body, source), attempts)


def _read_file(path: Path) -> bytes:
    try:
        if path.stat().st_size > MAX_BYTES:
            raise FetchError(str(path), f"larger than {MAX_BYTES >> 20} MB; not an API response")
        return path.read_bytes()
    except FileNotFoundError:
        raise FetchError(str(path), "no such file") from None
    except IsADirectoryError:
        raise FetchError(str(path), "a folder, not a file") from None
    except OSError as error:
        raise FetchError(str(path), f"{error.strerror or error}") from None


def _get(url: str, policy: RetryPolicy) -> tuple[bytes, int]:
    pause = policy.first_pause
    for attempt in range(1, policy.attempts + 1):
        try:
            return _get_once(url, policy.timeout), attempt
        except _Retryable as failure:
            if attempt == policy.attempts:
                raise FetchError(url, f"{failure} (tried {attempt} times)") from None
            wait = failure.retry_after if failure.retry_after is not None else pause
            policy.sleep(min(wait, MAX_RETRY_AFTER))
            pause *= 2
    raise AssertionError("unreachable")


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


def _get_once(url: str, timeout: float) -> bytes:
    request = _request(url)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            body: bytes = answer.read(MAX_BYTES + 1)
    except urllib.error.HTTPError as error:
        if error.code >= 500:
            raise _Retryable(f"the server answered {error.code} {error.reason}",
                             _retry_after(error.headers.get("Retry-After"))) from None
        raise FetchError(url, f"the server answered {error.code} {error.reason}") from None
    except urllib.error.URLError as error:
        reason = error.reason
        if isinstance(reason, TimeoutError):
            raise _Retryable(f"no answer within {timeout:g} s") from None
        raise _Retryable(f"cannot connect ({getattr(reason, 'strerror', None) or reason})") from None
    except TimeoutError:
        raise _Retryable(f"no answer within {timeout:g} s") from None
    except (ConnectionError, OSError) as error:
        raise _Retryable(f"the connection failed ({error.strerror or error})") from None
    if len(body) > MAX_BYTES:
        raise FetchError(url, f"larger than {MAX_BYTES >> 20} MB; not an API response")
    return body


def _request(url: str) -> urllib.request.Request:
    """A GET for the URL; a user and password in it become Basic authentication, as curl
    does (the standard library's client would take them for part of the host name)."""
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    parts = urlsplit(url)
    if parts.username is not None:
        user = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers["Authorization"] = "Basic " + base64.b64encode(user.encode()).decode("ascii")
        host = parts.hostname or ""
        netloc = (f"[{host}]" if ":" in host else host) + (
            f":{parts.port}" if parts.port else "")
        url = urlunsplit(parts._replace(netloc=netloc))
    return urllib.request.Request(url, headers=headers)


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: the usual pause instead


class JsonObject(dict[str, Any]):
    """A JSON object as it arrived: `pairs` keeps a repeated key's every value, which a
    dict would silently reduce to the last (the contract rejects a repeated field)."""

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__(pairs)
        self.pairs = pairs


class JsonNumber(str):
    """A JSON number that is not an integer, kept as its text: nothing is rounded."""


def _constant(name: str) -> str:
    """NaN and Infinity are not JSON; Python's parser takes them: kept as text, so the
    contract says the value is not a number."""
    return name


def _json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a JSON object"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, JsonNumber | int):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "null"


def parse(body: bytes, source: str) -> list[dict[str, Any]]:
    """The response's records; a FetchError says how the body is not the expected JSON."""
    try:
        found = json.loads(body, object_pairs_hook=JsonObject, parse_float=JsonNumber,
                           parse_constant=_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise FetchError(source, "the body is not JSON") from None
    if not isinstance(found, list):
        raise FetchError(source, f"expected a JSON array of days, got {_json_kind(found)}")
    for number, record in enumerate(found, 1):
        if not isinstance(record, dict):
            raise FetchError(source, f"element {number} is not an object")
        missing = [key for key in REQUIRED if key not in record]
        if missing:
            raise FetchError(source, f"element {number} has no {', '.join(missing)}")
    return found
