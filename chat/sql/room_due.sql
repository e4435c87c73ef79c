-- Why this live room must end at p_now, if it must (ActiveRoom.due in Python): timer, grace expiry, text inactivity.
CREATE OR REPLACE FUNCTION rdv_room_due(r active_rooms, p_now timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT CASE
    WHEN r.status = 'ended' THEN NULL
    WHEN r.ends_at <= p_now THEN 'timer'
    WHEN r.status = 'grace_period' AND r.grace_period_expires <= p_now THEN 'disconnect'
    WHEN r.chat_mode = 'text' AND r.upgraded_at IS NULL
         AND p_now - LEAST(COALESCE(r.user_1_last_message_at, r.started_at),
                           COALESCE(r.user_2_last_message_at, r.started_at)) >= interval '120 seconds'
      THEN 'inactivity'
  END
$$;
