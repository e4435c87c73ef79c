"""The `moderators` group with exactly the permissions of moderation.roles."""

from django.db import migrations


def create_group(apps, schema_editor):
    from moderation.roles import ensure_moderators_group

    ensure_moderators_group(apps)


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="moderators").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("moderation", "0004_report_outlives_reported_user"),
        ("accounts", "0003_location_updated_at"),
        ("referrals", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
