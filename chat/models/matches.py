"""After a call: each side's "I'd meet again" answer, and the match two yeses make
(chat/services/matches.py; README → Matches)."""

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from config.db import json_is


class MeetAgainAnswer(models.Model):
    """One member's answer about one ended room: yes (True) or no (False). Only its author ever
    reads it back; the other side never learns it (a "no" is never told, only a match is)."""

    WINDOW = timedelta(hours=24)  # answers are taken until this long after the room ended

    room = models.ForeignKey("chat.ActiveRoom", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    answer = models.BooleanField()
    answered_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "meet_again_answers"
        constraints = [
            models.UniqueConstraint(fields=["room", "user"], name="chat_meet_again_once_per_room_and_user"),
        ]
        indexes = [
            # Unmatch turns the unmatcher's yeses for the pair's rooms into no: WHERE user_id=?.
            models.Index(fields=["user", "room"], name="meet_again_user_room"),
        ]

    def __str__(self):
        return f"{self.user_id} {'yes' if self.answer else 'no'} for {self.room_id}"


class Match(models.Model):
    """Two people who both said yes after a call. The pair is stored ordered (user_low <
    user_high), one row per pair (as cooldowns), so two simultaneous yeses make one row. Each
    side chooses which of their socials the other sees here (none until they choose)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user_low = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    user_high = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    room = models.ForeignKey("chat.ActiveRoom", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # Networks (keys of users.socials) each side shares with the other: a JSON array of names.
    low_shares = models.JSONField(default=list, blank=True)
    high_shares = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "matches"
        verbose_name_plural = "matches"
        constraints = [
            models.CheckConstraint(condition=Q(user_low__lt=F("user_high")), name="chat_matches_pair_ordered"),
            models.UniqueConstraint(fields=["user_low", "user_high"], name="chat_matches_pair_unique"),
            models.CheckConstraint(condition=json_is("low_shares", "array"), name="chat_matches_low_shares_array"),
            models.CheckConstraint(condition=json_is("high_shares", "array"), name="chat_matches_high_shares_array"),
        ]
        indexes = [
            # My matches: the unique index serves user_low = me, this one user_high = me.
            models.Index(fields=["user_high", "created_at"], name="matches_high_created"),
        ]

    def __str__(self):
        return f"match {self.user_low_id}/{self.user_high_id}"

    def partner_id(self, user_id):
        return self.user_high_id if str(self.user_low_id) == str(user_id) else self.user_low_id

    def shares_of(self, user_id) -> list:
        """The networks `user_id` (a side) shares with the other."""
        return self.low_shares if str(self.user_low_id) == str(user_id) else self.high_shares
