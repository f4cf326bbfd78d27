-- The registry's catalogue, first slice. Lists of codes are stored comma-separated; times are
-- UTC microseconds.
CREATE TABLE providers (
    id         TEXT   PRIMARY KEY,
    name       TEXT   NOT NULL,
    country    TEXT   NOT NULL,
    website    TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE infrastructures (
    id          TEXT   PRIMARY KEY,
    provider_id TEXT   NOT NULL REFERENCES providers (id),
    name        TEXT   NOT NULL,
    acronym     TEXT   NOT NULL,
    description TEXT   NOT NULL,
    kind        TEXT   NOT NULL,
    structure   TEXT   NOT NULL,
    countries   TEXT   NOT NULL,
    website     TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX infrastructures_by_provider ON infrastructures (provider_id, id);

CREATE TABLE installations (
    id                TEXT   PRIMARY KEY,
    infrastructure_id TEXT   NOT NULL REFERENCES infrastructures (id),
    name              TEXT   NOT NULL,
    description       TEXT   NOT NULL,
    countries         TEXT   NOT NULL,
    access_types      TEXT   NOT NULL,
    status            TEXT   NOT NULL,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX installations_by_infrastructure ON installations (infrastructure_id, id);
