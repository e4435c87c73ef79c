"""Chat's reactions to accounts.signals (connected in ChatConfig.ready())."""

from chat.services import end_live_room_of


def end_room_of_deleted_account(sender, *, user, **kwargs):
    """A deleted account's live call ends properly, so the partner keeps their history."""
    end_live_room_of(user.pk, reason="account_deleted")
