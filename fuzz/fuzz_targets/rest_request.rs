//! The REST transcoder's reading of a request against the suite's own routes: the first byte
//! picks the HTTP method, then come the path, a newline, the query string, a newline, and the
//! body. A request is either turned into one gRPC frame per message, each framed as the
//! pass-through forwards it, or refused with a 4xx: bad input is never the gateway's fault (a
//! 5xx) and never a panic.

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use rti_gateway::edge::rest_fuzzing::RestRoutes;

/// Read once: the bindings are what the gateway reads at start.
static ROUTES: LazyLock<RestRoutes> =
    LazyLock::new(|| RestRoutes::load().expect("the shipped descriptor set has valid REST bindings"));

const METHODS: [http::Method; 5] = [
    http::Method::GET,
    http::Method::POST,
    http::Method::PATCH,
    http::Method::PUT,
    http::Method::DELETE,
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let method = &METHODS[usize::from(selector) % METHODS.len()];
    let mut parts = rest.splitn(3, |byte| *byte == b'\n');
    let (Some(path), query, body) = (parts.next(), parts.next(), parts.next().unwrap_or_default()) else {
        return;
    };
    // A URI's path and query are text; hyper refuses anything else before the gateway sees it.
    let (Ok(path), Ok(query)) = (std::str::from_utf8(path), query.map(std::str::from_utf8).transpose()) else {
        return;
    };
    match ROUTES.request(method, path, query, body) {
        Ok((grpc_path, frames)) => {
            assert!(
                grpc_path.starts_with("/rti."),
                "{grpc_path} is not a method of the suite"
            );
            let mut remaining = frames.as_slice();
            while !remaining.is_empty() {
                assert!(remaining.len() >= 5 && remaining[0] == 0, "a frame header is broken");
                let length = u32::from_be_bytes([remaining[1], remaining[2], remaining[3], remaining[4]]) as usize;
                assert!(remaining.len() >= 5 + length, "a frame is shorter than its header says");
                remaining = &remaining[5 + length..];
            }
        }
        Err(refusal) => assert!(
            (400..500).contains(&refusal.status),
            "{method} {path} was answered {}: {}",
            refusal.status,
            refusal.message
        ),
    }
});
