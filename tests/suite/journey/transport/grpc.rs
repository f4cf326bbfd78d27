//! The journey over gRPC: the JSON request becomes the RPC's input message through the descriptor
//! set (prost-reflect), is encoded and sent through the gateway with a codec that moves bytes, and
//! each answer is decoded as the output message and read back as JSON.

use bytes::{Buf, BufMut, Bytes};
use prost::Message;
use prost_reflect::{DeserializeOptions, DynamicMessage, MethodDescriptor};
use serde_json::Value as Json;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;

use super::{Failure, to_json};

#[derive(Debug)]
pub(crate) struct GrpcTransport {
    channel: Channel,
}

impl GrpcTransport {
    pub(super) fn new(channel: Channel) -> Self {
        Self { channel }
    }

    pub(super) async fn send(
        &self,
        method: &MethodDescriptor,
        request: Json,
        token: Option<&str>,
    ) -> Result<Vec<Json>, Failure> {
        let options = DeserializeOptions::new().deny_unknown_fields(true);
        let message = DynamicMessage::deserialize_with_options(method.input(), request, &options)
            .unwrap_or_else(|error| panic!("the journey's {} request is not canonical JSON: {error}", method.name()));
        let mut request = tonic::Request::new(Bytes::from(message.encode_to_vec()));
        if let Some(token) = token {
            request
                .metadata_mut()
                .insert("authorization", rti_platform::testing::bearer(token));
        }
        let path = PathAndQuery::try_from(format!("/{}/{}", method.parent_service().full_name(), method.name()))
            .expect("an RPC name is a valid path");
        let mut client = tonic::client::Grpc::new(self.channel.clone());
        client.ready().await.map_err(|error| Failure {
            code: tonic::Code::Unavailable,
            message: error.to_string(),
        })?;
        let answers = if method.is_server_streaming() {
            let mut stream = client
                .server_streaming(request, path, BytesCodec)
                .await
                .map_err(failure)?
                .into_inner();
            let mut answers = Vec::new();
            while let Some(answer) = stream.message().await.map_err(failure)? {
                answers.push(answer);
            }
            answers
        } else {
            vec![
                client
                    .unary(request, path, BytesCodec)
                    .await
                    .map_err(failure)?
                    .into_inner(),
            ]
        };
        Ok(answers
            .into_iter()
            .map(|bytes| {
                let message = DynamicMessage::decode(method.output(), bytes).unwrap_or_else(|error| {
                    panic!("{} answered a message that does not decode: {error}", method.name())
                });
                to_json(&message)
            })
            .collect())
    }
}

fn failure(status: tonic::Status) -> Failure {
    Failure {
        code: status.code(),
        message: status.message().to_owned(),
    }
}

/// Encoded messages in, encoded messages out: the descriptors, not generated types, give them
/// their meaning.
#[derive(Debug, Clone, Copy)]
struct BytesCodec;

impl Codec for BytesCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = Self;
    type Decoder = Self;

    fn encoder(&mut self) -> Self::Encoder {
        Self
    }

    fn decoder(&mut self) -> Self::Decoder {
        Self
    }
}

impl Encoder for BytesCodec {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(&mut self, item: Bytes, destination: &mut EncodeBuf<'_>) -> Result<(), Self::Error> {
        destination.put(item);
        Ok(())
    }
}

impl Decoder for BytesCodec {
    type Item = Bytes;
    type Error = tonic::Status;

    fn decode(&mut self, source: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Self::Error> {
        Ok(Some(source.copy_to_bytes(source.remaining())))
    }
}
