//! The largest message of a call, checked on the gRPC frames' length prefixes as the body
//! streams in: an oversized message is refused with RESOURCE_EXHAUSTED naming the call and the
//! limit as soon as its 5-byte prefix arrives, before any of it is buffered or decoded. Each
//! message of a stream is checked on its own, so a long stream of small messages passes.

use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, ready};

use bytes::{Buf, Bytes};
use http_body::{Body, Frame, SizeHint};

pub(super) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A gRPC message is a 1-byte compression flag and a 4-byte big-endian length, then the bytes.
const PREFIX_BYTES: usize = 5;

/// A request body whose gRPC messages may be at most `limit` bytes each.
pub struct MessageLimited<B> {
    inner: B,
    limit: usize,
    path: Arc<str>,
    prefix: [u8; PREFIX_BYTES],
    prefix_filled: usize,
    message_left: usize,
    refused: Arc<OnceLock<tonic::Status>>,
}

impl<B> MessageLimited<B> {
    pub fn new(inner: B, limit: usize, path: &str) -> Self {
        Self {
            inner,
            limit,
            path: Arc::from(path),
            prefix: [0; PREFIX_BYTES],
            prefix_filled: 0,
            message_left: 0,
            refused: Arc::new(OnceLock::new()),
        }
    }

    /// Holds the status once a message has been refused: a proxy that sees its upstream fail
    /// answers with it rather than with the upstream's failure.
    pub fn refusal(&self) -> Arc<OnceLock<tonic::Status>> {
        self.refused.clone()
    }

    fn scan(&mut self, mut data: &[u8]) -> Result<(), tonic::Status> {
        while !data.is_empty() {
            if self.message_left > 0 {
                let skipped = self.message_left.min(data.len());
                self.message_left -= skipped;
                data.advance(skipped);
                continue;
            }
            let taken = (PREFIX_BYTES - self.prefix_filled).min(data.len());
            self.prefix[self.prefix_filled..self.prefix_filled + taken].copy_from_slice(&data[..taken]);
            self.prefix_filled += taken;
            data.advance(taken);
            if self.prefix_filled == PREFIX_BYTES {
                self.prefix_filled = 0;
                let length = u32::from_be_bytes([self.prefix[1], self.prefix[2], self.prefix[3], self.prefix[4]]);
                let length = usize::try_from(length).unwrap_or(usize::MAX);
                if length > self.limit {
                    return Err(self.refuse(length));
                }
                self.message_left = length;
            }
        }
        Ok(())
    }

    fn refuse(&self, length: usize) -> tonic::Status {
        let method = self.path.rsplit('/').next().unwrap_or(&self.path);
        let status = tonic::Status::resource_exhausted(format!(
            "a message of {method} is {length} bytes; the limit is {} bytes ({})",
            self.limit,
            human_bytes(self.limit)
        ));
        self.refused.get_or_init(|| status.clone()).clone()
    }
}

/// `4 MiB`, `64 KiB`, `1000 bytes`.
fn human_bytes(bytes: usize) -> String {
    const KIB: usize = 1024;
    if bytes >= KIB * KIB && bytes.is_multiple_of(KIB * KIB) {
        format!("{} MiB", bytes / (KIB * KIB))
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

impl<B> Body for MessageLimited<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if let Some(status) = this.refused.get() {
            return Poll::Ready(Some(Err(status.clone())));
        }
        match ready!(Pin::new(&mut this.inner).poll_frame(context)) {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref()
                    && let Err(status) = this.scan(data)
                {
                    return Poll::Ready(Some(Err(status)));
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Some(Err(error)) => Poll::Ready(Some(Err(tonic::Status::from_error(error.into())))),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.refused.get().is_none() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    fn frame(length: usize) -> Vec<u8> {
        let mut bytes = vec![0];
        bytes.extend_from_slice(&u32::try_from(length).expect("small").to_be_bytes());
        bytes.extend(std::iter::repeat_n(7, length));
        bytes
    }

    type Chunks = futures::stream::Iter<std::vec::IntoIter<Result<Frame<Bytes>, std::convert::Infallible>>>;

    /// A body that yields `chunks` one by one.
    fn chunked(chunks: Vec<Vec<u8>>) -> http_body_util::StreamBody<Chunks> {
        let frames: Vec<_> = chunks
            .into_iter()
            .map(|chunk| Ok(Frame::data(Bytes::from(chunk))))
            .collect();
        http_body_util::StreamBody::new(futures::stream::iter(frames))
    }

    async fn read(chunks: Vec<Vec<u8>>, limit: usize) -> Result<usize, tonic::Status> {
        let body = MessageLimited::new(chunked(chunks), limit, "/rti.x.v1.X/Import");
        body.collect().await.map(|collected| collected.to_bytes().len())
    }

    #[tokio::test]
    async fn messages_within_the_limit_pass_however_they_are_split() {
        let mut stream = frame(10);
        stream.extend(frame(10));
        stream.extend(frame(0));
        let total = stream.len();
        // Every split point, the prefixes cut in two included.
        for split in 0..total {
            let chunks = vec![stream[..split].to_vec(), stream[split..].to_vec()];
            assert_eq!(read(chunks, 10).await.expect("within the limit"), total);
        }
        let bytewise: Vec<Vec<u8>> = stream.iter().map(|byte| vec![*byte]).collect();
        assert_eq!(read(bytewise, 10).await.expect("within the limit"), total);
    }

    #[tokio::test]
    async fn a_message_over_the_limit_is_refused_by_its_prefix_naming_the_limit() {
        let mut stream = frame(10);
        stream.extend(frame(11));
        for split in [0, 12, 16, 17, stream.len() - 1] {
            let chunks = vec![stream[..split].to_vec(), stream[split..].to_vec()];
            let status = read(chunks, 10).await.expect_err("over the limit");
            assert_eq!(status.code(), tonic::Code::ResourceExhausted);
            assert_eq!(
                status.message(),
                "a message of Import is 11 bytes; the limit is 10 bytes (10 bytes)"
            );
        }
        // Only the prefix of the oversized message needs to arrive.
        let status = read(vec![vec![0, 0, 0x40, 0, 1]], 4 * 1024 * 1024)
            .await
            .expect_err("4 MiB + 1");
        assert!(
            status.message().ends_with("the limit is 4194304 bytes (4 MiB)"),
            "{}",
            status.message()
        );
    }

    #[tokio::test]
    async fn the_refusal_is_kept_for_a_proxy_to_answer_with() {
        let mut body = MessageLimited::new(chunked(vec![frame(2)]), 1, "/rti.x.v1.X/Put");
        let refusal = body.refusal();
        assert!(refusal.get().is_none());
        assert!(body.frame().await.expect("a frame").is_err());
        assert_eq!(
            refusal.get().map(tonic::Status::code),
            Some(tonic::Code::ResourceExhausted)
        );
    }
}
