"""The errors of ``tools/things`` and ``tools/gpg`` on the original bridge routes, through the one registry.

The framework-free bridge handlers in ``tools/`` return a 200 body or raise their package's error; which
code and HTTP status the original clients see for it is the registry's ``bridge`` word for the error's code
(:func:`mcp_server.errors.bridge_error`), so ``tools/`` decides no status and holds no table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mcp_server.errors import bridge_error
from tools.gpg.errors import BadSignatureError, GpgError
from tools.things.errors import InvalidArgumentError, ThingsError

JsonBody = dict[str, Any]


def things_bridge_error(exc: ThingsError) -> tuple[int, JsonBody]:
    """``things_unavailable`` unless the seed had a word for it; no message (they name local paths)."""
    extra = {"field": exc.field} if isinstance(exc, InvalidArgumentError) else {}
    return bridge_error(exc.code, fallback="things_unavailable", **extra)


def things_bridge_answer(call: Callable[[], JsonBody]) -> tuple[int, JsonBody]:
    """Run a Things bridge handler: ``(200, body)``, or its error in the seed's words."""
    try:
        return 200, call()
    except ThingsError as exc:
        return things_bridge_error(exc)


def gpg_bridge_error(exc: GpgError) -> tuple[int, JsonBody]:
    """``gpg_unavailable`` unless the seed had a word for it; ``detail`` says how to fix it, ``code`` is ours.

    A signature that does not verify also carries gpg's ``status_text`` and ``exit_code`` for the git shim.
    """
    extra: JsonBody = {"code": exc.code}
    if isinstance(exc, BadSignatureError) and exc.status_text is not None:
        extra.update(status_text=exc.status_text, exit_code=exc.exit_code)
    return bridge_error(exc.code, exc.message, fallback="gpg_unavailable", **extra)


def gpg_bridge_answer(call: Callable[[], JsonBody]) -> tuple[int, JsonBody]:
    """Run a GPG bridge handler: ``(200, body)``, or its error in the seed's words."""
    try:
        return 200, call()
    except GpgError as exc:
        return gpg_bridge_error(exc)
