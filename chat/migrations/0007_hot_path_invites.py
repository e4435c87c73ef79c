"""Invites on the hot path as PL/pgSQL functions: send, accept, decline/cancel in one round trip
each (docs/hot-path.md). Same lock order as every service: the two users by ascending id, then
the invite (then the room's insert, refused by the active_room_members trigger as the last word)."""

from django.db import migrations

FUNCTIONS = r"""
-- An invite as the clients see it (chat.events.invite_payload).
CREATE OR REPLACE FUNCTION rdv_invite_json(i call_invites) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_object('invite', i.id::text, 'from', i.from_user_id::text, 'to', i.to_user_id::text,
                            'mode', i.chat_mode, 'seconds', i.requested_seconds,
                            'expires_at', rdv_isoformat(i.expires_at), 'status', i.status)
$$;

-- Mark the pending invites of these users whose 20 s are over as expired; returns them.
CREATE OR REPLACE FUNCTION rdv_expire_stale_invites(p_a uuid, p_b uuid, p_now timestamptz) RETURNS jsonb
LANGUAGE sql AS $$
  WITH stale AS (
    UPDATE call_invites i SET status = 'expired', responded_at = p_now
     WHERE i.status = 'pending' AND i.expires_at <= p_now
       AND (i.from_user_id IN (p_a, p_b) OR i.to_user_id IN (p_a, p_b))
    RETURNING i.*
  )
  SELECT coalesce(jsonb_agg(rdv_invite_json(stale::call_invites) ORDER BY stale.id), '[]'::jsonb) FROM stale
$$;

-- call.invite. The caller has checked the things Redis knows (callee online and available for
-- the mode) and passes them in, so the refusals keep their order. Outcomes: created | not_available
-- | no_access (with the caller's access_status) | already_in_room | busy | on_cooldown | invite_pending.
CREATE OR REPLACE FUNCTION rdv_send_invite(
  p_caller uuid, p_callee uuid, p_mode text, p_seconds int, p_now timestamptz, p_ttl interval,
  p_callee_present boolean
) RETURNS TABLE (outcome text, detail text, invite_id uuid, expires_at timestamptz, expired jsonb,
                 caller_name text, caller_gender text, caller_selfie text, caller_video text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  caller users;
  callee users;
  stale jsonb;
  new_id uuid;
BEGIN
  PERFORM 1 FROM users WHERE id IN (p_caller, p_callee) ORDER BY id FOR NO KEY UPDATE;
  SELECT * INTO caller FROM users WHERE id = p_caller;
  SELECT * INTO callee FROM users WHERE id = p_callee;
  IF callee.id IS NULL OR NOT callee.is_active THEN
    RETURN QUERY SELECT 'not_available', NULL::text, NULL::uuid, NULL::timestamptz, NULL::jsonb, NULL::text, NULL::text, NULL::text, NULL::text; RETURN;
  END IF;
  IF caller.access_status = 'unpaid' THEN
    RETURN QUERY SELECT 'no_access', caller.access_status::text, NULL::uuid, NULL::timestamptz, NULL::jsonb, NULL::text, NULL::text, NULL::text, NULL::text; RETURN;
  END IF;
  IF callee.ban_status IN ('temporary', 'permanent') OR callee.access_status = 'unpaid' OR NOT p_callee_present THEN
    RETURN QUERY SELECT 'not_available', NULL::text, NULL::uuid, NULL::timestamptz, NULL::jsonb, NULL::text, NULL::text, NULL::text, NULL::text; RETURN;
  END IF;
  IF EXISTS (SELECT 1 FROM active_room_members m WHERE m.user_id = p_caller) THEN
    RETURN QUERY SELECT 'already_in_room', NULL::text, NULL::uuid, NULL::timestamptz, NULL::jsonb, NULL::text, NULL::text, NULL::text, NULL::text; RETURN;
  END IF;
  IF EXISTS (SELECT 1 FROM active_room_members m WHERE m.user_id = p_callee) THEN
    RETURN QUERY SELECT 'busy', NULL::text, NULL::uuid, NULL::timestamptz, NULL::jsonb, NULL::text, NULL::text, NULL::text, NULL::text; RETURN;
  END IF;
  IF EXISTS (SELECT 1 FROM cooldowns c WHERE c.user_low_id = least(p_caller, p_callee)
               AND c.user_high_id = greatest(p_caller, p_callee) AND c.expires_at > p_now) THEN
    RETURN QUERY SELECT 'on_cooldown', NULL::text, NULL::uuid, NULL::timestamptz, NULL::jsonb, NULL::text, NULL::text, NULL::text, NULL::text; RETURN;
  END IF;
  IF EXISTS (SELECT 1 FROM reports r WHERE r.reporter_id = p_caller AND r.reported_id = p_callee) THEN
    RETURN QUERY SELECT 'not_available', NULL::text, NULL::uuid, NULL::timestamptz, NULL::jsonb, NULL::text, NULL::text, NULL::text, NULL::text; RETURN;
  END IF;
  stale := rdv_expire_stale_invites(p_caller, p_callee, p_now);
  IF EXISTS (SELECT 1 FROM call_invites i WHERE i.from_user_id = p_caller AND i.status = 'pending') THEN
    RETURN QUERY SELECT 'invite_pending', NULL::text, NULL::uuid, NULL::timestamptz, stale, NULL::text, NULL::text, NULL::text, NULL::text; RETURN;
  END IF;
  IF EXISTS (SELECT 1 FROM call_invites i WHERE p_callee IN (i.from_user_id, i.to_user_id) AND i.status = 'pending') THEN
    RETURN QUERY SELECT 'busy', NULL::text, NULL::uuid, NULL::timestamptz, stale, NULL::text, NULL::text, NULL::text, NULL::text; RETURN;
  END IF;
  new_id := gen_random_uuid();
  INSERT INTO call_invites (id, from_user_id, to_user_id, chat_mode, requested_seconds, status, created_at, expires_at)
  VALUES (new_id, p_caller, p_callee, p_mode, p_seconds, 'pending', p_now, p_now + p_ttl);
  RETURN QUERY SELECT 'created', NULL::text, new_id, p_now + p_ttl, stale, caller.name::text, caller.gender::text,
                      caller.selfie::text, caller.video::text;
END
$$;

-- call.accept. Outcomes: not_found | retry (accepted before: the room) | expired (with the invites
-- it expired, committed) | not_pending | not_available | already_in_room | accepted (the room, and
-- the other pending invites of either user, cancelled).
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
               AND u.ban_status IN ('temporary', 'permanent')) THEN
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

-- call.decline (p_side 'to', by the callee) and call.cancel (p_side 'from', by the caller): the
-- pair gets a cooldown, the invite is settled. Outcomes: not_found | same (answered so before:
-- unchanged) | expired (with the invites it expired, committed) | not_pending | settled.
CREATE OR REPLACE FUNCTION rdv_settle_invite(
  p_user uuid, p_invite uuid, p_side text, p_status text, p_cooldown interval, p_reason text, p_now timestamptz
) RETURNS TABLE (outcome text, invite jsonb, notify jsonb)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  i call_invites;
  peek_from uuid;
  peek_to uuid;
BEGIN
  SELECT c.from_user_id, c.to_user_id INTO peek_from, peek_to FROM call_invites c
   WHERE c.id = p_invite AND (CASE WHEN p_side = 'to' THEN c.to_user_id ELSE c.from_user_id END) = p_user;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'not_found', NULL::jsonb, NULL::jsonb; RETURN;
  END IF;
  PERFORM 1 FROM users WHERE id IN (peek_from, peek_to) ORDER BY id FOR NO KEY UPDATE;
  SELECT * INTO i FROM call_invites c WHERE c.id = p_invite FOR UPDATE;
  IF i.status = p_status THEN
    RETURN QUERY SELECT 'same', rdv_invite_json(i), NULL::jsonb; RETURN;
  END IF;
  IF i.status = 'pending' AND i.expires_at <= p_now THEN
    RETURN QUERY SELECT 'expired', NULL::jsonb, rdv_expire_stale_invites(i.from_user_id, i.to_user_id, p_now);
    RETURN;
  END IF;
  IF i.status = 'expired' THEN
    RETURN QUERY SELECT 'expired', NULL::jsonb, '[]'::jsonb; RETURN;
  END IF;
  IF i.status <> 'pending' THEN
    RETURN QUERY SELECT 'not_pending', NULL::jsonb, NULL::jsonb; RETURN;
  END IF;
  UPDATE call_invites c SET status = p_status, responded_at = p_now WHERE c.id = i.id RETURNING * INTO i;
  INSERT INTO cooldowns (user_low_id, user_high_id, expires_at, created_at, reason)
  VALUES (least(i.from_user_id, i.to_user_id), greatest(i.from_user_id, i.to_user_id), p_now + p_cooldown, p_now,
          p_reason)
  ON CONFLICT (user_low_id, user_high_id) DO UPDATE
  SET reason = CASE WHEN EXCLUDED.expires_at > cooldowns.expires_at THEN EXCLUDED.reason ELSE cooldowns.reason END,
      expires_at = greatest(cooldowns.expires_at, EXCLUDED.expires_at);
  RETURN QUERY SELECT 'settled', rdv_invite_json(i), NULL::jsonb;
END
$$;
"""

DROP = """
DROP FUNCTION IF EXISTS rdv_settle_invite(uuid, uuid, text, text, interval, text, timestamptz);
DROP FUNCTION IF EXISTS rdv_accept_invite(uuid, uuid, int, timestamptz);
DROP FUNCTION IF EXISTS rdv_send_invite(uuid, uuid, text, int, timestamptz, interval, boolean);
DROP FUNCTION IF EXISTS rdv_expire_stale_invites(uuid, uuid, timestamptz);
DROP FUNCTION IF EXISTS rdv_invite_json(call_invites);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0006_hot_path_functions"),
        ("moderation", "0001_initial"),
    ]

    operations = [migrations.RunSQL(FUNCTIONS, DROP)]
