-- Idempotency keys of create calls: a retry with the same key and body returns the resource the
-- first call created; the same key with another body is refused.
CREATE TABLE idempotency_keys (
    scope        TEXT   NOT NULL,
    request_id   TEXT   NOT NULL,
    request_hash TEXT   NOT NULL,
    resource_id  TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (scope, request_id)
);
