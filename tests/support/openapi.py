"""Check real HTTP responses against openapi/agent-auth.v1.yaml.

``SpecChecker.check`` finds the documented response for (method, path, status) and validates the JSON body
against its schema; an undocumented status for a documented operation is a failure. Unknown paths and
wrong methods are checked against the spec's generic 404/405 shapes. Hooked into an httpx2 client, every
response a test sees is checked without the test asking.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import httpx2
import yaml
from jsonschema import Draft202012Validator

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi" / "agent-auth.v1.yaml"


@cache
def load_spec() -> dict[str, Any]:
    data = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


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

    def check(self, method: str, path: str, status: int, headers: dict[str, str], body: bytes) -> None:
        where = f"{method} {path} → {status}"
        if status >= 500 and status != 503:
            raise SpecViolation(f"{where}: a server error ({body[:200]!r})")
        item = self.spec["paths"].get(path)
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


def checking_client(base_url: str, checker: SpecChecker | None = None, **kwargs: Any) -> httpx2.AsyncClient:
    """An httpx2 client whose every response is checked against the spec."""
    spec_checker = checker or SpecChecker()

    async def on_response(response: httpx2.Response) -> None:
        body = await response.aread()
        request = response.request
        spec_checker.check(request.method, request.url.path, response.status_code, dict(response.headers), body)

    return httpx2.AsyncClient(base_url=base_url, event_hooks={"response": [on_response]}, **kwargs)
