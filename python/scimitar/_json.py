"""JSON on the paths that carry every imported row and every decision between Python and the core:
orjson where it accepts the value, the standard library where it does not (lone surrogates, keys that
are not strings, integers beyond 64 bits), so both give the same JSON and errors stay the standard
library's."""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(value: Any) -> bytes | str:
    """Compact JSON text (bytes from orjson, UTF-8; str from the fallback)."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, separators=(",", ":"))


def loads(text: bytes | str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)  # the standard library's error message, or its leniency
