-- Usage records are written in numbered batches, without gaps, in the order they commit (the
-- usage writers go one at a time). Statistics hold the records in memory and load what they
-- have not seen yet by batch; records written before batches were numbered are batch 0.
CREATE TABLE usage_batches (
    id          BIGINT PRIMARY KEY,
    records     BIGINT NOT NULL,
    recorded_at BIGINT NOT NULL
);

ALTER TABLE usage_records ADD COLUMN batch BIGINT NOT NULL DEFAULT 0;
CREATE INDEX usage_by_batch ON usage_records (batch);
