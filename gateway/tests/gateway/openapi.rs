//! The OpenAPI document at `/openapi.json` and the API page at `/docs` (issue 14): the document
//! parses as OpenAPI 3.0, every RPC of every service is an operation in it, every reference
//! resolves, and the bearer scheme marks exactly the operations that need a token.

use std::collections::BTreeSet;

use openapiv3::{OpenAPI, ReferenceOr};
use serde_json::Value as Json;

use crate::helpers::{Nowhere, TestGateway, all_to, rest_client, url};

async fn fetch(path: &str) -> reqwest::Response {
    let nowhere = Nowhere::reserve();
    let gateway = TestGateway::start(all_to(&nowhere.uri())).await;
    rest_client()
        .get(url(gateway.address, path))
        .send()
        .await
        .expect("answers")
}

async fn document() -> Json {
    let response = fetch("/openapi.json").await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    response.json().await.expect("JSON")
}

/// Every RPC of the services behind the gateway, as `Service_Method`.
fn every_rpc() -> BTreeSet<String> {
    let pool = prost_reflect::DescriptorPool::decode(rti_proto::FILE_DESCRIPTOR_SET).expect("decodes");
    rti_proto::SERVICE_NAMES
        .iter()
        .flat_map(|name| {
            let service = pool.get_service_by_name(name).expect("declared");
            service
                .methods()
                .map(|method| format!("{}_{}", service.name(), method.name()))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[tokio::test]
async fn the_document_is_openapi_3_and_has_an_operation_for_every_rpc() {
    let json = document().await;
    let parsed: OpenAPI = serde_json::from_value(json.clone()).expect("a valid OpenAPI 3.0 document");
    assert!(parsed.openapi.starts_with("3.0."));
    let operation_ids: BTreeSet<String> = parsed
        .operations()
        .filter_map(|(_, _, operation)| operation.operation_id.clone())
        .collect();
    let missing: Vec<_> = every_rpc().difference(&operation_ids).cloned().collect();
    assert!(missing.is_empty(), "RPCs without an operation: {missing:?}");

    // Every $ref points at a schema that exists.
    let components = parsed.components.as_ref().expect("components");
    let mut references = Vec::new();
    collect_references(&json, &mut references);
    assert!(!references.is_empty());
    for reference in references {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("a schema reference: {reference}"));
        assert!(
            matches!(components.schemas.get(name), Some(ReferenceOr::Item(_))),
            "{reference} resolves"
        );
    }
}

#[tokio::test]
async fn operations_say_their_parameters_bodies_and_who_may_call_them() {
    let json = document().await;
    let get = &json["paths"]["/v1/infrastructures/{id}"]["get"];
    assert_eq!(get["parameters"][0]["in"], "path");
    assert_eq!(get["parameters"][0]["name"], "id");
    // The test gateway's table makes GetInfrastructure public and CreateInfrastructure admin-only.
    assert_eq!(get["security"], serde_json::json!([{}, {"bearer": []}]));
    let create = &json["paths"]["/v1/infrastructures"]["post"];
    assert_eq!(create["security"], serde_json::json!([{"bearer": []}]));
    assert_eq!(
        create["x-rti-roles"],
        serde_json::json!(["admin"]),
        "the roles it takes"
    );
    assert!(get.get("x-rti-roles").is_none(), "{get}");
    assert_eq!(
        create["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/rti.registry.v1.Infrastructure"
    );
    assert_eq!(json["components"]["securitySchemes"]["bearer"]["bearerFormat"], "JWT");

    let search = &json["paths"]["/v1/installations:search"]["get"];
    let names: Vec<&str> = search["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .filter_map(|parameter| parameter["name"].as_str())
        .collect();
    assert!(
        names.contains(&"query") && names.contains(&"countries") && names.contains(&"pageSize"),
        "{names:?}"
    );
    // A nested path variable is named by its field, without dots that format strings misread.
    let tariffs = &json["paths"]["/v1/installations/{installation_id}/tariffs"]["post"]["parameters"][0];
    assert_eq!(tariffs["name"], "installation_id", "{tariffs}");
    assert!(
        tariffs["description"]
            .as_str()
            .is_some_and(|text| text.starts_with("Sets `tariff.installation_id`.")),
        "{tariffs}"
    );
    let dotted: Vec<&String> = json["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .filter(|path| {
            path.split('{')
                .skip(1)
                .any(|variable| variable.split('}').next().is_some_and(|name| name.contains('.')))
        })
        .collect();
    assert!(dotted.is_empty(), "{dotted:?}");
    let events = &json["paths"]["/v1/registry/events"]["get"]["responses"]["200"]["content"];
    assert!(events.get("application/x-ndjson").is_some(), "{events}");
    let ingest = &json["paths"]["/v1/usage-records:ingest"]["post"]["requestBody"]["content"];
    assert!(ingest.get("application/x-ndjson").is_some(), "{ingest}");
    let kpis = &json["paths"]["/v1/installations/{installation_id}/kpis"]["get"]["description"];
    assert!(
        kpis.as_str().is_some_and(|text| text.contains("key figures")),
        "comments become descriptions: {kpis}"
    );
}

#[tokio::test]
async fn the_docs_page_lists_every_operation_offline() {
    let response = fetch("/docs").await;
    assert_eq!(response.status().as_u16(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .is_ok_and(|value| value.starts_with("text/html"))
    );
    let page = response.text().await.expect("text");
    assert!(page.starts_with("<!doctype html>") && page.contains("<html lang=\"en\">"));
    assert!(!page.contains("<script"), "no script, no CDN");
    assert!(
        page.contains("needs a bearer token with the role admin"),
        "who may call"
    );
    for operation_id in every_rpc() {
        assert!(
            page.contains(&format!("id=\"{operation_id}\"")),
            "{operation_id} on the page"
        );
    }
}

fn collect_references(json: &Json, into: &mut Vec<String>) {
    match json {
        Json::Object(fields) => {
            for (key, value) in fields {
                match (key.as_str(), value) {
                    ("$ref", Json::String(reference)) => into.push(reference.clone()),
                    _ => collect_references(value, into),
                }
            }
        }
        Json::Array(values) => values.iter().for_each(|value| collect_references(value, into)),
        _ => {}
    }
}
