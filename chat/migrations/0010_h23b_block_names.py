from django.db import migrations, models

# Blocks made before this migration take the names as they are now (nothing older is known).
BACKFILL = """
UPDATE blocks SET blocker_name = a.name, blocked_name = b.name
FROM users a, users b WHERE a.id = blocks.blocker_id AND b.id = blocks.blocked_id
"""


class Migration(migrations.Migration):
    dependencies = [("chat", "0009_matches")]

    operations = [
        migrations.AddField(
            model_name="block",
            name="blocker_name",
            field=models.CharField(blank=True, db_default="", default="", max_length=60),
        ),
        migrations.AddField(
            model_name="block",
            name="blocked_name",
            field=models.CharField(blank=True, db_default="", default="", max_length=60),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
    ]
