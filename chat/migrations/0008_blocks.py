"""Blocks (chat.models.Block) and "who I want to meet" (users.meet_genders, users.meet_modes,
accounts migration 0005) on the hot path: rdv_send_invite and rdv_accept_invite of migration 0007
again, each with one check added and everything else identical. Both refusals are the
"not_available" outcome, so a refused person cannot tell a block or a preference from someone
who just went away. Reversing restores the 0007 functions."""

import importlib

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

# The 0007 text, to restore on reverse (its module name starts with a digit).
PREVIOUS = importlib.import_module("chat.migrations.0007_hot_path_invites").FUNCTIONS

FUNCTIONS = r"""
-- Has either user blocked the other? Two probes of the blocks indexes (blocker, blocked) and
-- (blocked, blocker).
CREATE OR REPLACE FUNCTION rdv_blocked_either_way(p_a uuid, p_b uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = p_a AND b.blocked_id = p_b)
      OR EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = p_b AND b.blocked_id = p_a)
$$;

-- call.invite (chat 0007, plus blocks and meet preferences). The caller has checked the things Redis knows (callee online and available for
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
  -- A block either way, or either one's "who I want to meet" (gender, mode) leaving the other out,
  -- answers exactly as an absent callee: the refused person learns nothing more.
  IF rdv_blocked_either_way(p_caller, p_callee)
     OR NOT (caller.gender = ANY (callee.meet_genders) AND callee.gender = ANY (caller.meet_genders)
             AND p_mode = ANY (caller.meet_modes) AND p_mode = ANY (callee.meet_modes)) THEN
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

-- call.accept (chat 0007, plus blocks). Outcomes: not_found | retry (accepted before: the room) | expired (with the invites
-- it expired, committed) | not_available (a block) | not_pending | not_available | already_in_room | accepted (the room, and
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

"""

DROP = (
    PREVIOUS
    + """
DROP FUNCTION IF EXISTS rdv_blocked_either_way(uuid, uuid);
"""
)


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0007_hot_path_invites"),
        ("accounts", "0005_meet_preferences"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Block",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "blocked",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "blocker",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "db_table": "blocks",
                "indexes": [models.Index(fields=["blocked", "blocker"], name="blocks_blocked_blocker")],
                "constraints": [
                    models.UniqueConstraint(fields=("blocker", "blocked"), name="chat_blocks_pair_unique"),
                    models.CheckConstraint(
                        condition=models.Q(("blocker", models.F("blocked")), _negated=True), name="chat_blocks_not_self"
                    ),
                ],
            },
        ),
        migrations.RunSQL(FUNCTIONS, DROP),
    ]
