"""Screening's receivers: accounts' media and deletion signals, and the admin changes that must
flush the cached rules (signals only flush caches and queue work here; the work is in services)."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.signals import account_deleting, media_replaced
from screening import media
from screening.models import Detector, WatchedWord
from screening.rules import invalidate_rules
from screening.tasks import scan_media_task


@receiver(media_replaced, dispatch_uid="screening.on_media_replaced")
def on_media_replaced(sender, *, user, field, old_name, new_name, **kwargs):
    media.media_replaced(user, field=field, old_name=old_name, new_name=new_name)
    if new_name:
        scan_media_task.delay_on_commit(str(user.pk), field, new_name)


@receiver(account_deleting, dispatch_uid="screening.on_account_deleting")
def on_account_deleting(sender, *, user, **kwargs):
    media.forget_hashes_unless_banned(user)


@receiver([post_save, post_delete], sender=WatchedWord, dispatch_uid="screening.words_changed")
@receiver([post_save, post_delete], sender=Detector, dispatch_uid="screening.detectors_changed")
def on_rules_changed(sender, **kwargs):
    # After commit: a process that rebuilt its rules before then would cache the old rows.
    transaction.on_commit(invalidate_rules, robust=True)
