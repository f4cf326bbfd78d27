-- Events of a followed stream that reporting could not apply (poison events: a payload that did
-- not decode at its source, or one without the record it is about). Each is recorded in the same
-- transaction that moves the stream's cursor past it, so that the feed carries on and an operator
-- can find the event at its source by its sequence and id.
CREATE TABLE feed_rejections (
    source      TEXT   NOT NULL,
    sequence    BIGINT NOT NULL,
    event_id    TEXT   NOT NULL,
    event_type  TEXT   NOT NULL,
    reason      TEXT   NOT NULL,
    recorded_at BIGINT NOT NULL,
    PRIMARY KEY (source, sequence)
);
