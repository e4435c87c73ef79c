"""Moderators get the screening permissions (moderation.roles)."""

from django.db import migrations


def reset_group(apps, schema_editor):
    from moderation.roles import ensure_moderators_group

    ensure_moderators_group(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("moderation", "0006_data_exports"),
        ("screening", "0001_h27_screening"),
    ]

    operations = [migrations.RunPython(reset_group, migrations.RunPython.noop)]
