-- Why this live room must end at p_now, if it must: its timer ran out ('timer'), its grace period
-- after a disconnect expired ('disconnect'), or a text call not upgraded to video had one side
-- silent for p_inactivity ('inactivity'; ActiveRoom.INACTIVITY_END_AFTER, passed in). The one
-- definition of a room's due time: rdv_post_message calls it, and Python reads it with the room
-- (ActiveRoom.objects.with_due: the timers, the beat sweep, in-call actions, reconnects).
CREATE OR REPLACE FUNCTION rdv_room_due(r active_rooms, p_now timestamptz, p_inactivity interval) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT CASE
    WHEN r.status = 'ended' THEN NULL
    WHEN r.ends_at <= p_now THEN 'timer'
    WHEN r.status = 'grace_period' AND r.grace_period_expires <= p_now THEN 'disconnect'
    WHEN r.chat_mode = 'text' AND r.upgraded_at IS NULL
         AND p_now - LEAST(COALESCE(r.user_1_last_message_at, r.started_at),
                           COALESCE(r.user_2_last_message_at, r.started_at)) >= p_inactivity
      THEN 'inactivity'
  END
$$;
