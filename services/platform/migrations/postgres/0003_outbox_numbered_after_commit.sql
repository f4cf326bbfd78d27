-- Events are numbered after they commit, by one sequencer at a time (src/events/sequencer.rs), so
-- that writers no longer commit one after the other under the outbox's lock: `position` keeps
-- the order of insertion, `sequence` is given once the event is durable (NULL until then).
ALTER TABLE outbox ALTER COLUMN sequence DROP IDENTITY;
ALTER TABLE outbox DROP CONSTRAINT outbox_pkey;
ALTER TABLE outbox ALTER COLUMN sequence DROP NOT NULL;
ALTER TABLE outbox ADD COLUMN position BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY;
CREATE UNIQUE INDEX outbox_sequence ON outbox (sequence);
CREATE INDEX outbox_unnumbered ON outbox (position) WHERE sequence IS NULL;
