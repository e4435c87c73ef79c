"""The realtime hot path as PL/pgSQL functions: one round trip per operation (docs/hot-path.md).

Each function is the rule; chat/services/ (sync, Django's connection) and chat/hot.py (async,
the psycopg pool) both call it. They lock in the global order (users by ascending id, then the
room) and leave the last word to the constraints (unique client_id, the active_room_members
trigger, one completion and one history row per user and room)."""

from django.db import migrations

FUNCTIONS = r"""
-- Why this live room must end at p_now, if it must: timer, grace expiry, text inactivity.
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

-- A timestamp as Python's datetime.isoformat() writes an aware UTC one (the snapshots' format).
CREATE OR REPLACE FUNCTION rdv_isoformat(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
         || CASE WHEN extract(microseconds FROM t)::bigint % 1000000 <> 0
                 THEN '.' || to_char(t AT TIME ZONE 'UTC', 'US') ELSE '' END
         || '+00:00'
$$;

-- chat.message. Outcomes: created | duplicate (a resend of a stored client_id) | not_member |
-- room_ended | due (the room is overdue: the caller ends it, then refuses) | too_fast.
-- Timers before any lock (ending locks users, then the room); then the room row lock.
CREATE OR REPLACE FUNCTION rdv_post_message(
  p_sender uuid, p_room uuid, p_client_id text, p_type text, p_content text, p_url text,
  p_now timestamptz, p_spacing interval
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
  due := rdv_room_due(r, p_now);
  IF due IS NOT NULL THEN
    RETURN QUERY SELECT 'due', due, NULL::bigint, NULL::uuid, NULL::timestamptz, NULL::uuid, NULL::uuid;
    RETURN;
  END IF;
  SELECT * INTO r FROM active_rooms a WHERE a.id = p_room FOR NO KEY UPDATE;
  IF r.status = 'ended' OR rdv_room_due(r, p_now) IS NOT NULL THEN
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

-- The QR unlock after a counted completion: with p_needed successful sessions the user
-- is qr_unlocked, raised to qr_verified unless already higher, and gets their own invite code
-- (p_code, generated by the caller; ON CONFLICT keeps an existing one). The caller holds the
-- user's row lock. Returns whether it unlocked now.
CREATE OR REPLACE FUNCTION rdv_apply_session_unlock(p_user uuid, p_code text, p_needed int, p_now timestamptz)
RETURNS boolean
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  u users;
BEGIN
  SELECT * INTO u FROM users WHERE id = p_user FOR NO KEY UPDATE;
  IF NOT FOUND OR u.qr_unlocked OR u.successful_sessions < p_needed THEN
    RETURN false;
  END IF;
  UPDATE users
     SET qr_unlocked = true, qr_unlocked_at = p_now,
         access_status = CASE WHEN access_status IN ('unpaid', 'open_signup', 'qr_grace_period')
                              THEN 'qr_verified' ELSE access_status END,
         access_granted_at = CASE WHEN access_status IN ('unpaid', 'open_signup', 'qr_grace_period')
                                  THEN p_now ELSE access_granted_at END
   WHERE id = p_user;
  INSERT INTO invite_codes (code, type, created_by_id, created_by_name, max_uses, uses_remaining, is_active, created_at)
  VALUES (p_code, 'user', p_user, u.name, 4, 4, true, p_now)
  ON CONFLICT (created_by_id) WHERE type = 'user' DO NOTHING;
  RETURN true;
END
$$;

-- End a room exactly once with all the bookkeeping for both users: status ended; per
-- user a completion (if >= 1 s), a history row with the message snapshot, the counters, the QR
-- unlock; the pair's cooldown. Locks users (ascending id), then the room. Outcomes:
-- not_found | already_ended | ended, with both users' metrics (user_1 first, then user_2).
CREATE OR REPLACE FUNCTION rdv_end_room(
  p_room uuid, p_reason text, p_now timestamptz, p_successful int, p_unlock_needed int,
  p_cooldown interval, p_code_1 text, p_code_2 text
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
    PERFORM rdv_apply_session_unlock(side.me_id, side.code, p_unlock_needed, p_now);
  END LOOP;
  INSERT INTO cooldowns (user_low_id, user_high_id, expires_at, created_at, reason)
  VALUES (least(u1, u2), greatest(u1, u2), p_now + p_cooldown, p_now, 'session_end')
  ON CONFLICT (user_low_id, user_high_id) DO UPDATE
  SET reason = CASE WHEN EXCLUDED.expires_at > cooldowns.expires_at THEN EXCLUDED.reason ELSE cooldowns.reason END,
      expires_at = greatest(cooldowns.expires_at, EXCLUDED.expires_at);
  RETURN QUERY
    SELECT 'ended', n_spent, u.id, u.timer_total_seconds, u.session_count, u.successful_sessions,
           u.qr_unlocked, u.access_status::text
      FROM users u WHERE u.id IN (u1, u2) ORDER BY (u.id = u1) DESC;
END
$$;

-- room.end from a member: strangers and made-up ids are not_found, an ended room of theirs is
-- room_ended (checked without a lock, like the timers: ending locks users first), then the end.
CREATE OR REPLACE FUNCTION rdv_end_room_by_member(
  p_user uuid, p_room uuid, p_reason text, p_now timestamptz, p_successful int, p_unlock_needed int,
  p_cooldown interval, p_code_1 text, p_code_2 text
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
  RETURN QUERY SELECT * FROM rdv_end_room(p_room, p_reason, p_now, p_successful, p_unlock_needed, p_cooldown,
                                          p_code_1, p_code_2);
END
$$;
"""

DROP = """
DROP FUNCTION IF EXISTS rdv_end_room_by_member(uuid, uuid, text, timestamptz, int, int, interval, text, text);
DROP FUNCTION IF EXISTS rdv_end_room(uuid, text, timestamptz, int, int, interval, text, text);
DROP FUNCTION IF EXISTS rdv_apply_session_unlock(uuid, text, int, timestamptz);
DROP FUNCTION IF EXISTS rdv_post_message(uuid, uuid, text, text, text, text, timestamptz, interval);
DROP FUNCTION IF EXISTS rdv_isoformat(timestamptz);
DROP FUNCTION IF EXISTS rdv_room_due(active_rooms, timestamptz);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0005_event_mode_moderators"),
        ("referrals", "0001_initial"),
    ]

    operations = [migrations.RunSQL(FUNCTIONS, DROP)]
