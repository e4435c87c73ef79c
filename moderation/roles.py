"""The `moderators` group and exactly the permissions a moderator needs.

Moderators see users, their sessions (IPs), reports, bans, IP bans, invite codes, RSVPs and
the audit log; they change only what their actions touch (users' bans, reports' reviewed
flag, ban records, IP bans, invite codes, the open sign-up switch, event mode and access
outside events). Never: auth groups or
permissions, deleting users or audit rows. Editing superusers and the permission fields of
users is refused in moderation.admin_users.UserAdmin on top of this list."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions

MODERATORS_GROUP = "moderators"

# (app_label, codename)
MODERATOR_PERMISSIONS = (
    ("accounts", "view_user"),
    ("accounts", "change_user"),
    ("accounts", "view_authsession"),
    ("moderation", "view_report"),
    ("moderation", "change_report"),
    ("moderation", "view_userban"),
    ("moderation", "change_userban"),
    ("moderation", "view_ipban"),
    ("moderation", "add_ipban"),
    ("moderation", "change_ipban"),
    ("moderation", "delete_ipban"),
    ("moderation", "view_auditlog"),
    # The queue (moderation.admin_cases): cases, notes, strikes, their presets, appeals.
    ("moderation", "view_case"),
    ("moderation", "change_case"),
    ("moderation", "view_casenote"),
    ("moderation", "view_strike"),
    ("moderation", "view_strikepreset"),
    ("moderation", "add_strikepreset"),
    ("moderation", "change_strikepreset"),
    ("moderation", "view_appeal"),
    ("moderation", "change_appeal"),
    ("moderation", "view_sitesettings"),
    ("moderation", "change_sitesettings"),
    ("referrals", "view_invitecode"),
    ("referrals", "add_invitecode"),
    ("referrals", "change_invitecode"),
    ("referrals", "view_invitecodeuse"),
    ("referrals", "view_waitlistentry"),
    ("referrals", "change_waitlistentry"),  # the "send invite codes" action only (no edit form)
    # Event mode (chat.event_mode): the settings row, access outside events, the RSVP chart.
    ("chat", "view_eventsettings"),
    ("chat", "add_eventsettings"),
    ("chat", "change_eventsettings"),
    ("chat", "view_eventaccesspass"),
    ("chat", "add_eventaccesspass"),
    ("chat", "delete_eventaccesspass"),
    ("chat", "view_eventrsvp"),
    # Screening (docs/screening.md): watched words, detector switches, hidden media, holds.
    ("screening", "view_watchedword"),
    ("screening", "add_watchedword"),
    ("screening", "change_watchedword"),
    ("screening", "delete_watchedword"),
    ("screening", "view_detector"),
    ("screening", "change_detector"),
    ("screening", "view_mediascan"),
    ("screening", "view_accounthold"),
)


def ensure_moderators_group(apps=global_apps):
    """Create (or reset) the group with exactly MODERATOR_PERMISSIONS. Takes an app registry
    so the data migration can run it with historical models; permissions are created first,
    because on a fresh database they normally appear only after all migrations (post_migrate)."""
    for label in {label for label, _ in MODERATOR_PERMISSIONS}:
        try:
            config = apps.get_app_config(label)
        except LookupError:  # an app whose first migration comes later (and runs this again)
            continue
        config.models_module = getattr(config, "models_module", None) or True
        create_permissions(config, apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=MODERATORS_GROUP)
    wanted = []
    for label, codename in MODERATOR_PERMISSIONS:
        try:
            apps.get_model(label, codename.split("_", 1)[1])
        except LookupError:  # a model of a later migration, which runs this again
            continue
        wanted.append(Permission.objects.get(content_type__app_label=label, codename=codename))
    group.permissions.set(wanted)
    return group
