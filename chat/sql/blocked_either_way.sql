-- Has either user blocked the other? The 'blocked' rows of rdv_pair_barriers
-- (chat/sql/pair_barriers.sql), where the block check is written: two probes of the blocks
-- indexes (blocker, blocked) and (blocked, blocker). rdv_accept_invite asks only this (a block
-- landing after the invite); chat.selectors.blocked_either_way is the same test for Python.
CREATE OR REPLACE FUNCTION rdv_blocked_either_way(p_a uuid, p_b uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT EXISTS (SELECT 1 FROM rdv_pair_barriers(ARRAY[p_a], ARRAY[p_b], now()) b WHERE b.barrier = 'blocked')
$$;
