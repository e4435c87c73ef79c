"""Create the single site_settings row (open sign-up off)."""

from django.db import migrations


def create_row(apps, schema_editor):
    SiteSettings = apps.get_model("moderation", "SiteSettings")
    SiteSettings.objects.get_or_create(id=1)


class Migration(migrations.Migration):
    dependencies = [("moderation", "0001_initial")]

    operations = [migrations.RunPython(create_row, migrations.RunPython.noop)]
