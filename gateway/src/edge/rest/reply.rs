//! The gRPC answer → the REST answer: the response frames decoded as the RPC's output message
//! and written as canonical proto3 JSON (lowerCamelCase names, fields at their default values
//! included, so a client and the OpenAPI document see every field), or the status from the
//! trailers as the JSON error. A server stream becomes newline-delimited JSON, one message per
//! line: a refusal before the stream starts gets its own HTTP status, and a failure once it has
//! started (the HTTP status is sent by then) a last line holding the error object.

use std::collections::VecDeque;
use std::convert::Infallible;

use axum::body::{Body, Bytes};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use prost_reflect::{DynamicMessage, MessageDescriptor, SerializeOptions};

use super::error::RestError;

/// `application/x-ndjson`: one JSON value per line.
pub(crate) const NDJSON: &str = "application/x-ndjson";

/// The JSON options of every answer: canonical names, defaults included.
pub(crate) fn serialize_options() -> SerializeOptions {
    SerializeOptions::new()
        .use_proto_field_name(false)
        .skip_default_fields(false)
}

/// The answer to a unary (or client-streaming) call.
pub(crate) async fn unary(response: Response, output: MessageDescriptor) -> Response {
    let (parts, body) = response.into_parts();
    let retry_after = retry_after_in(&parts.headers);
    if let Some(error) = failure(&parts.headers) {
        return error.with_retry_after(retry_after).into_response();
    }
    let collected = match body.collect().await {
        Ok(collected) => collected,
        Err(error) => return broken(&error).into_response(),
    };
    let trailers = collected.trailers().cloned().unwrap_or_default();
    if let Some(error) = failure(&trailers) {
        return error
            .with_retry_after(retry_after.or_else(|| retry_after_in(&trailers)))
            .into_response();
    }
    if tonic::Status::from_header_map(&trailers).is_none() {
        return RestError::from_status(tonic::Status::internal("the service ended the call without a status"))
            .into_response();
    }
    let mut frames = Frames::default();
    frames.push(&collected.to_bytes());
    let message = match (frames.next_message(), frames.next_message()) {
        (Ok(Some(message)), Ok(None)) if frames.is_empty() => message,
        _ => {
            return RestError::from_status(tonic::Status::internal("the service did not answer with one message"))
                .into_response();
        }
    };
    match to_json_line(&output, &message) {
        Ok(mut json) => {
            json.truncate(json.len() - 1);
            ([(http::header::CONTENT_TYPE, "application/json")], json).into_response()
        }
        Err(error) => error.into_response(),
    }
}

/// The answer to a server-streaming call, as newline-delimited JSON. A call the edge or the
/// service refuses at once (a trailers-only answer: no token, a role the RPC's table does not
/// name, a bad request) gets the HTTP status of its code. A call the service accepts answers 200
/// as soon as the service does, since a live stream such as `Subscribe` may wait long for its
/// first message; a failure after that is the stream's last line.
pub(crate) fn stream(response: Response, output: MessageDescriptor) -> Response {
    let (parts, body) = response.into_parts();
    if let Some(error) = failure(&parts.headers) {
        return error.with_retry_after(retry_after_in(&parts.headers)).into_response();
    }
    let lines = Lines {
        body,
        frames: Frames::default(),
        output,
        done: false,
    };
    let stream = futures::stream::unfold(lines, |mut lines| async move {
        let line = match lines.next().await {
            Line::Message(line) => line,
            Line::Error(error) => {
                let mut line = error.to_json().to_string().into_bytes();
                line.push(b'\n');
                Bytes::from(line)
            }
            Line::End => return None,
        };
        Some((Ok::<_, Infallible>(line), lines))
    });
    ([(http::header::CONTENT_TYPE, NDJSON)], Body::from_stream(stream)).into_response()
}

enum Line {
    Message(Bytes),
    Error(RestError),
    End,
}

struct Lines {
    body: Body,
    frames: Frames,
    output: MessageDescriptor,
    done: bool,
}

impl Lines {
    async fn next(&mut self) -> Line {
        loop {
            if self.done {
                return Line::End;
            }
            match self.frames.next_message() {
                Ok(Some(message)) => {
                    return match to_json_line(&self.output, &message) {
                        Ok(line) => Line::Message(Bytes::from(line)),
                        Err(error) => self.fail(error),
                    };
                }
                Ok(None) => {}
                Err(error) => return self.fail(error),
            }
            match self.body.frame().await {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => self.frames.push(&data),
                    Err(frame) => {
                        let trailers = frame.into_trailers().unwrap_or_default();
                        if let Some(error) = failure(&trailers) {
                            return self.fail(error);
                        }
                        self.done = true;
                        if !self.frames.is_empty() {
                            return Line::Error(truncated());
                        }
                    }
                },
                Some(Err(error)) => return self.fail(broken(&error)),
                None => {
                    self.done = true;
                    return Line::Error(RestError::from_status(tonic::Status::internal(
                        "the service ended the stream without a status",
                    )));
                }
            }
        }
    }

    fn fail(&mut self, error: RestError) -> Line {
        self.done = true;
        Line::Error(error)
    }
}

/// gRPC's length-prefixed messages: a flag byte (0: uncompressed), a 4-byte length, the bytes.
#[derive(Debug, Default)]
pub(crate) struct Frames {
    buffer: VecDeque<u8>,
}

impl Frames {
    pub(crate) fn push(&mut self, data: &[u8]) {
        self.buffer.extend(data);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buffer.is_empty()
    }

    /// The next whole message, `None` until one has arrived.
    pub(crate) fn next_message(&mut self) -> Result<Option<Bytes>, RestError> {
        if self.buffer.len() < 5 {
            return Ok(None);
        }
        if self.buffer[0] != 0 {
            // The gateway never offers compression (no `grpc-accept-encoding`).
            return Err(RestError::from_status(tonic::Status::internal(
                "the service answered with a compressed message",
            )));
        }
        let length = u32::from_be_bytes([self.buffer[1], self.buffer[2], self.buffer[3], self.buffer[4]]) as usize;
        if self.buffer.len() < 5 + length {
            return Ok(None);
        }
        self.buffer.drain(..5);
        Ok(Some(self.buffer.drain(..length).collect::<Vec<u8>>().into()))
    }
}

/// A message as one gRPC frame.
pub(crate) fn frame(message: &DynamicMessage) -> Vec<u8> {
    let encoded = prost::Message::encode_to_vec(message);
    let length = u32::try_from(encoded.len()).unwrap_or(u32::MAX);
    let mut framed = Vec::with_capacity(encoded.len() + 5);
    framed.push(0);
    framed.extend_from_slice(&length.to_be_bytes());
    framed.extend_from_slice(&encoded);
    framed
}

/// A response message as a line of JSON, newline included.
fn to_json_line(output: &MessageDescriptor, bytes: &[u8]) -> Result<Vec<u8>, RestError> {
    let message = DynamicMessage::decode(output.clone(), bytes).map_err(|error| {
        tracing::warn!(%error, message = output.full_name(), "a service's answer does not decode");
        RestError::from_status(tonic::Status::internal("the service's answer does not decode"))
    })?;
    let mut serializer = serde_json::Serializer::new(Vec::new());
    message
        .serialize_with_options(&mut serializer, &serialize_options())
        .map_err(|error| {
            tracing::warn!(%error, message = output.full_name(), "a service's answer has no JSON form");
            RestError::from_status(tonic::Status::internal("the service's answer has no JSON form"))
        })?;
    let mut line = serializer.into_inner();
    line.push(b'\n');
    Ok(line)
}

/// The error a non-OK `grpc-status` in `headers` (headers of a trailers-only answer, or
/// trailers) stands for.
fn failure(headers: &http::HeaderMap) -> Option<RestError> {
    tonic::Status::from_header_map(headers)
        .filter(|status| status.code() != tonic::Code::Ok)
        .map(RestError::from_status)
}

/// A rate limit's retry hint, which an answer may carry in its headers or its trailers.
fn retry_after_in(headers: &http::HeaderMap) -> Option<http::HeaderValue> {
    headers.get(http::header::RETRY_AFTER).cloned()
}

fn broken(error: &axum::Error) -> RestError {
    tracing::debug!(%error, "a REST call's answer broke off");
    RestError::from_status(tonic::Status::unavailable("the answer broke off"))
}

fn truncated() -> RestError {
    RestError::from_status(tonic::Status::internal("the service's last message was cut short"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_messages_split_across_chunks_and_several_in_one_chunk() {
        let pool = prost_reflect::DescriptorPool::decode(rti_proto::FILE_DESCRIPTOR_SET).expect("decodes");
        let descriptor = pool
            .get_message_by_name("rti.registry.v1.GetProviderRequest")
            .expect("declared");
        let mut message = DynamicMessage::new(descriptor.clone());
        message.set_field_by_name("id", prost_reflect::Value::String("p-1".into()));
        let framed = [frame(&message), frame(&message)].concat();
        let mut frames = Frames::default();
        frames.push(&framed[..3]);
        assert!(frames.next_message().expect("valid").is_none());
        frames.push(&framed[3..]);
        for _ in 0..2 {
            let bytes = frames.next_message().expect("valid").expect("a whole message");
            assert_eq!(
                to_json_line(&descriptor, &bytes).expect("decodes"),
                b"{\"id\":\"p-1\"}\n"
            );
        }
        assert!(frames.next_message().expect("valid").is_none() && frames.is_empty());
    }

    #[test]
    fn defaults_are_written_and_names_are_camel_case() {
        let pool = prost_reflect::DescriptorPool::decode(rti_proto::FILE_DESCRIPTOR_SET).expect("decodes");
        let descriptor = pool
            .get_message_by_name("rti.registry.v1.ListProvidersResponse")
            .expect("declared");
        let line = to_json_line(&descriptor, &[]).expect("an empty message decodes");
        assert_eq!(line, b"{\"providers\":[],\"nextPageToken\":\"\"}\n");
    }

    #[tokio::test]
    async fn an_error_after_the_first_message_is_the_last_line_of_the_stream() {
        let pool = prost_reflect::DescriptorPool::decode(rti_proto::FILE_DESCRIPTOR_SET).expect("decodes");
        let descriptor = pool.get_message_by_name("rti.common.v1.Event").expect("declared");
        let mut event = DynamicMessage::new(descriptor.clone());
        event.set_field_by_name("sequence", prost_reflect::Value::I64(7));
        let mut trailers = http::HeaderMap::new();
        tonic::Status::unavailable("the registry went away")
            .add_header(&mut trailers)
            .expect("a valid status");
        let frames: Vec<Result<http_body::Frame<Bytes>, std::convert::Infallible>> = vec![
            Ok(http_body::Frame::data(Bytes::from(frame(&event)))),
            Ok(http_body::Frame::trailers(trailers)),
        ];
        let upstream = Response::new(Body::new(http_body_util::StreamBody::new(futures::stream::iter(
            frames,
        ))));
        let answer = stream(upstream, descriptor);
        assert_eq!(answer.status(), http::StatusCode::OK);
        let body = answer.into_body().collect().await.expect("a body").to_bytes();
        let lines: Vec<serde_json::Value> = body
            .split(|byte| *byte == b'\n')
            .filter(|line| !line.is_empty())
            .map(|line| serde_json::from_slice(line).expect("JSON lines"))
            .collect();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(lines[0]["sequence"], "7");
        assert_eq!(lines[1]["status"], "UNAVAILABLE");
        assert_eq!(lines[1]["message"], "the registry went away");
    }

    #[tokio::test]
    async fn a_trailers_only_refusal_has_its_own_http_status() {
        let pool = prost_reflect::DescriptorPool::decode(rti_proto::FILE_DESCRIPTOR_SET).expect("decodes");
        let descriptor = pool.get_message_by_name("rti.common.v1.Event").expect("declared");
        let upstream = tonic::Status::not_found("no such stream").into_http::<Body>();
        let answer = stream(upstream, descriptor);
        assert_eq!(answer.status(), http::StatusCode::NOT_FOUND);
    }

    #[test]
    fn a_compressed_frame_is_refused() {
        let mut frames = Frames::default();
        frames.push(&[1, 0, 0, 0, 0]);
        assert!(frames.next_message().is_err());
    }
}
