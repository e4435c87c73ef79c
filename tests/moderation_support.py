"""Casts for the moderation tests: fresh reporters (a sign-up wave) and trusted ones."""

from datetime import timedelta

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from moderation.services import reports
from tests.factories import ActiveRoomFactory, UserFactory


def with_selfie(user):
    user.selfie.name = default_storage.save(f"selfies/{user.pk}.jpg", ContentFile(b"\xff\xd8jpeg"))
    user.save(update_fields=["selfie"])
    return user


def fresh_reporter(**fields):
    """A guest who signed up a minute ago, no calls, unverified."""
    return UserFactory(created_at=timezone.now() - timedelta(minutes=1), **fields)


def trusted_reporter(target, *, days_old=60, **fields):
    """A verified USC member, months old, with completed calls, who shared a call with target."""
    user = UserFactory(
        permanent=True, created_at=timezone.now() - timedelta(days=days_old), session_count=5, successful_sessions=5
    )
    user.usc_verified_at = timezone.now() - timedelta(days=days_old)
    user.save(update_fields=["usc_verified_at"])
    ActiveRoomFactory(user_1=user, user_2=target, ended=True)
    return user


def file(reporter, target, *, ip, category="harassment"):
    return reports.submit_report(reporter, reported_id=target.pk, category=category, text="rude", ip=ip)
