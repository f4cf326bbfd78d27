-- The outbox (DESIGN §5): events written in the same transaction as the change they describe.
CREATE TABLE outbox (
    sequence     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id     TEXT   NOT NULL UNIQUE,
    event_type   TEXT   NOT NULL,
    aggregate_id TEXT   NOT NULL,
    occurred_at  BIGINT NOT NULL,
    payload      BYTEA  NOT NULL
);
