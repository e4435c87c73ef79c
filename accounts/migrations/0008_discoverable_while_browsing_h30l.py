from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("accounts", "0007_ban_ends_at_hsus")]

    operations = [
        migrations.AddField(
            model_name="user",
            name="discoverable_while_browsing",
            field=models.BooleanField(default=True, db_default=True),
        ),
    ]
