"""Approve exactly what runs: approvals bound to the prepared request's digest, on a real daemon.

A scripted approver decides on the broker the admin socket serves; agents speak raw JSON-RPC over HTTP
(several at once, from threads) or the GPG bridge. The reproductions of the issue: same title / different
notes coalesced into one approval; commits that differ only in parent, dates or body sharing one approval;
an unknown argument blanking the prompt and still running; a /validate grant covering gpg_sign; a quote in
a commit subject faking the prompt; a key listing changed between approval and signing.
"""

from __future__ import annotations

import base64
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx2
import pytest

from mcp_server.integrations.gpg import Gpg
from tests.gpg.gpg_support import commit_payload
from tests.integrations.gpg_fixtures import GpgKeys, gpg_keys
from tests.reliability.conftest import StartFull
from tests.reliability.mcp_wire import McpWire
from tests.support.daemon import RunningDaemon

WAIT_SECONDS = 20.0
TITLE = "Pay the invoice"


@pytest.fixture(scope="module")
def keys() -> Iterator[GpgKeys]:
    with gpg_keys() as made:
        yield made


@pytest.fixture
def daemon(start_full: StartFull, keys: GpgKeys) -> RunningDaemon:
    return start_full(
        gpg_home=str(keys.home),
        gpg_allowed_keys=list(keys.allowed),
        max_pending_approvals_per_family=20,
        approval_timeout_seconds=20.0,
    )


class Approver:
    """Collects every approval the broker creates; ``until(n)`` waits (bounded) for n of them."""

    def __init__(self, daemon: RunningDaemon) -> None:
        self.daemon = daemon
        self.created: list[dict[str, Any]] = []
        self.updated: list[dict[str, Any]] = []
        self._changed = threading.Condition()
        daemon.in_loop(lambda: daemon.ctx.broker.subscribe(self._listen))

    def _listen(self, kind: str, data: dict[str, Any]) -> None:
        with self._changed:
            if kind == "approval.created":
                self.created.append(data)
            elif kind == "approval.updated":
                self.updated.append(data)
            self._changed.notify_all()

    def until(self, condition: Callable[[], bool]) -> None:
        with self._changed:
            assert self._changed.wait_for(condition, timeout=WAIT_SECONDS), "no such approval arrived in time"

    def decide(self, approval_id: str, approved: bool, **extra: Any) -> None:
        broker = self.daemon.ctx.broker
        self.daemon.in_loop(lambda: broker.decide(approval_id, approved=approved, decided_by="test", **extra))


def call(daemon: RunningDaemon, token: str, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    with httpx2.Client(base_url=daemon.url, timeout=60) as http:
        wire = McpWire(http, token)
        wire.open()
        reply = wire.call("tools/call", {"name": tool, "arguments": arguments})
    assert reply.status == 200, reply.text
    result = reply.body["result"]
    assert isinstance(result, dict)
    return result


def titled(daemon: RunningDaemon, title: str) -> list[str]:
    with sqlite3.connect(daemon.settings.data_dir / "things-sample.sqlite") as conn:
        return [row[0] for row in conn.execute("SELECT notes FROM TMTask WHERE title = ? AND trashed = 0", (title,))]


def test_same_title_different_notes_are_separate_prompts_and_approving_one_runs_one(daemon: RunningDaemon) -> None:
    token = daemon.create_family({"things:write": "prompt"}).access_token
    approver = Approver(daemon)
    notes = [f"note {i}" for i in range(4)] + ["Pay invoice at http://evil.example/pay"]
    with ThreadPoolExecutor(len(notes)) as pool:
        futures = [pool.submit(call, daemon, token, "things_add_todo", {"title": TITLE, "notes": n}) for n in notes]
        approver.until(lambda: len(approver.created) == len(notes))
        assert len({a["digest"] for a in approver.created}) == len(notes), "different requests shared a prompt"
        shown = {a["id"]: {r["label"]: r["value"] for r in a["details"]} for a in approver.created}
        assert sorted(rows["Notes"] for rows in shown.values()) == sorted(notes), "every note is on its prompt"
        chosen = next(i for i, rows in shown.items() if rows["Notes"] == "note 2")
        approver.decide(chosen, True)
        for other in shown:
            if other != chosen:
                approver.decide(other, False)
        results = [f.result(timeout=WAIT_SECONDS) for f in futures]
    assert sum(1 for r in results if r.get("isError") is not True) == 1
    assert titled(daemon, TITLE) == ["note 2"], "exactly the approved request ran"


def test_byte_identical_calls_share_one_prompt_shown_with_their_count(daemon: RunningDaemon) -> None:
    token = daemon.create_family({"things:write": "prompt"}).access_token
    approver = Approver(daemon)
    arguments = {"title": "Water the plants", "notes": "same"}
    with ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(call, daemon, token, "things_add_todo", arguments) for _ in range(3)]
        approver.until(lambda: max([u["waiters"] for u in approver.updated] + [0]) == 3)
        assert len(approver.created) == 1
        approval_id = approver.created[0]["id"]
        with pytest.raises(Exception, match="3 identical calls"):
            approver.decide(approval_id, True, seen_waiters=1)  # the person saw one; three wait: look again
        approver.decide(approval_id, True, seen_waiters=3)
        results = [f.result(timeout=WAIT_SECONDS) for f in futures]
    assert all(r.get("isError") is not True for r in results)


def test_an_unknown_argument_is_refused_before_any_prompt_and_nothing_runs(daemon: RunningDaemon) -> None:
    token = daemon.create_family({"things:write": "prompt", "things:read": "allow"}).access_token
    approver = Approver(daemon)
    todo_id = call(daemon, token, "things_list_todos", {"limit": 1})["structuredContent"]["items"][0]["id"]
    result = call(daemon, token, "things_update_todo", {"todo_id": todo_id, "title": "Renamed", "colour": "red"})
    assert result.get("isError") is True and "[invalid_arguments]" in result["content"][0]["text"]
    assert approver.created == [] and titled(daemon, "Renamed") == []


def test_an_update_prompt_names_its_target_by_its_current_title(daemon: RunningDaemon) -> None:
    token = daemon.create_family({"things:write": "prompt", "things:read": "allow"}).access_token
    approver = Approver(daemon)
    todo = call(daemon, token, "things_list_todos", {"limit": 1})["structuredContent"]["items"][0]
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(call, daemon, token, "things_update_todo", {"todo_id": todo["id"], "canceled": True})
        approver.until(lambda: len(approver.created) == 1)
        rows = {r["label"]: r["value"] for r in approver.created[0]["details"]}
        approver.decide(approver.created[0]["id"], False)
        future.result(timeout=WAIT_SECONDS)
    assert rows["To-do (as it is now)"].startswith(f"{todo['title']} ({todo['id']})")
    assert rows["Mark"] == "canceled"


def sign_body(key: str, payload: bytes) -> dict[str, Any]:
    return {"local_user": key, "payload_b64": base64.b64encode(payload).decode()}


def variants() -> list[bytes]:
    base = commit_payload("Release 1.0")
    return [
        base,
        base.replace(b"parent " + b"1" * 40, b"parent " + b"2" * 40),
        base.replace(b"1700000000 +0100", b"1700000999 +0100"),
        base + b"\nA hidden second paragraph.\n",
    ]


def test_commits_that_differ_only_in_parent_dates_or_body_are_separate_prompts(
    daemon: RunningDaemon, keys: GpgKeys
) -> None:
    token = daemon.create_family({"gpg:sign": "prompt"}).access_token
    approver = Approver(daemon)
    payloads = variants()
    with ThreadPoolExecutor(len(payloads)) as pool, httpx2.Client(base_url=daemon.url, timeout=60) as http:
        headers = {"Authorization": f"Bearer {token}"}
        futures = [
            pool.submit(http.post, "/gpg-bridge/v1/sign", json=sign_body(keys.alice, p), headers=headers)
            for p in payloads
        ]
        approver.until(lambda: len(approver.created) == len(payloads))
        assert len({a["digest"] for a in approver.created}) == len(payloads)
        for approval in approver.created:
            approver.decide(approval["id"], False)
        assert all(f.result(timeout=WAIT_SECONDS).status_code == 403 for f in futures)


def test_a_quote_in_the_subject_cannot_fake_the_prompt_and_the_key_and_tree_are_shown(
    daemon: RunningDaemon, keys: GpgKeys
) -> None:
    token = daemon.create_family({"gpg:sign": "prompt"}).access_token
    approver = Approver(daemon)
    subject = 'Fix typo" (key 0000000000000000000000000000000000000000, tree ' + "b" * 40 + ")" + "x" * 600
    with ThreadPoolExecutor(1) as pool, httpx2.Client(base_url=daemon.url, timeout=60) as http:
        headers = {"Authorization": f"Bearer {token}"}
        future = pool.submit(
            http.post, "/gpg-bridge/v1/sign", json=sign_body(keys.alice, commit_payload(subject)), headers=headers
        )
        approver.until(lambda: len(approver.created) == 1)
        approval = approver.created[0]
        approver.decide(approval["id"], False)
        future.result(timeout=WAIT_SECONDS)
    rows = {r["label"]: r for r in approval["details"]}
    assert approval["summary"] == f"Sign a git commit with key {keys.alice}", "no caller text in the headline"
    assert rows["Signing key"]["value"] == keys.alice and rows["Tree"]["value"] == "a" * 40
    assert rows["Signing key"]["truncated"] == 0 and rows["Tree"]["truncated"] == 0
    assert rows["Subject"]["value"].startswith('Fix typo" (key 0000')  # a labelled row: the quote is just data
    whole = rows["Whole object as signed (every header and the full message)"]["value"]
    assert subject in whole and whole.startswith("tree " + "a" * 40)


def test_a_grant_given_on_a_validate_prompt_does_not_cover_gpg_sign(daemon: RunningDaemon, keys: GpgKeys) -> None:
    token = daemon.create_family({"gpg:sign": "prompt"}).access_token
    approver = Approver(daemon)
    with ThreadPoolExecutor(1) as pool, httpx2.Client(base_url=daemon.url, timeout=60) as http:
        body = {"token": token, "required_scope": "gpg:sign", "description": "sign my release, please"}
        future = pool.submit(http.post, "/agent-auth/v1/validate", json=body)
        approver.until(lambda: len(approver.created) == 1)
        assert approver.created[0]["claim"] == "sign my release, please"
        approver.decide(approver.created[0]["id"], True, grant="timed", duration_minutes=10)
        assert future.result(timeout=WAIT_SECONDS).status_code == 200
        assert http.post("/agent-auth/v1/validate", json=body).status_code == 200, "the grant covers /validate"
        [grant] = daemon.ctx.broker.grants()
        assert (grant["surface"], grant["target"], grant["scope"]) == ("rest", "validate", "gpg:sign")
        signing = pool.submit(
            call, daemon, token, "gpg_sign", {"payload": commit_payload().decode(), "key": keys.alice}
        )
        approver.until(lambda: len(approver.created) == 2)  # gpg_sign asks a person: not covered by the grant
        approver.decide(approver.created[1]["id"], False)
        assert signing.result(timeout=WAIT_SECONDS).get("isError") is True
        daemon.in_loop(lambda: daemon.ctx.broker.revoke_grant(grant["id"], revoked_by="test"))
        assert daemon.ctx.broker.grants() == []


def test_the_signature_uses_the_approved_key_even_if_the_key_listing_changes_meanwhile(
    daemon: RunningDaemon, keys: GpgKeys
) -> None:
    """Signing by user id: after approval the listing says that user id is Bob's key. The approved plan (Alice's
    fingerprint) signs — the request is not resolved again."""
    token = daemon.create_family({"gpg:sign": "prompt"}).access_token
    approver = Approver(daemon)
    service = daemon.ctx.integration(Gpg).attached.service
    runner = service._runner
    real = runner.list_secret_keys()
    alice = next(k for k in real if k.fingerprint == keys.alice)
    bob = next(k for k in real if k.fingerprint == keys.bob)
    swapped = [bob.__class__(**{**bob.__dict__, "user_ids": alice.user_ids})]
    with ThreadPoolExecutor(1) as pool, httpx2.Client(base_url=daemon.url, timeout=60) as http:
        headers = {"Authorization": f"Bearer {token}"}
        future = pool.submit(
            http.post, "/gpg-bridge/v1/sign", json=sign_body(alice.user_ids[0], commit_payload()), headers=headers
        )
        approver.until(lambda: len(approver.created) == 1)
        rows = {r["label"]: r["value"] for r in approver.created[0]["details"]}
        assert rows["Signing key"] == keys.alice
        runner.list_secret_keys = lambda: list(swapped)  # the listing now maps that user id to Bob's key
        approver.decide(approver.created[0]["id"], True)
        reply = future.result(timeout=WAIT_SECONDS)
    assert reply.status_code == 200, reply.text
    assert reply.json()["resolved_key_fingerprint"] == keys.alice
