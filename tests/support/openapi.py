"""Check real HTTP responses against the OpenAPI documents in openapi/.

``openapi/agent-auth.v1.yaml`` covers the token service, ``things-bridge.v1.yaml`` and
``gpg-bridge.v1.yaml`` the original bridges' routes; ``spec_for_path`` picks the one a path belongs to.

``SpecChecker.check`` finds the documented response for (method, path, status) and validates the JSON body
against its schema; an undocumented status for a documented operation is a failure. Unknown paths and
wrong methods are checked against the spec's generic 404/405 shapes. Hooked into an httpx2 client, every
response a test sees is checked without the test asking.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import httpx2
import yaml
from jsonschema import Draft202012Validator

SPEC_DIR = Path(__file__).resolve().parents[2] / "openapi"
SPEC_PATH = SPEC_DIR / "agent-auth.v1.yaml"
BRIDGE_SPECS = {"/things-bridge/": "things-bridge.v1.yaml", "/gpg-bridge/": "gpg-bridge.v1.yaml"}


@cache
def load_spec(name: str = SPEC_PATH.name) -> dict[str, Any]:
    data = yaml.safe_load((SPEC_DIR / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def spec_for_path(path: str) -> dict[str, Any]:
    """The document that describes ``path``: a bridge's for its prefix, else the token service's."""
    for prefix, name in BRIDGE_SPECS.items():
        if path.startswith(prefix):
            return load_spec(name)
    return load_spec()


def _template_pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}/]+\})", template)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts) + r"\Z")


class SpecViolation(AssertionError):
    pass


class SpecChecker:
    def __init__(self, spec: dict[str, Any] | None = None) -> None:
        self.spec = spec or load_spec()
        self.checked = 0

    def _validate(self, schema: dict[str, Any], instance: Any, where: str) -> None:
        rooted = {**schema, "components": self.spec["components"]}
        errors = sorted(Draft202012Validator(rooted).iter_errors(instance), key=lambda e: list(e.path))
        if errors:
            raise SpecViolation(f"{where}: {errors[0].message} (body {instance!r:.300})")

    def _resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            target: Any = self.spec
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node

    def path_item(self, path: str) -> dict[str, Any] | None:
        """The spec's entry for ``path``: an exact path first, else a template such as ``/todos/{id}``."""
        item = self.spec["paths"].get(path)
        if item is not None:
            return dict(item)
        for template, candidate in self.spec["paths"].items():
            if "{" in template and _template_pattern(template).match(path):
                return dict(candidate)
        return None

    def check(self, method: str, path: str, status: int, headers: dict[str, str], body: bytes) -> None:
        where = f"{method} {path} → {status}"
        if status >= 500 and status != 503:
            raise SpecViolation(f"{where}: a server error ({body[:200]!r})")
        item = self.path_item(path)
        operation = item.get(method.lower()) if item else None
        if operation is None and method == "HEAD" and item and "get" in item:
            return
        if operation is None:
            generic = {404: "NotFound", 405: "MethodNotAllowed"}.get(status)
            if generic is None:
                raise SpecViolation(f"{where}: an undocumented operation answered {status}")
            if status == 405 and not headers.get("allow"):
                raise SpecViolation(f"{where}: 405 without an Allow header")
            self._validate({"$ref": f"#/components/schemas/{generic}"}, json.loads(body), where)
            self.checked += 1
            return
        documented = operation["responses"].get(str(status))
        if documented is None:
            raise SpecViolation(f"{where}: status {status} is not documented")
        response = self._resolve(documented)
        content = response.get("content", {})
        content_type = headers.get("content-type", "").split(";")[0].strip()
        if content_type not in content:
            raise SpecViolation(f"{where}: content type {content_type!r} is not documented")
        if content_type == "application/json":
            self._validate(content[content_type]["schema"], json.loads(body), where)
        for name, header in response.get("headers", {}).items():
            header = self._resolve(header)
            if name.lower() == "retry-after" and name.lower() not in headers:
                raise SpecViolation(f"{where}: missing {name}")
        self.checked += 1


class RoutingChecker:
    """Checks each response against the document its path belongs to (``spec_for_path``)."""

    def __init__(self) -> None:
        self.checkers: dict[int, SpecChecker] = {}

    @property
    def checked(self) -> int:
        return sum(c.checked for c in self.checkers.values())

    def check(self, method: str, path: str, status: int, headers: dict[str, str], body: bytes) -> None:
        spec = spec_for_path(path)
        checker = self.checkers.setdefault(id(spec), SpecChecker(spec))
        checker.check(method, path, status, headers, body)


def checking_client(
    base_url: str, checker: SpecChecker | RoutingChecker | None = None, **kwargs: Any
) -> httpx2.AsyncClient:
    """An httpx2 client whose every response is checked against the document for its path."""
    spec_checker = checker or RoutingChecker()

    async def on_response(response: httpx2.Response) -> None:
        body = await response.aread()
        request = response.request
        spec_checker.check(request.method, request.url.path, response.status_code, dict(response.headers), body)

    return httpx2.AsyncClient(base_url=base_url, event_hooks={"response": [on_response]}, **kwargs)
