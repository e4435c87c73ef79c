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
