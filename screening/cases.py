"""Screening's one way into the moderators' queue (see screening.signals)."""

import logging

from django.db import transaction

from screening.signals import case_requested, strike_requested

logger = logging.getLogger("rendezvous.screening")


def request_case(user_id, *, kind: str, category: str, evidence: dict):
    """Open a case about `user_id` with `evidence`, in the caller's transaction; the case's id
    (None when no app keeps cases)."""
    assert transaction.get_connection().in_atomic_block, "request_case runs inside the caller's transaction"
    for _, case_id in case_requested.send(sender=__name__, user_id=user_id, kind=kind, category=category,
                                          evidence=evidence):  # fmt: skip
        return case_id
    logger.warning("screening case about %s (%s) has no receiver", user_id, kind)
    return None


def request_strike(user_id, *, reason: str, text: str, moderator):
    """A strike on `user_id` for a violation a moderator confirmed (removed media), in the
    caller's transaction, through the app that keeps strikes (see screening.signals)."""
    for _, strike_id in strike_requested.send(sender=__name__, user_id=user_id, reason=reason, text=text,
                                              moderator=moderator):  # fmt: skip
        return strike_id
    return None
