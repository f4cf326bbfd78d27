-- Allocation: calls with versioned rulebooks, panels, proposals (from intake) with eligibility,
-- conflicts, reviews, feasibility, stored allocations with their grants, slots, and the cursor of
-- intake's event stream. Ids are UUID text (proposals keep intake's request id), times UTC
-- microseconds, booleans 0/1, enums their full proto names. Records read whole are canonical
-- proto3 JSON (`body`); what queries filter or lock on has a column of its own.

CREATE TABLE calls (
    id              TEXT    PRIMARY KEY,
    grant_agreement TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL
);
CREATE INDEX calls_by_grant ON calls (grant_agreement);

-- TA-15: a version is never edited; an amendment is a new row.
CREATE TABLE rulebooks (
    call_id      TEXT    NOT NULL REFERENCES calls (id),
    version      INTEGER NOT NULL,
    body         TEXT    NOT NULL,
    effective_at BIGINT  NOT NULL,
    PRIMARY KEY (call_id, version)
);

CREATE TABLE panel_members (
    call_id     TEXT    NOT NULL REFERENCES calls (id),
    reviewer    TEXT    NOT NULL,
    independent INTEGER NOT NULL,
    affiliation TEXT    NOT NULL,
    PRIMARY KEY (call_id, reviewer)
);

CREATE TABLE proposals (
    id              TEXT   PRIMARY KEY,
    call_id         TEXT   NOT NULL,
    lane            TEXT   NOT NULL,
    status          TEXT   NOT NULL,
    organisation_id TEXT   NOT NULL,
    body            TEXT   NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX proposals_by_call ON proposals (call_id, id);

-- The users of a proposal, for TA-7's "has not used the installation before".
CREATE TABLE proposal_users (
    proposal_id TEXT NOT NULL REFERENCES proposals (id),
    person_id   TEXT NOT NULL,
    PRIMARY KEY (proposal_id, person_id)
);
CREATE INDEX proposal_users_by_person ON proposal_users (person_id);

CREATE TABLE conflicts (
    proposal_id TEXT   NOT NULL REFERENCES proposals (id),
    reviewer    TEXT   NOT NULL,
    reason      TEXT   NOT NULL,
    declared_at BIGINT NOT NULL,
    PRIMARY KEY (proposal_id, reviewer)
);

CREATE TABLE reviews (
    proposal_id  TEXT   NOT NULL REFERENCES proposals (id),
    reviewer     TEXT   NOT NULL,
    body         TEXT   NOT NULL,
    submitted_at BIGINT NOT NULL,
    PRIMARY KEY (proposal_id, reviewer)
);

CREATE TABLE feasibility (
    proposal_id     TEXT    NOT NULL REFERENCES proposals (id),
    installation_id TEXT    NOT NULL,
    feasible        INTEGER NOT NULL,
    note            TEXT    NOT NULL,
    operator        TEXT    NOT NULL,
    recorded_at     BIGINT  NOT NULL,
    PRIMARY KEY (proposal_id, installation_id)
);

-- One stored allocation per call: the coordinator's approved run.
CREATE TABLE allocations (
    id         TEXT   PRIMARY KEY,
    call_id    TEXT   NOT NULL UNIQUE REFERENCES calls (id),
    body       TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);

-- Units granted per proposal and installation (the ledger's "granted"); TA-6 counts non_eu rows
-- of every call under one grant agreement.
CREATE TABLE grants (
    proposal_id     TEXT    NOT NULL REFERENCES proposals (id),
    installation_id TEXT    NOT NULL,
    call_id         TEXT    NOT NULL REFERENCES calls (id),
    grant_agreement TEXT    NOT NULL,
    units           BIGINT  NOT NULL,
    non_eu          INTEGER NOT NULL,
    PRIMARY KEY (proposal_id, installation_id)
);
CREATE INDEX grants_by_agreement ON grants (grant_agreement);

-- A slot's life: PENDING (being reserved in the registry) → HELD → ACCEPTED → CONFIRMED →
-- DELIVERED, or DECLINED / EXPIRED, which release the registry's reservation (its id = slot id).
CREATE TABLE slots (
    id                TEXT    PRIMARY KEY,
    offer_key         TEXT    NOT NULL UNIQUE,
    access_request_id TEXT    NOT NULL REFERENCES proposals (id),
    installation_id   TEXT    NOT NULL,
    infrastructure_id TEXT    NOT NULL,
    window_id         TEXT    NOT NULL,
    units             BIGINT  NOT NULL,
    status            TEXT    NOT NULL,
    expire_at         BIGINT  NOT NULL,
    delivered_units   BIGINT  NOT NULL,
    lost_units        BIGINT  NOT NULL,
    lost_reason       TEXT    NOT NULL,
    reason            TEXT    NOT NULL,
    -- 1 once the registry confirmed the release of a DECLINED or EXPIRED slot's reservation.
    released          INTEGER NOT NULL,
    created_at        BIGINT  NOT NULL,
    updated_at        BIGINT  NOT NULL
);
CREATE INDEX slots_by_request ON slots (access_request_id);
CREATE INDEX slots_by_status ON slots (status, expire_at);

-- Where the allocation is in another service's event stream; advanced in the same transaction
-- as the change an event causes, so a replay never applies an event twice.
CREATE TABLE feed_cursors (
    source   TEXT   PRIMARY KEY,
    sequence BIGINT NOT NULL
);
