-- Has either user blocked the other? Two probes of the blocks indexes (blocker, blocked) and
-- (blocked, blocker).
CREATE OR REPLACE FUNCTION rdv_blocked_either_way(p_a uuid, p_b uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = p_a AND b.blocked_id = p_b)
      OR EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = p_b AND b.blocked_id = p_a)
$$;
