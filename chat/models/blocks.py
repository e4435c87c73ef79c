"""Blocks between two users."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class Block(models.Model):
    """`blocker` blocked `blocked`: the two no longer see each other in the reel or hear each
    other's presence, and invites either way are refused as "not available" (rdv_send_invite,
    rdv_accept_invite: chat/sql/). One row per ordered pair; unblocking deletes it.
    The two names are as they were when the block was made: the blocker's list shows
    `blocked_name`, so a block never tells either side anything newer about the other."""

    MAX_PER_USER = 1000

    # No single-column indexes: the two below serve every lookup by either column.
    blocker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    blocked = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    blocker_name = models.CharField(max_length=60, default="", db_default="", blank=True)
    blocked_name = models.CharField(max_length=60, default="", db_default="", blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "blocks"
        constraints = [
            # Also the index for "did I block them" and my list (blocker first).
            models.UniqueConstraint(fields=["blocker", "blocked"], name="chat_blocks_pair_unique"),
            models.CheckConstraint(condition=~Q(blocker=F("blocked")), name="chat_blocks_not_self"),
        ]
        indexes = [
            # The other way round: "did they block me" (reel, presence, invites look up both).
            models.Index(fields=["blocked", "blocker"], name="blocks_blocked_blocker"),
        ]

    def __str__(self):
        return f"block {self.blocker_id} -> {self.blocked_id}"
