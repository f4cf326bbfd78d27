-- The gateway's audit log of writes: an append-only hash chain. Each entry carries the SHA-256
-- of the entry before it and of itself over a canonical encoding (gateway/src/audit/entry.rs);
-- the head row holds the last sequence and hash, and is what an append locks so that the chain
-- never forks.
CREATE TABLE audit_entries (
    sequence      BIGINT  NOT NULL PRIMARY KEY,
    recorded_at   BIGINT  NOT NULL,
    subject       TEXT,
    roles         TEXT    NOT NULL,
    rpc           TEXT    NOT NULL,
    protocol      TEXT    NOT NULL,
    resource_ids  TEXT    NOT NULL,
    outcome       INTEGER NOT NULL,
    request_id    TEXT    NOT NULL,
    trace_id      TEXT,
    previous_hash TEXT    NOT NULL,
    hash          TEXT    NOT NULL
);

CREATE TABLE audit_head (
    id       INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    sequence BIGINT  NOT NULL,
    hash     TEXT    NOT NULL
);

INSERT INTO audit_head (id, sequence, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
