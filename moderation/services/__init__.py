"""Moderation writes. Every moderation action, ban, wipe, export and security event
writes one audit_log row in the same transaction as the action (record_audit) and a log line.

The API (reports) and the admin (moderator actions) call these functions; nothing else
changes users.ban_status, user_bans or ip_bans. One module per topic, re-exported here:
reports and the automatic ban (reports.py), a moderator's ban decisions (bans.py), IP bans
(ip_bans.py), the console's settings and roles (console.py), what they share (common.py)."""

from moderation.services.bans import ban_permanently, unban, vindicate
from moderation.services.console import make_moderator, set_open_signup
from moderation.services.ip_bans import ban_ip, lift_ip_ban, normalize_ip
from moderation.services.reports import REPORT_WINDOW, ReportResult, report_tally, set_report_reviewed, submit_report

__all__ = [
    "REPORT_WINDOW",
    "ReportResult",
    "ban_ip",
    "ban_permanently",
    "lift_ip_ban",
    "make_moderator",
    "normalize_ip",
    "report_tally",
    "set_open_signup",
    "set_report_reviewed",
    "submit_report",
    "unban",
    "vindicate",
]
