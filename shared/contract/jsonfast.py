"""Fast, deterministic JSON (orjson) for the hot paths: the event log, city state, responses."""

from __future__ import annotations

from typing import Any

import orjson

loads = orjson.loads
JSONDecodeError = orjson.JSONDecodeError


def canonical(obj: Any) -> str:
    """Serialise compactly with sorted keys: the same data always gives the same text."""
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS).decode()


def compact(obj: Any) -> str:
    """Serialise compactly, keys in insertion order."""
    return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS).decode()
