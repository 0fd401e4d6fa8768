"""docs/api.md, written from the app's own OpenAPI schema (`python -m sluice.web.apidoc >
docs/api.md`); a test checks that the file is what this prints, so the page cannot drift
from the API."""

from __future__ import annotations

import json
import sys
from typing import Any

INTRO = """# sluice serve: the JSON API

Generated from the OpenAPI schema that `sluice serve` serves at `/api/openapi.json`
(`python -m sluice.web.apidoc > docs/api.md`; `tests/test_serve.py` checks it is up to date).

- Every route is a `GET` and read-only; other methods answer 405.
- Every answer is JSON (`application/json`), except the quarantine export (CSV or JSON Lines).
- Every error is `{"error": "message"}` with its status: 404 for something that does not
  exist or has no data yet, 422 for a parameter that is not valid, 503 when the warehouse
  cannot answer. The message never holds SQL or an engine's own text.
- Lists are paginated: `limit` (1 to 1,000) and `offset`, answered as
  `{"columns": [...], "items": [...], "total": N, "limit": L, "offset": O}`.
- Numbers keep every digit (decimals are JSON numbers); times are ISO 8601 in UTC.
"""


def schema() -> dict[str, Any]:
    """The schema as the app serves it (no warehouse needed to build it)."""
    from fastapi.openapi.utils import get_openapi

    from sluice.web.app import create_app

    app = create_app(None)  # type: ignore[arg-type]  # routes only; never served
    return get_openapi(title=app.title, version=app.version, description=app.description,
                       routes=app.routes)


def markdown(document: dict[str, Any]) -> str:
    lines = [INTRO]
    tags: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            tag = (operation.get("tags") or ["other"])[0]
            tags.setdefault(tag, []).append((method.upper(), path, operation))
    for tag, operations in tags.items():
        lines.append(f"## {tag}\n")
        for method, path, operation in operations:
            lines.append(f"### `{method} {path}`\n")
            lines.append(operation.get("summary", "").strip() + "\n")
            description = operation.get("description", "").strip()
            if description:
                lines.append(description + "\n")
            parameters = operation.get("parameters", [])
            if parameters:
                lines.append("| parameter | in | type | required | description |")
                lines.append("|---|---|---|---|---|")
                for parameter in parameters:
                    lines.append("| {} | {} | {} | {} | {} |".format(
                        f"`{parameter['name']}`", parameter["in"],
                        _type(parameter.get("schema", {}), document),
                        "yes" if parameter.get("required") else "no",
                        _cell(parameter.get("description", ""))))
                lines.append("")
            statuses = ", ".join(sorted(operation.get("responses", {})))
            lines.append(f"Statuses: {statuses}.\n")
    return "\n".join(lines).rstrip() + "\n"


def _type(schema: dict[str, Any], document: dict[str, Any]) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return _type(document["components"]["schemas"][name], document)
    if "anyOf" in schema:
        return " or ".join(_type(s, document) for s in schema["anyOf"])
    if "enum" in schema:
        return " \\| ".join(f"`{value}`" for value in schema["enum"])
    kind = str(schema.get("type", "any"))
    bounds = [f"{word} {schema[key]}" for key, word in (
        ("minimum", "≥"), ("maximum", "≤"), ("minLength", "length ≥"),
        ("maxLength", "length ≤")) if key in schema]
    if "pattern" in schema:
        bounds.append(f"matching `{schema['pattern']}`")
    default = f", default `{json.dumps(schema['default'])}`" if "default" in schema else ""
    return kind + (f" ({', '.join(bounds)})" if bounds else "") + default


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


if __name__ == "__main__":
    sys.stdout.write(markdown(schema()))
