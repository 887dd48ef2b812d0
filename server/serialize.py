"""Graph values to JSON, the way LangGraph Server shows them to the SDK.

`to_json_compatible(obj)` returns plain JSON types (dict, list, str, int, float, bool, None);
`dumps(obj)` is the same as a compact JSON string (for SSE `data:` lines). Rules, in order:

- LangChain messages and other pydantic models: their `model_dump()` (`type`, `content`, `id`, ...)
- `Interrupt`: `{"value": ..., "id": ...}` (+ `response_schema` when the graph gave one)
- `Send`: `{"node": ..., "arg": ...}`; other dataclasses (e.g. `Command`): their fields
- named tuples: a dict of their fields; other tuples, lists, sets: lists
- datetime/date/time: ISO 8601; UUID, Decimal, Path: `str`; Enum: its value; bytes: base64
- exceptions: `{"error": "<type name>", "message": "<str(exc)>"}`
- anything else: `str(obj)` (a value in state that has no JSON form still reads back as text)
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from typing import Any
from uuid import UUID

from langgraph.types import Interrupt, Send
from pydantic import BaseModel

JSON = dict[str, Any] | list[Any] | str | int | float | bool | None


def to_json_compatible(obj: Any) -> JSON:
    if obj is None or isinstance(obj, str | bool | int | float):
        return obj
    if isinstance(obj, Mapping):
        return {_key(key): to_json_compatible(value) for key, value in obj.items()}
    if isinstance(obj, list | set | frozenset) or (isinstance(obj, tuple) and not hasattr(obj, "_asdict")):
        return [to_json_compatible(item) for item in obj]
    return _special(obj)


def interrupt_to_json(interrupt: Interrupt) -> dict[str, Any]:
    data: dict[str, Any] = {"value": to_json_compatible(interrupt.value), "id": interrupt.id}
    if isinstance(interrupt.response_schema, dict):
        data["response_schema"] = to_json_compatible(interrupt.response_schema)
    return data


def dumps(obj: Any) -> str:
    return json.dumps(to_json_compatible(obj), ensure_ascii=False, separators=(",", ":"))


def _special(obj: Any) -> JSON:
    if isinstance(obj, Interrupt):
        return interrupt_to_json(obj)
    if isinstance(obj, BaseModel):
        return to_json_compatible(obj.model_dump())
    if isinstance(obj, Send):
        return {"node": obj.node, "arg": to_json_compatible(obj.arg)}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {field.name: to_json_compatible(getattr(obj, field.name)) for field in dataclasses.fields(obj)}
    if isinstance(obj, tuple):  # a named tuple
        return to_json_compatible(obj._asdict())  # type: ignore[attr-defined]  # checked with hasattr above
    if isinstance(obj, datetime | date | time):
        return obj.isoformat()
    if isinstance(obj, UUID | Decimal | PurePath):
        return str(obj)
    if isinstance(obj, Enum):
        return to_json_compatible(obj.value)
    if isinstance(obj, bytes | bytearray):
        return base64.b64encode(obj).decode("ascii")
    if isinstance(obj, BaseException):
        return {"error": type(obj).__name__, "message": str(obj)}
    return str(obj)


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, Enum):
        return str(key.value)
    return str(key)
