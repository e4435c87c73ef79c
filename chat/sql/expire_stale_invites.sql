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
