"""Personal data masking (server.observability.pii) and the log formatters that apply it unless KEEL_LOG_CONTENT."""

from __future__ import annotations

import logging
import sys

import pytest

from server.observability.logging import formatter, log_context
from server.observability.pii import CARD_MASK, EMAIL_MASK, luhn_valid, mask_pii

EMAIL = "bob.smith@initech.example"
CARD = "4111 1111 1111 1111"  # Luhn-valid (a test Visa number)
REQUEST = f"I am {EMAIL}, my card {CARD} was declined: what is the billing status of cus_initech?"


def test_card_numbers_are_luhn_valid_digit_runs_and_emails_any_address():
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    run = "12345678-1234-5678-1234-567812345678"  # digit groups, but no card
    text = f"pay 4111-1111-1111-1111 or 4111111111111112, ask a@b.example, run {run}"
    assert mask_pii(text) == f"pay {CARD_MASK} or 4111111111111112, ask {EMAIL_MASK}, run {run}"
    assert mask_pii("to postgresql://keel@db.example.com:5432/keel") == "to postgresql://keel@db.example.com:5432/keel"


def _record() -> logging.LogRecord:
    try:
        raise ValueError(f"cannot handle {REQUEST!r}")
    except ValueError:
        exc_info = sys.exc_info()
    return logging.LogRecord("keel.test", logging.ERROR, __file__, 1, "run for %s failed", (EMAIL,), exc_info)


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_log_lines_mask_the_message_and_the_exception_unless_content_is_allowed(fmt: str):
    run_id = "4111111111111111"  # the run's fields are keel's ids, never masked (a card-like one included)
    with log_context(run_id=run_id):
        masked = formatter(fmt, content=False).format(_record())
        kept = formatter(fmt, content=True).format(_record())
    assert EMAIL not in masked and CARD not in masked
    assert masked.count(EMAIL_MASK) == 2 and masked.count(CARD_MASK) == 1  # in the message and in the error
    assert run_id in masked
    assert EMAIL in kept and CARD in kept
