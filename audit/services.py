"""record_audit: one audit_log row and one log line, in the caller's transaction."""

import logging

from django.db import transaction

from audit.models import AuditLog

logger = logging.getLogger("rendezvous.audit")


@transaction.atomic(savepoint=False)
def record_audit(event_type: str, *, actor=None, target=None, ip: str | None = None, details: dict | None = None):
    """Append an audit row (joins the caller's transaction) and log one line for operators."""
    entry = AuditLog.objects.create(event_type=event_type, actor=actor, target=target, ip=ip, details=details or {})
    logger.info(
        "audit %s actor=%s target=%s ip=%s details=%s",
        event_type,
        getattr(actor, "pk", None),
        getattr(target, "pk", None),
        ip,
        entry.details,
        extra={"event": f"audit.{event_type}"},
    )
    return entry
