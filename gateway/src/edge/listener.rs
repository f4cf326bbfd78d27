//! The gateway's port: HTTP/2 (prior knowledge) and HTTP/1 on one listener, with the limits of
//! `rti_platform::limits::ListenerLimits`: at most `connection_limit` served at once (more wait
//! in the accept queue), a client must send its first bytes and an HTTP/1 request's headers
//! within the header read timeout, idle HTTP/2 connections are pinged and closed when the ping
//! goes unanswered, and one connection carries at most `max_calls_per_connection` calls.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use rti_platform::limits::{ConnectionCap, ListenerLimits};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// What an HTTP/2 client sends first (RFC 9113 §3.4).
const HTTP2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

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
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
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
    permit: OwnedSemaphorePermit,
    router: axum::Router,
    builder: Arc<auto::Builder<TokioExecutor>>,
    header_read_timeout: Duration,
    open: Watcher,
) {
    let _permit = permit;
    // The protocol is told by the first bytes; a client that sends none, or a few and then
    // nothing, would otherwise hold its connection for ever.
    let first = match tokio::time::timeout(header_read_timeout, read_protocol_preface(&stream)).await {
        Ok(Ok(first)) if !first.is_empty() => first,
        Ok(Ok(_)) => return,
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
    };
    let service = TowerToHyperService::new(
        router.map_request(|request: http::Request<hyper::body::Incoming>| request.map(axum::body::Body::new)),
    );
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(Replayed::new(first, stream)), service);
    if let Err(error) = open.watch(connection).await {
        tracing::debug!(%error, "connection ended with an error");
    }
}

/// Reads until the bytes tell HTTP/2's preface from anything else (HTTP/1), or the peer closes.
async fn read_protocol_preface(stream: &TcpStream) -> io::Result<Vec<u8>> {
    let mut first = Vec::with_capacity(HTTP2_PREFACE.len());
    let mut buffer = [0; HTTP2_PREFACE.len()];
    while first.len() < HTTP2_PREFACE.len() && HTTP2_PREFACE.starts_with(&first) {
        stream.readable().await?;
        match stream.try_read(&mut buffer[..HTTP2_PREFACE.len() - first.len()]) {
            Ok(0) => break,
            Ok(read) => first.extend_from_slice(&buffer[..read]),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
            Err(error) => return Err(error),
        }
    }
    Ok(first)
}

/// A stream that first gives back the bytes already read from it.
struct Replayed {
    first: Vec<u8>,
    replayed: usize,
    stream: TcpStream,
}

impl Replayed {
    fn new(first: Vec<u8>, stream: TcpStream) -> Self {
        Self {
            first,
            replayed: 0,
            stream,
        }
    }
}

impl AsyncRead for Replayed {
    fn poll_read(self: Pin<&mut Self>, context: &mut Context<'_>, buffer: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let left = &this.first[this.replayed..];
        if !left.is_empty() {
            let taken = left.len().min(buffer.remaining());
            buffer.put_slice(&left[..taken]);
            this.replayed += taken;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.stream).poll_read(context, buffer)
    }
}

impl AsyncWrite for Replayed {
    fn poll_write(self: Pin<&mut Self>, context: &mut Context<'_>, buffer: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(context, buffer)
    }

    fn poll_flush(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(context)
    }

    fn poll_shutdown(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(context)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffers: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(context, buffers)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
