"""The Python runner for sdks/conformance/scenario.json (format described in sdks/conformance/README.md).

Every request goes through the SDK itself (`Client.raw_request` and its auto-pagination), so the
scenario checks the SDK's authentication, error mapping and paging, not just the server.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cybervault_sdk
from cybervault_sdk import CyberVaultError, CyberVaultObject

CONFORMANCE_DIR = Path(__file__).resolve().parents[2] / "conformance"
VAR = re.compile(r"\{\{(\w+)\}\}")

ERROR_TYPES = {
    "authentication": cybervault_sdk.AuthenticationError,
    "permission": cybervault_sdk.PermissionDeniedError,
    "not_found": cybervault_sdk.NotFoundError,
    "invalid_request": cybervault_sdk.InvalidRequestError,
    "conflict": cybervault_sdk.ConflictError,
    "rate_limit": cybervault_sdk.RateLimitError,
    "api": cybervault_sdk.APIError,
    "connection": cybervault_sdk.APIConnectionError,
}


def load(name: str) -> dict[str, Any]:
    return json.loads((CONFORMANCE_DIR / name).read_text(encoding="utf-8"))


class Unresolved(Exception):
    """A step uses a value saved by a step that was skipped."""


def substitute(value: Any, variables: dict[str, str]) -> Any:
    if isinstance(value, str):
        def repl(match: re.Match[str]) -> str:
            if match.group(1) not in variables:
                raise Unresolved(match.group(1))
            return variables[match.group(1)]
        return VAR.sub(repl, value)
    if isinstance(value, list):
        return [substitute(v, variables) for v in value]
    if isinstance(value, dict):
        return {substitute(k, variables): substitute(v, variables) for k, v in value.items()}
    return value


_MISSING = object()


def lookup(document: Any, path: str) -> Any:
    """`a.b.0.c`; `*` maps the rest of the path over a list."""
    parts = path.split(".") if path else []
    current = document
    for i, part in enumerate(parts):
        if part == "*":
            if not isinstance(current, list):
                return _MISSING
            rest = ".".join(parts[i + 1:])
            return [lookup(item, rest) for item in current]
        if isinstance(current, list) and part.isdigit():
            index = int(part)
            current = current[index] if index < len(current) else _MISSING
        elif isinstance(current, dict):
            current = current.get(part, _MISSING)
        else:
            return _MISSING
        if current is _MISSING:
            return _MISSING
    return current


_TYPES = {"string": str, "boolean": bool, "object": dict, "array": list, "null": type(None)}


def matches(actual: Any, expected: Any) -> str | None:
    """None when `actual` satisfies `expected`, else a reason."""
    if isinstance(expected, dict) and len(expected) == 1 and next(iter(expected)).startswith("$"):
        op, arg = next(iter(expected.items()))
        if op == "$exists":
            return None if (actual is not _MISSING) == arg else f"exists={actual is not _MISSING}"
        if actual is _MISSING:
            return "missing"
        checks = {
            "$prefix": lambda: isinstance(actual, str) and actual.startswith(arg),
            "$suffix": lambda: isinstance(actual, str) and actual.endswith(arg),
            "$regex": lambda: isinstance(actual, str) and re.search(arg, actual) is not None,
            "$len": lambda: hasattr(actual, "__len__") and len(actual) == arg,
            "$contains": lambda: isinstance(actual, list) and arg in actual,
            "$in": lambda: actual in arg,
            "$gte": lambda: isinstance(actual, (int, float)) and actual >= arg,
            "$keys": lambda: isinstance(actual, dict) and sorted(actual) == sorted(arg),
            "$type": lambda: (isinstance(actual, (int, float)) and not isinstance(actual, bool)
                              if arg == "number" else
                              isinstance(actual, int) and not isinstance(actual, bool)
                              if arg == "integer" else isinstance(actual, _TYPES[arg])),
        }
        if op not in checks:
            return f"unknown matcher {op}"
        return None if checks[op]() else f"{op} {arg!r} failed for {actual!r}"
    if actual is _MISSING:
        return "missing"
    return None if actual == expected else f"expected {expected!r}, got {actual!r}"


@dataclass
class Report:
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def _route_patterns(paths: Iterable[str]) -> list[re.Pattern[str]]:
    return [re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(p)) + "$") for p in paths]


class ConformanceRunner:
    def __init__(self, base_url: str, keys: dict[str, str], *, published_paths: Iterable[str] | None = None,
                 run_id: str | None = None) -> None:
        self.base_url = base_url
        self.keys = keys
        self.variables: dict[str, str] = {"run_id": run_id or secrets.token_hex(4)}
        self._routes = _route_patterns(published_paths) if published_paths is not None else None
        self._clients: dict[str, cybervault_sdk.Client] = {}

    def _client(self, key_name: str) -> cybervault_sdk.Client:
        if key_name not in self._clients:
            key = self.keys.get(key_name, key_name)
            self._clients[key_name] = cybervault_sdk.Client(api_key=key, base_url=self.base_url, max_retries=2)
        return self._clients[key_name]

    def close(self) -> None:
        for client in self._clients.values():
            client.close()

    def _published(self, path: str) -> bool:
        return self._routes is None or any(p.match(path) for p in self._routes)

    def run(self, scenario: dict[str, Any]) -> Report:
        report = Report()
        for step in scenario["steps"]:
            name = step["name"]
            try:
                resolved = substitute({k: v for k, v in step.items() if k != "save"}, self.variables)
            except Unresolved as missing:
                report.skipped.append(f"{name} (needs {missing} from a skipped step)")
                continue
            if not self._published(resolved["path"]):
                report.skipped.append(f"{name} (server does not publish {resolved['method']} {resolved['path']})")
                continue
            problems = (self._paginate(resolved) if "paginate" in resolved else self._request(resolved, step))
            report.ran.append(name)
            report.failures += [f"{name}: {p}" for p in problems]
        return report

    def _request(self, step: dict[str, Any], raw_step: dict[str, Any]) -> list[str]:
        expect = step.get("expect", {})
        client = self._client(step.get("key", "live"))
        error_type: str | None = None
        try:
            response = client.raw_request(step["method"], step["path"], params=step.get("query"),
                                          json=step.get("body"))
            status, body = response.status_code, response.body
        except CyberVaultError as exc:
            status, body = exc.http_status, exc.body
            error_type = next((name for name, cls in ERROR_TYPES.items() if type(exc) is cls), type(exc).__name__)
        problems: list[str] = []
        if "status" in expect and status != expect["status"]:
            problems.append(f"status {status}, expected {expect['status']} (body {json.dumps(body)[:300]})")
            return problems
        if "error_type" in expect and error_type != expect["error_type"]:
            problems.append(f"SDK error type {error_type}, expected {expect['error_type']}")
        for path, expected in expect.get("fields", {}).items():
            reason = matches(lookup(body, path), expected)
            if reason:
                problems.append(f"field {path}: {reason}")
        for variable, path in raw_step.get("save", {}).items():
            value = lookup(body, path)
            if value is _MISSING:
                problems.append(f"cannot save {variable}: {path} missing")
            else:
                self.variables[variable] = str(value)
        return problems

    def _paginate(self, step: dict[str, Any]) -> list[str]:
        expect = step.get("expect", {})
        client = self._client(step.get("key", "live"))
        params = {**(step.get("query") or {}), "limit": step["paginate"]["limit"]}
        first = client.get_page(step["path"], params, CyberVaultObject)
        pages = list(first.iter_pages())
        ids = [item.id for page in pages for item in page.data]
        problems: list[str] = []
        if "items" in expect and len(ids) != expect["items"]:
            problems.append(f"{len(ids)} items, expected {expect['items']}")
        if "pages" in expect and len(pages) != expect["pages"]:
            problems.append(f"{len(pages)} pages, expected {expect['pages']}")
        if expect.get("unique_ids") and len(set(ids)) != len(ids):
            problems.append("an object appeared twice while paging")
        if expect.get("order") == "id_desc" and ids != sorted(ids, reverse=True):
            problems.append(f"not newest first: {ids}")
        return problems
