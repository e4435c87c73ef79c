-- "May these two meet?", the pair checks: every pair (viewer, other) with viewer in p_viewers
-- and other in p_others (p_others NULL: anyone) who may NOT meet now, and why (barrier):
--   blocked   a block either way (blocks, both of its indexes);
--   cooldown  a cooldown between the two that has not expired at p_now (cooldowns);
--   reported  the viewer reported the other (moderation's documented view reported_pairs: chat
--             reads no moderation table). One way only: being reported hides nobody.
-- No row: the pair may meet (as far as the pair goes; bans, access, rooms, holds and "who I want
-- to meet" are checked beside it). A pair may have several rows; their order means nothing.
-- The one definition of these checks, used by
--   rdv_send_invite (chat/sql/send_invite.sql): the reasons of one pair, each refused at its
--     place in the invite's order (blocked and reported answer not_available, cooldown
--     on_cooldown);
--   rdv_blocked_either_way (chat/sql/blocked_either_way.sql, accept_invite): its 'blocked' rows;
--   the reel (chat/reel.py reel_queryset): NOT EXISTS a row for (viewer, candidate), p_others
--     NULL, planned as one anti-join;
--   presence hints (chat/reel.py presence_audience): all pairs of online viewers x changed users
--     in one query.
-- LANGUAGE sql, STABLE, not STRICT and one SELECT, so the planner inlines it into the caller's
-- query (each branch then uses the index whose leading column is the shorter list).
CREATE OR REPLACE FUNCTION rdv_pair_barriers(p_viewers uuid[], p_others uuid[], p_now timestamptz)
RETURNS TABLE (viewer_id uuid, other_id uuid, barrier text)
LANGUAGE sql STABLE AS $$
  SELECT b.blocker_id, b.blocked_id, 'blocked' FROM blocks b
   WHERE b.blocker_id = ANY (p_viewers) AND (p_others IS NULL OR b.blocked_id = ANY (p_others))
  UNION ALL
  SELECT b.blocked_id, b.blocker_id, 'blocked' FROM blocks b
   WHERE b.blocked_id = ANY (p_viewers) AND (p_others IS NULL OR b.blocker_id = ANY (p_others))
  UNION ALL
  SELECT c.user_low_id, c.user_high_id, 'cooldown' FROM cooldowns c
   WHERE c.user_low_id = ANY (p_viewers) AND (p_others IS NULL OR c.user_high_id = ANY (p_others))
     AND c.expires_at > p_now
  UNION ALL
  SELECT c.user_high_id, c.user_low_id, 'cooldown' FROM cooldowns c
   WHERE c.user_high_id = ANY (p_viewers) AND (p_others IS NULL OR c.user_low_id = ANY (p_others))
     AND c.expires_at > p_now
  UNION ALL
  SELECT r.reporter_id, r.reported_id, 'reported' FROM reported_pairs r
   WHERE r.reporter_id = ANY (p_viewers) AND (p_others IS NULL OR r.reported_id = ANY (p_others))
$$;
