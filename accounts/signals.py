"""What accounts announces, for the apps above it to react to (docs/architecture.md, "Layers").

Accounts never calls up into chat, referrals or moderation; it sends one of these and the upper
app connects its receiver in its AppConfig.ready(). Each is sent with Signal.send inside the
sender's transaction, so a receiver's writes commit or roll back with it and a receiver's
exception aborts the whole operation, exactly as a direct call would."""

from django.dispatch import Signal

# Sent by accounts.services.profile.delete_account first, before the user row is locked, with
# `user` (the account about to go). Chat ends the user's live room properly here, so the
# partner keeps their history (locking both users in id order, the global lock order).
# Operations deletes the account's data export files after commit.
account_deleting = Signal()

# Sent by accounts.services.access.grant_access after the access status rose, with `user` and
# `status` (the new one). Referrals gives a qr_verified user their own invite code.
access_granted = Signal()

# Sent by accounts.services.profile when a selfie or intro video is set, replaced or removed,
# inside the transaction that swaps the reference, with `user`, `field` ("selfie"/"video"),
# `old_name` and `new_name` (storage names; "" for none). Screening scans the new media after
# commit and decides what happens to the old media's hashes.
media_replaced = Signal()

# Sent by accounts.services.profile.update_profile when discoverable_while_browsing is set,
# inside its transaction, with `user` and `discoverable`. Chat applies it to the user's
# presence after commit (chat.presence_state).
discoverability_changed = Signal()
