//! How the journey reaches the suite: one call, named by its RPC (`rti.intake.v1.IntakeService/
//! SubmitAccessRequest`) and written in canonical proto3 JSON, sent through the gateway over gRPC
//! ([`grpc`]) or over REST ([`rest`]) as a client of either kind would send it, and its answer read
//! back as canonical proto3 JSON with every field present. The story is written once; the two
//! transports must give it the same outcome.

mod grpc;
mod rest;

use std::net::SocketAddr;
use std::sync::OnceLock;

use prost_reflect::{DescriptorPool, DynamicMessage, MethodDescriptor, SerializeOptions};
use serde_json::Value as Json;
use tonic::transport::Channel;

/// A call that did not succeed: its gRPC code (over REST, the `code` of the JSON error body) and
/// message.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub(crate) code: tonic::Code,
    pub(crate) message: String,
}

/// The way in: gRPC or REST, both through the gateway's one port.
#[derive(Debug)]
pub(crate) enum Transport {
    Grpc(grpc::GrpcTransport),
    Rest(rest::RestTransport),
}

impl Transport {
    /// gRPC with messages built from the descriptor set alone, as a reflection-based client does.
    pub(crate) fn grpc(channel: Channel) -> Self {
        Self::Grpc(grpc::GrpcTransport::new(channel))
    }

    /// REST/JSON at the method and path each RPC's `google.api.http` rule gives.
    pub(crate) fn rest(gateway: SocketAddr) -> Self {
        Self::Rest(rest::RestTransport::new(gateway))
    }

    /// How the gateway names the protocol in its spans.
    pub(crate) fn protocol(&self) -> &'static str {
        match self {
            Self::Grpc(_) => "grpc",
            Self::Rest(_) => "rest",
        }
    }

    /// A unary call's answer.
    pub(crate) async fn call(&self, rpc: &str, request: Json, token: Option<&str>) -> Result<Json, Failure> {
        let method = method(rpc);
        assert!(!method.is_server_streaming(), "{rpc} streams: use `stream`");
        let mut answers = self.send(&method, request, token).await?;
        assert_eq!(answers.len(), 1, "{rpc} answers once");
        Ok(answers.remove(0))
    }

    /// Every message of a server stream, in order.
    pub(crate) async fn stream(&self, rpc: &str, request: Json, token: Option<&str>) -> Result<Vec<Json>, Failure> {
        let method = method(rpc);
        assert!(method.is_server_streaming(), "{rpc} is unary: use `call`");
        self.send(&method, request, token).await
    }

    async fn send(&self, method: &MethodDescriptor, request: Json, token: Option<&str>) -> Result<Vec<Json>, Failure> {
        match self {
            Self::Grpc(grpc) => grpc.send(method, request, token).await,
            Self::Rest(rest) => rest.send(method, request, token).await,
        }
    }
}

/// The descriptors of every RTI Access service, with the `google.api.http` rules kept.
pub(crate) fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        DescriptorPool::decode(rti_proto::FILE_DESCRIPTOR_SET).expect("rti-proto's descriptor set decodes")
    })
}

/// `package.Service/Method` → its descriptor.
fn method(rpc: &str) -> MethodDescriptor {
    let (service, name) = rpc.split_once('/').expect("an RPC is named `package.Service/Method`");
    pool()
        .get_service_by_name(service)
        .unwrap_or_else(|| panic!("no service {service}"))
        .methods()
        .find(|method| method.name() == name)
        .unwrap_or_else(|| panic!("{service} has no method {name}"))
}

/// A message as canonical proto3 JSON with every field, defaults included: what the REST side
/// of the gateway answers, so that both transports read alike.
fn to_json(message: &DynamicMessage) -> Json {
    let options = SerializeOptions::new().skip_default_fields(false);
    message
        .serialize_with_options(serde_json::value::Serializer, &options)
        .expect("a decoded message serialises")
}

/// `micros` (UTC microseconds since the epoch) as a `google.protobuf.Timestamp` in JSON.
pub(crate) fn timestamp(micros: i64) -> Json {
    let descriptor = pool()
        .get_message_by_name("google.protobuf.Timestamp")
        .expect("the set holds the well-known types");
    let mut message = DynamicMessage::new(descriptor);
    message.set_field_by_name("seconds", prost_reflect::Value::I64(micros.div_euclid(1_000_000)));
    let nanos = i32::try_from(micros.rem_euclid(1_000_000) * 1000).expect("below a second");
    message.set_field_by_name("nanos", prost_reflect::Value::I32(nanos));
    to_json(&message)
}
