"""Helpers for the screening tests: a room to chat in, fresh rules."""

from screening import rules
from tests.factories import ActiveRoomFactory


def live_room(user_1, user_2):
    return ActiveRoomFactory(user_1=user_1, user_2=user_2, user_1_connected=True, user_2_connected=True)


def fresh_rules():
    """Drop the process's cached rules (a test's rows are not committed, so no signal ran)."""
    rules.invalidate_rules()
