"""One JSONL line -> one JSON object, with a short reason when the line is not one.

Product ingestion (edge) and the distillation dataset reader (cloud) both read user-supplied JSONL where a
bad line must cost that line only: bad UTF-8, not JSON, a nesting bomb (``json`` raises RecursionError, not
ValueError) or a JSON value that is not an object all become a ``ValueError`` the caller reports and skips.
"""

from __future__ import annotations

import json
from typing import Any


def json_object(raw: bytes | str) -> dict[str, Any]:
    """The line as a dict; raises ValueError saying why it is not one."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8: {exc}") from None
    try:
        obj = json.loads(text)
    except RecursionError:
        raise ValueError("not JSON: nested too deeply") from None
    except ValueError as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object (a line must hold one JSON object)")
    return obj
