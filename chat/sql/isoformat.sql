-- A timestamp as Python's datetime.isoformat() writes an aware UTC one (the snapshots' format).
CREATE OR REPLACE FUNCTION rdv_isoformat(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
         || CASE WHEN extract(microseconds FROM t)::bigint % 1000000 <> 0
                 THEN '.' || to_char(t AT TIME ZONE 'UTC', 'US') ELSE '' END
         || '+00:00'
$$;
