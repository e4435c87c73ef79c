-- Who reported whom, one row per report (a reporter reports a person at most once): the reports
-- table as the layers below moderation may read it, without the report's text, evidence or
-- review. chat reads this view, never the reports table, in one place: rdv_pair_barriers
-- (chat/sql/pair_barriers.sql), so the reel and presence hide the people a viewer reported and
-- rdv_send_invite answers such an invite as not_available.
-- reported_id is NULL once the reported person deleted their account (the report stays).
CREATE OR REPLACE VIEW reported_pairs AS
  SELECT r.reporter_id, r.reported_id FROM reports r;
