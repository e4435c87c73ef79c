-- room.end from a member: strangers and made-up ids are not_found, an ended room of theirs is
-- room_ended (checked without a lock, like the timers: ending locks users first), then the end.
CREATE OR REPLACE FUNCTION rdv_end_room_by_member(
  p_user uuid, p_room uuid, p_reason text, p_now timestamptz, p_successful int, p_cooldown interval,
  p_code_1 text, p_code_2 text, p_unlock_needed int, p_code_uses int, p_raise_from text[]
) RETURNS TABLE (outcome text, spent int, user_id uuid, timer_total_seconds bigint, session_count int,
                 successful_sessions int, qr_unlocked boolean, access_status text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  st text;
BEGIN
  SELECT a.status INTO st FROM active_rooms a WHERE a.id = p_room AND p_user IN (a.user_1_id, a.user_2_id);
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'not_found', 0, NULL::uuid, NULL::bigint, NULL::int, NULL::int, NULL::boolean, NULL::text;
    RETURN;
  END IF;
  IF st = 'ended' THEN
    RETURN QUERY SELECT 'room_ended', 0, NULL::uuid, NULL::bigint, NULL::int, NULL::int, NULL::boolean, NULL::text;
    RETURN;
  END IF;
  RETURN QUERY SELECT * FROM rdv_end_room(p_room, p_reason, p_now, p_successful, p_cooldown, p_code_1, p_code_2,
                                          p_unlock_needed, p_code_uses, p_raise_from);
END
$$;
