//! Conversions between the registry's domain and its protobuf contract: requests into domain
//! fields (enum values checked here, everything else in the domain's rules), entities into
//! responses, and entities into event payloads.

use rti_platform::error::Violations;
use rti_platform::time::timestamp_from_micros;
use rti_proto::common::event::Payload;
use rti_proto::pbjson_types::FieldMask;
use rti_proto::registry as proto;

use crate::domain::{
    AccessType, Infrastructure, InfrastructureFields, InfrastructureKind, Installation, InstallationFields,
    InstallationStatus, Provider, ProviderFields, Structure,
};

pub fn provider_fields(message: &proto::Provider) -> ProviderFields {
    ProviderFields {
        name: message.name.clone(),
        country: message.country.clone(),
        website: message.website.clone(),
    }
}

pub fn provider(provider: &Provider) -> proto::Provider {
    proto::Provider {
        id: provider.id.clone(),
        name: provider.fields.name.clone(),
        country: provider.fields.country.clone(),
        website: provider.fields.website.clone(),
        create_time: Some(timestamp_from_micros(provider.created_at)),
        update_time: Some(timestamp_from_micros(provider.updated_at)),
    }
}

/// An unset or unknown enum value becomes `None`; the domain's rules then name the field.
pub fn infrastructure_fields(message: &proto::Infrastructure) -> InfrastructureFields {
    let kind = match proto::InfrastructureKind::try_from(message.kind) {
        Ok(proto::InfrastructureKind::Research) => Some(InfrastructureKind::Research),
        Ok(proto::InfrastructureKind::Technology) => Some(InfrastructureKind::Technology),
        Ok(proto::InfrastructureKind::Both) => Some(InfrastructureKind::Both),
        Ok(proto::InfrastructureKind::Unspecified) | Err(_) => None,
    };
    let structure = match proto::InfrastructureStructure::try_from(message.structure) {
        Ok(proto::InfrastructureStructure::SingleSited) => Some(Structure::SingleSited),
        Ok(proto::InfrastructureStructure::Distributed) => Some(Structure::Distributed),
        Ok(proto::InfrastructureStructure::Virtual) => Some(Structure::Virtual),
        Ok(proto::InfrastructureStructure::Unspecified) | Err(_) => None,
    };
    InfrastructureFields {
        name: message.name.clone(),
        acronym: message.acronym.clone(),
        description: message.description.clone(),
        kind,
        structure,
        countries: message.countries.clone(),
        website: message.website.clone(),
    }
}

pub fn infrastructure(infrastructure: &Infrastructure) -> proto::Infrastructure {
    let fields = &infrastructure.fields;
    proto::Infrastructure {
        id: infrastructure.id.clone(),
        provider_id: infrastructure.provider_id.clone(),
        name: fields.name.clone(),
        acronym: fields.acronym.clone(),
        description: fields.description.clone(),
        kind: match fields.kind {
            Some(InfrastructureKind::Research) => proto::InfrastructureKind::Research,
            Some(InfrastructureKind::Technology) => proto::InfrastructureKind::Technology,
            Some(InfrastructureKind::Both) => proto::InfrastructureKind::Both,
            None => proto::InfrastructureKind::Unspecified,
        } as i32,
        structure: match fields.structure {
            Some(Structure::SingleSited) => proto::InfrastructureStructure::SingleSited,
            Some(Structure::Distributed) => proto::InfrastructureStructure::Distributed,
            Some(Structure::Virtual) => proto::InfrastructureStructure::Virtual,
            None => proto::InfrastructureStructure::Unspecified,
        } as i32,
        countries: fields.countries.clone(),
        website: fields.website.clone(),
        create_time: Some(timestamp_from_micros(infrastructure.created_at)),
        update_time: Some(timestamp_from_micros(infrastructure.updated_at)),
    }
}

/// Access types must each be a known, specified value; bad ones are named by index.
pub fn installation_fields(
    message: &proto::Installation,
    prefix: &str,
    violations: &mut Violations,
) -> InstallationFields {
    let mut access_types = Vec::with_capacity(message.access_types.len());
    for (index, value) in message.access_types.iter().enumerate() {
        match proto::AccessType::try_from(*value) {
            Ok(proto::AccessType::Physical) => access_types.push(AccessType::Physical),
            Ok(proto::AccessType::Remote) => access_types.push(AccessType::Remote),
            Ok(proto::AccessType::Virtual) => access_types.push(AccessType::Virtual),
            Ok(proto::AccessType::Unspecified) | Err(_) => violations.add(
                format!("{prefix}.access_types[{index}]"),
                "must be ACCESS_TYPE_PHYSICAL, ACCESS_TYPE_REMOTE or ACCESS_TYPE_VIRTUAL",
            ),
        }
    }
    InstallationFields {
        name: message.name.clone(),
        description: message.description.clone(),
        countries: message.countries.clone(),
        access_types,
    }
}

pub fn installation(installation: &Installation) -> proto::Installation {
    let fields = &installation.fields;
    proto::Installation {
        id: installation.id.clone(),
        infrastructure_id: installation.infrastructure_id.clone(),
        name: fields.name.clone(),
        description: fields.description.clone(),
        countries: fields.countries.clone(),
        access_types: fields
            .access_types
            .iter()
            .map(|access| match access {
                AccessType::Physical => proto::AccessType::Physical as i32,
                AccessType::Remote => proto::AccessType::Remote as i32,
                AccessType::Virtual => proto::AccessType::Virtual as i32,
            })
            .collect(),
        status: match installation.status {
            InstallationStatus::Draft => proto::InstallationStatus::Draft,
            InstallationStatus::Published => proto::InstallationStatus::Published,
        } as i32,
        create_time: Some(timestamp_from_micros(installation.created_at)),
        update_time: Some(timestamp_from_micros(installation.updated_at)),
    }
}

fn mask(paths: &[String]) -> Option<FieldMask> {
    Some(FieldMask { paths: paths.to_vec() })
}

pub fn provider_created(created: &Provider) -> Payload {
    Payload::ProviderCreated(proto::ProviderCreated {
        provider: Some(provider(created)),
    })
}

pub fn provider_updated(updated: &Provider, paths: &[String]) -> Payload {
    Payload::ProviderUpdated(proto::ProviderUpdated {
        provider: Some(provider(updated)),
        update_mask: mask(paths),
    })
}

pub fn infrastructure_created(created: &Infrastructure) -> Payload {
    Payload::InfrastructureCreated(proto::InfrastructureCreated {
        infrastructure: Some(infrastructure(created)),
    })
}

pub fn infrastructure_updated(updated: &Infrastructure, paths: &[String]) -> Payload {
    Payload::InfrastructureUpdated(proto::InfrastructureUpdated {
        infrastructure: Some(infrastructure(updated)),
        update_mask: mask(paths),
    })
}

pub fn installation_created(created: &Installation) -> Payload {
    Payload::InstallationCreated(proto::InstallationCreated {
        installation: Some(installation(created)),
    })
}

pub fn installation_updated(updated: &Installation, paths: &[String]) -> Payload {
    Payload::InstallationUpdated(proto::InstallationUpdated {
        installation: Some(installation(updated)),
        update_mask: mask(paths),
    })
}
