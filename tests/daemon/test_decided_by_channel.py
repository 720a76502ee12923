"""Who decided an approval is set by the daemon from the channel, never taken from the request."""

from __future__ import annotations

import json
import os
from typing import Any

import anyio
import pytest

from tests.support.approvals import admin_subscriber
from tests.support.daemon import RunningDaemon
from tests.support.openapi import checking_client

pytestmark = pytest.mark.anyio

VALIDATE = "/agent-auth/v1/validate"


def decided_entries(daemon: RunningDaemon) -> list[dict[str, Any]]:
    lines = daemon.settings.audit_log_path.read_text().splitlines()
    return [e for e in (json.loads(line) for line in lines if line) if e.get("event") == "approval.decided"]


async def test_an_admin_client_saying_decided_by_tui_gets_the_daemons_own_value_in_the_record(
    daemon: RunningDaemon,
) -> None:
    issued = daemon.create_family({"gpg:sign": "prompt"}, label="laptop")
    body = {"token": issued.access_token, "required_scope": "gpg:sign", "description": "sign abc"}
    async with (
        admin_subscriber(daemon.admin_socket) as sub,
        checking_client(daemon.url, timeout=30) as http,
        anyio.create_task_group() as tg,
    ):

        async def call() -> None:
            await http.post(VALIDATE, json=body)

        tg.start_soon(call)
        created = await sub.next_event("approval.created")
        decided = await sub.decide(created["id"], "approve", decided_by="tui")
    channel = f"admin-socket uid={os.getuid()} pid={os.getpid()}"  # the client is this process
    assert decided["decision"]["decided_by"] == channel
    assert decided["decision"]["decided_by_claim"] == "tui"
    [entry] = decided_entries(daemon)
    assert entry["approval_id"] == created["id"]
    assert entry["decided_by"] == channel
    assert entry["decided_by_claim"] == "tui"
