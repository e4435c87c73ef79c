"""The one list of our tables, shared by wipe_database, export/import and persistence_check.

tests/test_datatables.py proves every table of our five apps is listed here or in
DERIVED_TABLES with a reason, so a new model cannot be silently left out of a wipe or backup."""

APP_LABELS = ("accounts", "chat", "moderation", "usc_cards", "referrals", "screening")

# Parents before children, so a restore can insert in this order.
TABLES = (
    "users",
    "users_groups",
    "users_user_permissions",
    "sessions",
    "email_verifications",
    "user_locations",
    "invite_codes",
    "invite_code_uses",
    "waitlist_entries",
    "referral_mappings",
    "referral_notifications",
    "usc_card_registrations",
    "usc_scan_attempts",
    "active_rooms",
    "call_invites",
    "text_chat_messages",
    "screening_messages",
    "call_photos",
    "session_completions",
    "chat_history",
    "archived_text_chat_messages",
    "archived_chat_history",
    "cooldowns",
    "blocks",
    "meet_again_answers",
    "matches",
    "moderation_cases",
    "moderation_case_notes",
    "reports",
    "moderation_strike_presets",
    "moderation_strikes",
    "moderation_strikes_reports",
    "moderation_appeals",
    "user_bans",
    "ip_bans",
    "audit_log",
    "data_exports",
    "site_settings",
    "event_settings",
    "event_access_passes",
    "event_rsvps",
    "screening_watched_words",
    "screening_detectors",
    "screening_media_scans",
    "screening_account_holds",
)

# Tables of our apps that hold no facts of their own: emptied by a wipe, never exported.
DERIVED_TABLES = {
    "active_room_members": "written only by the trigger on active_rooms (chat migration 0002); "
    "restoring active_rooms rebuilds it",
}

# Django's own tables holding personal data (admin login sessions): emptied by a wipe too.
FRAMEWORK_PERSONAL_TABLES = ("django_session",)

# Tables a `--keep-staff` wipe does not truncate (it deletes the non-staff rows instead).
STAFF_TABLES = ("users", "users_groups", "users_user_permissions")
