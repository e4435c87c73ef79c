"""Screening's account holds on the hot path: rdv_send_invite of migration 0008 again, with one
check added and everything else identical. A held caller (a look-alike of a banned person
waiting for a moderator) gets the new "held" outcome; a held callee answers "not_available",
like an absent one. Reversing restores the 0008 functions."""

import importlib

from django.db import migrations

PREVIOUS = importlib.import_module("chat.migrations.0008_blocks").FUNCTIONS

_ANCHOR = "  IF caller.access_status = 'unpaid' THEN\n"
_NONE = "NULL::uuid, NULL::timestamptz, NULL::jsonb, NULL::text, NULL::text, NULL::text, NULL::text"
_HOLD_CHECK = f"""  -- Screening holds (screening_account_holds, one open row per user: its partial unique index).
  IF EXISTS (SELECT 1 FROM screening_account_holds h WHERE h.user_id = p_caller AND h.released_at IS NULL) THEN
    RETURN QUERY SELECT 'held', NULL::text, {_NONE}; RETURN;
  END IF;
  IF EXISTS (SELECT 1 FROM screening_account_holds h WHERE h.user_id = p_callee AND h.released_at IS NULL) THEN
    RETURN QUERY SELECT 'not_available', NULL::text, {_NONE}; RETURN;
  END IF;
"""
assert PREVIOUS.count(_ANCHOR) == 1
FUNCTIONS = PREVIOUS.replace(_ANCHOR, _HOLD_CHECK + _ANCHOR)


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0010_h23b_block_names"),
        ("screening", "0001_h27_screening"),
    ]

    operations = [migrations.RunSQL(FUNCTIONS, PREVIOUS)]
