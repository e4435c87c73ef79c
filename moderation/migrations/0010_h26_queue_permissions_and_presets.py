"""The moderators' group gains the queue's permissions; a few preset reasons to start from."""

from django.db import migrations

PRESETS = (
    ("Harassment", "You harassed or insulted another member."),
    ("Sexual content", "You showed or sent sexual content without consent."),
    ("Underage", "Rendezvous is for adults; this account appears to belong to a minor."),
    ("Threats", "You threatened another member."),
    ("Hate", "You attacked someone for who they are."),
    ("Spam or scams", "You used Rendezvous to advertise, spam or scam."),
    ("Fake profile", "Your profile impersonates someone or is not you."),
)


def forward(apps, schema_editor):
    from moderation.roles import ensure_moderators_group

    ensure_moderators_group(apps)
    StrikePreset = apps.get_model("moderation", "StrikePreset")
    for title, text in PRESETS:
        StrikePreset.objects.get_or_create(title=title, defaults={"text": text})


def backward(apps, schema_editor):
    pass


class Migration(migrations.Migration):
    dependencies = [("moderation", "0009_h26_cases_strikes_appeals")]

    operations = [migrations.RunPython(forward, backward)]
