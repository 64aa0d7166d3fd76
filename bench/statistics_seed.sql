-- One million petitions over four years ending today, with their step days, states and
-- events, for bench/statistics.sh. Every clock runs as the lifecycle would run it: a step
-- happens only if its day has come, so recent petitions are still open and old ones closed.
-- :count is the number of petitions.
WITH units AS (
  SELECT array_agg(id ORDER BY sort_order, name) AS ids
  FROM org_units WHERE kind IN ('township', 'street')
),
base AS (
  SELECT i,
         current_date - (i * 1461 / :count)::int AS reg,
         i % 17 AS d_dispose, i % 19 AS d_decide, i % 70 AS d_answer
  FROM generate_series(1, :count) AS i
),
steps AS (
  SELECT b.*,
         CASE WHEN reg + d_dispose <= current_date THEN reg + d_dispose END AS disposed
  FROM base b
),
steps2 AS (
  SELECT s.*,
         CASE WHEN disposed IS NOT NULL AND disposed + d_decide <= current_date
              THEN disposed + d_decide END AS decided
  FROM steps s
),
steps3 AS (
  SELECT s.*,
         CASE WHEN decided IS NOT NULL AND decided + d_answer <= current_date
              THEN decided + d_answer END AS answered
  FROM steps2 s
)
INSERT INTO petitions (
  id, tracking_no, query_code_hash, kind, channel, category_code, matter_category, rateable,
  title, content, township_id, state, checkpoint, handling_org_id, registered_on, sent_on,
  accepted_on, answered_on, review_requested_on, rating, outcome, next_deadline, deadline_kind,
  sort_deadline, flagged, repeat_of, version, created_at, updated_at,
  dispose_due, disposed_on, acceptance_due, acceptance_decided_on, answer_due,
  first_answered_on, days_to_answer, relevant_until, return_count, reopen_count)
SELECT gen_random_uuid(), 'ST' || lpad(i::text, 12, '0'), '',
       (ARRAY['complaint','suggestion','visit_request','message'])[1 + i % 4],
       (ARRAY['online','online','online','online','online','online','online','letter','visit','phone'])[1 + i % 10],
       (ARRAY['land','housing','labour','transport','environment','other'])[1 + i % 6],
       (ARRAY['claim','claim','claim','suggestion','accusation'])[1 + i % 5], true,
       '基准测试信访事项 ' || i, '用于统计基准测试的合成数据，不代表真实信访事项。',
       u.ids[1 + i % array_length(u.ids, 1)],
       CASE WHEN answered IS NOT NULL AND answered + 30 < current_date THEN 'closed'
            WHEN answered IS NOT NULL THEN 'answered'
            WHEN decided IS NOT NULL THEN 'in_handling'
            WHEN disposed IS NOT NULL THEN 'awaiting_acceptance'
            ELSE 'registered' END,
       'township', u.ids[1 + i % array_length(u.ids, 1)], reg, disposed, decided, answered,
       CASE WHEN answered IS NOT NULL AND i % 41 = 0 THEN answered + 5 END,
       CASE WHEN answered IS NULL OR i % 5 = 0 THEN NULL
            WHEN i % 7 < 5 THEN 'satisfied' WHEN i % 7 = 5 THEN 'basically_satisfied'
            ELSE 'dissatisfied' END,
       CASE WHEN answered IS NOT NULL THEN 'solved' END,
       CASE WHEN answered IS NOT NULL THEN NULL
            WHEN decided IS NOT NULL THEN decided + 60
            WHEN disposed IS NOT NULL THEN disposed + 15
            ELSE reg + 15 END,
       CASE WHEN answered IS NOT NULL THEN NULL
            WHEN decided IS NOT NULL THEN 'answer'
            WHEN disposed IS NOT NULL THEN 'decide_acceptance'
            ELSE 'dispose' END,
       CASE WHEN answered IS NOT NULL THEN DATE '9999-12-31'
            WHEN decided IS NOT NULL THEN decided + 60
            WHEN disposed IS NOT NULL THEN disposed + 15
            ELSE reg + 15 END,
       false, NULL, 0, now(), now(),
       reg + 15, disposed,
       CASE WHEN disposed IS NOT NULL THEN disposed + 15 END, decided,
       CASE WHEN decided IS NOT NULL THEN decided + 60 END,
       answered, answered - reg,
       GREATEST(reg + 15, COALESCE(disposed + 15, reg), COALESCE(decided + 60, reg),
                COALESCE(answered, reg)),
       (i % 37 = 0)::int, (answered IS NOT NULL AND i % 53 = 0)::int
FROM steps3, units u;

-- Their timelines: registered, forwarded, accepted, answered, closed, as far as each came.
INSERT INTO petition_events (id, petition_id, at, actor_kind, actor_id, event, from_state, to_state, reason, public, detail)
SELECT gen_random_uuid(), id, e.day::timestamptz, 'staff', NULL, e.event, e.from_state, e.to_state, NULL, true, '{}'
FROM petitions p
CROSS JOIN LATERAL (VALUES
  (p.registered_on, 'registered', NULL, 'registered'),
  (p.disposed_on, 'forwarded', 'registered', 'awaiting_acceptance'),
  (p.acceptance_decided_on, 'accepted', 'awaiting_acceptance', 'in_handling'),
  (p.answered_on, 'answered', 'in_handling', 'answered'),
  (CASE WHEN p.state = 'closed' THEN p.answered_on + 31 END, 'closed', 'answered', 'closed')
) AS e(day, event, from_state, to_state)
WHERE e.day IS NOT NULL AND p.tracking_no LIKE 'ST%';

-- Two years of abnormal escalations, a few a day, more from some townships than others.
WITH units AS (
  SELECT array_agg(id ORDER BY sort_order, name) AS ids
  FROM org_units WHERE kind IN ('township', 'street')
)
INSERT INTO escalations (id, occurred_on, level, person_name, home_org_id, registered_petition,
                         recorded_by_kind, recorded_by, created_at)
SELECT gen_random_uuid(), current_date - (i % 730), (ARRAY['city','province','capital'])[1 + i % 3],
       'sealed', u.ids[1 + (i * i) % array_length(u.ids, 1)], i % 2 = 0, 'staff', 'bench', now()
FROM generate_series(1, 3000) AS i, units u;
