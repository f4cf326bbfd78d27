//! Importing the EU sanctions list (SEC-2): both formats, versions by generation date, the same
//! file once, bad files named, and the newest version screening.

use rti_platform::auth::Role;
use rti_platform::db::Backend;
use rti_platform::testing::token;
use rti_proto::intake::{self as proto, SanctionsListFormat as Format};

use crate::helpers::*;

rti_platform::backend_tests!(
    sec2_both_formats_import_and_the_newest_generation_screens,
    the_same_file_imported_twice_is_one_version,
    a_file_that_is_not_the_list_is_refused_naming_the_field,
    only_the_sanctions_list_may_be_tens_of_megabytes,
);

const FIXTURE_XML: &str = include_str!("../fixtures/sanctions-fixture.xml");
const FIXTURE_CSV: &str = include_str!("../fixtures/sanctions-fixture.csv");

async fn import(world: &World, format: Format, content: &str) -> Result<proto::SanctionsListVersion, tonic::Status> {
    world
        .client()
        .import_sanctions_list(with_token(
            proto::ImportSanctionsListRequest {
                format: format as i32,
                content: content.as_bytes().to_vec(),
            },
            &token(Role::Admin),
        ))
        .await
        .map(tonic::Response::into_inner)
}

async fn sec2_both_formats_import_and_the_newest_generation_screens(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    // The CSV fixture is a day newer than the XML one; importing it first must not matter.
    let csv = import(&world, Format::Csv, FIXTURE_CSV).await.expect("imports CSV");
    let xml = import(&world, Format::Xml, FIXTURE_XML).await.expect("imports XML");
    assert_eq!((xml.parties, csv.parties), (40, 40));
    assert_eq!(xml.names, csv.names);
    assert_eq!(xml.sha256.len(), 64);
    assert_eq!(xml.imported_by, "test-admin");
    let seconds = |version: &proto::SanctionsListVersion| version.generation_time.expect("dated").seconds;
    assert_eq!(seconds(&csv) - seconds(&xml), 86_400, "a day apart, as the files say");

    let (_, applicant) = world.register(small_company("Acme Photonics")).await;
    // A transliteration variant of a fictional listed person (FICT.0001).
    let contact = world.person(&applicant, "Jurij Shchepkarev").await;
    let submitted = world.submitted_with_contact(&applicant, &contact.id).await;
    let screening = submitted.screening.clone().expect("screened");
    assert_eq!(screening.sanctions_list_id, csv.id, "the newest generation screens");
    assert!(
        screening.hits.iter().any(|hit| hit.listed_party == "FICT.0001"),
        "{:?}",
        screening.hits
    );
    assert_ne!(submitted.status(), proto::AccessRequestStatus::Feasibility);
    world.stop().await;
}

async fn the_same_file_imported_twice_is_one_version(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let first = import(&world, Format::Xml, FIXTURE_XML).await.expect("imports");
    let again = import(&world, Format::Xml, FIXTURE_XML)
        .await
        .expect("a retry is answered");
    assert_eq!(first, again);
    world.stop().await;
}

async fn a_file_that_is_not_the_list_is_refused_naming_the_field(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let refused = import(&world, Format::Xml, "<html>not the list</html>")
        .await
        .expect_err("not the list");
    assert_eq!(violated_fields(&refused), ["content"]);
    let refused = import(&world, Format::Csv, "name;country\nsomeone;DE\n")
        .await
        .expect_err("not the list's columns");
    assert_eq!(violated_fields(&refused), ["content"]);
    assert!(
        refused.message().contains("the CSV header has no column"),
        "{}",
        refused.message()
    );
    let refused = import(&world, Format::Unspecified, "").await.expect_err("nothing");
    assert_eq!(violated_fields(&refused), ["format", "content"]);
    world.stop().await;
}

/// Issue 13, item 3: intake took 64 MiB on every call; now only `ImportSanctionsList` does.
async fn only_the_sanctions_list_may_be_tens_of_megabytes(backend: Backend) {
    let Some(world) = world(backend).await else { return };
    let five_mebibytes = "x".repeat(5 * 1024 * 1024);
    let refused = world
        .client()
        .create_user_group(with_token(
            proto::CreateUserGroupRequest {
                request_id: "group-1".into(),
                user_group: Some(proto::UserGroup {
                    name: five_mebibytes.clone(),
                    ..Default::default()
                }),
            },
            &token(Role::Admin),
        ))
        .await
        .expect_err("over 4 MiB");
    assert_eq!(refused.code(), tonic::Code::ResourceExhausted, "{refused:?}");
    assert!(refused.message().ends_with("(4 MiB)"), "{}", refused.message());
    // The same size as a list is read, and refused for what it says.
    let read = import(&world, Format::Csv, &five_mebibytes)
        .await
        .expect_err("not the list");
    assert_eq!(violated_fields(&read), ["content"]);
    world.stop().await;
}
