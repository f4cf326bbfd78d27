//! The gateway's port: HTTP/2 (prior knowledge) and HTTP/1 on one listener, with the limits of
//! `rti_platform::limits::ListenerLimits`: at most `connection_limit` served at once (more wait
//! in the accept queue), a client must send its first bytes and an HTTP/1 request's headers
//! within the header read timeout, idle HTTP/2 connections are pinged and closed when the ping
//! goes unanswered, and one connection carries at most `max_calls_per_connection` calls.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use rti_platform::limits::{ConnectionCap, ListenerLimits};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// What an HTTP/2 client sends first (RFC 9113 §3.4).
const HTTP2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// How often a connection that sent part of the HTTP/2 preface is looked at again.
const PREFACE_POLL: Duration = Duration::from_millis(10);

/// Accepts connections on `listener` and serves `router` on each until `stop` fires; returns
/// the connections still open, for the caller to drain.
pub(crate) async fn serve_until(
    listener: TcpListener,
    router: axum::Router,
    limits: &ListenerLimits,
    stop: CancellationToken,
) -> GracefulShutdown {
    let cap = ConnectionCap::new(limits.connection_limit);
    let builder = Arc::new(http_builder(limits));
    let open = GracefulShutdown::new();
    loop {
        let permit = tokio::select! {
            permit = cap.admit() => permit,
            () = stop.cancelled() => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, most likely: wait rather than spin.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = stop.cancelled() => break,
        };
        // Without it small gRPC frames wait on Nagle's algorithm (perf-notes A4).
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
        tokio::spawn(serve_connection(
            stream,
            peer,
            permit,
            router.clone(),
            builder.clone(),
            limits.header_read_timeout,
            open.watcher(),
        ));
    }
    open
}

fn http_builder(limits: &ListenerLimits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(limits.http2_keepalive_interval)
        .keep_alive_timeout(limits.http2_keepalive_timeout)
        .max_concurrent_streams(limits.max_calls_per_connection);
    builder
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    permit: OwnedSemaphorePermit,
    router: axum::Router,
    builder: Arc<auto::Builder<TokioExecutor>>,
    header_read_timeout: Duration,
    open: Watcher,
) {
    let _permit = permit;
    // The protocol is told by the first bytes; a client that sends none, or a few and then
    // nothing, would otherwise hold its connection for ever.
    match tokio::time::timeout(header_read_timeout, first_bytes_arrive(&stream)).await {
        Ok(Ok(true)) => {}
        Ok(Ok(false)) => return,
        Ok(Err(error)) => {
            tracing::debug!(%error, "connection failed before its first request");
            return;
        }
        Err(_) => {
            tracing::debug!(
                timeout_ms = u64::try_from(header_read_timeout.as_millis()).unwrap_or(u64::MAX),
                "no request began within the header read timeout; closing the connection"
            );
            return;
        }
    }
    // The peer address rides on every request, for what is keyed by it (anonymous rate limits).
    let service = TowerToHyperService::new(
        router.map_request(move |request: http::Request<hyper::body::Incoming>| {
            let mut request = request.map(axum::body::Body::new);
            request.extensions_mut().insert(ConnectInfo(peer));
            request
        }),
    );
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
    if let Err(error) = open.watch(connection).await {
        tracing::debug!(%error, "connection ended with an error");
    }
}

/// Waits until the first bytes tell HTTP/2's preface from anything else (HTTP/1); false when the
/// peer closes first. The bytes are only peeked at: hyper reads them again.
async fn first_bytes_arrive(stream: &TcpStream) -> io::Result<bool> {
    let mut buffer = [0; HTTP2_PREFACE.len()];
    loop {
        let seen = stream.peek(&mut buffer).await?;
        if seen == 0 {
            return Ok(false);
        }
        if seen == HTTP2_PREFACE.len() || !HTTP2_PREFACE.starts_with(&buffer[..seen]) {
            return Ok(true);
        }
        // Part of the HTTP/2 preface, which clients send whole: wait for the rest.
        tokio::time::sleep(PREFACE_POLL).await;
    }
}
