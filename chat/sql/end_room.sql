-- End a room exactly once with all the bookkeeping for both users (chat.services.end_room):
-- status ended; per user a completion (if >= 1 s), a history row with the message snapshot, the
-- counters, the QR unlock (rdv_apply_session_unlock, referrals); the pair's session-end cooldown,
-- except for a matched pair (a row in matches: they may call again whenever they like).
-- The thresholds come in as arguments (chat.services.end_room_args). Locks users (ascending
-- id), then the room. Outcomes: not_found | already_ended | ended, with
-- both users' metrics (user_1 first, then user_2).
CREATE OR REPLACE FUNCTION rdv_end_room(
  p_room uuid, p_reason text, p_now timestamptz, p_successful int, p_cooldown interval,
  p_code_1 text, p_code_2 text, p_unlock_needed int, p_code_uses int, p_raise_from text[]
) RETURNS TABLE (outcome text, spent int, user_id uuid, timer_total_seconds bigint, session_count int,
                 successful_sessions int, qr_unlocked boolean, access_status text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  r active_rooms;
  u1 uuid;
  u2 uuid;
  n_spent int;
  snapshot jsonb;
  side record;
  counted boolean;
BEGIN
  SELECT a.user_1_id, a.user_2_id INTO u1, u2 FROM active_rooms a WHERE a.id = p_room;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'not_found', 0, NULL::uuid, NULL::bigint, NULL::int, NULL::int, NULL::boolean, NULL::text;
    RETURN;
  END IF;
  PERFORM 1 FROM users WHERE id IN (u1, u2) ORDER BY id FOR NO KEY UPDATE;  -- the global lock order
  SELECT * INTO r FROM active_rooms a WHERE a.id = p_room FOR UPDATE;
  IF r.status = 'ended' THEN
    RETURN QUERY SELECT 'already_ended', 0, NULL::uuid, NULL::bigint, NULL::int, NULL::int, NULL::boolean, NULL::text;
    RETURN;
  END IF;
  n_spent := greatest(0, floor(extract(epoch FROM least(p_now, r.ends_at) - r.started_at)))::int;
  UPDATE active_rooms a SET status = 'ended', ended_at = p_now, end_reason = p_reason, grace_period_expires = NULL
   WHERE a.id = p_room;
  SELECT coalesce(jsonb_agg(jsonb_build_object(
           'id', t.id, 'sender', t.sender_id::text, 'kind', t.type, 'text', t.content,
           'url', nullif(t.url, ''), 'sent_at', rdv_isoformat(t.sent_at)) ORDER BY t.id), '[]'::jsonb)
    INTO snapshot
    FROM text_chat_messages t WHERE t.room_id = p_room AND NOT t.deleted;
  FOR side IN
    SELECT me.id AS me_id, partner.id AS partner_id, partner.name AS partner_name, k.code, k.ord
      FROM (VALUES (u1, u2, p_code_1, 1), (u2, u1, p_code_2, 2)) AS k(me, other, code, ord)
      JOIN users me ON me.id = k.me JOIN users partner ON partner.id = k.other
     ORDER BY k.ord
  LOOP
    counted := false;
    IF n_spent >= 1 THEN
      INSERT INTO session_completions (user_id, room_id, partner_id, duration_seconds, completed_at)
      VALUES (side.me_id, p_room, side.partner_id, n_spent, p_now)
      ON CONFLICT (user_id, room_id) DO NOTHING;
      counted := FOUND;
    END IF;
    INSERT INTO chat_history (user_id, room_id, partner_id, partner_name, chat_mode, started_at,
                              duration_seconds, messages, created_at)
    VALUES (side.me_id, p_room, side.partner_id, side.partner_name, r.chat_mode, r.started_at,
            n_spent, snapshot, p_now)
    ON CONFLICT (user_id, room_id) DO NOTHING;
    IF counted THEN
      UPDATE users u
         SET timer_total_seconds = u.timer_total_seconds + n_spent,
             session_count = u.session_count + 1,
             successful_sessions = u.successful_sessions + (CASE WHEN n_spent >= p_successful THEN 1 ELSE 0 END)
       WHERE u.id = side.me_id;
    END IF;
    PERFORM rdv_apply_session_unlock(side.me_id, side.code, p_now, p_unlock_needed, p_code_uses, p_raise_from);
  END LOOP;
  -- A matched pair may meet again whenever they like: no session-end cooldown.
  IF NOT EXISTS (SELECT 1 FROM matches m
                  WHERE m.user_low_id = least(u1, u2) AND m.user_high_id = greatest(u1, u2)) THEN
    INSERT INTO cooldowns (user_low_id, user_high_id, expires_at, created_at, reason)
    VALUES (least(u1, u2), greatest(u1, u2), p_now + p_cooldown, p_now, 'session_end')
    ON CONFLICT (user_low_id, user_high_id) DO UPDATE
    SET reason = CASE WHEN EXCLUDED.expires_at > cooldowns.expires_at THEN EXCLUDED.reason ELSE cooldowns.reason END,
        expires_at = greatest(cooldowns.expires_at, EXCLUDED.expires_at);
  END IF;
  RETURN QUERY
    SELECT 'ended', n_spent, u.id, u.timer_total_seconds, u.session_count, u.successful_sessions,
           u.qr_unlocked, u.access_status::text
      FROM users u WHERE u.id IN (u1, u2) ORDER BY (u.id = u1) DESC;
END
$$;
