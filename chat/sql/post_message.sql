-- chat.message (chat.services.post_message). Outcomes: created | duplicate (a resend of a stored client_id) | not_member |
-- room_ended | due (the room is overdue: the caller ends it, then refuses) | too_fast.
-- Timers before any lock (ending locks users, then the room); then the room row lock. p_spacing is
-- MESSAGE_SPACING, p_inactivity ActiveRoom.INACTIVITY_END_AFTER (MessageDraft.args).
CREATE OR REPLACE FUNCTION rdv_post_message(
  p_sender uuid, p_room uuid, p_client_id text, p_type text, p_content text, p_url text,
  p_now timestamptz, p_spacing interval, p_inactivity interval
) RETURNS TABLE (outcome text, reason text, message_id bigint, receiver_id uuid, sent_at timestamptz,
                 user_1_id uuid, user_2_id uuid)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  r active_rooms;
  m text_chat_messages;
  is_1 boolean;
  last_at timestamptz;
  due text;
BEGIN
  SELECT * INTO m FROM text_chat_messages t
   WHERE t.room_id = p_room AND t.sender_id = p_sender AND t.client_id = p_client_id;
  IF FOUND THEN
    RETURN QUERY SELECT 'duplicate', NULL::text, m.id, m.receiver_id, m.sent_at, NULL::uuid, NULL::uuid;
    RETURN;
  END IF;
  SELECT * INTO r FROM active_rooms a WHERE a.id = p_room AND p_sender IN (a.user_1_id, a.user_2_id);
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'not_member', NULL::text, NULL::bigint, NULL::uuid, NULL::timestamptz, NULL::uuid, NULL::uuid;
    RETURN;
  END IF;
  IF r.status = 'ended' THEN
    RETURN QUERY SELECT 'room_ended', NULL::text, NULL::bigint, NULL::uuid, NULL::timestamptz, NULL::uuid, NULL::uuid;
    RETURN;
  END IF;
  due := rdv_room_due(r, p_now, p_inactivity);
  IF due IS NOT NULL THEN
    RETURN QUERY SELECT 'due', due, NULL::bigint, NULL::uuid, NULL::timestamptz, NULL::uuid, NULL::uuid;
    RETURN;
  END IF;
  SELECT * INTO r FROM active_rooms a WHERE a.id = p_room FOR NO KEY UPDATE;
  IF r.status = 'ended' OR rdv_room_due(r, p_now, p_inactivity) IS NOT NULL THEN
    RETURN QUERY SELECT 'room_ended', NULL::text, NULL::bigint, NULL::uuid, NULL::timestamptz, NULL::uuid, NULL::uuid;
    RETURN;
  END IF;
  -- A parallel resend that got the lock first stored it: this one is the duplicate.
  SELECT * INTO m FROM text_chat_messages t
   WHERE t.room_id = p_room AND t.sender_id = p_sender AND t.client_id = p_client_id;
  IF FOUND THEN
    RETURN QUERY SELECT 'duplicate', NULL::text, m.id, m.receiver_id, m.sent_at, NULL::uuid, NULL::uuid;
    RETURN;
  END IF;
  is_1 := r.user_1_id = p_sender;
  last_at := CASE WHEN is_1 THEN r.user_1_last_message_at ELSE r.user_2_last_message_at END;
  IF last_at IS NOT NULL AND p_now - last_at < p_spacing THEN
    RETURN QUERY SELECT 'too_fast', NULL::text, NULL::bigint, NULL::uuid, NULL::timestamptz, NULL::uuid, NULL::uuid;
    RETURN;
  END IF;
  INSERT INTO text_chat_messages (room_id, sender_id, receiver_id, type, content, url, client_id, sent_at, deleted)
  VALUES (p_room, p_sender, CASE WHEN is_1 THEN r.user_2_id ELSE r.user_1_id END,
          p_type, p_content, p_url, p_client_id, p_now, false)
  RETURNING * INTO m;
  UPDATE active_rooms a
     SET user_1_last_message_at = CASE WHEN is_1 THEN p_now ELSE a.user_1_last_message_at END,
         user_2_last_message_at = CASE WHEN is_1 THEN a.user_2_last_message_at ELSE p_now END,
         inactivity_warned_at = NULL  -- any message clears the warning
   WHERE a.id = p_room;
  RETURN QUERY SELECT 'created', NULL::text, m.id, m.receiver_id, m.sent_at, r.user_1_id, r.user_2_id;
END
$$;
