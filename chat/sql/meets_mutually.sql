-- "Who I want to meet", both ways: a's gender is one b wants to meet and b's one a wants, and
-- for p_mode both want that mode (p_mode NULL: they share at least one mode). The one predicate
-- of the invite (rdv_send_invite) and the reel (chat/reel.py, on each candidate row); presence
-- hints apply the same test per preference profile in Python (reel.presence_audience).
-- IMMUTABLE and a single expression, so the planner inlines it into the reel's query.
CREATE OR REPLACE FUNCTION rdv_meets_mutually(
  a_gender text, a_genders text[], a_modes text[], b_gender text, b_genders text[], b_modes text[], p_mode text
) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
  SELECT a_gender = ANY (b_genders) AND b_gender = ANY (a_genders)
         AND CASE WHEN p_mode IS NULL THEN a_modes && b_modes
                  ELSE p_mode = ANY (a_modes) AND p_mode = ANY (b_modes) END
$$;
