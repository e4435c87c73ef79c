from django.db import migrations, models

# A suspended person's end, from their active suspensions (the latest); none when an active
# sanction without an end (the automatic ban) or a ban holds them.
BACKFILL = """
UPDATE users u SET ban_ends_at = s.ends_at
  FROM (SELECT user_id, max(ends_at) AS ends_at FROM moderation_strikes
         WHERE status = 'active' AND lifted_at IS NULL AND action <> 'warning'
         GROUP BY user_id
        HAVING bool_and(action = 'suspension' AND ends_at IS NOT NULL)) s
 WHERE u.id = s.user_id AND u.ban_status = 'temporary'
"""


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_h29_access_status_labels"),
        ("moderation", "0010_h26_queue_permissions_and_presets"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="ban_ends_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddConstraint(
            model_name="user",
            constraint=models.CheckConstraint(
                condition=models.Q(ban_ends_at__isnull=True) | models.Q(ban_status="temporary"),
                name="accounts_users_ban_end_only_temporary",
            ),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
    ]
