"""Bad input of every shape gets a documented 4xx with a stable code — never a 500."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.daemon import RunningDaemon
from tests.support.openapi import SpecChecker, checking_client

pytestmark = pytest.mark.anyio

JSON_ROUTES = [
    "/agent-auth/v1/validate",
    "/agent-auth/v1/token/refresh",
    "/agent-auth/v1/token/reissue",
]
ONE_MIB = 1024 * 1024


@pytest.mark.parametrize("route", JSON_ROUTES)
@pytest.mark.parametrize(
    "body",
    [b"", b"{", b"not json", b"\xff\xfe", b"[]", b'"token"', b"null", b"42", b'{"token": 1}'],
    ids=["empty", "truncated", "text", "not-utf8", "array", "string", "null", "number", "wrong-type"],
)
async def test_a_body_that_is_not_a_usable_json_object_is_malformed_request(
    shared_daemon: RunningDaemon, route: str, body: bytes
) -> None:
    async with checking_client(shared_daemon.url) as http:
        response = await http.post(route, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"] == "malformed_request"


@pytest.mark.parametrize(
    ("route", "body", "field"),
    [
        ("/agent-auth/v1/validate", {"required_scope": "things:read"}, "token"),
        ("/agent-auth/v1/validate", {"token": "aa_x"}, "required_scope"),
        ("/agent-auth/v1/validate", {"token": ["aa_x"], "required_scope": "things:read"}, "token"),
        ("/agent-auth/v1/validate", {"token": "aa_x", "required_scope": 7}, "required_scope"),
        ("/agent-auth/v1/validate", {"token": "aa_x", "required_scope": "a:b", "description": {}}, "description"),
        ("/agent-auth/v1/token/refresh", {}, "refresh_token"),
        ("/agent-auth/v1/token/refresh", {"refresh_token": True}, "refresh_token"),
        ("/agent-auth/v1/token/reissue", {}, "refresh_token"),
        ("/agent-auth/v1/token/reissue", {"refresh_token": 12}, "refresh_token"),
    ],
)
async def test_a_missing_or_mistyped_field_is_named_in_the_detail(
    shared_daemon: RunningDaemon, route: str, body: dict[str, object], field: str
) -> None:
    async with checking_client(shared_daemon.url) as http:
        response = await http.post(route, json=body)
    assert response.status_code == 400
    assert response.json()["error"] == "malformed_request"
    assert f"'{field}'" in response.json()["detail"]


async def test_an_overlong_token_is_malformed_not_a_server_error(shared_daemon: RunningDaemon) -> None:
    async with checking_client(shared_daemon.url) as http:
        response = await http.post(
            "/agent-auth/v1/validate", json={"token": "aa_" + "a" * 5000, "required_scope": "things:read"}
        )
    assert response.status_code == 400
    assert response.json()["error"] == "malformed_request"


@pytest.mark.parametrize("route", JSON_ROUTES)
async def test_a_body_over_one_mib_is_413(shared_daemon: RunningDaemon, route: str) -> None:
    payload = json.dumps({"token": "x" * (ONE_MIB + 10), "required_scope": "things:read"}).encode()
    async with checking_client(shared_daemon.url, timeout=30) as http:
        response = await http.post(route, content=payload, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"] == "request_too_large"


async def test_a_chunked_body_over_one_mib_is_413(shared_daemon: RunningDaemon) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b" " * (ONE_MIB // 16)

    async def achunks() -> object:
        for chunk in chunks():
            yield chunk

    async with checking_client(shared_daemon.url, timeout=30) as http:
        response = await http.post("/agent-auth/v1/validate", content=achunks())  # type: ignore[arg-type]
    assert response.status_code == 413
    assert response.json()["error"] == "request_too_large"


def test_an_announced_body_over_one_mib_is_refused_before_it_is_sent(shared_daemon: RunningDaemon) -> None:
    """Only the headers go out; a daemon that tried to read the body would never answer."""
    with socket.create_connection(("127.0.0.1", shared_daemon.port), timeout=10) as sock:
        sock.sendall(
            b"POST /agent-auth/v1/validate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {50 * ONE_MIB}\r\n\r\n".encode()
        )
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    status_line = received.split(b"\r\n", 1)[0]
    assert status_line.split()[1] == b"413"


async def test_an_unknown_path_is_a_json_404(shared_daemon: RunningDaemon) -> None:
    async with checking_client(shared_daemon.url) as http:
        responses = [
            await http.get("/nope"),
            await http.post("/agent-auth/v1/validatex", json={}),
            await http.get("/agent-auth/v2/token/status"),
        ]
    assert [r.status_code for r in responses] == [404, 404, 404]
    assert {r.json()["error"] for r in responses} == {"not_found"}


@pytest.mark.parametrize(
    ("method", "route", "allowed"),
    [
        ("GET", "/agent-auth/v1/validate", "POST"),
        ("PUT", "/agent-auth/v1/token/refresh", "POST"),
        ("DELETE", "/agent-auth/v1/token/reissue", "POST"),
        ("POST", "/agent-auth/v1/token/status", "GET"),
        ("POST", "/agent-auth/health", "GET"),
        ("PATCH", "/agent-auth/metrics", "GET"),
    ],
)
async def test_a_wrong_method_is_405_with_allow(
    shared_daemon: RunningDaemon, method: str, route: str, allowed: str
) -> None:
    async with checking_client(shared_daemon.url) as http:
        response = await http.request(method, route)
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"
    assert allowed in response.headers["allow"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
FIELDS = ["token", "required_scope", "description", "refresh_token", "family_id", "scopes", "label"]
bodies = st.one_of(
    json_values,
    st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=4),
    st.binary(max_size=64),
)


def test_random_bodies_on_every_route_get_a_documented_answer(start: object) -> None:
    """Hypothesis posts random JSON (and bytes) to every route; each answer must be in the OpenAPI spec."""
    daemon: RunningDaemon = start(management_endpoints_enabled=True, reissue_by_family_id_enabled=True)  # type: ignore[operator]
    manage = daemon.create_family({"agent-auth:manage": "allow"}, allow_reserved=True)
    victim = daemon.create_family({"things:read": "allow"})
    checker = SpecChecker()
    routes = [
        ("POST", "/agent-auth/v1/validate"),
        ("POST", "/agent-auth/v1/token/refresh"),
        ("POST", "/agent-auth/v1/token/reissue"),
        ("GET", "/agent-auth/v1/token/status"),
        ("GET", "/agent-auth/health"),
        ("POST", "/agent-auth/v1/token/create"),
        ("POST", "/agent-auth/v1/token/modify"),
        ("POST", "/agent-auth/v1/token/revoke"),
        ("POST", "/agent-auth/v1/token/rotate"),
    ]
    tokens = st.sampled_from([manage.access_token, victim.access_token, victim.refresh_token, "aa_x", "-"])

    with httpx2.Client(base_url=daemon.url, timeout=10) as http:

        @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
        @given(route=st.sampled_from(routes), body=bodies, bearer=tokens)
        def post_random(route: tuple[str, str], body: object, bearer: str) -> None:
            method, path = route
            content = body if isinstance(body, bytes) else json.dumps(body).encode()
            response = http.request(
                method,
                path,
                content=content,
                headers={"Authorization": f"Bearer {bearer}", "Content-Type": "application/json"},
            )
            assert response.status_code < 500 or response.status_code == 503, response.text
            checker.check(method, path, response.status_code, dict(response.headers), response.content)

        post_random()
    assert checker.checked >= 150
