"""What screening announces, for the app above it that keeps the moderators' cases.

screening sits below chat (chat calls it on every message) and moderation sits above both, so
screening never imports moderation: it sends `case_requested` and moderation's receiver (its
AppConfig.ready) files the case. Sent inside the sender's transaction: the case commits or
rolls back with what caused it."""

from django.dispatch import Signal

# Sent by screening.cases.request_case with `user_id` (the person the case is about), `kind`
# ("message", "nudity", "ban_evasion", "call_photo"), `category` (a moderation report category) and
# `evidence` (a JSON-able dict). The receiver returns the case's id.
case_requested = Signal()

# Sent by screening.cases.request_strike (a moderator removed media as a violation) with
# `user_id`, `reason` (a preset reason's code), `text` and `moderator`. The receiver records
# the strike and returns its id.
strike_requested = Signal()
