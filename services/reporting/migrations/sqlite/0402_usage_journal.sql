-- Usage records become a journal: each batch's records are one JSON array of arrays in
-- usage_batches.body (the order of the values: services/reporting/src/store/journal.rs), written
-- with one statement per batch instead of a row and three index entries per record. Record ids
-- and the units used per request and installation are checked against the facts each process
-- holds in memory, loaded from the journal. The records already written move into the journal;
-- the view usage_records shows every record as a table to SQL, as before.
ALTER TABLE usage_batches ADD COLUMN body TEXT NOT NULL DEFAULT '[]';

-- Records written before batches were numbered (batch 0) get a batch row of their own.
INSERT INTO usage_batches (id, records, recorded_at)
SELECT 0, COUNT(*), COALESCE(MIN(recorded_at), 0) FROM usage_records WHERE batch = 0 HAVING COUNT(*) > 0;

UPDATE usage_batches SET body = (
    SELECT json_group_array(json_array(record_id, request_id, installation_id, slot_id, user_key, user_rkey, org_key, org_rkey, group_rkey, home_country, requester_type, access_mode, lane, funding_scheme, eu_funded, new_user, period_start, period_end, month, units_used, days_on_site, fingerprint, recorded_by, recorded_at))
    FROM usage_records u WHERE u.batch = usage_batches.id
);

DROP TABLE usage_records;
DROP TABLE usage_totals;

CREATE VIEW usage_records AS
SELECT
    b.id AS batch,
    r.value->>0 AS record_id,
    r.value->>1 AS request_id,
    r.value->>2 AS installation_id,
    r.value->>3 AS slot_id,
    r.value->>4 AS user_key,
    r.value->>5 AS user_rkey,
    r.value->>6 AS org_key,
    r.value->>7 AS org_rkey,
    r.value->>8 AS group_rkey,
    r.value->>9 AS home_country,
    r.value->>10 AS requester_type,
    r.value->>11 AS access_mode,
    r.value->>12 AS lane,
    r.value->>13 AS funding_scheme,
    r.value->>14 AS eu_funded,
    r.value->>15 AS new_user,
    r.value->>16 AS period_start,
    r.value->>17 AS period_end,
    r.value->>18 AS month,
    r.value->>19 AS units_used,
    r.value->>20 AS days_on_site,
    r.value->>21 AS fingerprint,
    r.value->>22 AS recorded_by,
    r.value->>23 AS recorded_at
FROM usage_batches b, json_each(b.body) AS r;
