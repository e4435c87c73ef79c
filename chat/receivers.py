"""Chat's reactions to accounts.signals and referrals.signals (connected in ChatConfig.ready())."""

from django.db import transaction

from chat import presence_state
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


def apply_discoverability(sender, *, user, discoverable, **kwargs):
    """The "stay discoverable while browsing" setting counts from the moment it is saved: the
    user's lapse time is recomputed after commit (a lost write is corrected by the client's
    next report, which carries the setting read from the database)."""
    transaction.on_commit(lambda: presence_state.set_discoverable(user.pk, discoverable), robust=True)
