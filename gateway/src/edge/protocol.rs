//! Which protocol a call arrived in at the edge. Every call ends up as gRPC to its service; the
//! front ends that translate (REST/JSON, gRPC-Web) mark the request with a [`Protocol`]
//! extension before it reaches the pass-through, so that spans, metrics and the audit can tell
//! the protocols apart. An unmarked request is plain gRPC.

/// The protocol a caller spoke to the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(crate) enum Protocol {
    #[default]
    Grpc,
    GrpcWeb,
    Rest,
}

impl Protocol {
    /// The protocol `request` arrived in: its mark, or gRPC.
    pub(crate) fn of<B>(request: &http::Request<B>) -> Self {
        request.extensions().get::<Protocol>().copied().unwrap_or_default()
    }

    /// The label in spans and metrics: `grpc`, `grpc-web`, `rest`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Protocol::Grpc => "grpc",
            Protocol::GrpcWeb => "grpc-web",
            Protocol::Rest => "rest",
        }
    }
}
