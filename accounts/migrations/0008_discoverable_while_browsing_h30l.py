from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("accounts", "0006_h29_access_status_labels")]

    operations = [
        migrations.AddField(
            model_name="user",
            name="discoverable_while_browsing",
            field=models.BooleanField(default=True, db_default=True),
        ),
    ]
