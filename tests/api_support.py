"""Shared REST-client helpers for the tests: the one way a test signs a user in over HTTP."""

from rest_framework.test import APIClient

from accounts.models import User
from accounts.services.sessions import start_session

PASSWORD = "violet-harbor-lantern-42"


def api(token: str | None = None) -> APIClient:
    """A client, sending `Authorization: Bearer <token>` when given one."""
    client = APIClient()
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def signed_in(user) -> APIClient:
    """A client with a new session of `user` (the single-session rule ends earlier ones)."""
    return signed_in_with_token(user)[0]


def signed_in_with_token(user) -> tuple[APIClient, str]:
    """signed_in, and the session's token too (for tests that check the session itself)."""
    token = start_session(user, ip="127.0.0.1")
    return api(token), token


def make_member(user: User, email: str, password: str = PASSWORD) -> User:
    """Turn a cast member into a permanent account with a verified email and a password."""
    user.account_type = User.AccountType.PERMANENT
    user.account_expires_at = None
    user.email = email
    user.email_verified = True
    user.set_password(password)
    user.save()
    return user
