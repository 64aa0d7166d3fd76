-- What a petition submission commits, in bare SQL, for pgbench: the day's tracking counter (in
-- a statement of its own, once every twenty submissions, as the service reserves numbers in
-- blocks of twenty), then one transaction with the petition, its
-- first event, its outbox message, the idempotency key and the hash-chained audit entry under
-- the chain's advisory lock. (Before it the service also reads the category,
-- the places, the calendar and earlier petitions, and seals and hashes in Rust.)
\set n random(1, 1000000000)
\set block random(1, 20)
\if :block = 1
INSERT INTO counters (name, value) VALUES ('tracking:BENCH:' || to_char(now(), 'YYYYMMDD'), 20)
  ON CONFLICT (name) DO UPDATE SET value = counters.value + 20 RETURNING value;
\endif
BEGIN;
WITH p AS (
  INSERT INTO petitions (id, tracking_no, query_code_hash, kind, channel, category_code, matter_category,
    rateable, title, content, township_id, state, checkpoint, registered_on, next_deadline,
    deadline_kind, sort_deadline, flagged, version, created_at, updated_at)
  VALUES (gen_random_uuid(), 'PGB' || :client_id || '-' || :n || '-' || txid_current(),
    md5(random()::text) || md5(random()::text), 'complaint', 'online', 'transport', 'claim', true,
    '村道路面破损请求维修', '官渡桥村东头道路破损严重，雨天积水，群众出行困难，请求尽快维修。',
    (SELECT id FROM org_units WHERE code = '410122-101'), 'registered', 'township', current_date,
    current_date + 15, 'dispose', current_date + 15, false, 0, now(), now())
  RETURNING id
), e AS (
  INSERT INTO petition_events (id, petition_id, at, actor_kind, actor_id, event, to_state, public, detail)
  SELECT gen_random_uuid(), id, now(), 'citizen', 'x', 'registered', 'registered', true, '{}' FROM p
  RETURNING petition_id
)
INSERT INTO outbox (id, topic, petition_id, payload, created_at)
  SELECT gen_random_uuid(), 'petition.registered', petition_id, '{}', now() FROM e;
INSERT INTO idempotency_keys (key, request_hash, petition_id, response, created_at)
  VALUES ('pgbench:' || :client_id || ':' || :n || ':' || txid_current(), md5('x'), gen_random_uuid(), 'sealed', now());
SELECT pg_advisory_xact_lock(7022629598040910959);
INSERT INTO audit_log (seq, id, at, actor_kind, actor_id, action, record_type, record_id, detail, prev_hash, hash)
  SELECT COALESCE(MAX(seq), 0) + 1, gen_random_uuid(), now(), 'citizen', 'x', 'petition.registered',
    'petition', 'x', '{}', md5('p') || md5('q'), md5(random()::text) || md5(random()::text) FROM audit_log;
COMMIT;
