-- The outbox (DESIGN §5): events written in the same transaction as the change they describe.
-- AUTOINCREMENT keeps sequences from ever being reused, even after the newest row is deleted.
CREATE TABLE outbox (
    sequence     INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id     TEXT    NOT NULL UNIQUE,
    event_type   TEXT    NOT NULL,
    aggregate_id TEXT    NOT NULL,
    occurred_at  BIGINT  NOT NULL,
    payload      BLOB    NOT NULL
);
