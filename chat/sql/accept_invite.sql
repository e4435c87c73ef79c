-- call.accept (chat.services.accept_invite). Outcomes: not_found | retry (accepted before: the
-- room) | not_available (a block either way) | expired (with the invites it expired: the caller
-- commits them, then refuses) | not_pending | not_available (a ban) | already_in_room | accepted
-- (the room, and the other pending invites of either user, cancelled). Locks both users
-- (ascending id), then the invite; the active_room_members trigger has the last word.
CREATE OR REPLACE FUNCTION rdv_accept_invite(p_callee uuid, p_invite uuid, p_seconds int, p_now timestamptz)
RETURNS TABLE (outcome text, room_id uuid, caller_id uuid, duration int, notify jsonb, mode text, cards jsonb)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  i call_invites;
  peek_from uuid;
  n_duration int;
  new_room uuid;
  others jsonb;
BEGIN
  SELECT c.from_user_id INTO peek_from FROM call_invites c WHERE c.id = p_invite AND c.to_user_id = p_callee;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'not_found', NULL::uuid, NULL::uuid, NULL::int, NULL::jsonb, NULL::text, NULL::jsonb; RETURN;
  END IF;
  PERFORM 1 FROM users WHERE id IN (peek_from, p_callee) ORDER BY id FOR NO KEY UPDATE;
  SELECT * INTO i FROM call_invites c WHERE c.id = p_invite FOR UPDATE;
  IF i.status = 'accepted' AND i.room_id IS NOT NULL THEN
    RETURN QUERY SELECT 'retry', i.room_id, i.from_user_id, NULL::int, NULL::jsonb, NULL::text, NULL::jsonb; RETURN;
  END IF;
  -- A block landing after the invite: refused like a banned partner (the block itself cancelled
  -- the invite and told both as a cancel; this covers any other way a block row got in first).
  IF rdv_blocked_either_way(i.from_user_id, i.to_user_id) THEN
    RETURN QUERY SELECT 'not_available', NULL::uuid, i.from_user_id, NULL::int, NULL::jsonb, NULL::text, NULL::jsonb; RETURN;
  END IF;
  IF i.status = 'pending' AND i.expires_at <= p_now THEN
    RETURN QUERY SELECT 'expired', NULL::uuid, i.from_user_id, NULL::int,
                        rdv_expire_stale_invites(i.from_user_id, i.to_user_id, p_now), NULL::text, NULL::jsonb;
    RETURN;
  END IF;
  IF i.status = 'expired' THEN
    RETURN QUERY SELECT 'expired', NULL::uuid, i.from_user_id, NULL::int, '[]'::jsonb, NULL::text, NULL::jsonb; RETURN;
  END IF;
  IF i.status <> 'pending' THEN
    RETURN QUERY SELECT 'not_pending', NULL::uuid, i.from_user_id, NULL::int, NULL::jsonb, NULL::text, NULL::jsonb; RETURN;
  END IF;
  IF EXISTS (SELECT 1 FROM users u WHERE u.id IN (i.from_user_id, i.to_user_id)
               AND rdv_is_banned(u.ban_status, u.ban_ends_at, p_now)) THEN
    RETURN QUERY SELECT 'not_available', NULL::uuid, i.from_user_id, NULL::int, NULL::jsonb, NULL::text, NULL::jsonb; RETURN;
  END IF;
  IF EXISTS (SELECT 1 FROM active_room_members m WHERE m.user_id IN (i.from_user_id, i.to_user_id)) THEN
    RETURN QUERY SELECT 'already_in_room', NULL::uuid, i.from_user_id, NULL::int, NULL::jsonb, NULL::text, NULL::jsonb; RETURN;
  END IF;
  n_duration := floor((i.requested_seconds + p_seconds) / 2.0)::int;
  new_room := gen_random_uuid();
  BEGIN
    INSERT INTO active_rooms (id, user_1_id, user_2_id, chat_mode, duration_seconds, started_at, ends_at, status,
                              user_1_connected, user_2_connected, end_reason)
    VALUES (new_room, i.from_user_id, i.to_user_id, i.chat_mode, n_duration, p_now,
            p_now + make_interval(secs => n_duration), 'active', true, true, '');
  EXCEPTION WHEN unique_violation THEN
    -- The active_room_members trigger: one of them got into a room in a parallel transaction.
    RETURN QUERY SELECT 'already_in_room', NULL::uuid, i.from_user_id, NULL::int, NULL::jsonb, NULL::text, NULL::jsonb; RETURN;
  END;
  UPDATE call_invites c SET status = 'accepted', responded_at = p_now, callee_seconds = p_seconds, room_id = new_room
   WHERE c.id = i.id;
  WITH cancelled AS (
    UPDATE call_invites c SET status = 'cancelled', responded_at = p_now
     WHERE c.status = 'pending' AND c.id <> i.id
       AND (c.from_user_id IN (i.from_user_id, i.to_user_id) OR c.to_user_id IN (i.from_user_id, i.to_user_id))
    RETURNING c.*
  )
  SELECT coalesce(jsonb_agg(rdv_invite_json(cancelled::call_invites) ORDER BY cancelled.id), '[]'::jsonb)
    INTO others FROM cancelled;
  RETURN QUERY SELECT 'accepted', new_room, i.from_user_id, n_duration, others, i.chat_mode::text,
    (SELECT jsonb_object_agg(u.id::text, jsonb_build_object('name', u.name, 'gender', u.gender,
                                                            'selfie', u.selfie, 'video', u.video))
       FROM users u WHERE u.id IN (i.from_user_id, i.to_user_id));
END
$$;
