"""Schemathesis hooks for the REST side of RTI Access: newline-delimited JSON
(application/x-ndjson), in which the gateway takes a client stream's messages (one per line) and
writes a server stream's. Loaded by scripts/rest_fuzz.py through SCHEMATHESIS_HOOKS."""

import json

import schemathesis

NDJSON = "application/x-ndjson"


@schemathesis.serializer(NDJSON)
def one_message_per_line(ctx, value):
    """A generated body is one message of the stream: one line."""
    return (json.dumps(value) + "\n").encode()


@schemathesis.deserializer(NDJSON)
def first_message(ctx, response):
    """Every line must be JSON; the first is checked against the operation's message schema (the
    last line of a stream that failed midway holds the error object instead). An empty stream has
    no message to check, and stands for the empty message."""
    lines = [json.loads(line) for line in response.content.splitlines() if line.strip()]
    return lines[0] if lines else {}
