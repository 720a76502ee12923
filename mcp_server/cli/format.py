"""Human-readable rendering for CLI output."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from auth.scopes import Tier


def when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, UTC).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def scopes_text(scopes: dict[str, Tier]) -> str:
    return ", ".join(f"{name}={tier.value}" for name, tier in sorted(scopes.items())) or "-"


def table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=False)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def family_detail_json(info: dict[str, Any]) -> str:
    reason = f" ({info['revoke_reason']})" if info.get("revoke_reason") else ""
    lines = [
        f"family      {info['family_id']}",
        f"label       {info.get('label') or '-'}",
        f"status      {info['status']}{reason}",
        f"created     {when(info['created_at'])}",
        f"last used   {when(info.get('last_used_at'))}",
        f"access ttl  {info['access_ttl_seconds']}s (current token expires {when(info.get('access_expires_at'))})",
        f"refresh ttl {info['refresh_ttl_seconds']}s (current token expires {when(info.get('refresh_expires_at'))})",
        "scopes",
    ]
    lines += [f"  {name:<32} {tier}" for name, tier in sorted(info["scopes"].items())] or ["  -"]
    if info.get("rotated_to"):
        lines.append(f"rotated to  {info['rotated_to']}")
    return "\n".join(lines)
