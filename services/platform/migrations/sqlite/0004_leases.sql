-- Leases: which process of a service may do a job that must run once at a time, such as following
-- another service's event stream (src/lease.rs). A holder renews its lease before it expires; when
-- it dies, another process takes the lease once it has expired.
CREATE TABLE leases (
    name       TEXT   PRIMARY KEY,
    holder     TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);
