-- The trigger function behind "a user is in at most one live room" (triggers
-- active_rooms_members_on_insert / _on_update, chat migration 0002): each live room has a row
-- per member in active_room_members (primary key: user), so a second live room for a user is a
-- unique violation, whoever writes it (ORM or SQL).
CREATE OR REPLACE FUNCTION chat_active_rooms_sync_members() RETURNS trigger
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
