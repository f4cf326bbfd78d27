//! The organisations and people the demo files list (`requests.json`, `calls.json`): an
//! organisation in proto3 JSON, a person by name and employer, each under a number that the demo
//! turns into its fixed id and idempotency key, so that registering again changes nothing.

use rti_proto::intake as proto;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DemoOrganisation {
    pub(crate) number: u8,
    /// In proto3 JSON; the loader gives it its fixed id.
    pub(crate) organisation: proto::Organisation,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DemoPerson {
    pub(crate) number: u8,
    pub(crate) full_name: String,
    /// The employer's number.
    pub(crate) employer: u8,
    /// TA-2 counts where a person works: set when it is not the employer's country.
    #[serde(default)]
    pub(crate) works_in: String,
    #[serde(default)]
    pub(crate) work_evidence: String,
}

impl DemoOrganisation {
    /// The request that registers the organisation under `id`, with `request_id` as its
    /// idempotency key.
    pub(crate) fn registration(&self, request_id: String, id: String) -> proto::RegisterOrganisationRequest {
        proto::RegisterOrganisationRequest {
            request_id,
            organisation: Some(proto::Organisation {
                id,
                ..self.organisation.clone()
            }),
        }
    }
}

impl DemoPerson {
    /// The request that registers the person under `id`, employed by `organisation_id`, with
    /// `request_id` as its idempotency key.
    pub(crate) fn registration(
        &self,
        request_id: String,
        id: String,
        organisation_id: String,
    ) -> proto::RegisterPersonRequest {
        proto::RegisterPersonRequest {
            request_id,
            person: Some(proto::Person {
                id,
                full_name: self.full_name.clone(),
                organisation_id,
                work_country_override: self.works_in.clone(),
                work_country_evidence: self.work_evidence.clone(),
                ..Default::default()
            }),
        }
    }
}
