-- Banned at p_now: a permanent ban, or a temporary one without an end (until a moderator
-- decides) or whose end has not passed. A suspension ends at its time whether or not the
-- minute sweep has set the status back yet. accounts.selectors.is_banned / banned_q are the
-- same rule for Python. Called with a users row's ban_status and ban_ends_at (the parameters
-- carry the columns' names, so the check of the SQL files' status names sees these literals).
CREATE OR REPLACE FUNCTION rdv_is_banned(ban_status text, ban_ends_at timestamptz, p_now timestamptz) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
  SELECT ban_status = 'permanent' OR (ban_status = 'temporary' AND (ban_ends_at IS NULL OR ban_ends_at > p_now))
$$;
