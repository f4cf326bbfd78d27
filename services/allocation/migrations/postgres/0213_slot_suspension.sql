-- SEC-3: a slot whose request matched a newer sanctions list version is suspended, with the
-- reason, until intake's review lifts it; empty when it is not.
ALTER TABLE slots ADD COLUMN suspended_reason TEXT NOT NULL DEFAULT '';
