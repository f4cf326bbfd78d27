//! Demo data for `rti up --demo`: a small, fictional catalogue, loaded through the gateway like
//! any client would. Every create carries a fixed `request_id`, so loading twice (a restart)
//! changes nothing. Every description says it is demo data.

use std::time::Duration;

use rti_platform::auth::{Claims, Role, mint_hs256};
use rti_proto::registry as proto;
use rti_proto::registry::registry_service_client::RegistryServiceClient;
use tonic::transport::Channel;

/// The subject the demo is loaded as; idempotency keys are scoped by it.
const DEMO_LOADER: &str = "rti-demo-loader";
const DEMO_NOTE: &str = "Demo data: a fictional facility for trying RTI Access.";

struct DemoProvider {
    key: &'static str,
    name: &'static str,
    country: &'static str,
    infrastructures: &'static [DemoInfrastructure],
}

struct DemoInfrastructure {
    key: &'static str,
    name: &'static str,
    acronym: &'static str,
    kind: proto::InfrastructureKind,
    structure: proto::InfrastructureStructure,
    countries: &'static [&'static str],
    installations: &'static [(&'static str, &'static str, &'static [proto::AccessType])],
}

use proto::AccessType::{Physical, Remote, Virtual};
use proto::InfrastructureKind::{Both, Research, Technology};
use proto::InfrastructureStructure::{Distributed, SingleSited, Virtual as VirtualStructure};

const CATALOGUE: &[DemoProvider] = &[
    DemoProvider {
        key: "aurora",
        name: "Aurora Light Source Consortium (demo)",
        country: "SE",
        infrastructures: &[DemoInfrastructure {
            key: "aurora-synchrotron",
            name: "Aurora Synchrotron",
            acronym: "ASX",
            kind: Research,
            structure: SingleSited,
            countries: &["SE"],
            installations: &[
                (
                    "Beamline A1: hard X-ray diffraction",
                    "Single-crystal and powder diffraction, 5-30 keV.",
                    &[Physical, Remote],
                ),
                (
                    "Beamline A4: soft X-ray spectroscopy",
                    "XPS and NEXAFS for surfaces and thin films.",
                    &[Physical],
                ),
                (
                    "Beamline A7: X-ray imaging and tomography",
                    "Micro-CT of materials and biological samples.",
                    &[Physical, Remote],
                ),
            ],
        }],
    },
    DemoProvider {
        key: "lumen",
        name: "Lumen Microsystems Institute (demo)",
        country: "BE",
        infrastructures: &[
            DemoInfrastructure {
                key: "lumen-cleanroom",
                name: "Lumen Cleanroom and Pilot Line",
                acronym: "LCPL",
                kind: Technology,
                structure: SingleSited,
                countries: &["BE"],
                installations: &[
                    (
                        "ISO 5 cleanroom: lithography bay",
                        "Cleanroom (Reinraum, salle blanche) with i-line and e-beam lithography.",
                        &[Physical],
                    ),
                    (
                        "300 mm pilot line: thin-film deposition",
                        "ALD, PVD and CVD on 200 and 300 mm wafers.",
                        &[Physical],
                    ),
                ],
            },
            DemoInfrastructure {
                key: "lumen-testbed",
                name: "Lumen Edge AI Test Bed",
                acronym: "LEAT",
                kind: Technology,
                structure: Distributed,
                countries: &["BE", "NL"],
                installations: &[(
                    "Edge AI hardware-in-the-loop bench",
                    "Benchmarking of AI accelerators at the edge.",
                    &[Physical, Remote],
                )],
            },
        ],
    },
    DemoProvider {
        key: "kestrel",
        name: "Kestrel Neutron Centre (demo)",
        country: "FR",
        infrastructures: &[DemoInfrastructure {
            key: "kestrel-neutrons",
            name: "Kestrel Neutron Source",
            acronym: "KNS",
            kind: Research,
            structure: SingleSited,
            countries: &["FR"],
            installations: &[
                (
                    "Small-angle neutron scattering instrument",
                    "SANS for soft matter and biology.",
                    &[Physical],
                ),
                ("Neutron reflectometer", "Interfaces and thin films.", &[Physical]),
            ],
        }],
    },
    DemoProvider {
        key: "tessera",
        name: "Tessera Life Science Network (demo)",
        country: "PL",
        infrastructures: &[
            DemoInfrastructure {
                key: "tessera-biobank",
                name: "Tessera Biobank Network",
                acronym: "TBN",
                kind: Research,
                structure: Distributed,
                countries: &["PL", "CZ", "SK"],
                installations: &[(
                    "Biobank sample access",
                    "Human tissue and plasma collections.",
                    &[Physical, Virtual],
                )],
            },
            DemoInfrastructure {
                key: "tessera-cryo-em",
                name: "Tessera Cryo-EM Facility",
                acronym: "TCEM",
                kind: Both,
                structure: SingleSited,
                countries: &["PL"],
                installations: &[
                    (
                        "300 kV cryo-electron microscope",
                        "Single-particle analysis and tomography.",
                        &[Physical, Remote],
                    ),
                    (
                        "Data analysis cluster for cryo-EM",
                        "GPU node-hours for reconstruction.",
                        &[Remote, Virtual],
                    ),
                ],
            },
            DemoInfrastructure {
                key: "tessera-hpc",
                name: "Tessera Virtual Research Environment",
                acronym: "TVRE",
                kind: Research,
                structure: VirtualStructure,
                countries: &["PL"],
                installations: &[(
                    "HPC partition for life sciences",
                    "CPU node-hours with bioinformatics stacks.",
                    &[Virtual],
                )],
            },
        ],
    },
];

/// What the demo loaded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DemoCatalogue {
    pub providers: usize,
    pub infrastructure_ids: Vec<String>,
    pub installations: usize,
}

/// A token for the demo loader, signed with the suite's secret.
pub fn loader_token(secret: &str) -> Result<String, String> {
    mint_hs256(
        secret,
        &Claims::new(DEMO_LOADER, &[Role::Admin], Duration::from_secs(600)),
    )
    .map_err(|error| error.to_string())
}

fn authorised<T>(message: T, token: &str) -> Result<tonic::Request<T>, tonic::Status> {
    let mut request = tonic::Request::new(message);
    let value = format!("Bearer {token}")
        .parse()
        .map_err(|_| tonic::Status::internal("token is not ASCII"))?;
    request.metadata_mut().insert("authorization", value);
    Ok(request)
}

/// Loads the demo catalogue through the gateway at `channel`, as an admin.
pub async fn load(channel: Channel, token: &str) -> Result<DemoCatalogue, tonic::Status> {
    let mut client = RegistryServiceClient::new(channel);
    let mut loaded = DemoCatalogue::default();
    for demo_provider in CATALOGUE {
        let provider = proto::Provider {
            name: demo_provider.name.into(),
            country: demo_provider.country.into(),
            website: format!("https://{}.example.org", demo_provider.key),
            ..Default::default()
        };
        let request = proto::CreateProviderRequest {
            request_id: format!("demo-provider-{}", demo_provider.key),
            provider: Some(provider),
        };
        let provider = client.create_provider(authorised(request, token)?).await?.into_inner();
        loaded.providers += 1;
        for demo_infrastructure in demo_provider.infrastructures {
            let infrastructure = proto::Infrastructure {
                provider_id: provider.id.clone(),
                name: demo_infrastructure.name.into(),
                acronym: demo_infrastructure.acronym.into(),
                description: DEMO_NOTE.into(),
                kind: demo_infrastructure.kind as i32,
                structure: demo_infrastructure.structure as i32,
                countries: demo_infrastructure
                    .countries
                    .iter()
                    .map(|code| (*code).to_owned())
                    .collect(),
                website: format!("https://{}.example.org", demo_infrastructure.key),
                ..Default::default()
            };
            let request = proto::CreateInfrastructureRequest {
                request_id: format!("demo-infrastructure-{}", demo_infrastructure.key),
                infrastructure: Some(infrastructure),
            };
            let infrastructure = client
                .create_infrastructure(authorised(request, token)?)
                .await?
                .into_inner();
            for (index, (name, description, access_types)) in demo_infrastructure.installations.iter().enumerate() {
                let installation = proto::Installation {
                    infrastructure_id: infrastructure.id.clone(),
                    name: (*name).into(),
                    description: format!("{description} {DEMO_NOTE}"),
                    countries: vec![demo_infrastructure.countries[0].to_owned()],
                    access_types: access_types.iter().map(|access| *access as i32).collect(),
                    ..Default::default()
                };
                let request = proto::CreateInstallationRequest {
                    request_id: format!("demo-installation-{}-{index}", demo_infrastructure.key),
                    installation: Some(installation),
                };
                client.create_installation(authorised(request, token)?).await?;
                loaded.installations += 1;
            }
            loaded.infrastructure_ids.push(infrastructure.id);
        }
    }
    Ok(loaded)
}
