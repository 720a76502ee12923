"""The browser page an MCP client opens to authorize: it shows the request and waits. It cannot approve.

``GET /oauth/consent/{id}`` shows the client's name, its redirect host, the scopes asked for and a short
matching code while the consent is pending; once a person decided on the admin socket it redirects back to
the client (the authorization code is handed out once; a later visit shows "finished"). ``GET …/wait`` is a
long poll for the page's script that answers only the status. The routes accept GET alone, so posting to
them, fetching them or replaying the URL from the agent's side decides nothing.
"""

from __future__ import annotations

import html
import secrets
from collections.abc import Callable
from typing import Any

import anyio
from mcp.server.auth.provider import construct_redirect_uri
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from auth.oauth_store import Consent, OAuthStore

WAIT_SECONDS = 20.0
CONSENT_PATH = "/oauth/consent"
_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


class ConsentWaiters:
    """Wakes the pages waiting on a consent when the person decides (all on the daemon's event loop)."""

    def __init__(self) -> None:
        self._events: dict[str, anyio.Event] = {}
        self.closed = False

    def close(self) -> None:
        """The daemon is shutting down: answer every waiting page now instead of at the drain deadline."""
        self.closed = True
        for event in self._events.values():
            event.set()
        self._events.clear()

    def event(self, consent_id: str) -> anyio.Event:
        event = self._events.get(consent_id)
        if event is None:
            event = self._events[consent_id] = anyio.Event()
        return event

    def wake(self, consent_id: str) -> None:
        event = self._events.pop(consent_id, None)
        if event is not None:
            event.set()


def _headers(nonce: str | None = None) -> dict[str, str]:
    script = f"'nonce-{nonce}'" if nonce else "'none'"
    return {
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": (
            f"default-src 'none'; script-src {script}; style-src 'unsafe-inline'; connect-src 'self'; "
            "frame-ancestors 'none'; form-action 'none'; base-uri 'none'"
        ),
    }


_STYLE = """
body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem} .code{font:700 2.4rem ui-monospace,monospace;letter-spacing:.2rem;padding:.5rem 1rem;
border:2px solid #333;border-radius:.5rem;display:inline-block} table{border-collapse:collapse}
td{padding:.2rem .8rem .2rem 0;vertical-align:top} .muted{color:#666} .warn{color:#a40}
code{background:#f3f3f3;padding:0 .3rem}
"""


def _page(title: str, body: str, *, nonce: str | None = None, script: str = "", status: int = 200) -> HTMLResponse:
    tag = f'<script nonce="{nonce}">{script}</script>' if nonce and script else ""
    document = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{_STYLE}</style></head>'
        f"<body>{body}{tag}</body></html>"
    )
    return HTMLResponse(document, status_code=status, headers=_headers(nonce))


def _waiting_page(consent: Consent, known: dict[str, dict[str, Any]], now: float) -> HTMLResponse:
    e = html.escape
    rows = "".join(
        f"<tr><td><code>{e(scope)}</code></td><td class='muted'>{e(', '.join(known.get(scope, {}).get('tools', [])))}"
        "</td></tr>"
        for scope in consent.scopes
    )
    remote = (
        ""
        if consent.redirect_is_loopback
        else "<p class='warn'>This client sends the result to a remote host, not to this computer.</p>"
    )
    body = f"""
<h1>Connect {e(consent.client_name)} to agent-auth?</h1>
<p>Matching code</p><p class="code" id="code">{e(consent.matching_code)}</p>
<p>Decide in <b>agent-auth tui</b> (consent card on the Approvals screen) or run
<code>agent-auth consent approve {e(consent.matching_code)}</code> on this computer. Approve only if the code
there is the same as this one. Nothing on this page can approve.</p>
<table><tr><td>Client</td><td>{e(consent.client_name)}</td></tr>
<tr><td>Returns to</td><td><code>{e(consent.redirect_host)}</code></td></tr></table>{remote}
<h2>Scopes asked for</h2><table>{rows}</table>
<p class="muted" id="status">Waiting for a decision; this request expires in
<span id="left">{max(0, int(consent.expires_at - now))}</span> s.</p>
"""
    nonce = secrets.token_urlsafe(16)
    script = """
const left=document.getElementById('left');
setInterval(()=>{const n=+left.textContent;if(n>0)left.textContent=n-1},1000);
(async function(){const url=location.pathname+'/wait';
for(;;){try{const r=await fetch(url,{cache:'no-store'});const s=(await r.json()).status;
if(s!=='pending'){location.replace(location.pathname);return}}catch(e){await new Promise(f=>setTimeout(f,2000))}}})();
"""
    return _page(f"Connect {consent.client_name}", body, nonce=nonce, script=script)


def consent_routes(
    store: OAuthStore, waiters: ConsentWaiters, known_scopes: Callable[[], dict[str, dict[str, Any]]]
) -> list[Route]:
    def lookup(request: Request) -> Consent | None:
        consent_id = str(request.path_params["consent_id"])
        if not 16 <= len(consent_id) <= 64 or not set(consent_id) <= _ID_CHARS:
            return None
        return store.get_consent(consent_id)

    async def page(request: Request) -> Response:
        consent = await anyio.to_thread.run_sync(lookup, request)
        if consent is None:
            return _page("Unknown request", "<h1>Unknown or finished authorization request</h1>", status=404)
        if consent.status == "pending":
            return _waiting_page(consent, known_scopes(), store.clock())
        if consent.status in ("denied", "expired"):
            description = "the person declined" if consent.status == "denied" else "nobody answered in time"
            target = construct_redirect_uri(
                consent.redirect_uri, error="access_denied", error_description=description, state=consent.state
            )
            return RedirectResponse(target, status_code=302, headers=_headers())
        if consent.status == "approved":
            code = await anyio.to_thread.run_sync(store.issue_code, consent.id)
            if code is not None:
                target = construct_redirect_uri(consent.redirect_uri, code=code, state=consent.state)
                return RedirectResponse(target, status_code=302, headers=_headers())
        return _page(
            "Finished",
            "<h1>This authorization is finished</h1><p>You can close this tab.</p>",
        )

    async def wait(request: Request) -> Response:
        consent = await anyio.to_thread.run_sync(lookup, request)
        if consent is None:
            return JSONResponse({"status": "unknown"}, status_code=404, headers=_headers())
        if consent.status == "pending" and not waiters.closed:
            event = waiters.event(consent.id)
            with anyio.move_on_after(min(WAIT_SECONDS, max(0.0, consent.expires_at - store.clock()) + 0.5)):
                await event.wait()
            consent = await anyio.to_thread.run_sync(lookup, request) or consent
        return JSONResponse({"status": consent.status}, headers=_headers())

    return [
        Route(CONSENT_PATH + "/{consent_id}", page, methods=["GET"]),
        Route(CONSENT_PATH + "/{consent_id}/wait", wait, methods=["GET"]),
    ]
