-- Runs once, when the PostgreSQL data volume is first initialised (docker-entrypoint-initdb.d).
-- One database per service (DESIGN §6: no service reads another's tables). Each service applies
-- its own migrations at start; the gateway keeps its audit log of writes in `audit`. Owner: the
-- POSTGRES_USER of compose.yaml.
CREATE DATABASE registry;
CREATE DATABASE intake;
CREATE DATABASE allocation;
CREATE DATABASE reporting;
CREATE DATABASE audit;
