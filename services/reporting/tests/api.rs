//! The reporting service as a real server, on SQLite and on PostgreSQL: health, and its event stream
//! with the RPC table applied both ways.

rti_platform::event_stream_service_tests!(rti_reporting::App, rti_reporting::AUTHZ);
