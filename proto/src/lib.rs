//! The protobuf contract of RTI Access: one module per package (`rti.<service>.v1`), generated
//! at build time by protox and tonic-prost-build, with canonical JSON via pbjson, and the encoded
//! [`FILE_DESCRIPTOR_SET`] that reflection serves. Conversions to domain types live in the
//! services, not here.

#![forbid(unsafe_code)]
#![allow(clippy::all, clippy::pedantic, missing_docs)]

pub use pbjson_types;

/// The encoded `google.protobuf.FileDescriptorSet` of every RTI Access proto file and its imports.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/rti_descriptor.bin"));

/// The fully qualified gRPC service names, in the order the gateway lists them.
pub const SERVICE_NAMES: [&str; 4] = [
    "rti.registry.v1.RegistryService",
    "rti.intake.v1.IntakeService",
    "rti.allocation.v1.AllocationService",
    "rti.reporting.v1.ReportingService",
];

pub mod rti {
    pub mod common {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/rti.common.v1.rs"));
            include!(concat!(env!("OUT_DIR"), "/rti.common.v1.serde.rs"));
        }
    }
    pub mod registry {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/rti.registry.v1.rs"));
            include!(concat!(env!("OUT_DIR"), "/rti.registry.v1.serde.rs"));
        }
    }
    pub mod intake {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/rti.intake.v1.rs"));
            include!(concat!(env!("OUT_DIR"), "/rti.intake.v1.serde.rs"));
        }
    }
    pub mod allocation {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/rti.allocation.v1.rs"));
            include!(concat!(env!("OUT_DIR"), "/rti.allocation.v1.serde.rs"));
        }
    }
    pub mod reporting {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/rti.reporting.v1.rs"));
        }
    }
}

pub use rti::allocation::v1 as allocation;
pub use rti::common::v1 as common;
pub use rti::intake::v1 as intake;
pub use rti::registry::v1 as registry;
pub use rti::reporting::v1 as reporting;
