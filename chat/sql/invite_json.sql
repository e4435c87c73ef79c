-- An invite as the clients see it (chat.events.invite_payload).
CREATE OR REPLACE FUNCTION rdv_invite_json(i call_invites) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_object('invite', i.id::text, 'from', i.from_user_id::text, 'to', i.to_user_id::text,
                            'mode', i.chat_mode, 'seconds', i.requested_seconds,
                            'expires_at', rdv_isoformat(i.expires_at), 'status', i.status)
$$;
