"""Personal data kept out of logs and traces unless KEEL_LOG_CONTENT=true: e-mail addresses, and card-like numbers
(13 to 19 digits, optionally grouped by spaces or dashes, that pass the Luhn check, so order and invoice numbers
mostly survive). What replaces them says what was there."""

from __future__ import annotations

import json
import re
from typing import Any

from langfuse._utils.serializer import EventSerializer  # how the SDK itself turns span data into JSON

EMAIL_MASK = "[email]"
CARD_MASK = "[card]"

# Not the user of a URL (`postgresql://keel@db.example.com`): that is a connection target, not a person's address.
_EMAIL = re.compile(r"(?<![/\w.%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# Not inside a longer run of digits, letters or dashes (a UUID's digit groups are not a card).
_CARD = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"[ -]", "", match.group())
    return CARD_MASK if luhn_valid(digits) else match.group()


def mask_pii(text: str) -> str:
    return _CARD.sub(_card, _EMAIL.sub(EMAIL_MASK, text))


def _mask_json(value: Any) -> Any:
    if isinstance(value, str):
        return mask_pii(value)
    if isinstance(value, dict):
        return {key: _mask_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_mask_json(item) for item in value]
    return value


def mask_span_data(*, data: Any, **kwargs: Any) -> Any:  # noqa: ARG001 -- Langfuse's MaskFunction signature
    """Langfuse's `mask` hook: span inputs, outputs and metadata (LangChain messages, dicts, text) as the JSON the
    SDK would export, with personal data masked."""
    return _mask_json(json.loads(json.dumps(data, cls=EventSerializer)))
