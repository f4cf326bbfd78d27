-- Reporting: projections of the registry's, intake's and allocation's event streams, the facts
-- that statistics are computed from, usage records, researcher counts (NORM-1), and the secret
-- of the disclosure control's record keys. No names of people: users and their organisations are
-- pseudonymous ids. Ids are text, times UTC microseconds, booleans 0/1; `month` is YYYYMM.
-- Every *_rkey column is a record key of the cell key method (docs/disclosure.md), 0..2^32.

CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Each upstream stream's last applied sequence, written in the transaction of its change.
CREATE TABLE feed_cursors (
    source   TEXT   PRIMARY KEY,
    sequence BIGINT NOT NULL
);

-- Registry projection.
CREATE TABLE providers (
    id      TEXT PRIMARY KEY,
    country TEXT NOT NULL
);

CREATE TABLE infrastructures (
    id          TEXT PRIMARY KEY,
    provider_id TEXT NOT NULL,
    name        TEXT NOT NULL
);

CREATE TABLE installations (
    id                TEXT PRIMARY KEY,
    infrastructure_id TEXT NOT NULL,
    name              TEXT NOT NULL,
    -- Critical technology areas (SEC-5), comma-separated enum names.
    critical_areas    TEXT NOT NULL
);

CREATE VIEW installation_sites AS
SELECT i.id AS installation_id,
       i.name AS installation_name,
       i.infrastructure_id AS infrastructure_id,
       COALESCE(f.name, '') AS infrastructure_name,
       COALESCE(p.country, '') AS provider_country
FROM installations i
LEFT JOIN infrastructures f ON f.id = i.infrastructure_id
LEFT JOIN providers p ON p.id = f.provider_id;

-- A reservation's capacity window: the period of the allocation slot that holds it.
CREATE TABLE slot_windows (
    slot_id         TEXT   PRIMARY KEY,
    installation_id TEXT   NOT NULL,
    starts_at       BIGINT NOT NULL,
    ends_at         BIGINT NOT NULL
);

-- Intake projection: one row per access request, with its requester's facts as the events carry
-- them (no names) and the dimensions statistics group by.
CREATE TABLE requests (
    id                 TEXT    PRIMARY KEY,
    lane               TEXT    NOT NULL,
    funding_scheme     TEXT    NOT NULL,
    organisation_id    TEXT    NOT NULL,
    org_rkey           BIGINT  NOT NULL,
    request_rkey       BIGINT  NOT NULL,
    home_country       TEXT    NOT NULL,
    requester_type     TEXT    NOT NULL,
    confidential       INTEGER NOT NULL,
    status             TEXT    NOT NULL,
    submitted_at       BIGINT,
    submitted_month    INTEGER,
    decided_at         BIGINT,
    -- 'accepted', 'declined', 'withdrawn', or NULL while open.
    outcome            TEXT,
    screening_verdict  TEXT    NOT NULL,
    screening_held     INTEGER NOT NULL,
    screening_until    BIGINT,
    call_id            TEXT    NOT NULL
);

CREATE TABLE request_installations (
    request_id      TEXT   NOT NULL REFERENCES requests (id),
    installation_id TEXT   NOT NULL,
    units           BIGINT NOT NULL,
    PRIMARY KEY (request_id, installation_id)
);
CREATE INDEX request_installations_by_installation ON request_installations (installation_id);

-- Decision-clock milestones missed (IND-7d), per request and milestone.
CREATE TABLE clock_breaches (
    request_id TEXT   NOT NULL,
    milestone  TEXT   NOT NULL,
    due_at     BIGINT NOT NULL,
    month      INTEGER NOT NULL,
    PRIMARY KEY (request_id, milestone)
);

-- Allocation projection: units granted per request and installation (a TA allocation line, or an
-- accepted industrial-lane request).
CREATE TABLE grants (
    request_id      TEXT    NOT NULL,
    installation_id TEXT    NOT NULL,
    units           BIGINT  NOT NULL,
    non_eu_majority INTEGER NOT NULL,
    decided_at      BIGINT  NOT NULL,
    month           INTEGER NOT NULL,
    PRIMARY KEY (request_id, installation_id)
);

-- Transnational-access calls: what each offered per installation (oversubscription), under
-- which grant agreement (KPI-1). `at` is the close (or, for a continuous call, the open) time.
CREATE TABLE calls (
    id              TEXT    PRIMARY KEY,
    grant_agreement TEXT    NOT NULL,
    programme       TEXT    NOT NULL,
    at              BIGINT  NOT NULL,
    month           INTEGER NOT NULL
);

CREATE TABLE call_installations (
    call_id         TEXT   NOT NULL REFERENCES calls (id),
    installation_id TEXT   NOT NULL,
    units           BIGINT NOT NULL,
    PRIMARY KEY (call_id, installation_id)
);

-- A transnational-access request's outcome as the committed allocation decided it.
CREATE TABLE allocation_decisions (
    request_id TEXT   PRIMARY KEY,
    outcome    TEXT   NOT NULL,
    decided_at BIGINT NOT NULL
);

CREATE TABLE slots (
    id              TEXT    PRIMARY KEY,
    request_id      TEXT    NOT NULL,
    installation_id TEXT    NOT NULL,
    units           BIGINT  NOT NULL,
    status          TEXT    NOT NULL,
    delivered_units BIGINT  NOT NULL,
    lost_units      BIGINT  NOT NULL,
    offered_at      BIGINT  NOT NULL,
    delivered_at    BIGINT,
    -- When the slot's window starts (its offer time until the registry's event tells).
    starts_at       BIGINT  NOT NULL,
    month           INTEGER NOT NULL
);
CREATE INDEX slots_by_request ON slots (request_id, installation_id);

-- Usage records as operators recorded them (TA-10, I.4).
CREATE TABLE usage_records (
    record_id        TEXT    PRIMARY KEY,
    request_id       TEXT    NOT NULL,
    installation_id  TEXT    NOT NULL,
    slot_id          TEXT    NOT NULL,
    user_key         TEXT    NOT NULL,
    user_rkey        BIGINT  NOT NULL,
    org_key          TEXT    NOT NULL,
    org_rkey         BIGINT  NOT NULL,
    group_rkey       BIGINT  NOT NULL,
    home_country     TEXT    NOT NULL,
    requester_type   TEXT    NOT NULL,
    access_mode      TEXT    NOT NULL,
    lane             TEXT    NOT NULL,
    funding_scheme   TEXT    NOT NULL,
    eu_funded        INTEGER NOT NULL,
    new_user         INTEGER NOT NULL,
    period_start     BIGINT  NOT NULL,
    period_end       BIGINT  NOT NULL,
    month            INTEGER NOT NULL,
    units_used       BIGINT  NOT NULL,
    days_on_site     INTEGER NOT NULL,
    -- A digest of the record's values: a retry with the same values is a no-op, other values
    -- under the same id are refused.
    fingerprint      TEXT    NOT NULL,
    recorded_by      TEXT    NOT NULL,
    recorded_at      BIGINT  NOT NULL
);
CREATE INDEX usage_by_period ON usage_records (period_start);

-- Units recorded so far per request and installation, kept with every batch of records: the
-- units check reads one row instead of summing the records.
CREATE TABLE usage_totals (
    request_id      TEXT   NOT NULL,
    installation_id TEXT   NOT NULL,
    units_used      BIGINT NOT NULL,
    PRIMARY KEY (request_id, installation_id)
);

-- NORM-1 denominators: researchers (FTE), all sectors, per country and year.
CREATE TABLE researcher_counts (
    country         TEXT    NOT NULL,
    year            INTEGER NOT NULL,
    researchers_fte DOUBLE PRECISION    NOT NULL,
    flag            TEXT    NOT NULL,
    dataset         TEXT    NOT NULL,
    source          TEXT    NOT NULL,
    PRIMARY KEY (country, year)
);
