-- call.invite (chat.services.send_invite). The caller has checked the things Redis knows (callee
-- online and available for the mode) and passes them in, so the refusals keep their order.
-- Outcomes: created | not_available | no_access (with the caller's access_status) |
-- already_in_room | busy | on_cooldown | invite_pending | held (screening holds the caller).
-- Locks both users (ascending id).
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
  barriers text[];
BEGIN
  PERFORM 1 FROM users WHERE id IN (p_caller, p_callee) ORDER BY id FOR NO KEY UPDATE;
  SELECT * INTO caller FROM users WHERE id = p_caller;
  SELECT * INTO callee FROM users WHERE id = p_callee;
  IF callee.id IS NULL OR NOT callee.is_active THEN
    RETURN QUERY SELECT 'not_available', NULL::text, NULL::uuid, NULL::timestamptz, NULL::jsonb, NULL::text, NULL::text, NULL::text, NULL::text; RETURN;
  END IF;
  -- Screening holds (screening/sql/held_users.sql): a held caller is refused `held`; a held
  -- callee answers as an absent one.
  IF EXISTS (SELECT 1 FROM held_users h WHERE h.user_id = p_caller) THEN
    RETURN QUERY SELECT 'held', NULL::text, NULL::uuid, NULL::timestamptz, NULL::jsonb, NULL::text, NULL::text, NULL::text, NULL::text; RETURN;
  END IF;
  IF EXISTS (SELECT 1 FROM held_users h WHERE h.user_id = p_callee) THEN
    RETURN QUERY SELECT 'not_available', NULL::text, NULL::uuid, NULL::timestamptz, NULL::jsonb, NULL::text, NULL::text, NULL::text, NULL::text; RETURN;
  END IF;
  IF caller.access_status = 'unpaid' THEN
    RETURN QUERY SELECT 'no_access', caller.access_status::text, NULL::uuid, NULL::timestamptz, NULL::jsonb, NULL::text, NULL::text, NULL::text, NULL::text; RETURN;
  END IF;
  IF rdv_is_banned(callee.ban_status, callee.ban_ends_at, p_now) OR callee.access_status = 'unpaid' OR NOT p_callee_present THEN
    RETURN QUERY SELECT 'not_available', NULL::text, NULL::uuid, NULL::timestamptz, NULL::jsonb, NULL::text, NULL::text, NULL::text, NULL::text; RETURN;
  END IF;
  -- The pair checks, written once in rdv_pair_barriers (chat/sql/pair_barriers.sql): why these
  -- two may not meet (blocked, cooldown, reported), each refused below at its place in the order.
  SELECT coalesce(array_agg(b.barrier), '{}') INTO barriers
    FROM rdv_pair_barriers(ARRAY[p_caller], ARRAY[p_callee], p_now) b;
  -- A block either way, or either one's "who I want to meet" (gender, mode) leaving the other out,
  -- answers exactly as an absent callee: the refused person learns nothing more.
  IF 'blocked' = ANY (barriers)
     OR NOT rdv_meets_mutually(caller.gender, caller.meet_genders, caller.meet_modes,
                               callee.gender, callee.meet_genders, callee.meet_modes, p_mode) THEN
    RETURN QUERY SELECT 'not_available', NULL::text, NULL::uuid, NULL::timestamptz, NULL::jsonb, NULL::text, NULL::text, NULL::text, NULL::text; RETURN;
  END IF;
  IF EXISTS (SELECT 1 FROM active_room_members m WHERE m.user_id = p_caller) THEN
    RETURN QUERY SELECT 'already_in_room', NULL::text, NULL::uuid, NULL::timestamptz, NULL::jsonb, NULL::text, NULL::text, NULL::text, NULL::text; RETURN;
  END IF;
  IF EXISTS (SELECT 1 FROM active_room_members m WHERE m.user_id = p_callee) THEN
    RETURN QUERY SELECT 'busy', NULL::text, NULL::uuid, NULL::timestamptz, NULL::jsonb, NULL::text, NULL::text, NULL::text, NULL::text; RETURN;
  END IF;
  IF 'cooldown' = ANY (barriers) THEN
    RETURN QUERY SELECT 'on_cooldown', NULL::text, NULL::uuid, NULL::timestamptz, NULL::jsonb, NULL::text, NULL::text, NULL::text, NULL::text; RETURN;
  END IF;
  -- Someone the caller reported.
  IF 'reported' = ANY (barriers) THEN
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
