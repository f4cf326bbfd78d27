-- SEC-3: importing a sanctions list version starts a run that screens every open request again
-- against the names it adds or changes; a run left unfinished by a restart is resumed.
CREATE TABLE rescreening_runs (
    sanctions_list_id TEXT   PRIMARY KEY REFERENCES sanctions_lists (id),
    created_at        BIGINT NOT NULL,
    finished_at       BIGINT
);

-- The delta of two versions looks each name of the newer one up in the older one.
CREATE INDEX sanctions_names_by_name ON sanctions_names (sanctions_list_id, name, party);

CREATE INDEX access_requests_by_status ON access_requests (status, id);
