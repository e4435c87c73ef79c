"""What the moderation services share: locking a user with their live partner, the addresses of
their sessions, and what a ban does to their call, sockets and sessions. The one
implementation is moderation.enforcement (outside this package, so the case and strike
modules the services call use it without importing the package); these are its names here."""

from moderation.enforcement import (
    end_call_and_sessions_of_banned as _end_call_and_sessions_of_banned,
)
from moderation.enforcement import (
    live_partner_id as _live_partner_id,
)
from moderation.enforcement import (
    lock_with_partner as _lock_with_partner,
)
from moderation.enforcement import (
    session_ips as _session_ips,
)
from moderation.enforcement import (
    set_ban_status as _set_ban_status,
)

__all__ = [
    "_end_call_and_sessions_of_banned",
    "_live_partner_id",
    "_lock_with_partner",
    "_session_ips",
    "_set_ban_status",
]
