//! Conversions between the registry's domain and its protobuf contract: requests into domain
//! fields (enum values checked here, everything else in the domain's rules), entities into
//! responses, and entities into event payloads.

use rti_platform::enum_conversions;
use rti_platform::error::Violations;
use rti_platform::time::{micros_from_timestamp, timestamp_from_micros};
use rti_platform::validate::at_most;
use rti_proto::common::Money;
use rti_proto::common::event::Payload;
use rti_proto::pbjson_types::{FieldMask, Timestamp};
use rti_proto::registry as proto;

use crate::domain::{
    AccessMode, AccessType, CapacityWindow, CriticalTechnologyArea, Downtime, DowntimeAdded, EsfriStatus,
    Infrastructure, InfrastructureFields, InfrastructureKind, Installation, InstallationFields, InstallationStatus,
    LegalForm, LocalizedText, MAX_ENUM_VALUES, Provider, ProviderFields, Reservation, ReservationState,
    ScientificDomain, Structure, Tariff, TariffBasis, TariffFields, UnitKind,
};

enum_conversions!(kind_to_proto, kind_from_proto, InfrastructureKind <=> InfrastructureKind {
    Research => Research, Technology => Technology, Both => Both,
});
enum_conversions!(structure_to_proto, structure_from_proto, Structure <=> InfrastructureStructure {
    SingleSited => SingleSited, Distributed => Distributed, Virtual => Virtual,
});
enum_conversions!(esfri_to_proto, esfri_from_proto, EsfriStatus <=> EsfriStatus {
    None => None, Project => Project, Landmark => Landmark,
});
enum_conversions!(legal_form_to_proto, legal_form_from_proto, LegalForm <=> LegalForm {
    Eric => Eric,
    InternationalOrganisation => InternationalOrganisation,
    University => University,
    Rto => Rto,
    PublicBody => PublicBody,
    Company => Company,
    Other => Other,
});
enum_conversions!(access_type_to_proto, access_type_from_proto, AccessType <=> AccessType {
    Physical => Physical, Remote => Remote, Virtual => Virtual,
});
enum_conversions!(access_mode_to_proto, access_mode_from_proto, AccessMode <=> AccessMode {
    Excellence => Excellence, Market => Market, Wide => Wide,
});
enum_conversions!(unit_kind_to_proto, unit_kind_from_proto, UnitKind <=> UnitKind {
    Hour => Hour,
    Shift8h => Shift8h,
    Day => Day,
    Week => Week,
    Sample => Sample,
    Wafer => Wafer,
    NodeHour => NodeHour,
    GpuHour => GpuHour,
    Other => Other,
});
enum_conversions!(domain_to_proto, domain_from_proto, ScientificDomain <=> ScientificDomain {
    Energy => Energy,
    Environment => Environment,
    HealthFood => HealthFood,
    PhysicalSciencesEngineering => PhysicalSciencesEngineering,
    SocialCulturalInnovation => SocialCulturalInnovation,
    DataComputingDigital => DataComputingDigital,
});
enum_conversions!(area_to_proto, area_from_proto, CriticalTechnologyArea <=> CriticalTechnologyArea {
    Semiconductors => Semiconductors,
    ArtificialIntelligence => ArtificialIntelligence,
    Quantum => Quantum,
    Biotechnologies => Biotechnologies,
    ConnectivityNavigationDigital => ConnectivityNavigationDigital,
    Sensing => Sensing,
    SpacePropulsion => SpacePropulsion,
    Energy => Energy,
    RoboticsAutonomous => RoboticsAutonomous,
    AdvancedMaterialsManufacturing => AdvancedMaterialsManufacturing,
});
enum_conversions!(basis_to_proto, basis_from_proto, TariffBasis <=> TariffBasis {
    MarketPrice => MarketPrice, FullCost => FullCost, Negotiated => Negotiated,
});
enum_conversions!(status_to_proto, status_from_proto, InstallationStatus <=> InstallationStatus {
    Draft => Draft, Published => Published,
});
enum_conversions!(state_to_proto, state_from_proto, ReservationState <=> ReservationState {
    Active => Active, Released => Released,
});

/// Converts a repeated enum field of at most [`MAX_ENUM_VALUES`] entries, naming each unspecified
/// or unknown value by its index.
pub fn enum_list<T>(
    values: &[i32],
    field: &str,
    from_proto: fn(i32) -> Option<T>,
    violations: &mut Violations,
) -> Vec<T> {
    if !at_most(values, field, MAX_ENUM_VALUES, violations) {
        return Vec::new();
    }
    let mut converted = Vec::with_capacity(values.len());
    for (index, value) in values.iter().enumerate() {
        match from_proto(*value) {
            Some(value) => converted.push(value),
            None => violations.add(
                format!("{field}[{index}]"),
                format!("{value} is not a known value of this enum"),
            ),
        }
    }
    converted
}

fn to_list<T: Copy>(values: &[T], to_proto: fn(T) -> i32) -> Vec<i32> {
    values.iter().map(|value| to_proto(*value)).collect()
}

fn time(micros: i64) -> Option<Timestamp> {
    Some(timestamp_from_micros(micros))
}

/// A required timestamp, or a violation naming it.
pub fn required_time(value: Option<&Timestamp>, field: &str, violations: &mut Violations) -> Option<i64> {
    if value.is_none() {
        violations.add(field, "is required");
    }
    value.map(micros_from_timestamp)
}

/// The required `start_time` and `end_time` of `prefix`, checked as a span when both are there.
pub fn required_span(
    start: Option<&Timestamp>,
    end: Option<&Timestamp>,
    prefix: &str,
    violations: &mut Violations,
) -> Option<(i64, i64)> {
    let start = required_time(start, &format!("{prefix}.start_time"), violations);
    let end = required_time(end, &format!("{prefix}.end_time"), violations);
    let (start, end) = (start?, end?);
    crate::domain::calendar::span(start, end, prefix, violations);
    Some((start, end))
}

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
        create_time: time(provider.created_at),
        update_time: time(provider.updated_at),
    }
}

/// An unset or unknown enum value becomes `None`; the domain's rules then name the field.
pub fn infrastructure_fields(message: &proto::Infrastructure) -> InfrastructureFields {
    InfrastructureFields {
        name: message.name.clone(),
        acronym: message.acronym.clone(),
        description: message.description.clone(),
        kind: kind_from_proto(message.kind),
        structure: structure_from_proto(message.structure),
        countries: message.countries.clone(),
        website: message.website.clone(),
        esfri_status: esfri_from_proto(message.esfri_status),
        legal_form: legal_form_from_proto(message.legal_form),
        access_policy_uri: message.access_policy_uri.clone(),
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
        kind: fields.kind.map_or(0, kind_to_proto),
        structure: fields.structure.map_or(0, structure_to_proto),
        countries: fields.countries.clone(),
        website: fields.website.clone(),
        create_time: time(infrastructure.created_at),
        update_time: time(infrastructure.updated_at),
        esfri_status: fields.esfri_status.map_or(0, esfri_to_proto),
        legal_form: fields.legal_form.map_or(0, legal_form_to_proto),
        access_policy_uri: fields.access_policy_uri.clone(),
    }
}

/// Enum values must each be known and specified; bad ones are named by index. An unset unit
/// kind stays `None` (allowed in a draft).
pub fn installation_fields(
    message: &proto::Installation,
    prefix: &str,
    violations: &mut Violations,
) -> InstallationFields {
    let field = |name: &str| format!("{prefix}.{name}");
    let unit = message.unit_of_access.clone().unwrap_or_default();
    let unit_kind = unit_kind_from_proto(unit.kind);
    if unit_kind.is_none() && unit.kind != 0 {
        violations.add(
            field("unit_of_access.kind"),
            format!("{} is not a known unit kind", unit.kind),
        );
    }
    let trl = match (message.trl_min, message.trl_max) {
        (0, 0) => None,
        range => Some(range),
    };
    InstallationFields {
        name: message.name.clone(),
        countries: message.countries.clone(),
        access_types: enum_list(
            &message.access_types,
            &field("access_types"),
            access_type_from_proto,
            violations,
        ),
        access_modes: enum_list(
            &message.access_modes,
            &field("access_modes"),
            access_mode_from_proto,
            violations,
        ),
        unit_kind,
        unit_description: unit.description,
        annual_capacity_units: message.annual_capacity_units,
        trl,
        typical_lead_time_days: message.typical_lead_time_days,
        scientific_domains: enum_list(
            &message.scientific_domains,
            &field("scientific_domains"),
            domain_from_proto,
            violations,
        ),
        techniques: message.techniques.clone(),
        critical_technology_areas: enum_list(
            &message.critical_technology_areas,
            &field("critical_technology_areas"),
            area_from_proto,
            violations,
        ),
        dual_use_categories: message.dual_use_categories.clone(),
        descriptions: message
            .descriptions
            .iter()
            .map(|text| LocalizedText {
                language: text.language.clone(),
                text: text.text.clone(),
            })
            .collect(),
    }
}

pub fn installation(installation: &Installation) -> proto::Installation {
    let fields = &installation.fields;
    let (trl_min, trl_max) = fields.trl.unwrap_or((0, 0));
    proto::Installation {
        id: installation.id.clone(),
        infrastructure_id: installation.infrastructure_id.clone(),
        name: fields.name.clone(),
        countries: fields.countries.clone(),
        access_types: to_list(&fields.access_types, access_type_to_proto),
        status: status_to_proto(installation.status),
        create_time: time(installation.created_at),
        update_time: time(installation.updated_at),
        access_modes: to_list(&fields.access_modes, access_mode_to_proto),
        unit_of_access: Some(proto::UnitOfAccess {
            kind: fields.unit_kind.map_or(0, unit_kind_to_proto),
            description: fields.unit_description.clone(),
        }),
        annual_capacity_units: fields.annual_capacity_units,
        trl_min,
        trl_max,
        typical_lead_time_days: fields.typical_lead_time_days,
        scientific_domains: to_list(&fields.scientific_domains, domain_to_proto),
        techniques: fields.techniques.clone(),
        critical_technology_areas: to_list(&fields.critical_technology_areas, area_to_proto),
        dual_use_categories: fields.dual_use_categories.clone(),
        descriptions: fields
            .descriptions
            .iter()
            .map(|text| proto::LocalizedText {
                language: text.language.clone(),
                text: text.text.clone(),
            })
            .collect(),
    }
}

pub fn tariff_fields(message: &proto::Tariff) -> TariffFields {
    let price = message.price_per_unit.clone().unwrap_or_default();
    TariffFields {
        currency: price.currency,
        price_minor_units: price.minor_units,
        basis: basis_from_proto(message.basis),
        valid_from: message.valid_from.as_ref().map(micros_from_timestamp),
        valid_to: message.valid_to.as_ref().map(micros_from_timestamp),
    }
}

pub fn tariff(tariff: &Tariff) -> proto::Tariff {
    proto::Tariff {
        id: tariff.id.clone(),
        installation_id: tariff.installation_id.clone(),
        price_per_unit: Some(Money {
            currency: tariff.fields.currency.clone(),
            minor_units: tariff.fields.price_minor_units,
        }),
        basis: tariff.fields.basis.map_or(0, basis_to_proto),
        valid_from: tariff.fields.valid_from.and_then(time),
        valid_to: tariff.fields.valid_to.and_then(time),
        create_time: time(tariff.created_at),
    }
}

pub fn window(window: &CapacityWindow) -> proto::CapacityWindow {
    proto::CapacityWindow {
        id: window.id.clone(),
        installation_id: window.installation_id.clone(),
        start_time: time(window.start),
        end_time: time(window.end),
        units: window.units,
        reserved_units: window.reserved_units,
        closed_units: window.closed_units,
        free_units: window.free_units(),
        create_time: time(window.created_at),
    }
}

pub fn free_window(window: &CapacityWindow) -> proto::FreeWindow {
    proto::FreeWindow {
        window_id: window.id.clone(),
        start_time: time(window.start),
        end_time: time(window.end),
        free_units: window.free_units(),
    }
}

pub fn downtime(downtime: &Downtime) -> proto::Downtime {
    proto::Downtime {
        id: downtime.id.clone(),
        installation_id: downtime.installation_id.clone(),
        start_time: time(downtime.start),
        end_time: time(downtime.end),
        reason: downtime.reason.clone(),
        create_time: time(downtime.created_at),
    }
}

pub fn reservation(reservation: &Reservation) -> proto::Reservation {
    proto::Reservation {
        reservation_id: reservation.reservation_id.clone(),
        window_id: reservation.window_id.clone(),
        installation_id: reservation.installation_id.clone(),
        units: reservation.units,
        reference: reservation.reference.clone(),
        state: state_to_proto(reservation.state),
        create_time: time(reservation.created_at),
        release_time: reservation.released_at.and_then(time),
    }
}

pub fn downtime_added_response(added: &DowntimeAdded) -> proto::AddDowntimeResponse {
    proto::AddDowntimeResponse {
        downtime: Some(downtime(&added.downtime)),
        windows: added.windows.iter().map(window).collect(),
        affected_reservations: added.affected.iter().map(reservation).collect(),
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

pub fn installation_published(published: &Installation) -> Payload {
    Payload::InstallationPublished(proto::InstallationPublished {
        installation: Some(installation(published)),
    })
}

pub fn tariff_set(set: &Tariff, ended: Option<&Tariff>) -> Payload {
    Payload::TariffSet(proto::TariffSet {
        tariff: Some(tariff(set)),
        ended: ended.map(tariff),
    })
}

pub fn capacity_window_added(added: &CapacityWindow) -> Payload {
    Payload::CapacityWindowAdded(proto::CapacityWindowAdded {
        window: Some(window(added)),
    })
}

pub fn downtime_added(added: &DowntimeAdded) -> Payload {
    Payload::DowntimeAdded(proto::DowntimeAdded {
        downtime: Some(downtime(&added.downtime)),
        windows: added.windows.iter().map(window).collect(),
        affected_reservation_ids: added
            .affected
            .iter()
            .map(|reservation| reservation.reservation_id.clone())
            .collect(),
    })
}

pub fn capacity_reserved(reserved: &Reservation, in_window: &CapacityWindow) -> Payload {
    Payload::CapacityReserved(proto::CapacityReserved {
        reservation: Some(reservation(reserved)),
        window: Some(window(in_window)),
    })
}

pub fn capacity_released(released: &Reservation, in_window: &CapacityWindow) -> Payload {
    Payload::CapacityReleased(proto::CapacityReleased {
        reservation: Some(reservation(released)),
        window: Some(window(in_window)),
    })
}
