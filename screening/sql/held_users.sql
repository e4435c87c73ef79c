-- The accounts screening holds for a moderator right now (a selfie that is a near-duplicate of a
-- banned person's), one row per held user: screening_account_holds as the layers above may read
-- it in SQL. rdv_send_invite (chat/sql/send_invite.sql) reads this view, never the table: a held
-- caller is refused `held`, a held callee answers as an absent one (`not_available`).
CREATE OR REPLACE VIEW held_users AS
  SELECT h.user_id FROM screening_account_holds h WHERE h.released_at IS NULL;
