//! The OpenAPI 3.0 document of the REST side, served at `/openapi.json`, generated at start from
//! the very bindings the transcoder follows and the protos' comments, so it cannot drift from
//! what the gateway does (issue 14). Each binding is one operation, tagged with its service:
//! path variables and query fields as parameters (nested fields by dotted lowerCamelCase names,
//! repeated ones as exploded arrays), the body's schema, the answer's (NDJSON for streams), the
//! one error shape for every other status, and the bearer JWT scheme on every operation that the
//! services' authorization tables do not make public, with the roles it takes (`x-rti-roles`).

mod schemas;

use std::collections::BTreeMap;

use prost_reflect::{FieldDescriptor, Kind, MessageDescriptor};
use rti_platform::authz::{Access, AuthzTable};
use serde_json::{Map, Value as Json, json};

use self::schemas::{Schemas, comment, described, reference};
use super::bindings::{Binding, Bindings, BodyRule};
use super::reply::NDJSON;
use super::transcode::is_json_scalar;

/// The name of the error schema in `components`.
const ERROR_SCHEMA: &str = "rti.rest.Error";
/// The name of the security scheme in `components`.
const BEARER: &str = "bearer";
/// The extension that lists the roles whose tokens an operation takes, from the RPC's table.
pub(super) const ROLES: &str = "x-rti-roles";
/// How deep nested messages are flattened into query parameters (`filter.period.from`).
const MAX_QUERY_DEPTH: usize = 3;

/// The document, as JSON.
pub(crate) fn document(bindings: &Bindings, authz: &[&'static AuthzTable]) -> Json {
    let mut schemas = Schemas::default();
    let mut paths: BTreeMap<String, Map<String, Json>> = BTreeMap::new();
    let mut tags: BTreeMap<String, Json> = BTreeMap::new();
    let mut operation_ids: BTreeMap<String, usize> = BTreeMap::new();
    for binding in bindings.iter() {
        let service = binding.method.parent_service();
        tags.entry(service.name().to_owned()).or_insert_with(|| {
            let mut tag = json!({"name": service.name()});
            if let Some(text) = comment(&service.parent_file(), service.path()) {
                tag["description"] = Json::String(text);
            }
            tag
        });
        let base_id = format!("{}_{}", service.name(), binding.method.name());
        let seen = operation_ids.entry(base_id.clone()).or_insert(0);
        *seen += 1;
        let operation_id = if *seen == 1 {
            base_id
        } else {
            format!("{base_id}_{seen}")
        };
        let operation = operation(binding, &operation_id, authz, &mut schemas);
        paths
            .entry(openapi_path(binding))
            .or_default()
            .insert(binding.http_method.as_str().to_ascii_lowercase(), operation);
    }
    let mut components = schemas.into_components();
    components.insert(ERROR_SCHEMA.to_owned(), error_schema());
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "RTI Access",
            "version": "v1",
            "description": "The single access point to Europe's research and technology infrastructures. \
                Every operation is a gRPC method of the suite, transcoded from its google.api.http rule; \
                bodies and answers are canonical proto3 JSON. Errors are `{code, status, message, details}`.",
        },
        "tags": tags.into_values().collect::<Vec<_>>(),
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                BEARER: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            },
        },
    })
}

/// The OpenAPI path of a binding: the template with each variable as `{name}`, named by
/// [`parameter_names`].
fn openapi_path(binding: &Binding) -> String {
    let mut names = parameter_names(binding).into_iter();
    let mut path = String::new();
    let mut rest = binding.template.to_string();
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').map_or(rest.len(), |close| open + close);
        path.push_str(&rest[..open]);
        path.push('{');
        path.push_str(&names.next().unwrap_or_default());
        path.push('}');
        rest = rest[(close + 1).min(rest.len())..].to_owned();
    }
    path.push_str(&rest);
    path
}

/// The names of a template's path variables, in order: each its field's proto name
/// (`{installation_id}` for `tariff.installation_id`), or the field path joined with `_` where
/// two variables share a name. Not the dotted path: tools that fill paths with format strings
/// (Python's `str.format`, so schemathesis) read `{tariff.installation_id}` as an attribute.
fn parameter_names(binding: &Binding) -> Vec<String> {
    let variables = binding.template.variables();
    let leaf = |field_path: &[String]| field_path.last().cloned().unwrap_or_default();
    variables
        .iter()
        .map(|variable| {
            let name = leaf(&variable.field_path);
            let shared = variables.iter().filter(|other| leaf(&other.field_path) == name).count() > 1;
            if shared { variable.field_path.join("_") } else { name }
        })
        .collect()
}

fn operation(binding: &Binding, operation_id: &str, authz: &[&'static AuthzTable], schemas: &mut Schemas) -> Json {
    let method = &binding.method;
    let input = method.input();
    let mut operation = json!({
        "operationId": operation_id,
        "summary": method.name(),
        "tags": [method.parent_service().name()],
    });
    if let Some(text) = comment(&method.parent_file(), method.path()) {
        operation["description"] = Json::String(text);
    }

    let path_fields: Vec<Vec<String>> = binding
        .template
        .variables()
        .iter()
        .map(|variable| variable.field_path.clone())
        .collect();
    let mut parameters = Vec::new();
    for (field_path, name) in path_fields.iter().zip(parameter_names(binding)) {
        if let Ok(field) = super::bindings::field_at(&input, field_path) {
            let mut parameter = json!({
                "name": name,
                "in": "path",
                "required": true,
                "schema": schemas.field_schema(&field),
            });
            let mut description = comment(&field.parent_file(), field.path()).unwrap_or_default();
            if field_path.len() > 1 {
                description = format!("Sets `{}`. {description}", field_path.join("."))
                    .trim()
                    .to_owned();
            }
            if !description.is_empty() {
                parameter["description"] = Json::String(description);
            }
            parameters.push(parameter);
        }
    }
    let body_field = match &binding.body {
        BodyRule::Field(field) => Some(field.clone()),
        BodyRule::None | BodyRule::Whole => None,
    };
    if !matches!(binding.body, BodyRule::Whole) {
        let mut query = QueryParameters {
            path_fields: &path_fields,
            schemas,
            found: Vec::new(),
        };
        query.walk(&input, "", &[], body_field.as_ref(), 0);
        parameters.extend(query.found);
    }
    if !parameters.is_empty() {
        operation["parameters"] = Json::Array(parameters);
    }

    let body_schema = match &binding.body {
        BodyRule::None => None,
        BodyRule::Whole => Some(schemas.message_ref(&input)),
        BodyRule::Field(field) => Some(schemas.field_schema(field)),
    };
    if let Some(schema) = body_schema {
        let (media_type, description) = if method.is_client_streaming() {
            (NDJSON, "Newline-delimited JSON: one message per line.")
        } else {
            ("application/json", "The request body.")
        };
        operation["requestBody"] = json!({
            "description": description,
            "content": {media_type: {"schema": schema}},
        });
    }

    let (media_type, description) = if method.is_server_streaming() {
        (
            NDJSON,
            "Newline-delimited JSON: one message per line. A refusal before the stream starts has its own HTTP status and the error body; a failure once it has started ends the stream with a line holding the error.",
        )
    } else {
        ("application/json", "The answer.")
    };
    operation["responses"] = json!({
        "200": {"description": description, "content": {media_type: {"schema": schemas.message_ref(&method.output())}}},
        "default": {
            "description": "An error: the gRPC code and its name, a message, and details such as field violations.",
            "content": {"application/json": {"schema": reference(ERROR_SCHEMA)}},
        },
    });
    let access = access(authz, binding);
    operation["security"] = if matches!(access, Some(Access::Public)) {
        // Public methods take a token or none; a bad token is still refused.
        json!([{}, {BEARER: []}])
    } else {
        json!([{BEARER: []}])
    };
    if let Some(Access::Roles(roles)) = access {
        // Roles serialise as their names, as tokens carry them.
        operation[ROLES] = json!(roles);
    }
    operation
}

/// Whether the method is public, as the edge decides it (a method with no table needs a token).
fn access(authz: &[&'static AuthzTable], binding: &Binding) -> Option<Access> {
    let service = binding.method.parent_service().full_name();
    authz
        .iter()
        .find(|table| table.service == service)
        .and_then(|table| table.access(binding.method.name()))
}

/// The query parameters of a message's fields: scalars, enums and repeated ones, nested
/// singular messages flattened with dots; maps and repeated messages cannot be written in a
/// query string and are left to the body.
struct QueryParameters<'walk> {
    path_fields: &'walk [Vec<String>],
    schemas: &'walk mut Schemas,
    found: Vec<Json>,
}

impl QueryParameters<'_> {
    fn walk(
        &mut self,
        message: &MessageDescriptor,
        prefix: &str,
        proto_prefix: &[String],
        skip: Option<&FieldDescriptor>,
        depth: usize,
    ) {
        for field in message.fields() {
            if skip.is_some_and(|skipped| *skipped == field) {
                continue;
            }
            let mut proto_path = proto_prefix.to_vec();
            proto_path.push(field.name().to_owned());
            if self.path_fields.contains(&proto_path) || field.is_map() {
                continue;
            }
            let name = format!("{prefix}{}", field.json_name());
            match field.kind() {
                Kind::Message(inner) if !is_json_scalar(&inner) => {
                    if !field.is_list() && depth + 1 < MAX_QUERY_DEPTH {
                        self.walk(&inner, &format!("{name}."), &proto_path, None, depth + 1);
                    }
                }
                _ => {
                    let schema = self.schemas.field_schema(&field);
                    let mut parameter = json!({"name": name, "in": "query", "required": false, "schema": schema});
                    if field.is_list() {
                        parameter["style"] = json!("form");
                        parameter["explode"] = json!(true);
                    }
                    self.found.push(parameter);
                }
            }
        }
    }
}

fn error_schema() -> Json {
    described(
        json!({
            "type": "object",
            "required": ["code", "status", "message"],
            "properties": {
                "code": {"type": "integer", "format": "int32", "description": "The gRPC status code (google.rpc.Code)."},
                "status": {"type": "string", "description": "The code's name, e.g. NOT_FOUND."},
                "message": {"type": "string"},
                "details": {
                    "type": "array",
                    "description": "google.rpc details, each with its @type: BadRequest (fieldViolations), PreconditionFailure, ErrorInfo, RetryInfo.",
                    "items": {"type": "object", "properties": {"@type": {"type": "string"}}, "additionalProperties": true},
                },
            },
        }),
        "An error, as Google's APIs write a google.rpc.Status in JSON.",
    )
}
