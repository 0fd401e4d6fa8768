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
import re
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
    if not looks_like_url(source):
        return shown(Path(source))
    return _PASSWORD.sub(r"\1***@", source)


# The password of a URL's user (scheme://user:password@host), whatever else is wrong
# with the URL: text up to the last @ before the path.
_PASSWORD = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://[^/?#@:]*:)[^/?#]*@")


def looks_like_url(source: str) -> bool:
    """Whether the user meant a URL (any scheme), not a file."""
    return re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", source) is not None


def url_problem(source: str) -> str | None:
    """Why `source` is not a URL that can be fetched (None: it is one)."""
    if not is_url(source):
        return "only http:// and https:// URLs are fetched"
    if any(character.isspace() or ord(character) < 32 or ord(character) == 127
           for character in source):
        return "a URL cannot hold spaces or control characters (write them %-encoded)"
    try:
        parts = urlsplit(source)
        parts.port  # noqa: B018 (raises on a port that is not one)
    except ValueError as error:
        return f"not a valid URL ({error})"
    if not parts.hostname:
        return "the URL names no host"
    return None


@dataclass(frozen=True)
class Response:
    source: str  # the URL or the file's path
    fetched_at: str  # UTC, ISO 8601
    body: bytes
    records: list[dict[str, Any]]
    texts: list[str]  # each record's text as it arrived
    attempts: int = 1


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    timeout: float = 10.0  # seconds per attempt
    first_pause: float = 0.5  # doubled after each failed attempt
    sleep: Callable[[float], None] = time.sleep


def is_url(source: str) -> bool:
    return source.lower().startswith(("http://", "https://"))


def fetch(source: str, policy: RetryPolicy | None = None) -> Response:
    """The response at `source` (a URL, or a file's path), checked."""
    policy = policy or RetryPolicy()
    fetched_at = datetime.now(UTC).isoformat(timespec="microseconds")
    if not looks_like_url(source):
        body = _read_file(Path(source))
        parsed = parse(body, source)
        return Response(source, fetched_at, body, parsed.records, parsed.texts)
    problem = url_problem(source)
    if problem is not None:
        raise FetchError(source, problem)
    body, attempts = _get(source, policy)
    parsed = parse(body, source)
    return Response(source, fetched_at, body, parsed.records, parsed.texts, attempts)


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
    parts = urlsplit(url)
    authorization = None
    if parts.username is not None:
        user = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(user.encode()).decode("ascii")
        host = parts.hostname or ""
        netloc = (f"[{host}]" if ":" in host else host) + (
            f":{parts.port}" if parts.port else "")
        url = urlunsplit(parts._replace(netloc=netloc))
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT,
                                                   "Accept": "application/json"})
    if authorization is not None:
        # Never sent on after a redirect: another host must not get the password.
        request.add_unredirected_header("Authorization", authorization)
    return request


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: the usual pause instead


def _json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a JSON object"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "null"


_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")


@dataclass(frozen=True)
class Parsed:
    records: list[dict[str, Any]]  # each day, parsed
    texts: list[str]  # each day's text exactly as it arrived (line breaks as spaces)


def parse(body: bytes, source: str) -> Parsed:
    """The response's days; a FetchError says how the body is not the expected JSON.

    The array is read one element at a time, so that each day keeps its own text as
    it arrived: a repeated key, a number's digits, NaN (which Python's parser takes and
    JSON does not) are the contract's to judge, not lost in a round trip."""
    text = _text(body, source)
    position = _SPACE.match(text, 0).end()  # type: ignore[union-attr]
    if not text.startswith("[", position):
        raise FetchError(source, _not_an_array(text))
    records: list[dict[str, Any]] = []
    texts: list[str] = []
    position = _SPACE.match(text, position + 1).end()  # type: ignore[union-attr]
    closed = text.startswith("]", position)
    while not closed:
        start = position
        try:
            record, position = _DECODER.raw_decode(text, start)
        except ValueError:
            raise FetchError(source, f"element {len(records) + 1} is not JSON") from None
        except RecursionError:
            raise FetchError(source, f"element {len(records) + 1} nests too deeply") from None
        _check_day(record, len(records) + 1, source)
        records.append(record)
        texts.append(text[start:position].replace("\r", " ").replace("\n", " "))
        position = _SPACE.match(text, position).end()  # type: ignore[union-attr]
        separator = text[position:position + 1]
        if separator not in (",", "]"):
            raise FetchError(source, "the body is not JSON (the array is not closed)")
        closed = separator == "]"
        position = _SPACE.match(text, position + 1).end()  # type: ignore[union-attr]
    if closed and not records:
        position = _SPACE.match(text, position + 1).end()  # type: ignore[union-attr]
    if position != len(text):
        raise FetchError(source, "the body is not JSON (something follows the array)")
    return Parsed(records, texts)


def _text(body: bytes, source: str) -> str:
    encoding = json.detect_encoding(body)
    try:
        return body.decode(encoding)
    except UnicodeDecodeError:
        shown_as = "UTF-8" if encoding.startswith("utf-8") else encoding.upper()
        raise FetchError(source, f"the body is not {shown_as} text") from None


def _not_an_array(text: str) -> str:
    try:
        found = json.loads(text)
    except (ValueError, RecursionError):
        return "the body is not JSON" if text.strip() else "the body is empty"
    return f"expected a JSON array of days, got {_json_kind(found)}"


def _check_day(record: Any, number: int, source: str) -> None:
    if not isinstance(record, dict):
        raise FetchError(source, f"element {number} is not an object")
    missing = [key for key in REQUIRED if key not in record]
    if missing:
        raise FetchError(source, f"element {number} has no {', '.join(missing)}")
