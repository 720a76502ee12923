"""The one neutraliser for untrusted text: agent arguments, summaries, Things data, commit text, notifier input.

Any character that could act on a terminal or hide itself from a reader is replaced by a visible token —
never dropped — so a person sees that something was there:

- C0 controls and DEL become their Unicode control pictures (ESC → ``␛``, so ``ESC [2J`` shows as ``␛[2J``);
- C1 controls (U+0080 to U+009F, including the 8-bit CSI U+009B and OSC U+009D) become ``\\x9b``;
- format characters (bidi overrides and isolates, zero-width characters, invisible tag characters: Unicode
  category Cf), line and paragraph separators, and lone surrogates become ``\\u202e`` / ``\\U000e0041``.

The output contains none of those characters, so it is idempotent: neutralising twice changes nothing.
With ``multiline=True`` a line feed and a tab are kept (notes and commit bodies); a carriage return never is,
because it rewinds the line. The module has no dependencies so every package may import it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["clip", "is_clean", "neutralise", "neutralise_data"]

_ESCAPE_PICTURE = 0x2400  # U+2400 SYMBOL FOR NULL; U+2400 + n pictures C0 control n
_DEL_PICTURE = "\u2421"  # ␡
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_KEPT_IN_MULTILINE = frozenset({"\n", "\t"})


def _shown(ch: str) -> str:
    code = ord(ch)
    if code < 0x20:
        return chr(_ESCAPE_PICTURE + code)
    if code == 0x7F:
        return _DEL_PICTURE
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _unsafe(ch: str) -> bool:
    # ASCII fast path: printable ASCII is always safe.
    if " " <= ch <= "~":
        return False
    return unicodedata.category(ch) in _UNSAFE_CATEGORIES


def is_clean(text: str, *, multiline: bool = False) -> bool:
    """True when ``text`` holds no character :func:`neutralise` would replace."""
    if text.isascii() and text.isprintable():
        return True
    return not any(_unsafe(ch) and not (multiline and ch in _KEPT_IN_MULTILINE) for ch in text)


def neutralise(text: str, *, multiline: bool = False) -> str:
    """``text`` with every control, format and invisible character shown as a visible token."""
    if text.isascii() and text.isprintable():  # the common case costs one C-level scan
        return text
    return "".join(_shown(ch) if _unsafe(ch) and not (multiline and ch in _KEPT_IN_MULTILINE) else ch for ch in text)


def clip(text: str, max_chars: int) -> str:
    """Neutralised ``text`` (one line), cut to ``max_chars`` with an ellipsis."""
    shown = neutralise(text)
    return shown if len(shown) <= max_chars else shown[: max(0, max_chars - 1)] + "…"


def neutralise_data(value: Any, *, multiline: bool = False) -> Any:
    """A JSON-like value with every string in it (keys too) neutralised; other scalars unchanged."""
    if isinstance(value, str):
        return neutralise(value, multiline=multiline)
    if isinstance(value, Mapping):
        return {
            (neutralise(k) if isinstance(k, str) else k): neutralise_data(v, multiline=multiline)
            for k, v in value.items()
        }
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        return [neutralise_data(v, multiline=multiline) for v in value]
    return value
