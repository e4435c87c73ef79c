"""Screening of a chat message's text, before the database stores it: block (refused with
message_blocked), censor (delivered with each match masked) or flag (delivered; a case opens
for moderators with the message as evidence). The strongest action found wins (block, then
flag, then censor); a flagged message is also masked where a censor rule matched."""

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from screening import cases
from screening.errors import MessageBlocked
from screening.models import ScreenedMessage, ScreeningAction
from screening.rules import current_rules

MASK = "•"


@dataclass(frozen=True)
class Verdict:
    action: str | None  # None: nothing matched
    text: str  # what is delivered (masked where a censor rule matched)
    rules: tuple[str, ...] = ()

    @property
    def recorded(self) -> bool:
        return self.action in (ScreeningAction.CENSOR, ScreeningAction.FLAG)


CLEAN = Verdict(None, "")


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for start, end in spans:
        for i in range(start, end):
            if not chars[i].isspace():
                chars[i] = MASK
    return "".join(chars)


def screen_text(text: str) -> Verdict:
    """The verdict on `text`; raises MessageBlocked when a block rule matches."""
    if not text or not settings.SCREENING_TEXT:
        return Verdict(None, text)
    hits: dict[str, list[str]] = {}
    censored: list[tuple[int, int]] = []
    for rule in current_rules().rules:
        spans = rule.find(text)
        if not spans:
            continue
        if rule.action == ScreeningAction.BLOCK:
            raise MessageBlocked()  # which rule is not said: senders would probe the list
        hits.setdefault(rule.action, []).append(rule.label)
        if rule.action == ScreeningAction.CENSOR:
            censored.extend(spans)
    if not hits:
        return Verdict(None, text)
    action = ScreeningAction.FLAG if ScreeningAction.FLAG in hits else ScreeningAction.CENSOR
    labels = tuple(hits.get(ScreeningAction.FLAG, []) + hits.get(ScreeningAction.CENSOR, []))
    return Verdict(action, _mask(text, censored) if censored else text, labels)


@transaction.atomic(durable=True)
def record_verdict(verdict: Verdict, *, message_id, sender_id, receiver_id, room_id, original_text: str) -> None:
    """After the message is stored: remember what screening did (the recipient's "Does this
    bother you?" is offered for it) and, for a flag, open a case with the message as evidence.
    A resend (same client_id) finds the row and does nothing."""
    _, created = ScreenedMessage.objects.get_or_create(
        message_id=message_id, defaults={"action": verdict.action, "rules": list(verdict.rules)}
    )
    if created and verdict.action == ScreeningAction.FLAG:
        cases.request_case(
            sender_id,
            kind="message",
            category="harassment",
            evidence={
                "message_id": message_id,
                "room_id": str(room_id),
                "receiver_id": str(receiver_id),
                "text": original_text,
                "delivered_text": verdict.text,
                "rules": list(verdict.rules),
            },
        )
