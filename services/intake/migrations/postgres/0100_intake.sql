-- Intake: requesting organisations, people, user groups, agreement templates, access requests
-- with their installations and status history, and imported sanctions lists. Ids are UUID text,
-- times UTC microseconds, booleans 0/1, enums their full proto names. Nested
-- records that are only ever read whole (an organisation's figures and holdings, a screening)
-- are canonical proto3 JSON.

CREATE TABLE organisations (
    id             TEXT    PRIMARY KEY,
    legal_name     TEXT    NOT NULL,
    country        TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    profile        TEXT    NOT NULL,
    sme_category   TEXT    NOT NULL,
    start_up       INTEGER NOT NULL,
    small_mid_cap  INTEGER NOT NULL,
    created_at     BIGINT  NOT NULL
);

CREATE TABLE people (
    id                    TEXT   PRIMARY KEY,
    full_name             TEXT   NOT NULL,
    organisation_id       TEXT   NOT NULL REFERENCES organisations (id),
    work_country_override TEXT   NOT NULL,
    work_country_evidence TEXT   NOT NULL,
    nationality           TEXT   NOT NULL,
    created_at            BIGINT NOT NULL
);
CREATE INDEX people_by_organisation ON people (organisation_id, id);

CREATE TABLE user_groups (
    id               TEXT   PRIMARY KEY,
    name             TEXT   NOT NULL,
    organisation_id  TEXT   NOT NULL REFERENCES organisations (id),
    leader_person_id TEXT   NOT NULL REFERENCES people (id),
    created_at       BIGINT NOT NULL
);

CREATE TABLE user_group_members (
    user_group_id TEXT    NOT NULL REFERENCES user_groups (id),
    person_id     TEXT    NOT NULL REFERENCES people (id),
    position      INTEGER NOT NULL,
    PRIMARY KEY (user_group_id, person_id)
);

-- IND-7b: a version is never edited; a change is a new row.
CREATE TABLE agreement_templates (
    id             TEXT    PRIMARY KEY,
    kind           TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    title          TEXT    NOT NULL,
    jurisdiction   TEXT    NOT NULL,
    text_uri       TEXT    NOT NULL,
    text_sha256    TEXT    NOT NULL,
    effective_from BIGINT  NOT NULL,
    UNIQUE (kind, version)
);

CREATE TABLE access_requests (
    id                     TEXT    PRIMARY KEY,
    status                 TEXT    NOT NULL,
    lane                   TEXT    NOT NULL,
    organisation_id        TEXT    NOT NULL REFERENCES organisations (id),
    title                  TEXT    NOT NULL,
    description            TEXT    NOT NULL,
    confidentiality        TEXT    NOT NULL,
    embargo_until          TEXT    NOT NULL,
    ip_regime              TEXT    NOT NULL,
    agreement_kind         TEXT    NOT NULL,
    agreement_template_id  TEXT    REFERENCES agreement_templates (id),
    agreement_accepted_by  TEXT    NOT NULL,
    agreement_accepted_at  BIGINT  NOT NULL,
    contact_person_id      TEXT    NOT NULL,
    user_group_id          TEXT    NOT NULL,
    call_id                TEXT    NOT NULL,
    end_use_statement      TEXT    NOT NULL,
    outputs_leave_eu       INTEGER NOT NULL,
    screening              TEXT    NOT NULL,
    quote                  TEXT    NOT NULL,
    acknowledge_by         BIGINT  NOT NULL DEFAULT 0,
    feasibility_by         BIGINT  NOT NULL DEFAULT 0,
    decide_by              BIGINT  NOT NULL DEFAULT 0,
    acknowledged_at        BIGINT  NOT NULL DEFAULT 0,
    feasibility_at         BIGINT  NOT NULL DEFAULT 0,
    decided_at             BIGINT  NOT NULL DEFAULT 0,
    acknowledged_by        TEXT    NOT NULL DEFAULT '',
    created_at             BIGINT  NOT NULL,
    updated_at             BIGINT  NOT NULL
);
CREATE INDEX access_requests_by_organisation ON access_requests (organisation_id, id);

-- The installations asked for, with the infrastructure each belongs to (read from the registry
-- at creation) so that an operator's scope is a join, not a call.
CREATE TABLE access_request_installations (
    access_request_id TEXT    NOT NULL REFERENCES access_requests (id),
    position          INTEGER NOT NULL,
    installation_id   TEXT    NOT NULL,
    infrastructure_id TEXT    NOT NULL,
    units             BIGINT  NOT NULL,
    PRIMARY KEY (access_request_id, position)
);
CREATE INDEX access_request_installations_by_infrastructure
    ON access_request_installations (infrastructure_id, access_request_id);

CREATE TABLE access_request_transitions (
    access_request_id TEXT    NOT NULL REFERENCES access_requests (id),
    position          INTEGER NOT NULL,
    from_status       TEXT    NOT NULL,
    to_status         TEXT    NOT NULL,
    actor             TEXT    NOT NULL,
    reason            TEXT    NOT NULL,
    at                BIGINT  NOT NULL,
    PRIMARY KEY (access_request_id, position)
);

-- IND-7d: decision clocks per installation; installation_id '' is the default.
CREATE TABLE decision_clocks (
    installation_id  TEXT    PRIMARY KEY,
    acknowledge_days INTEGER NOT NULL,
    feasibility_days INTEGER NOT NULL,
    decide_days      INTEGER NOT NULL,
    updated_by       TEXT    NOT NULL,
    updated_at       BIGINT  NOT NULL
);

-- Milestones missed: met late (met_at > due_at), or never met (met_at = 0).
CREATE TABLE clock_breaches (
    access_request_id TEXT   NOT NULL REFERENCES access_requests (id),
    milestone         TEXT   NOT NULL,
    due_at            BIGINT NOT NULL,
    met_at            BIGINT NOT NULL,
    PRIMARY KEY (access_request_id, milestone)
);

-- SA-6: de minimis aid per single undertaking: granted here on accepted quotes, or declared
-- by the organisation as received elsewhere. Amounts in EUR cents.
CREATE TABLE de_minimis_aid (
    id                 TEXT   PRIMARY KEY,
    organisation_id    TEXT   NOT NULL REFERENCES organisations (id),
    access_request_id  TEXT   REFERENCES access_requests (id) UNIQUE,
    granted_at         BIGINT NOT NULL,
    amount_eur_cents   BIGINT NOT NULL CHECK (amount_eur_cents >= 0),
    granting_authority TEXT   NOT NULL,
    legal_basis        TEXT   NOT NULL
);
CREATE INDEX de_minimis_aid_by_organisation ON de_minimis_aid (organisation_id, granted_at);

-- SEC-2: each imported version, with the raw file for audit.
CREATE TABLE sanctions_lists (
    id              TEXT    PRIMARY KEY,
    generation_time BIGINT  NOT NULL,
    format          TEXT    NOT NULL,
    sha256          TEXT    NOT NULL UNIQUE,
    parties         BIGINT  NOT NULL,
    names           BIGINT  NOT NULL,
    imported_by     TEXT    NOT NULL,
    imported_at     BIGINT  NOT NULL,
    raw             BYTEA   NOT NULL
);

CREATE TABLE sanctions_names (
    sanctions_list_id TEXT    NOT NULL REFERENCES sanctions_lists (id),
    position          INTEGER NOT NULL,
    party             TEXT    NOT NULL,
    name              TEXT    NOT NULL,
    PRIMARY KEY (sanctions_list_id, position)
);
