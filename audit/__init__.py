"""The audit log, the bottom layer every app may use (docs/architecture.md, "Layers").

`record_audit` appends one `audit_log` row inside the caller's transaction. The model keeps its
Django app label `moderation` (its table, migrations and admin page are where they always were);
only the code moved down here, so accounts, referrals, usc_cards and chat can audit without
importing moderation, which sits above them."""
