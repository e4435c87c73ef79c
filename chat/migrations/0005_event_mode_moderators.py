"""The moderators group gets the event-mode and waitlist permissions.

History, frozen: the permissions this step gave, copied here rather than imported from
moderation.roles (chat sits below moderation and imports none of it, migrations included).
It only adds them: the exact list is moderation's, set by moderation's own migrations
(0005_moderators_group, 0007_h27_screening_permissions) and by `make_moderator`, so the order in
which a fresh database runs this beside them changes nothing."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

MODERATORS_GROUP = "moderators"
PERMISSIONS = (  # (app_label, codename), as of this migration
    ("chat", "view_eventsettings"),
    ("chat", "add_eventsettings"),
    ("chat", "change_eventsettings"),
    ("chat", "view_eventaccesspass"),
    ("chat", "add_eventaccesspass"),
    ("chat", "delete_eventaccesspass"),
    ("chat", "view_eventrsvp"),
    ("referrals", "view_waitlistentry"),
    ("referrals", "change_waitlistentry"),  # the "send invite codes" action only (no edit form)
)


def add_to_group(apps, schema_editor):
    for label in {label for label, _ in PERMISSIONS}:  # on a fresh database they appear after post_migrate
        config = apps.get_app_config(label)
        config.models_module = getattr(config, "models_module", None) or True
        create_permissions(config, apps=apps, verbosity=0)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=MODERATORS_GROUP)
    group.permissions.add(
        *(Permission.objects.get(content_type__app_label=label, codename=codename) for label, codename in PERMISSIONS)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0004_event_mode"),
        ("moderation", "0005_moderators_group"),
        ("referrals", "0003_waitlist"),
    ]

    operations = [migrations.RunPython(add_to_group, migrations.RunPython.noop)]
