//! A REST request → the gRPC request message, as Envoy's gRPC-JSON transcoder and grpc-gateway
//! build it: the body (the whole message, or the one field the rule names), then the query
//! string (fields by JSON or proto name, nested with dots, repeated fields by repetition), then
//! the path variables, which win. The pieces are assembled as canonical proto3 JSON and parsed
//! once by prost-reflect, so every value is checked as a gRPC client's would be, and a field
//! the message does not have is refused (400) by name rather than ignored.

use prost_reflect::{DeserializeOptions, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value as Json};

use super::bindings::{Binding, BodyRule};
use super::error::RestError;
use super::template::Captures;

/// The request message of `binding` from a REST request's pieces.
pub(crate) fn request_message(
    binding: &Binding,
    captures: &Captures,
    query: Option<&str>,
    body: &[u8],
) -> Result<DynamicMessage, RestError> {
    let input = binding.method.input();
    let mut json = match &binding.body {
        BodyRule::None if !body.iter().all(u8::is_ascii_whitespace) => {
            return Err(RestError::invalid(
                "body",
                format!("{} {} takes no body", binding.http_method, binding.template),
            ));
        }
        BodyRule::None => Map::new(),
        BodyRule::Whole => match parse_body(body)? {
            Json::Object(fields) => fields,
            Json::Null => Map::new(),
            _ => return Err(RestError::invalid("body", "the body must be a JSON object")),
        },
        BodyRule::Field(field) => {
            let mut fields = Map::new();
            match parse_body(body)? {
                Json::Null => {}
                value => {
                    fields.insert(field.json_name().to_owned(), value);
                }
            }
            fields
        }
    };
    if let Some(query) = query.filter(|query| !query.is_empty()) {
        apply_query(&mut json, &input, &binding.body, query)?;
    }
    apply_captures(&mut json, &input, captures)?;
    message_from_json(input, Json::Object(json), "")
}

/// One message of a client stream: a line of a newline-delimited JSON body.
pub(crate) fn stream_message(
    input: MessageDescriptor,
    line: &[u8],
    line_number: usize,
) -> Result<DynamicMessage, RestError> {
    let json = serde_json::from_slice::<Json>(line)
        .map_err(|error| RestError::invalid(&format!("body line {line_number}"), format!("not JSON: {error}")))?;
    message_from_json(input, json, &format!("line {line_number}: "))
}

/// Parses canonical proto3 JSON into a message; an unknown field or a bad value is a 400 naming
/// the field.
fn message_from_json(input: MessageDescriptor, json: Json, context: &str) -> Result<DynamicMessage, RestError> {
    DynamicMessage::deserialize_with_options(input, json, &DeserializeOptions::new().deny_unknown_fields(true)).map_err(
        |error| {
            let description = format!("{context}{error}");
            let field = description
                .split_once("field name '")
                .and_then(|(_, rest)| rest.split_once('\''))
                .map_or("body", |(name, _)| name)
                .to_owned();
            RestError::invalid(&field, description)
        },
    )
}

fn parse_body(body: &[u8]) -> Result<Json, RestError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Json::Null);
    }
    serde_json::from_slice(body).map_err(|error| RestError::invalid("body", format!("the body is not JSON: {error}")))
}

fn apply_query(
    json: &mut Map<String, Json>,
    input: &MessageDescriptor,
    body: &BodyRule,
    query: &str,
) -> Result<(), RestError> {
    for (name, raw) in form_urlencoded::parse(query.as_bytes()) {
        if matches!(body, BodyRule::Whole) {
            return Err(RestError::invalid(
                &name,
                "this route takes the whole message in the body, not in the query string",
            ));
        }
        let path = resolve(input, &name).map_err(|reason| RestError::invalid(&name, reason))?;
        if let (BodyRule::Field(body_field), Some(first)) = (body, path.first())
            && first == body_field
        {
            return Err(RestError::invalid(&name, "this field comes from the body"));
        }
        let Some(field) = path.last() else {
            return Err(RestError::invalid(&name, "an empty parameter name"));
        };
        if field.is_map() {
            return Err(RestError::invalid(&name, "a map cannot be set from the query string"));
        }
        let value = scalar_json(field, &raw).map_err(|reason| RestError::invalid(&name, reason))?;
        let slot = slot_at(json, &path);
        match slot {
            Json::Array(values) if field.is_list() => values.push(value),
            Json::Null if field.is_list() => *slot = Json::Array(vec![value]),
            Json::Null => *slot = value,
            _ => return Err(RestError::invalid(&name, "given more than once")),
        }
    }
    Ok(())
}

fn apply_captures(
    json: &mut Map<String, Json>,
    input: &MessageDescriptor,
    captures: &Captures,
) -> Result<(), RestError> {
    for (field_path, raw) in captures {
        let dotted = field_path.join(".");
        let path = resolve(input, &dotted).map_err(|reason| RestError::invalid(&dotted, reason))?;
        let Some(field) = path.last() else {
            continue;
        };
        let value = scalar_json(field, raw).map_err(|reason| RestError::invalid(&dotted, reason))?;
        *slot_at(json, &path) = value;
    }
    Ok(())
}

/// The fields along a dotted name (each part a JSON or proto name), through singular messages.
fn resolve(input: &MessageDescriptor, dotted: &str) -> Result<Vec<FieldDescriptor>, String> {
    let mut message = input.clone();
    let mut path = Vec::new();
    let parts: Vec<&str> = dotted.split('.').collect();
    for (index, part) in parts.iter().enumerate() {
        let field = message
            .get_field_by_json_name(part)
            .or_else(|| message.get_field_by_name(part))
            .ok_or_else(|| format!("{} has no field {part}", message.full_name()))?;
        if index + 1 < parts.len() {
            match field.kind() {
                Kind::Message(inner) if !field.is_list() && !field.is_map() && !is_json_scalar(&inner) => {
                    message = inner;
                }
                _ => return Err(format!("{part} has no fields to set with dots")),
            }
        }
        path.push(field);
    }
    Ok(path)
}

/// The JSON slot of a field path in `json`, creating the objects on the way.
fn slot_at<'json>(json: &'json mut Map<String, Json>, path: &[FieldDescriptor]) -> &'json mut Json {
    let mut current = json;
    let (last, through) = path.split_last().expect("resolve never returns an empty path");
    for field in through {
        let entry = current
            .entry(field.json_name().to_owned())
            .or_insert_with(|| Json::Object(Map::new()));
        if !entry.is_object() {
            *entry = Json::Object(Map::new());
        }
        current = entry.as_object_mut().expect("made an object just above");
    }
    current.entry(last.json_name().to_owned()).or_insert(Json::Null)
}

/// Messages whose canonical JSON is a string or number (timestamps, wrappers, field masks).
pub(crate) fn is_json_scalar(message: &MessageDescriptor) -> bool {
    matches!(
        message.full_name(),
        "google.protobuf.Timestamp"
            | "google.protobuf.Duration"
            | "google.protobuf.FieldMask"
            | "google.protobuf.DoubleValue"
            | "google.protobuf.FloatValue"
            | "google.protobuf.Int64Value"
            | "google.protobuf.UInt64Value"
            | "google.protobuf.Int32Value"
            | "google.protobuf.UInt32Value"
            | "google.protobuf.BoolValue"
            | "google.protobuf.StringValue"
            | "google.protobuf.BytesValue"
    )
}

/// The JSON value of one text value (a path segment or a query parameter) for `field`.
fn scalar_json(field: &FieldDescriptor, raw: &str) -> Result<Json, String> {
    scalar_of_kind(&field.kind(), raw)
}

fn scalar_of_kind(kind: &Kind, raw: &str) -> Result<Json, String> {
    let text = || Json::String(raw.to_owned());
    match kind {
        Kind::Bool => match raw {
            "true" => Ok(Json::Bool(true)),
            "false" => Ok(Json::Bool(false)),
            _ => Err(format!("expects true or false, not {raw:?}")),
        },
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => raw
            .parse::<i32>()
            .map(Json::from)
            .map_err(|_| format!("expects a 32-bit integer, not {raw:?}")),
        Kind::Uint32 | Kind::Fixed32 => raw
            .parse::<u32>()
            .map(Json::from)
            .map_err(|_| format!("expects an unsigned 32-bit integer, not {raw:?}")),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => raw
            .parse::<i64>()
            .map(|_| text())
            .map_err(|_| format!("expects a 64-bit integer, not {raw:?}")),
        Kind::Uint64 | Kind::Fixed64 => raw
            .parse::<u64>()
            .map(|_| text())
            .map_err(|_| format!("expects an unsigned 64-bit integer, not {raw:?}")),
        Kind::Float | Kind::Double => match raw {
            "NaN" | "Infinity" | "-Infinity" => Ok(text()),
            _ => raw
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Json::Number)
                .ok_or_else(|| format!("expects a number, not {raw:?}")),
        },
        Kind::String | Kind::Bytes => Ok(text()),
        Kind::Enum(_) => Ok(raw.parse::<i32>().map_or_else(|_| text(), Json::from)),
        Kind::Message(message) if is_json_scalar(message) => match message.get_field_by_name("value") {
            Some(inner) => scalar_of_kind(&inner.kind(), raw),
            None => Ok(text()),
        },
        Kind::Message(message) => Err(format!(
            "is a {}: set its fields one by one, as `field.subfield`",
            message.full_name()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edge::rest::bindings::Bindings;

    fn bindings() -> Bindings {
        Bindings::load(rti_proto::FILE_DESCRIPTOR_SET, &rti_proto::SERVICE_NAMES).expect("the protos' rules load")
    }

    fn transcode(method: http::Method, path_and_query: &str, body: &str) -> Result<Json, RestError> {
        let bindings = bindings();
        let (path, query) = match path_and_query.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (path_and_query, None),
        };
        let (binding, captures) = bindings.find(&method, path).expect("bound");
        let message = request_message(binding, &captures, query, body.as_bytes())?;
        Ok(serde_json::to_value(&message).expect("serialises"))
    }

    #[test]
    fn path_variables_set_their_fields_even_nested() {
        let json = transcode(http::Method::GET, "/v1/providers/p%2D1", "").expect("valid");
        assert_eq!(json, serde_json::json!({"id": "p-1"}));
        let json = transcode(
            http::Method::POST,
            "/v1/installations/i-1/tariffs",
            r#"{"installationId": "other", "basis": "TARIFF_BASIS_MARKET_PRICE"}"#,
        )
        .expect("valid");
        assert_eq!(
            json["tariff"]["installationId"], "i-1",
            "the path wins over the body: {json}"
        );
        assert_eq!(json["tariff"]["basis"], "TARIFF_BASIS_MARKET_PRICE");
    }

    #[test]
    fn the_query_string_sets_fields_by_json_or_proto_name_repeated_and_nested() {
        let json = transcode(
            http::Method::GET,
            "/v1/installations:search?query=clean%20room&page_size=5&countries=FR&countries=DE&trl=4&accessModes=ACCESS_MODE_MARKET",
            "",
        )
        .expect("valid");
        assert_eq!(json["query"], "clean room");
        assert_eq!(json["pageSize"], 5);
        assert_eq!(json["countries"], serde_json::json!(["FR", "DE"]));
        assert_eq!(json["accessModes"], serde_json::json!(["ACCESS_MODE_MARKET"]));
        let json = transcode(
            http::Method::GET,
            "/v1/installations/i-1/availability?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z",
            "",
        )
        .expect("valid");
        assert_eq!(json["from"], "2026-01-01T00:00:00Z");
        let json = transcode(
            http::Method::PATCH,
            "/v1/providers/p-1?updateMask=name,website",
            r#"{"name": "New"}"#,
        )
        .expect("valid");
        assert_eq!(json["updateMask"], "name,website");
        assert_eq!(json["provider"], serde_json::json!({"id": "p-1", "name": "New"}));
    }

    #[test]
    fn a_whole_body_becomes_the_message_and_custom_verbs_take_the_id_from_the_path() {
        let json = transcode(
            http::Method::POST,
            "/v1/access-requests/r-1:withdraw",
            r#"{"reason": "found another lab"}"#,
        )
        .expect("valid");
        assert_eq!(json, serde_json::json!({"id": "r-1", "reason": "found another lab"}));
    }

    #[test]
    fn unknown_fields_and_bad_values_are_refused_by_name() {
        let unknown = transcode(
            http::Method::POST,
            "/v1/access-requests/r-1:withdraw",
            r#"{"reasn": "x"}"#,
        )
        .expect_err("unknown field");
        assert_eq!(unknown.message(), "reasn: unrecognized field name 'reasn'");
        assert_eq!(unknown.violations()[0].0, "reasn");
        let query = transcode(http::Method::GET, "/v1/providers?pageSise=3", "").expect_err("unknown parameter");
        assert_eq!(query.violations()[0].0, "pageSise");
        let bad_number = transcode(http::Method::GET, "/v1/providers?pageSize=many", "").expect_err("bad value");
        assert!(bad_number.violations()[0].1.contains("integer"), "{bad_number:?}");
        let whole = transcode(http::Method::POST, "/v1/access-requests/r-1:withdraw?reason=x", "{}")
            .expect_err("query with a whole body");
        assert_eq!(whole.violations()[0].0, "reason");
        let no_body = transcode(http::Method::GET, "/v1/providers", "{}").expect_err("GET with a body");
        assert_eq!(no_body.violations()[0].0, "body");
        let not_json = transcode(http::Method::POST, "/v1/providers", "{").expect_err("not JSON");
        assert_eq!(not_json.http_status(), http::StatusCode::BAD_REQUEST);
    }

    #[test]
    fn a_field_the_body_carries_cannot_also_come_from_the_query() {
        let refused = transcode(http::Method::POST, "/v1/providers?provider.name=x", "{}").expect_err("refused");
        assert_eq!(refused.violations()[0].0, "provider.name");
        let json = transcode(http::Method::POST, "/v1/providers?requestId=k-1", r#"{"name": "Lab"}"#).expect("valid");
        assert_eq!(json["requestId"], "k-1");
    }
}
