-- The full catalogue (ESFRI status, legal form, the installation's access terms and vocabulary),
-- tariffs, and the capacity calendar. Enums are stored by their stable names, lists of codes
-- comma-separated (an empty string when not stated), free-text lists and descriptions as JSON arrays; times are UTC microseconds.
ALTER TABLE infrastructures ADD COLUMN esfri_status TEXT NOT NULL DEFAULT '';
ALTER TABLE infrastructures ADD COLUMN legal_form TEXT NOT NULL DEFAULT '';
ALTER TABLE infrastructures ADD COLUMN access_policy_uri TEXT NOT NULL DEFAULT '';

ALTER TABLE installations ADD COLUMN access_modes TEXT NOT NULL DEFAULT '';
ALTER TABLE installations ADD COLUMN unit_kind TEXT NOT NULL DEFAULT '';
ALTER TABLE installations ADD COLUMN unit_description TEXT NOT NULL DEFAULT '';
ALTER TABLE installations ADD COLUMN annual_capacity_units BIGINT NOT NULL DEFAULT 0;
ALTER TABLE installations ADD COLUMN trl_min INTEGER NOT NULL DEFAULT 0;
ALTER TABLE installations ADD COLUMN trl_max INTEGER NOT NULL DEFAULT 0;
ALTER TABLE installations ADD COLUMN typical_lead_time_days INTEGER NOT NULL DEFAULT 0;
ALTER TABLE installations ADD COLUMN scientific_domains TEXT NOT NULL DEFAULT '';
ALTER TABLE installations ADD COLUMN techniques TEXT NOT NULL DEFAULT '[]';
ALTER TABLE installations ADD COLUMN critical_technology_areas TEXT NOT NULL DEFAULT '';
ALTER TABLE installations ADD COLUMN dual_use_categories TEXT NOT NULL DEFAULT '';
ALTER TABLE installations ADD COLUMN descriptions TEXT NOT NULL DEFAULT '[]';
-- The first slice's single description had no language; it was English in practice.
UPDATE installations SET descriptions = json_build_array(json_build_object('language', 'en', 'text', description))::text WHERE description <> '';
ALTER TABLE installations DROP COLUMN description;
CREATE INDEX installations_by_status ON installations (status, id);

CREATE TABLE tariffs (
    id                TEXT   PRIMARY KEY,
    installation_id   TEXT   NOT NULL REFERENCES installations (id),
    currency          TEXT   NOT NULL,
    price_minor_units BIGINT NOT NULL CHECK (price_minor_units >= 0),
    basis             TEXT   NOT NULL,
    valid_from        BIGINT NOT NULL,
    -- NULL: until a later tariff replaces it.
    valid_to          BIGINT,
    created_at        BIGINT NOT NULL
);
CREATE INDEX tariffs_by_installation ON tariffs (installation_id, valid_from);

-- A window's reserved_units is the sum of its active reservations' units, kept in the same
-- transaction as the reservation; the CHECK is a last guard, the conditional UPDATE the rule.
CREATE TABLE capacity_windows (
    id              TEXT   PRIMARY KEY,
    installation_id TEXT   NOT NULL REFERENCES installations (id),
    start_at        BIGINT NOT NULL,
    end_at          BIGINT NOT NULL,
    units           BIGINT NOT NULL,
    reserved_units  BIGINT NOT NULL DEFAULT 0,
    closed_units    BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    CHECK (end_at > start_at),
    CHECK (units > 0),
    CHECK (reserved_units >= 0 AND reserved_units <= units),
    CHECK (closed_units >= 0 AND closed_units <= units)
);
CREATE INDEX capacity_windows_by_installation ON capacity_windows (installation_id, start_at);
CREATE INDEX capacity_windows_by_end ON capacity_windows (end_at);

CREATE TABLE downtimes (
    id              TEXT   PRIMARY KEY,
    installation_id TEXT   NOT NULL REFERENCES installations (id),
    start_at        BIGINT NOT NULL,
    end_at          BIGINT NOT NULL,
    reason          TEXT   NOT NULL,
    created_at      BIGINT NOT NULL,
    CHECK (end_at > start_at)
);
CREATE INDEX downtimes_by_installation ON downtimes (installation_id, start_at);

CREATE TABLE reservations (
    reservation_id  TEXT   PRIMARY KEY,
    window_id       TEXT   NOT NULL REFERENCES capacity_windows (id),
    installation_id TEXT   NOT NULL REFERENCES installations (id),
    units           BIGINT NOT NULL CHECK (units > 0),
    reference       TEXT   NOT NULL,
    state           TEXT   NOT NULL,
    created_at      BIGINT NOT NULL,
    released_at     BIGINT
);
CREATE INDEX reservations_by_window ON reservations (window_id, state);
