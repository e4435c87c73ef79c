"""Matches after a call (README → Matches): the "I'd meet again" answers, the matches two yeses
make, and rdv_end_room (chat 0006) again with one change: a matched pair gets no session-end
cooldown. Declined and cancelled invites still give theirs (rdv_settle_invite, chat 0007)."""

import importlib

import django.db.models.deletion
import django.db.models.lookups
import django.utils.timezone
import uuid
from django.conf import settings
from django.db import migrations, models


END_ROOM = r"""
CREATE OR REPLACE FUNCTION rdv_end_room(
  p_room uuid, p_reason text, p_now timestamptz, p_successful int, p_unlock_needed int,
  p_cooldown interval, p_code_1 text, p_code_2 text
) RETURNS TABLE (outcome text, spent int, user_id uuid, timer_total_seconds bigint, session_count int,
                 successful_sessions int, qr_unlocked boolean, access_status text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  r active_rooms;
  u1 uuid;
  u2 uuid;
  n_spent int;
  snapshot jsonb;
  side record;
  counted boolean;
BEGIN
  SELECT a.user_1_id, a.user_2_id INTO u1, u2 FROM active_rooms a WHERE a.id = p_room;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'not_found', 0, NULL::uuid, NULL::bigint, NULL::int, NULL::int, NULL::boolean, NULL::text;
    RETURN;
  END IF;
  PERFORM 1 FROM users WHERE id IN (u1, u2) ORDER BY id FOR NO KEY UPDATE;  -- the global lock order
  SELECT * INTO r FROM active_rooms a WHERE a.id = p_room FOR UPDATE;
  IF r.status = 'ended' THEN
    RETURN QUERY SELECT 'already_ended', 0, NULL::uuid, NULL::bigint, NULL::int, NULL::int, NULL::boolean, NULL::text;
    RETURN;
  END IF;
  n_spent := greatest(0, floor(extract(epoch FROM least(p_now, r.ends_at) - r.started_at)))::int;
  UPDATE active_rooms a SET status = 'ended', ended_at = p_now, end_reason = p_reason, grace_period_expires = NULL
   WHERE a.id = p_room;
  SELECT coalesce(jsonb_agg(jsonb_build_object(
           'id', t.id, 'sender', t.sender_id::text, 'kind', t.type, 'text', t.content,
           'url', nullif(t.url, ''), 'sent_at', rdv_isoformat(t.sent_at)) ORDER BY t.id), '[]'::jsonb)
    INTO snapshot
    FROM text_chat_messages t WHERE t.room_id = p_room AND NOT t.deleted;
  FOR side IN
    SELECT me.id AS me_id, partner.id AS partner_id, partner.name AS partner_name, k.code, k.ord
      FROM (VALUES (u1, u2, p_code_1, 1), (u2, u1, p_code_2, 2)) AS k(me, other, code, ord)
      JOIN users me ON me.id = k.me JOIN users partner ON partner.id = k.other
     ORDER BY k.ord
  LOOP
    counted := false;
    IF n_spent >= 1 THEN
      INSERT INTO session_completions (user_id, room_id, partner_id, duration_seconds, completed_at)
      VALUES (side.me_id, p_room, side.partner_id, n_spent, p_now)
      ON CONFLICT (user_id, room_id) DO NOTHING;
      counted := FOUND;
    END IF;
    INSERT INTO chat_history (user_id, room_id, partner_id, partner_name, chat_mode, started_at,
                              duration_seconds, messages, created_at)
    VALUES (side.me_id, p_room, side.partner_id, side.partner_name, r.chat_mode, r.started_at,
            n_spent, snapshot, p_now)
    ON CONFLICT (user_id, room_id) DO NOTHING;
    IF counted THEN
      UPDATE users u
         SET timer_total_seconds = u.timer_total_seconds + n_spent,
             session_count = u.session_count + 1,
             successful_sessions = u.successful_sessions + (CASE WHEN n_spent >= p_successful THEN 1 ELSE 0 END)
       WHERE u.id = side.me_id;
    END IF;
    PERFORM rdv_apply_session_unlock(side.me_id, side.code, p_unlock_needed, p_now);
  END LOOP;
  -- A matched pair may meet again whenever they like: no session-end cooldown (chat 0009).
  IF NOT EXISTS (SELECT 1 FROM matches m
                  WHERE m.user_low_id = least(u1, u2) AND m.user_high_id = greatest(u1, u2)) THEN
    INSERT INTO cooldowns (user_low_id, user_high_id, expires_at, created_at, reason)
    VALUES (least(u1, u2), greatest(u1, u2), p_now + p_cooldown, p_now, 'session_end')
    ON CONFLICT (user_low_id, user_high_id) DO UPDATE
    SET reason = CASE WHEN EXCLUDED.expires_at > cooldowns.expires_at THEN EXCLUDED.reason ELSE cooldowns.reason END,
        expires_at = greatest(cooldowns.expires_at, EXCLUDED.expires_at);
  END IF;
  RETURN QUERY
    SELECT 'ended', n_spent, u.id, u.timer_total_seconds, u.session_count, u.successful_sessions,
           u.qr_unlocked, u.access_status::text
      FROM users u WHERE u.id IN (u1, u2) ORDER BY (u.id = u1) DESC;
END
$$;
"""


def _hot_path_functions() -> str:
    """chat 0006's functions, rdv_end_room as it was (the reverse of this migration)."""
    return importlib.import_module("chat.migrations.0006_hot_path_functions").FUNCTIONS


class Migration(migrations.Migration):

    dependencies = [
        ('chat', '0008_blocks'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Match',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('low_shares', models.JSONField(blank=True, default=list)),
                ('high_shares', models.JSONField(blank=True, default=list)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('room', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='chat.activeroom')),
                ('user_high', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('user_low', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name_plural': 'matches',
                'db_table': 'matches',
                'indexes': [models.Index(fields=['user_high', 'created_at'], name='matches_high_created')],
                'constraints': [models.CheckConstraint(condition=models.Q(('user_low__lt', models.F('user_high'))), name='chat_matches_pair_ordered'), models.UniqueConstraint(fields=('user_low', 'user_high'), name='chat_matches_pair_unique'), models.CheckConstraint(condition=django.db.models.lookups.Exact(models.Func(models.F('low_shares'), function='jsonb_typeof', output_field=models.CharField()), models.Value('array')), name='chat_matches_low_shares_array'), models.CheckConstraint(condition=django.db.models.lookups.Exact(models.Func(models.F('high_shares'), function='jsonb_typeof', output_field=models.CharField()), models.Value('array')), name='chat_matches_high_shares_array')],
            },
        ),
        migrations.CreateModel(
            name='MeetAgainAnswer',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('answer', models.BooleanField()),
                ('answered_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('room', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='chat.activeroom')),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'db_table': 'meet_again_answers',
                'indexes': [models.Index(fields=['user', 'room'], name='meet_again_user_room')],
                'constraints': [models.UniqueConstraint(fields=('room', 'user'), name='chat_meet_again_once_per_room_and_user')],
            },
        ),
        migrations.RunSQL(END_ROOM, _hot_path_functions()),
    ]
