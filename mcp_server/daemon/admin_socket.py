"""The admin API on a unix socket: token families, approvals, audit, status. Never on TCP.

The socket is 0600 inside a 0700 directory, and every connection's peer uid (SO_PEERCRED / getpeereid)
must equal ours, so another local user — or an agent in a container without the socket mounted — cannot
approve anything. Protocol: JSON Lines, see docs/admin-api.md.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import socket
import sqlite3
import sys
import threading
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import anyio
import sqlalchemy.exc
from anyio.abc import SocketAttribute, SocketStream
from anyio.streams.buffered import BufferedByteReceiveStream
from anyio.streams.memory import MemoryObjectSendStream

from auth.admin_client import MAX_LINE_BYTES
from auth.audit import verify_log
from auth.errors import AuthError, FamilyNotFoundError
from auth.fsutil import ensure_private_dir
from auth.scopes import validate_scope, validate_scope_map
from auth.untrusted import neutralise
from mcp_server.admin_ops import LocalAdmin
from mcp_server.daemon.context import DaemonContext
from mcp_server.daemon.peercred import PeerCredentialsError, peer_pid, peer_uid, reader_for
from mcp_server.errors import admin_error

log = logging.getLogger(__name__)

ACCEPT_BACKOFF_MIN_SECONDS = 0.05
ACCEPT_BACKOFF_MAX_SECONDS = 1.0
_RESOURCE_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})

Handler = Callable[[dict[str, Any]], Awaitable[Any]]

# Who is on the connection a method runs for, as the kernel tells it (set per connection in ``_handle``).
# This, never a ``decided_by`` sent in the request, names who decided an approval.
current_channel: ContextVar[str] = ContextVar("admin_channel", default="admin-socket")
MAX_CLAIM_LENGTH = 64


def channel_name(uid: int, pid: int | None) -> str:
    """How a decision made on an admin connection is attributed: the peer's uid and pid."""
    return f"admin-socket uid={uid} pid={pid}" if pid is not None else f"admin-socket uid={uid}"


class PeerRefusedError(PeerCredentialsError):
    pass


def check_peer(uid: int, expected_uid: int) -> None:
    if uid != expected_uid:
        raise PeerRefusedError(f"admin connection from uid {uid} refused (only uid {expected_uid} may connect)")


class AdminServer:
    def __init__(
        self,
        ctx: DaemonContext,
        path: Path,
        *,
        expected_uid: int | None = None,
        uid_of: Callable[[socket.socket], int] = peer_uid,
    ) -> None:
        self.ctx = ctx
        self.path = path
        self.expected_uid = os.getuid() if expected_uid is None else expected_uid
        self.uid_of = uid_of
        self.admin = LocalAdmin(ctx.authority, actor="admin-socket")
        self.methods: dict[str, Handler] = {
            "status": self._status,
            "families.list": self._families_list,
            "families.show": self._families_show,
            "families.create": self._families_create,
            "families.modify": self._families_modify,
            "families.revoke": self._families_revoke,
            "families.rotate": self._families_rotate,
            "approvals.list": self._approvals_list,
            "approvals.decide": self._approvals_decide,
            "grants.list": self._grants_list,
            "grants.revoke": self._grants_revoke,
            "audit.tail": self._audit_tail,
            "audit.verify": self._audit_verify,
            "scopes.known": self._scopes_known,
        }
        # Surfaces add their own methods (the OAuth authorization server's consent.list / consent.decide).
        self.methods.update(ctx.admin_methods)
        self._loop_thread = threading.get_ident()

    # --- lifecycle -----------------------------------------------------------------------------

    async def serve(self, *, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
        if self.uid_of is peer_uid:
            reader_for(sys.platform)  # an unsupported platform refuses to start rather than refusing every client
        ensure_private_dir(self.path.parent)
        if self.path.exists() or self.path.is_symlink():
            from auth.admin_client import daemon_running

            if daemon_running(self.path):
                raise RuntimeError(f"another agent-auth daemon is already serving {self.path}")
            self.path.unlink()
        old_umask = os.umask(0o177)
        try:
            listener = await anyio.create_unix_listener(str(self.path))
        finally:
            os.umask(old_umask)
        os.chmod(self.path, 0o600)
        ours = os.stat(self.path).st_ino
        self._loop_thread = threading.get_ident()
        task_status.started()
        try:
            async with listener, anyio.create_task_group() as tg:
                await self._accept_forever(listener, tg)
        finally:
            # Only ours: a second daemon that replaced the path (after ours died) keeps its socket.
            with contextlib.suppress(OSError):
                if os.stat(self.path).st_ino == ours:
                    self.path.unlink()

    async def _accept_forever(self, listener: Any, tg: anyio.abc.TaskGroup) -> None:
        """Accept until cancelled; out of descriptors or memory, back off and try again — never give up."""
        backoff = ACCEPT_BACKOFF_MIN_SECONDS
        while True:
            try:
                stream = await listener.accept()
            except OSError as exc:
                if exc.errno not in _RESOURCE_ERRNOS:
                    raise
                log.error("admin socket: cannot accept (%s); retrying in %.2f s", exc.strerror, backoff)
                await anyio.sleep(backoff)
                backoff = min(backoff * 2, ACCEPT_BACKOFF_MAX_SECONDS)
                continue
            backoff = ACCEPT_BACKOFF_MIN_SECONDS
            tg.start_soon(self._handle, stream)

    # --- connections ---------------------------------------------------------------------------

    async def _handle(self, stream: SocketStream) -> None:
        raw = stream.extra(SocketAttribute.raw_socket)
        try:
            uid = self.uid_of(raw)
            check_peer(uid, self.expected_uid)
        except PeerCredentialsError as exc:
            log.warning("%s", exc)
            with contextlib.suppress(Exception):
                await stream.send(json.dumps(admin_error(None, "peer_refused", str(exc))).encode() + b"\n")
            await stream.aclose()
            return
        current_channel.set(channel_name(uid, peer_pid(raw)))
        send, receive = anyio.create_memory_object_stream[bytes](1000)
        unsubscribers: list[Callable[[], None]] = []
        reader = BufferedByteReceiveStream(stream)
        async with stream, anyio.create_task_group() as tg:

            async def writer() -> None:
                async with receive:
                    async for data in receive:
                        await stream.send(data)

            tg.start_soon(writer)
            try:
                while True:
                    try:
                        line = await reader.receive_until(b"\n", MAX_LINE_BYTES)
                    except (anyio.EndOfStream, anyio.IncompleteRead, anyio.BrokenResourceError):
                        break
                    except anyio.DelimiterNotFound:
                        await send.send(_encode(admin_error(None, "request_too_large", "request line too long")))
                        break
                    response = await self._dispatch(line, send, unsubscribers)
                    await send.send(_encode(response))
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                pass
            finally:
                for unsubscribe in unsubscribers:
                    unsubscribe()
                send.close()
                tg.cancel_scope.cancel()

    async def _dispatch(
        self, line: bytes, send: MemoryObjectSendStream[bytes], unsubscribers: list[Callable[[], None]]
    ) -> dict[str, Any]:
        try:
            request = json.loads(line)
        except ValueError:
            return admin_error(None, "malformed_request", "not valid JSON")
        if not isinstance(request, dict) or not isinstance(request.get("method"), str):
            return admin_error(None, "malformed_request", "need {id, method, params}")
        request_id = request.get("id")
        params = request.get("params") or {}
        if not isinstance(params, dict):
            return admin_error(request_id, "malformed_request", "params must be an object")
        method = request["method"]
        try:
            if method == "subscribe":
                result = self._subscribe(params, send, unsubscribers)
            else:
                handler = self.methods.get(method)
                if handler is None:
                    return admin_error(request_id, "unknown_method", f"no method {method!r}")
                result = await handler(params)
        except FamilyNotFoundError as exc:
            return admin_error(request_id, exc.code, exc.message)
        except (sqlite3.OperationalError, sqlalchemy.exc.OperationalError) as exc:
            # As on HTTP (app._unavailable): a store that cannot be written (read-only, disk full) is a
            # documented refusal, not a dropped connection.
            log.error("store_unavailable on admin %s: %s", method, exc)
            message = "the token store cannot be written right now; nothing was changed"
            return admin_error(request_id, "store_unavailable", message)
        except AuthError as exc:
            return admin_error(request_id, exc.code, exc.message)
        except (ValueError, TypeError, KeyError) as exc:
            return admin_error(request_id, "invalid_params", str(exc))
        return {"id": request_id, "result": result}

    def _subscribe(
        self, params: dict[str, Any], send: MemoryObjectSendStream[bytes], unsubscribers: list[Callable[[], None]]
    ) -> dict[str, Any]:
        topics = set(params.get("topics") or ["approvals", "audit"])

        def push(event: str, data: dict[str, Any]) -> None:
            payload = _encode({"event": event, "data": data})

            def deliver() -> None:
                with contextlib.suppress(anyio.WouldBlock, anyio.BrokenResourceError, anyio.ClosedResourceError):
                    send.send_nowait(payload)

            if threading.get_ident() == self._loop_thread:
                deliver()
            else:
                with contextlib.suppress(RuntimeError):
                    anyio.from_thread.run_sync(deliver)

        if "approvals" in topics:
            unsubscribers.append(self.ctx.broker.subscribe(push))
        if "audit" in topics:
            unsubscribers.append(self.ctx.authority.audit.subscribe(lambda entry: push("audit", entry)))
        return {"topics": sorted(topics), "pending": [p.to_json() for p in self.ctx.broker.pending()]}

    # --- methods -------------------------------------------------------------------------------

    async def _status(self, params: dict[str, Any]) -> Any:
        return await anyio.to_thread.run_sync(self.ctx.status)

    async def _families_list(self, params: dict[str, Any]) -> Any:
        return await anyio.to_thread.run_sync(self.admin.list_families)

    async def _families_show(self, params: dict[str, Any]) -> Any:
        return await anyio.to_thread.run_sync(self.admin.show_family, str(params["family_id"]))

    async def _families_create(self, params: dict[str, Any]) -> Any:
        system = params.get("allow_system_scopes") is True
        scopes = validate_scope_map(params.get("scopes") or {}, allow_reserved=system)
        label = params.get("label")
        access_ttl = params.get("access_ttl_seconds", 900)  # type-checked by the authority (no coercion)
        refresh_ttl = params.get("refresh_ttl_seconds", 28_800)
        return await anyio.to_thread.run_sync(
            lambda: self.admin.create_family(scopes, label, access_ttl, refresh_ttl, allow_reserved=system)
        )

    async def _families_modify(self, params: dict[str, Any]) -> Any:
        family_id = str(params["family_id"])
        add = validate_scope_map(params.get("add") or {})
        set_tiers = validate_scope_map(params.get("set_tiers") or {}, allow_reserved=True)
        remove = [validate_scope(s) for s in params.get("remove") or []]
        return await anyio.to_thread.run_sync(lambda: self.admin.modify_family(family_id, add, remove, set_tiers))

    async def _families_revoke(self, params: dict[str, Any]) -> Any:
        family_id = str(params["family_id"])
        result = await anyio.to_thread.run_sync(self.admin.revoke_family, family_id)
        self.ctx.broker.revoke_grants(family_id)
        return result

    async def _families_rotate(self, params: dict[str, Any]) -> Any:
        family_id = str(params["family_id"])
        result = await anyio.to_thread.run_sync(self.admin.rotate_family, family_id)
        self.ctx.broker.revoke_grants(family_id)
        return result

    async def _approvals_list(self, params: dict[str, Any]) -> Any:
        broker = self.ctx.broker
        return {
            "pending": [p.to_json() for p in broker.pending()],
            "history": list(broker.history),
            "grants": broker.grants(),
            "timeout_seconds": broker.timeout_seconds,
        }

    async def _approvals_decide(self, params: dict[str, Any]) -> Any:
        approval_id = str(params["approval_id"])
        decision = params.get("decision")
        if decision not in ("approve", "deny"):
            raise ValueError("decision must be 'approve' or 'deny'")
        grant = params.get("grant", "once")
        if grant not in ("once", "timed"):
            raise ValueError("grant must be 'once' or 'timed'")
        minutes = params.get("duration_minutes")
        if minutes is not None and (isinstance(minutes, bool) or not isinstance(minutes, int)):
            raise ValueError("duration_minutes must be a whole number")
        # Who decided is the connection's peer as the kernel reports it; what the client says about itself
        # ("tui", "cli") is kept only as a labelled claim.
        claim = params.get("decided_by")
        seen = params.get("seen_waiters")
        if seen is not None and (isinstance(seen, bool) or not isinstance(seen, int)):
            raise ValueError("seen_waiters must be a whole number")
        approval = self.ctx.broker.decide(
            approval_id,
            approved=decision == "approve",
            grant=grant,
            duration_minutes=minutes,
            decided_by=current_channel.get(),
            decided_by_claim=neutralise(str(claim))[:MAX_CLAIM_LENGTH] if claim else None,
            seen_waiters=seen,
        )
        if approval is None:
            raise AuthError(f"approval {approval_id} is not pending (already decided or expired)")
        return approval.to_json()

    async def _grants_list(self, params: dict[str, Any]) -> Any:
        return {"grants": self.ctx.broker.grants()}

    async def _grants_revoke(self, params: dict[str, Any]) -> Any:
        grant_id = str(params["grant_id"])
        revoked = self.ctx.broker.revoke_grant(grant_id, revoked_by=current_channel.get())
        if revoked is None:
            raise AuthError(f"grant {grant_id} is not live (it ended or never existed)")
        return revoked

    async def _audit_tail(self, params: dict[str, Any]) -> Any:
        limit = max(1, min(int(params.get("limit", 200)), 5000))
        filters: dict[str, Any] = {
            k: params[k] for k in ("family_id", "outcome", "operation", "target", "event") if params.get(k)
        }
        family_ids = params.get("family_ids")
        if isinstance(family_ids, list) and family_ids:
            # One person-facing family across rotations: its label names several ids (a list matches any).
            filters["family_id"] = [str(f) for f in family_ids]
        path = self.ctx.authority.audit.path
        return await anyio.to_thread.run_sync(lambda: tail_audit(path, limit, filters))

    async def _audit_verify(self, params: dict[str, Any]) -> Any:
        authority = self.ctx.authority
        report = await anyio.to_thread.run_sync(
            lambda: verify_log(authority.audit.path, authority.keys.audit, authority.audit_checkpoint())
        )
        return report.to_json()

    async def _scopes_known(self, params: dict[str, Any]) -> Any:
        return sorted(self.ctx.known_scopes.values(), key=lambda s: str(s["scope"]))


def _encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, default=str).encode() + b"\n"


def tail_audit(path: Path, limit: int, filters: dict[str, Any]) -> list[dict[str, Any]]:
    """The newest ``limit`` entries matching ``filters`` (reads the file backwards in blocks)."""
    matched: list[dict[str, Any]] = []
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below; read backwards in blocks
    except FileNotFoundError:
        return []
    with fh:
        pos = fh.seek(0, os.SEEK_END)
        remainder = b""
        while pos > 0 and len(matched) < limit:
            step = min(65536, pos)
            pos -= step
            fh.seek(pos)
            block = fh.read(step) + remainder
            lines = block.split(b"\n")
            remainder = lines[0] if pos > 0 else b""
            for raw in reversed(lines[1:] if pos > 0 else lines):
                if not raw.strip():
                    continue
                try:
                    entry = json.loads(raw)
                except ValueError:
                    continue
                if all(entry.get(k) in v if isinstance(v, list) else entry.get(k) == v for k, v in filters.items()):
                    matched.append(entry)
                    if len(matched) >= limit:
                        break
    return matched
