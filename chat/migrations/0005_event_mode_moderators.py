"""The moderators group gets the event-mode and waitlist permissions (moderation.roles lists them)."""

from django.db import migrations


def refresh_group(apps, schema_editor):
    from moderation.roles import ensure_moderators_group

    ensure_moderators_group(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0004_event_mode"),
        ("moderation", "0005_moderators_group"),
        ("referrals", "0003_waitlist"),
    ]

    operations = [migrations.RunPython(refresh_group, migrations.RunPython.noop)]
