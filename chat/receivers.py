"""Chat's reactions to accounts.signals and referrals.signals (connected in ChatConfig.ready())."""

from django.db import transaction

from chat.selectors import blocked_either_way
from chat.services import delete_photo_files, end_live_room_of, photo_files_of_user


def end_room_of_deleted_account(sender, *, user, **kwargs):
    """A deleted account's live call ends properly, so the partner keeps their history."""
    end_live_room_of(user.pk, reason="account_deleted")


def delete_photos_of_deleted_account(sender, *, user, **kwargs):
    """The photos a deleted account sent or received in text calls go with it (their rows by
    the cascade), and their files once the deletion commits."""
    files = photo_files_of_user(user.pk)
    if files:
        transaction.on_commit(lambda: delete_photo_files(files), robust=True)


def block_bars_introduction(sender, *, introducer_id, target_id, **kwargs) -> bool:
    """Nobody introduces anyone to a person they blocked or who blocked them."""
    return blocked_either_way(introducer_id, target_id)
