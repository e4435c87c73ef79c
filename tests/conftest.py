"""Fixtures shared by the tests in this folder (the cast lives in the root conftest.py)."""

from tests.chat_support import clock, inbox  # noqa: F401 - fixtures, found by pytest here
