"""screening_messages rows go with their message in the database itself (ON DELETE CASCADE):
retention moves old messages to the archive with one raw DELETE … RETURNING, which Django's
model-level cascade never sees, so a censored or flagged message used to make the whole
archive batch fail on this foreign key at commit."""

from django.db import migrations

FK = "screening_messages_message_id_404d57e2_fk_text_chat_messages_id"

CASCADE = f"""
ALTER TABLE screening_messages DROP CONSTRAINT {FK};
ALTER TABLE screening_messages ADD CONSTRAINT {FK} FOREIGN KEY (message_id)
    REFERENCES text_chat_messages (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED;
"""

NO_ACTION = f"""
ALTER TABLE screening_messages DROP CONSTRAINT {FK};
ALTER TABLE screening_messages ADD CONSTRAINT {FK} FOREIGN KEY (message_id)
    REFERENCES text_chat_messages (id) DEFERRABLE INITIALLY DEFERRED;
"""


class Migration(migrations.Migration):
    dependencies = [("screening", "0001_h27_screening")]

    operations = [migrations.RunSQL(CASCADE, NO_ACTION)]
