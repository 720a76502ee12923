"""The original things-cli and gpg-cli, by their wire protocol, against a default daemon — for days.

Each test sends the original clients' exact request shapes (``tests.compat.original_wire``) over real
HTTP to a real daemon with the Things and GPG surfaces, real SQLite and real gpg, and applies the
original clients' own decisions to the answers. Every answer is validated against our OpenAPI documents,
and no error code outside the original's lists may reach them (checked by the ``wire`` fixture).
"""

from __future__ import annotations

import base64
import time
from datetime import datetime
from typing import Any

import anyio
import pytest

from tests.compat.original_wire import (
    EXIT_BAD_SIG,
    EXIT_FORBIDDEN,
    EXIT_OK,
    EXIT_UNAUTHORIZED,
    Credentials,
    OriginalCrash,
    Refused,
    Wire,
    gpg_cli_exit,
    gpg_sign,
    gpg_verify,
    refresh,
    status,
    things_get,
    with_retry,
)
from tests.gpg.gpg_support import commit_payload
from tests.integrations.gpg_fixtures import GpgKeys
from tests.support.approvals import admin_subscriber
from tests.support.daemon import RunningDaemon
from tools.things.sample import SampleDatabase

pytestmark = pytest.mark.anyio

HOUR = 3600


def login(daemon: RunningDaemon, scopes: dict[str, str], **ages: Any) -> Credentials:
    """What ``things-cli login`` / the gpg-cli setup store: the pair and the family id."""
    issued = daemon.create_family(scopes, label="original client", **ages)
    return Credentials(issued.access_token, issued.refresh_token, issued.family_id)


def expired_for_hours(daemon: RunningDaemon, scopes: dict[str, str]) -> Credentials:
    """A login from the day before: access (15 min) and refresh (8 h) token both long expired."""
    return login(daemon, scopes, now=time.time() - 9 * HOUR, access_ttl_seconds=900, refresh_ttl_seconds=8 * HOUR)


# --- things-cli ---------------------------------------------------------------------------------------------


def test_every_things_cli_read_with_every_filter_answers_in_the_original_shape(
    daemon: RunningDaemon, wire: Wire, sample: SampleDatabase
) -> None:
    credentials = login(daemon, {"things:read": "allow"})
    ids = sample.ids
    paths = [
        "/todos",
        "/todos?list=TMTodayListSource",
        "/todos?list=TMInboxListSource",
        f"/todos?project={ids['Launch website']}",
        f"/todos?area={ids['area:Work']}",
        "/todos?tag=money",
        "/todos?status=open",
        "/todos?status=completed",
        "/todos?status=canceled",
        f"/todos/{ids['Buy milk']}",
        "/projects",
        f"/projects?area={ids['area:Work']}",
        f"/projects/{ids['Launch website']}",
        "/areas",
        f"/areas/{ids['area:Work']}",
    ]
    answers = {path: with_retry(wire, credentials, things_get(wire, path)) for path in paths}
    assert {path: a.status for path, a in answers.items()} == dict.fromkeys(paths, 200)
    assert answers[f"/todos/{ids['Buy milk']}"].body["todo"]["name"] == "Buy milk"
    assert all("money" in t["tag_names"] for t in answers["/todos?tag=money"].body["todos"])
    assert "Pay rent" in {t["name"] for t in answers["/todos?tag=money"].body["todos"]}
    assert answers["/todos?status=completed"].body["todos"]
    assert "Work" in {a["name"] for a in answers["/areas"].body["areas"]}
    missing = with_retry(wire, credentials, things_get(wire, "/todos/AAAAAAAAAAAAAAAAAAAAAA"))
    assert (missing.status, missing.error) == (404, "not_found")


def test_an_expired_access_token_is_refreshed_and_the_read_retried(daemon: RunningDaemon, wire: Wire) -> None:
    credentials = login(daemon, {"things:read": "allow"}, now=time.time() - 120, access_ttl_seconds=60)
    before = credentials.refresh_token
    answer = with_retry(wire, credentials, things_get(wire, "/areas"))
    assert answer.status == 200
    assert credentials.refresh_token != before  # rotated and "persisted" before the retry


def test_a_reused_refresh_token_revokes_the_family_for_the_original_client(daemon: RunningDaemon, wire: Wire) -> None:
    credentials = login(daemon, {"things:read": "allow"})
    stolen = credentials.refresh_token
    assert refresh(wire, stolen).status == 200
    reused = refresh(wire, stolen)
    assert (reused.status, reused.error) == (401, "refresh_token_reuse_detected")
    after = with_retry(wire, credentials, things_get(wire, "/areas"))
    assert (after.status, after.error) == (401, "unauthorized")  # terminal for things-cli


async def _retry_while_deciding(
    daemon: RunningDaemon, wire: Wire, credentials: Credentials, path: str, decision: str
) -> tuple[Any, dict[str, Any]]:
    """Run the original client's read in a thread (it blocks in reissue) and decide its prompt."""
    outcome: dict[str, Any] = {}

    def client() -> None:
        try:
            outcome["answer"] = with_retry(wire, credentials, things_get(wire, path))
        except (Refused, OriginalCrash) as exc:
            outcome["answer"] = exc

    async with admin_subscriber(daemon.admin_socket) as sub, anyio.create_task_group() as tg:
        tg.start_soon(anyio.to_thread.run_sync, client)
        prompt = await sub.next_event("approval.created")
        await sub.decide(prompt["id"], decision)
    return outcome["answer"], prompt


async def test_after_the_refresh_token_expires_an_approved_family_id_reissue_keeps_things_cli_working(
    daemon: RunningDaemon, wire: Wire
) -> None:
    credentials = expired_for_hours(daemon, {"things:read": "allow"})
    answer, prompt = await _retry_while_deciding(daemon, wire, credentials, "/areas", "approve")
    assert not isinstance(answer, Exception), answer
    assert answer.status == 200
    assert "anyone who knows this family id could have sent it" in prompt["summary"]
    # The next day's work goes on with the reissued pair, without another prompt.
    assert with_retry(wire, credentials, things_get(wire, "/projects")).status == 200


async def test_a_denied_family_id_reissue_is_reissue_denied_not_a_crash(daemon: RunningDaemon, wire: Wire) -> None:
    credentials = expired_for_hours(daemon, {"things:read": "allow"})
    answer, _ = await _retry_while_deciding(daemon, wire, credentials, "/areas", "deny")
    assert isinstance(answer, Refused) and answer.code == "reissue_denied"
    with pytest.raises(Refused) as again:  # cooling down: a refusal the original reports, not a prompt
        with_retry(wire, credentials, things_get(wire, "/areas"))
    assert again.value.code == "rate_limited"
    assert daemon.ctx.broker.pending() == []


@pytest.mark.parametrize(("decision", "expected"), [("approve", (200, "")), ("deny", (403, "scope_denied"))])
async def test_prompt_tier_reads_wait_for_a_person_and_a_refusal_is_scope_denied(
    daemon: RunningDaemon, wire: Wire, decision: str, expected: tuple[int, str]
) -> None:
    credentials = login(daemon, {"things:read": "prompt"})
    outcome: dict[str, Any] = {}

    def client() -> None:
        outcome["answer"] = with_retry(wire, credentials, things_get(wire, "/areas"))

    async with admin_subscriber(daemon.admin_socket) as sub, anyio.create_task_group() as tg:
        tg.start_soon(anyio.to_thread.run_sync, client)
        prompt = await sub.next_event("approval.created")
        assert prompt["scope"] == "things:read"
        await sub.decide(prompt["id"], decision)
    answer = outcome["answer"]
    assert (answer.status, answer.error) == expected


def test_token_status_answers_the_original_fields_and_types(daemon: RunningDaemon, wire: Wire) -> None:
    credentials = login(daemon, {"things:read": "allow"})
    answer = status(wire, credentials.access_token)
    assert answer.status == 200
    body = answer.body
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert expires_at.utcoffset() is not None
    assert abs(expires_at.timestamp() - body["expires_at_unix"]) < 0.001
    assert 895 <= body["expires_in"] <= 900
    assert (body["type"], body["family_id"], body["revoked"]) == ("access", credentials.family_id, False)
    assert body["scopes"] == {"things:read": "allow"}


# --- gpg-cli --------------------------------------------------------------------------------------------------


def test_git_signing_and_verification_through_the_original_gpg_cli_wire(
    daemon: RunningDaemon, wire: Wire, keys: GpgKeys
) -> None:
    signer = login(daemon, {"gpg:sign": "allow"})  # an original-style token: no gpg:verify
    payload = commit_payload("Add the widget")
    signed = with_retry(wire, signer, gpg_sign(wire, keys.alice, payload))
    assert (signed.status, signed.body["resolved_key_fingerprint"]) == (200, keys.alice)
    assert "[GNUPG:] SIG_CREATED " in signed.body["status_text"]
    signature = signed.body["signature_b64"]
    raw_signature = base64.b64decode(signature)
    good = with_retry(wire, signer, gpg_verify(wire, raw_signature, payload))
    tampered = with_retry(wire, signer, gpg_verify(wire, raw_signature, payload.replace(b"widget", b"gadget")))
    assert (gpg_cli_exit(good), good.body["exit_code"]) == (EXIT_OK, 0)
    assert "[GNUPG:] GOODSIG " in good.body["status_text"]
    assert (gpg_cli_exit(tampered), tampered.error) == (EXIT_BAD_SIG, "bad_signature")


async def test_verifying_with_a_prompt_tier_signing_token_asks_for_gpg_verify_not_gpg_sign(
    daemon: RunningDaemon, wire: Wire, keys: GpgKeys
) -> None:
    """A person's "approve for N minutes" on a verify prompt must not become a signing grant."""
    signer = login(daemon, {"gpg:sign": "prompt"})
    payload = commit_payload("Grant check")
    outcome: dict[str, Any] = {}

    def client() -> None:
        outcome["answer"] = with_retry(wire, signer, gpg_verify(wire, b"not a signature", payload))

    async with admin_subscriber(daemon.admin_socket) as sub, anyio.create_task_group() as tg:
        tg.start_soon(anyio.to_thread.run_sync, client)
        prompt = await sub.next_event("approval.created")
        await sub.decide(prompt["id"], "approve", grant="timed", duration_minutes=5)
    assert prompt["scope"] == "gpg:verify"
    assert outcome["answer"].error == "bad_signature"
    grants = {(g["family_id"], g["scope"]) for g in daemon.ctx.broker.grants()}
    assert grants == {(signer.family_id, "gpg:verify")}


def test_a_verify_only_token_stays_verify_only(daemon: RunningDaemon, wire: Wire, keys: GpgKeys) -> None:
    verifier = login(daemon, {"gpg:verify": "allow"})
    refused = with_retry(wire, verifier, gpg_sign(wire, keys.alice, commit_payload()))
    assert (gpg_cli_exit(refused), refused.error) == (EXIT_FORBIDDEN, "scope_denied")
    explicit_deny = login(daemon, {"gpg:sign": "allow", "gpg:verify": "deny"})
    denied = with_retry(wire, explicit_deny, gpg_verify(wire, b"sig", commit_payload()))
    assert (denied.status, denied.error) == (403, "scope_denied")


@pytest.mark.parametrize(
    ("key", "payload", "rule"),
    [
        ("short", commit_payload(), "full fingerprint"),
        ("alice@example.org", commit_payload(), "full fingerprint of an allowed key"),
        ("mallory", commit_payload(), "not on the signing allowlist"),
        ("alice", b"just some bytes\n", "not a git commit"),
    ],
    ids=["short-key-id", "e-mail-only", "not-allowlisted", "not-a-git-object"],
)
def test_key_policy_refusals_are_refusals_the_original_gpg_cli_reports_as_such(
    daemon: RunningDaemon, wire: Wire, keys: GpgKeys, key: str, payload: bytes, rule: str
) -> None:
    named = {"short": keys.alice[-8:], "mallory": keys.mallory, "alice": keys.alice}.get(key, key)
    signer = login(daemon, {"gpg:sign": "allow"})
    answer = with_retry(wire, signer, gpg_sign(wire, named, payload))
    assert (answer.status, answer.error, gpg_cli_exit(answer)) == (403, "key_not_allowed", EXIT_FORBIDDEN)
    assert rule in answer.body["detail"]


def test_the_original_gpg_cli_without_a_token_is_unauthorized(daemon: RunningDaemon, wire: Wire, keys: GpgKeys) -> None:
    answer = wire.request("POST", "/gpg-bridge/v1/sign", body={"local_user": keys.alice, "payload_b64": ""})
    assert (answer.status, answer.error, gpg_cli_exit(answer)) == (401, "unauthorized", EXIT_UNAUTHORIZED)


async def test_git_signing_after_the_refresh_token_expired_goes_to_approval(
    daemon: RunningDaemon, wire: Wire, keys: GpgKeys
) -> None:
    signer = expired_for_hours(daemon, {"gpg:sign": "allow"})
    outcome: dict[str, Any] = {}

    def client() -> None:
        outcome["answer"] = with_retry(wire, signer, gpg_sign(wire, keys.alice, commit_payload()))

    async with admin_subscriber(daemon.admin_socket) as sub, anyio.create_task_group() as tg:
        tg.start_soon(anyio.to_thread.run_sync, client)
        prompt = await sub.next_event("approval.created")
        assert prompt["scope"] == "agent-auth:reissue"
        await sub.decide(prompt["id"], "approve")
    assert gpg_cli_exit(outcome["answer"]) == EXIT_OK


# --- bridge health and metrics ----------------------------------------------------------------------------------


@pytest.mark.parametrize("bridge", ["things-bridge", "gpg-bridge"])
def test_bridge_health_needs_no_token_and_metrics_need_their_scope(
    daemon: RunningDaemon, wire: Wire, bridge: str
) -> None:
    health = wire.request("GET", f"/{bridge}/health")
    reader_probe = login(daemon, {"things:read": "allow"})
    with_token = wire.request("GET", f"/{bridge}/health", bearer=reader_probe.access_token)  # as the original sends
    anonymous = wire.request("GET", f"/{bridge}/metrics")
    reader = login(daemon, {"things:read": "allow"})
    lacking = wire.request("GET", f"/{bridge}/metrics", bearer=reader.access_token)
    scraper = login(daemon, {f"{bridge}:metrics": "allow"})
    scraped = wire.request("GET", f"/{bridge}/metrics", bearer=scraper.access_token)
    assert (health.status, health.body) == (200, {"status": "ok"})
    assert (with_token.status, with_token.body) == (200, {"status": "ok"})
    assert (anonymous.status, anonymous.error) == (401, "unauthorized")
    assert (lacking.status, lacking.error) == (403, "scope_denied")
    assert scraped.status == 200 and "agent_auth_" in scraped.body


# --- the management routes --------------------------------------------------------------------------------------


def test_the_management_routes_speak_the_original_shapes(managed_daemon: RunningDaemon) -> None:
    wire = Wire(managed_daemon.url)
    manager = managed_daemon.create_family({"agent-auth:manage": "allow"}, allow_reserved=True).access_token

    def post(path: str, body: dict[str, Any]) -> Any:
        return wire.request("POST", f"/agent-auth/v1/token/{path}", body=body, bearer=manager)

    created = post("create", {"scopes": {"things:read": "allow"}})
    assert created.status == 200 and created.body["expires_in"] == 900
    family_id = created.body["family_id"]
    listed = wire.request("GET", "/agent-auth/v1/token/list", bearer=manager)
    [item] = [f for f in listed.body if f["id"] == family_id]
    assert item["scopes"] == {"things:read": "allow"} and item["revoked"] is False
    modified = post("modify", {"family_id": family_id, "add_scopes": {"gpg:sign": "prompt"}, "remove_scopes": ["x:y"]})
    assert modified.body == {"family_id": family_id, "scopes": {"gpg:sign": "prompt", "things:read": "allow"}}
    retiered = post("modify", {"family_id": family_id, "set_tiers": {"gpg:sign": "allow"}})
    assert retiered.body["scopes"]["gpg:sign"] == "allow"
    rotated = post("rotate", {"family_id": family_id})
    assert rotated.status == 200 and rotated.body["old_family_id"] == family_id
    new_id = rotated.body["new_family_id"]
    revoked = post("revoke", {"family_id": new_id})
    assert revoked.body == {"family_id": new_id, "revoked": True}
    answers = [
        post("modify", {"family_id": "0" * 32, "add_scopes": {"a:b": "allow"}}),
        post("modify", {"family_id": "definitely-not-a-family", "add_scopes": {"a:b": "allow"}}),
        post("revoke", {"family_id": "0" * 32}),
        post("revoke", {"family_id": "nope"}),
        post("modify", {"family_id": new_id, "add_scopes": {"a:b": "allow"}}),
        post("rotate", {"family_id": new_id}),
        post("create", {"scopes": {"things:read": "sometimes"}}),
        post("create", {"scopes": {}}),
        post("modify", {"family_id": family_id}),
    ]
    assert [(a.status, a.error) for a in answers] == [
        (404, "family_not_found"),
        (404, "family_not_found"),
        (404, "family_not_found"),
        (404, "family_not_found"),
        (409, "family_revoked"),  # the original's answer for a revoked family, which its client maps
        (409, "family_revoked"),
        (400, "invalid_tier"),
        (400, "no_scopes"),
        (400, "no_modifications"),
    ]
    assert wire.foreign_codes() == []
