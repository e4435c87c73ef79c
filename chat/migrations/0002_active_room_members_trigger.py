"""Keep active_room_members in step with active_rooms inside PostgreSQL.

A user may be in at most one live room, as user_1 or as user_2. One index cannot state a
rule over two columns, so each live room has a row per member in active_room_members
(primary key: user). This trigger writes those rows, so the rule holds for every writer,
ORM or raw SQL: inserting a second live room for a user raises a unique violation and
the whole INSERT/UPDATE is rolled back."""

from django.db import migrations

FORWARD = """
CREATE FUNCTION chat_active_rooms_sync_members() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM active_room_members WHERE room_id = OLD.id;
    END IF;
    IF NEW.status <> 'ended' THEN
        INSERT INTO active_room_members (user_id, room_id)
        VALUES (NEW.user_1_id, NEW.id), (NEW.user_2_id, NEW.id);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER active_rooms_members_on_insert
AFTER INSERT ON active_rooms
FOR EACH ROW EXECUTE FUNCTION chat_active_rooms_sync_members();

CREATE TRIGGER active_rooms_members_on_update
AFTER UPDATE OF status, user_1_id, user_2_id ON active_rooms
FOR EACH ROW
WHEN (OLD.status IS DISTINCT FROM NEW.status
      OR OLD.user_1_id IS DISTINCT FROM NEW.user_1_id
      OR OLD.user_2_id IS DISTINCT FROM NEW.user_2_id)
EXECUTE FUNCTION chat_active_rooms_sync_members();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS active_rooms_members_on_update ON active_rooms;
DROP TRIGGER IF EXISTS active_rooms_members_on_insert ON active_rooms;
DROP FUNCTION IF EXISTS chat_active_rooms_sync_members();
"""


class Migration(migrations.Migration):
    dependencies = [("chat", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
