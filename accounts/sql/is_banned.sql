-- Banned at p_now: a permanent ban, or a temporary one without an end (until a moderator
-- decides) or whose end has not passed. A suspension ends at its time whether or not the
-- minute sweep has set the status back yet. accounts.selectors.is_banned / banned_q are the
-- same rule for Python. Called with a users row's ban_status and ban_ends_at.
CREATE OR REPLACE FUNCTION rdv_is_banned(p_status text, p_ends_at timestamptz, p_now timestamptz) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
  SELECT p_status = 'permanent' OR (p_status = 'temporary' AND (p_ends_at IS NULL OR p_ends_at > p_now))
$$;
