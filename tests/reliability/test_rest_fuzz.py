"""Property-based fuzzing of every REST route in openapi/agent-auth.v1.yaml against a live daemon.

schemathesis turns each operation into a Hypothesis strategy, both schema-conforming (positive) and
schema-violating (negative) requests; each is sent over real HTTP to a daemon on 127.0.0.1 with the
management routes enabled, and every answer must be documented (status, content type, body schema) and
never a 5xx other than the documented 503. Bearers and token fields are drawn from real tokens of several
kinds as well as generated strings, so the fuzz reaches past the signature check. The fast profile runs
in the default suite; the long one under ``-m heavy``.
"""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.daemon import RunningDaemon
from tests.support.openapi import SPEC_PATH, SpecChecker

SCHEMA = schemathesis.openapi.from_path(SPEC_PATH)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
TOKEN_FIELDS = ("token", "refresh_token")
# Not ``positive_data_acceptance``: the spec's schemas give shapes, the daemon also checks meaning (scope
# grammar, family id format, an unexpired refresh token for reissue) and answers those with documented 400s.
CHECKS = [
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]


def _fuzz(start: Any, examples_per_mode: int, *, derandomize: bool) -> tuple[int, SpecChecker]:
    daemon: RunningDaemon = start(management_endpoints_enabled=True)
    manage = daemon.create_family({"agent-auth:manage": "allow", "agent-auth:health": "allow"}, allow_reserved=True)
    victim = daemon.create_family({"things:read": "allow", "things:write": "prompt", "gpg:sign": "deny"})
    real_tokens = [manage.access_token, victim.access_token, victim.refresh_token]
    bearers = st.sampled_from([*real_tokens, "aa_" + "0" * 32 + "_" + "A" * 43, ""])
    checker = SpecChecker()
    sent = 0

    with httpx2.Client(base_url=daemon.url, timeout=15) as http:
        for operation in OPERATIONS:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                positive = mode is GenerationMode.POSITIVE

                @settings(
                    max_examples=examples_per_mode,
                    deadline=None,
                    suppress_health_check=list(HealthCheck),
                    derandomize=derandomize,
                )
                @given(case=operation.as_strategy(generation_mode=mode), bearer=bearers, data=st.data())
                def send(case: Any, bearer: str, data: st.DataObject) -> None:
                    nonlocal sent
                    # Only a positive case may have a token field swapped for a real token: in a negative case
                    # the field may be the very thing that makes it invalid, and a real token would make it
                    # valid while schemathesis still expects a rejection.
                    if isinstance(case.body, dict) and positive:  # noqa: B023 - send() runs in this iteration
                        for name in TOKEN_FIELDS:
                            if name in case.body and data.draw(st.booleans()):
                                case.body[name] = data.draw(st.sampled_from(real_tokens))
                    headers = dict(case.headers or {})
                    if bearer:
                        headers["Authorization"] = f"Bearer {bearer}"
                    # schemathesis builds the request (query, body, media type) and checks the response
                    # against the spec; our own checker adds the 405/404 shapes and the 5xx rule.
                    response = case.call(base_url=daemon.url, headers=headers, timeout=15)
                    sent += 1
                    assert response.status_code < 500 or response.status_code == 503, response.text
                    case.validate_response(response, checks=CHECKS)
                    checker.check(
                        case.method.upper(),
                        case.path,
                        response.status_code,
                        {k.lower(): v[0] if isinstance(v, list) else v for k, v in response.headers.items()},
                        response.content,
                    )

                send()
        # The fuzz must not have broken the daemon: a known-good call still answers as before.
        fresh = daemon.create_family({"things:read": "allow"})
        after = http.post(
            "/agent-auth/v1/validate", json={"token": fresh.access_token, "required_scope": "things:read"}
        )
        assert after.status_code == 200, after.text
    return sent, checker


def test_every_rest_route_answers_fuzzed_requests_as_documented(start_full: Any) -> None:
    """Fast profile: 15 positive and 15 negative examples per operation (11 operations)."""
    sent, checker = _fuzz(start_full, examples_per_mode=15, derandomize=True)  # the default suite is deterministic
    assert sent >= len(OPERATIONS) * 2 * 5
    assert checker.checked == sent


@pytest.mark.heavy
def test_every_rest_route_answers_a_long_fuzz_as_documented(start_full: Any) -> None:
    """Long profile: 300 positive and 300 negative examples per operation."""
    sent, checker = _fuzz(start_full, examples_per_mode=300, derandomize=False)
    assert sent >= len(OPERATIONS) * 2 * 100
    assert checker.checked == sent
