//! A cap on the connections a listener serves at once: a connection holds a permit until it
//! closes, and the listener accepts no more while none is left, so further clients wait in the
//! kernel's accept queue instead of each costing a task, buffers and a file descriptor.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use futures::Stream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::PollSemaphore;
use tonic::transport::server::Connected;

/// The connections a listener may serve at once.
#[derive(Debug, Clone)]
pub struct ConnectionCap {
    permits: Arc<Semaphore>,
}

impl ConnectionCap {
    pub fn new(max_connections: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(max_connections.max(1))),
        }
    }

    /// Waits until one more connection may be served.
    pub async fn admit(&self) -> OwnedSemaphorePermit {
        // The semaphore is never closed, so acquiring only ever waits.
        loop {
            if let Ok(permit) = self.permits.clone().acquire_owned().await {
                return permit;
            }
        }
    }

    /// Connections that may still be opened now.
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }

    /// Caps the connections of `incoming`: the next one is taken from it only once a permit is
    /// free.
    pub fn incoming<S>(&self, incoming: S) -> CappedIncoming<S> {
        CappedIncoming {
            inner: incoming,
            permits: PollSemaphore::new(self.permits.clone()),
            permit: None,
        }
    }
}

/// A stream of accepted connections, each holding a permit of its [`ConnectionCap`].
pub struct CappedIncoming<S> {
    inner: S,
    permits: PollSemaphore,
    permit: Option<OwnedSemaphorePermit>,
}

impl<S, IO, E> Stream for CappedIncoming<S>
where
    S: Stream<Item = Result<IO, E>> + Unpin,
{
    type Item = Result<CappedConnection<IO>, E>;

    fn poll_next(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.permit.is_none() {
            match ready!(this.permits.poll_acquire(context)) {
                Some(permit) => this.permit = Some(permit),
                None => return Poll::Ready(None),
            }
        }
        match ready!(Pin::new(&mut this.inner).poll_next(context)) {
            Some(Ok(connection)) => Poll::Ready(this.permit.take().map(|permit| {
                Ok(CappedConnection {
                    inner: connection,
                    _permit: permit,
                })
            })),
            Some(Err(error)) => Poll::Ready(Some(Err(error))),
            None => Poll::Ready(None),
        }
    }
}

/// A connection that gives its permit back when it closes.
#[derive(Debug)]
pub struct CappedConnection<IO> {
    inner: IO,
    _permit: OwnedSemaphorePermit,
}

impl<IO: Connected> Connected for CappedConnection<IO> {
    type ConnectInfo = IO::ConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.inner.connect_info()
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for CappedConnection<IO> {
    fn poll_read(self: Pin<&mut Self>, context: &mut Context<'_>, buffer: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(context, buffer)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for CappedConnection<IO> {
    fn poll_write(self: Pin<&mut Self>, context: &mut Context<'_>, buffer: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(context, buffer)
    }

    fn poll_flush(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(context)
    }

    fn poll_shutdown(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(context)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffers: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(context, buffers)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures::StreamExt;

    use super::*;

    #[tokio::test]
    async fn no_connection_is_taken_beyond_the_cap_until_one_closes() {
        let cap = ConnectionCap::new(2);
        let mut incoming = cap.incoming(futures::stream::iter((0..5).map(Ok::<u32, io::Error>)));
        let first = incoming.next().await.expect("a connection").expect("accepted");
        let second = incoming.next().await.expect("a connection").expect("accepted");
        assert_eq!(cap.available(), 0);
        let third = tokio::time::timeout(Duration::from_millis(100), incoming.next()).await;
        assert!(third.is_err(), "a third connection was served beyond the cap of two");
        drop(first);
        let third = tokio::time::timeout(Duration::from_secs(5), incoming.next())
            .await
            .expect("served once one closed");
        assert!(third.is_some());
        drop(second);
    }
}
