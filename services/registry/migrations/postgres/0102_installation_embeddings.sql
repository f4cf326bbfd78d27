-- The embedding of each published installation for search by meaning: one vector per
-- installation (its name, techniques and descriptions), stored so that a restart does not embed
-- the catalogue again. `model_version` names the encoder that made it: vectors of another model
-- are not comparable, so they are deleted and recomputed when the model changes. `vector` holds
-- the float32 components, little-endian; `text_digest` identifies the text embedded, so an update
-- that leaves the text alone (a tariff, a TRL) costs no new embedding.
CREATE TABLE installation_embeddings (
    installation_id TEXT    NOT NULL PRIMARY KEY REFERENCES installations (id),
    model_version   TEXT    NOT NULL,
    text_digest     TEXT    NOT NULL,
    vector          BYTEA   NOT NULL,
    computed_at     BIGINT  NOT NULL
);
