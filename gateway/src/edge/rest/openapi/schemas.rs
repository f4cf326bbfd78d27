//! JSON Schemas (the OpenAPI 3.0 dialect) of proto messages as the proto3 JSON mapping writes
//! them, the same mapping the transcoder uses: lowerCamelCase names, 64-bit integers as strings,
//! enums by name, `Timestamp` as an RFC 3339 date-time string, `Duration` and `FieldMask` as
//! strings, wrappers as their nullable value, maps as objects; and the protos' own comments as
//! descriptions, read from the descriptor set's source info.

use std::collections::BTreeMap;

use prost_reflect::{EnumDescriptor, FieldDescriptor, FileDescriptor, Kind, MessageDescriptor};
use serde_json::{Value as Json, json};

use crate::edge::rest::transcode::is_json_scalar;

/// The leading comment of the element at `path` in `file`, if the protos have one.
pub(crate) fn comment(file: &FileDescriptor, path: &[i32]) -> Option<String> {
    let info = file.file_descriptor_proto().source_code_info.as_ref()?;
    let location = info.location.iter().find(|location| location.path == path)?;
    let text = location.leading_comments.as_deref()?;
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let joined = lines.join("\n").trim().to_owned();
    (!joined.is_empty()).then_some(joined)
}

/// The schemas of messages and enums, by full name, filled as they are referred to.
#[derive(Debug, Default)]
pub(crate) struct Schemas {
    schemas: BTreeMap<String, Json>,
}

impl Schemas {
    /// A `$ref` to `message`'s schema, adding it (and what it reaches) on first use; messages
    /// with a JSON form of their own (timestamps, wrappers) are written in place instead.
    pub(crate) fn message_ref(&mut self, message: &MessageDescriptor) -> Json {
        if let Some(special) = well_known(message) {
            return special;
        }
        let name = message.full_name().to_owned();
        if !self.schemas.contains_key(&name) {
            // Placed first, so a message that contains itself refers to itself and stops there.
            self.schemas.insert(name.clone(), Json::Null);
            let schema = self.message_schema(message);
            self.schemas.insert(name.clone(), schema);
        }
        reference(&name)
    }

    /// The schema of one field's value.
    pub(crate) fn field_schema(&mut self, field: &FieldDescriptor) -> Json {
        let mut schema = if field.is_map() {
            let value = match field.kind() {
                Kind::Message(entry) => entry
                    .get_field_by_name("value")
                    .map_or(json!({}), |value| self.single_value(&value.kind())),
                _ => json!({}),
            };
            json!({"type": "object", "additionalProperties": value})
        } else if field.is_list() {
            json!({"type": "array", "items": self.single_value(&field.kind())})
        } else {
            self.single_value(&field.kind())
        };
        let mut notes = comment(&field.parent_file(), field.path()).unwrap_or_default();
        if let Some(oneof) = field.containing_oneof().filter(|oneof| !oneof.is_synthetic()) {
            let members: Vec<String> = oneof
                .fields()
                .map(|member| format!("`{}`", member.json_name()))
                .collect();
            notes = format!(
                "{notes}{}One of `{}`: at most one of {} is set.",
                if notes.is_empty() { "" } else { "\n\n" },
                oneof.name(),
                members.join(", ")
            )
            .trim()
            .to_owned();
        }
        if !notes.is_empty() {
            schema = described(schema, &notes);
        }
        schema
    }

    /// Every schema added, by full name.
    pub(crate) fn into_components(self) -> serde_json::Map<String, Json> {
        self.schemas.into_iter().collect()
    }

    fn message_schema(&mut self, message: &MessageDescriptor) -> Json {
        let mut properties = serde_json::Map::new();
        for field in message.fields() {
            let schema = self.field_schema(&field);
            properties.insert(field.json_name().to_owned(), schema);
        }
        let mut schema = json!({"type": "object", "properties": properties});
        if let Some(text) = comment(&message.parent_file(), message.path()) {
            schema["description"] = Json::String(text);
        }
        schema
    }

    fn enum_ref(&mut self, enumeration: &EnumDescriptor) -> Json {
        let name = enumeration.full_name().to_owned();
        if !self.schemas.contains_key(&name) {
            let values: Vec<String> = enumeration.values().map(|value| value.name().to_owned()).collect();
            let mut schema = json!({"type": "string", "enum": values});
            let mut notes = comment(&enumeration.parent_file(), enumeration.path()).unwrap_or_default();
            for value in enumeration.values() {
                if let Some(text) = comment(&value.parent_file(), value.path()) {
                    notes.push_str(&format!("\n\n- `{}`: {}", value.name(), text.replace('\n', " ")));
                }
            }
            if !notes.trim().is_empty() {
                schema["description"] = Json::String(notes.trim().to_owned());
            }
            self.schemas.insert(name.clone(), schema);
        }
        reference(&name)
    }

    /// The schema of one value of `kind` (an element of a list, a map's value, a singular field).
    pub(crate) fn single_value(&mut self, kind: &Kind) -> Json {
        match kind {
            Kind::Message(message) => self.message_ref(message),
            Kind::Enum(enumeration) => self.enum_ref(enumeration),
            scalar => scalar_schema(scalar),
        }
    }
}

/// The schema of a scalar kind in proto3 JSON.
pub(crate) fn scalar_schema(kind: &Kind) -> Json {
    match kind {
        Kind::Double => json!({"type": "number", "format": "double"}),
        Kind::Float => json!({"type": "number", "format": "float"}),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => json!({"type": "integer", "format": "int32"}),
        Kind::Uint32 | Kind::Fixed32 => {
            json!({"type": "integer", "format": "int64", "minimum": 0, "maximum": u32::MAX})
        }
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
            json!({"type": "string", "format": "int64", "pattern": "^-?[0-9]+$"})
        }
        Kind::Uint64 | Kind::Fixed64 => json!({"type": "string", "format": "uint64", "pattern": "^[0-9]+$"}),
        Kind::Bool => json!({"type": "boolean"}),
        Kind::String => json!({"type": "string"}),
        Kind::Bytes => json!({"type": "string", "format": "byte"}),
        Kind::Message(_) | Kind::Enum(_) => json!({}),
    }
}

/// Well-known types whose JSON is not an object of their fields.
fn well_known(message: &MessageDescriptor) -> Option<Json> {
    let wrapped = |message: &MessageDescriptor| {
        let value = message.get_field_by_name("value")?;
        let mut schema = scalar_schema(&value.kind());
        schema["nullable"] = Json::Bool(true);
        Some(schema)
    };
    match message.full_name() {
        "google.protobuf.Timestamp" => Some(json!({"type": "string", "format": "date-time"})),
        "google.protobuf.Duration" => Some(json!({"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]{1,9})?s$"})),
        "google.protobuf.FieldMask" => {
            Some(json!({"type": "string", "description": "Field paths in lowerCamelCase, separated by commas."}))
        }
        "google.protobuf.Empty" => Some(json!({"type": "object"})),
        "google.protobuf.Struct" => Some(json!({"type": "object", "additionalProperties": true})),
        "google.protobuf.Value" => Some(json!({})),
        "google.protobuf.ListValue" => Some(json!({"type": "array", "items": {}})),
        "google.protobuf.Any" => {
            Some(json!({"type": "object", "properties": {"@type": {"type": "string"}}, "additionalProperties": true}))
        }
        // The wrappers: their JSON is their value's, or null.
        _ if is_json_scalar(message) => wrapped(message),
        _ => None,
    }
}

pub(crate) fn reference(name: &str) -> Json {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// `schema` with a description; a `$ref` is wrapped in `allOf`, since OpenAPI 3.0 ignores the
/// siblings of a `$ref`.
pub(crate) fn described(schema: Json, description: &str) -> Json {
    if schema.get("$ref").is_some() {
        json!({"allOf": [schema], "description": description})
    } else {
        let mut schema = schema;
        schema["description"] = Json::String(description.to_owned());
        schema
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> prost_reflect::DescriptorPool {
        prost_reflect::DescriptorPool::decode(rti_proto::FILE_DESCRIPTOR_SET).expect("decodes")
    }

    #[test]
    fn follows_the_proto3_json_mapping() {
        let pool = pool();
        let mut schemas = Schemas::default();
        let tariff = pool.get_message_by_name("rti.registry.v1.Tariff").expect("declared");
        assert_eq!(schemas.message_ref(&tariff), reference("rti.registry.v1.Tariff"));
        let components = schemas.into_components();
        let properties = &components["rti.registry.v1.Tariff"]["properties"];
        assert_eq!(properties["installationId"]["type"], "string");
        assert_eq!(properties["validFrom"]["format"], "date-time");
        assert_eq!(
            properties["basis"]["$ref"],
            "#/components/schemas/rti.registry.v1.TariffBasis"
        );
        assert!(
            components["rti.registry.v1.TariffBasis"]["enum"]
                .as_array()
                .is_some_and(|values| values.contains(&json!("TARIFF_BASIS_MARKET_PRICE")))
        );
        let window = pool
            .get_message_by_name("rti.registry.v1.CapacityWindow")
            .expect("declared");
        let mut schemas = Schemas::default();
        schemas.message_ref(&window);
        let components = schemas.into_components();
        let units = &components["rti.registry.v1.CapacityWindow"]["properties"]["units"];
        assert_eq!(
            (units["type"].as_str(), units["format"].as_str()),
            (Some("string"), Some("int64"))
        );
    }

    #[test]
    fn carries_the_protos_comments_and_names_oneof_members() {
        let pool = pool();
        let mut schemas = Schemas::default();
        let event = pool.get_message_by_name("rti.common.v1.Event").expect("declared");
        schemas.message_ref(&event);
        let components = schemas.into_components();
        let event = &components["rti.common.v1.Event"];
        assert!(
            event["properties"]["sequence"]["description"]
                .as_str()
                .is_some_and(|text| text.starts_with("Position in the emitting service's outbox")),
            "{event}"
        );
        assert!(
            event["properties"]["providerCreated"]["description"]
                .as_str()
                .is_some_and(|text| text.contains("One of `payload`")),
            "{event}"
        );
    }
}
