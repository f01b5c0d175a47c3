"""Text hygiene before any rail runs: decode, strip invisible controls, and bound the work.

Every rail is linear in the text or works on bounded windows, so a 1 MB message costs bounded time;
invisible characters are removed (and reported) because they hide payloads from humans and regexes.
"""

from __future__ import annotations

import re
import unicodedata

from frugalstack.shared.errors import PayloadTooLargeError, ValidationError

#: C0/C1 controls except tab, newline, carriage return.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
#: Zero-width characters, bidi overrides/isolates, the BOM, the tag block: invisible payload carriers.
_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\U000e0000-\U000e007f]")

WINDOW_CHARS = 512
MAX_WINDOWS = 8


class Cleaned:
    """The sanitised text and what was removed to get it."""

    __slots__ = ("invalid_utf8", "invisible", "removed_controls", "text")

    def __init__(self, text: str, removed_controls: int, invisible: int, invalid_utf8: bool):
        self.text = text
        self.removed_controls = removed_controls
        self.invisible = invisible
        self.invalid_utf8 = invalid_utf8


def clean(raw: str | bytes, *, max_chars: int = 1_000_000) -> Cleaned:
    """Decode bytes (invalid UTF-8 becomes U+FFFD), drop controls and invisible characters.

    Raises ``PayloadTooLargeError`` above ``max_chars`` before doing any other work.
    """
    invalid = False
    if isinstance(raw, bytes | bytearray):
        if len(raw) > 4 * max_chars:
            raise PayloadTooLargeError(f"input of {len(raw)} bytes is over the limit of {max_chars} characters")
        try:
            text = bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            text = bytes(raw).decode("utf-8", errors="replace")
            invalid = True
    elif isinstance(raw, str):
        text = raw
    else:
        raise ValidationError(f"guard input must be text, got {type(raw).__name__}")
    if len(text) > max_chars:
        raise PayloadTooLargeError(f"input of {len(text)} characters is over the limit of {max_chars}")
    # Lone surrogates (from bad decoding upstream) cannot be encoded; replace them.
    if _has_surrogates(text):
        text = text.encode("utf-8", errors="replace").decode("utf-8")
        invalid = True
    text, n_ctrl = _CONTROL.subn("", text)
    text, n_inv = _INVISIBLE.subn("", text)
    return Cleaned(text, n_ctrl, n_inv, invalid)


def _has_surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def normalise(text: str) -> str:
    """Fold look-alike characters (full-width, ligatures) and case, for pattern matching only."""
    return unicodedata.normalize("NFKC", text).casefold()


def windows(text: str, hot: list[int] | None = None) -> list[str]:
    """At most ``MAX_WINDOWS`` pieces of ``WINDOW_CHARS``: the whole text when short, else the start, the end
    and windows around ``hot`` offsets (heuristic hits), so classifiers see the suspicious parts."""
    text = text.strip()
    if len(text) <= WINDOW_CHARS:
        return [text]
    starts = [0, max(0, len(text) - WINDOW_CHARS)]
    for h in hot or []:
        starts.append(max(0, min(h - WINDOW_CHARS // 4, len(text) - WINDOW_CHARS)))
    seen: list[int] = []
    for s in starts:
        if all(abs(s - t) >= WINDOW_CHARS // 2 for t in seen):
            seen.append(s)
        if len(seen) >= MAX_WINDOWS:
            break
    return [text[s : s + WINDOW_CHARS] for s in sorted(seen)]
