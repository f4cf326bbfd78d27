//! The journey over REST, as a curl or `requests` user calls it: the HTTP method and path of the
//! RPC's `google.api.http` rule, the path variables taken from the request, the body the rule
//! names, every other field in the query string; the answer as JSON, newline-delimited for a
//! server stream, and a failure as the JSON error body with its gRPC code.

use prost_reflect::{MessageDescriptor, MethodDescriptor};
use serde_json::{Map, Value as Json};
use url::form_urlencoded;

use super::{Failure, pool, to_json};

#[derive(Debug)]
pub(crate) struct RestTransport {
    client: reqwest::Client,
    base: String,
}

/// What an RPC's `google.api.http` rule says.
struct Rule {
    method: reqwest::Method,
    template: String,
    /// `*`, a field's proto name, or empty for no body.
    body: String,
}

impl RestTransport {
    pub(super) fn new(gateway: std::net::SocketAddr) -> Self {
        // reqwest is built without a TLS provider of its own; the suite speaks plain HTTP.
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .expect("an HTTP client");
        Self {
            client,
            base: format!("http://{gateway}"),
        }
    }

    pub(super) async fn send(
        &self,
        method: &MethodDescriptor,
        request: Json,
        token: Option<&str>,
    ) -> Result<Vec<Json>, Failure> {
        let rule = rule(method);
        let Json::Object(mut fields) = request else {
            panic!("a request is a JSON object")
        };
        let path = fill_template(&rule.template, &method.input(), &mut fields);
        let (body, query) = match rule.body.as_str() {
            "*" => (Some(Json::Object(fields)), Map::new()),
            "" => (None, fields),
            field => {
                let json_name = method
                    .input()
                    .get_field_by_name(field)
                    .unwrap_or_else(|| panic!("the body field {field} is not in {}", method.input().full_name()))
                    .json_name()
                    .to_owned();
                (fields.remove(&json_name), fields)
            }
        };
        let mut pairs = form_urlencoded::Serializer::new(String::new());
        append_query(&mut pairs, "", &Json::Object(query));
        let query = pairs.finish();
        let url = if query.is_empty() {
            format!("{}{path}", self.base)
        } else {
            format!("{}{path}?{query}", self.base)
        };
        let mut call = self.client.request(rule.method, url);
        if let Some(body) = body {
            call = call.json(&body);
        }
        if let Some(token) = token {
            call = call.bearer_auth(token);
        }
        let response = call.send().await.map_err(|error| Failure {
            code: tonic::Code::Unavailable,
            message: error.to_string(),
        })?;
        let succeeded = response.status().is_success();
        let text = response.text().await.map_err(|error| Failure {
            code: tonic::Code::Unavailable,
            message: error.to_string(),
        })?;
        if !succeeded {
            return Err(error_of(
                &serde_json::from_str(&text).expect("a failure has a JSON body"),
            ));
        }
        let mut answers = Vec::new();
        for line in text.lines().filter(|line| !line.trim().is_empty()) {
            let answer: Json = serde_json::from_str(line).expect("each line is JSON");
            // A stream that fails after its first message ends with the error object.
            if method.is_server_streaming() && is_error(&answer) {
                return Err(error_of(&answer));
            }
            answers.push(answer);
        }
        Ok(answers)
    }
}

/// The `google.api.http` rule of `method`; every RPC of the suite has one.
fn rule(method: &MethodDescriptor) -> Rule {
    let extension = pool()
        .get_extension_by_name("google.api.http")
        .expect("the descriptor set keeps google.api.http");
    let options = method.options();
    let value = options.get_extension(&extension);
    let rule = to_json(value.as_message().expect("the rule is a message"));
    let verbs = [
        ("get", reqwest::Method::GET),
        ("put", reqwest::Method::PUT),
        ("post", reqwest::Method::POST),
        ("delete", reqwest::Method::DELETE),
        ("patch", reqwest::Method::PATCH),
    ];
    let (template, verb) = verbs
        .into_iter()
        .find_map(|(name, verb)| {
            rule[name]
                .as_str()
                .filter(|template| !template.is_empty())
                .map(|template| (template.to_owned(), verb))
        })
        .unwrap_or_else(|| panic!("{} has no REST binding", method.full_name()));
    Rule {
        method: verb,
        template,
        body: rule["body"].as_str().unwrap_or_default().to_owned(),
    }
}

/// The template with each `{field.path}` replaced by the request's value, percent-encoded; the
/// fields used are taken out of the request.
fn fill_template(template: &str, input: &MessageDescriptor, fields: &mut Map<String, Json>) -> String {
    let mut path = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').expect("a variable closes") + open;
        path.push_str(&rest[..open]);
        let variable = &rest[open + 1..close];
        let field_path = variable.split_once('=').map_or(variable, |(field_path, _)| field_path);
        let value = take_field(input, fields, field_path);
        let text = match &value {
            Json::String(text) => text.clone(),
            other => other.to_string(),
        };
        path.extend(form_urlencoded::byte_serialize(text.as_bytes()));
        rest = &rest[close + 1..];
    }
    path.push_str(rest);
    path
}

/// Removes the value at a dotted proto field path (`tariff.installation_id`) from the JSON
/// request, whose names are the fields' JSON names.
fn take_field(input: &MessageDescriptor, fields: &mut Map<String, Json>, field_path: &str) -> Json {
    let (first, deeper) = field_path
        .split_once('.')
        .map_or((field_path, None), |(first, deeper)| (first, Some(deeper)));
    let field = input
        .get_field_by_name(first)
        .unwrap_or_else(|| panic!("{} has no field {first}", input.full_name()));
    let missing = || -> ! { panic!("the request lacks {field_path}, which its path needs") };
    match deeper {
        None => fields.remove(field.json_name()).unwrap_or_else(|| missing()),
        Some(deeper) => {
            let prost_reflect::Kind::Message(inner) = field.kind() else {
                panic!("{first} has no fields")
            };
            let Some(Json::Object(nested)) = fields.get_mut(field.json_name()) else {
                missing()
            };
            take_field(&inner, nested, deeper)
        }
    }
}

/// Query parameters for the fields left, nested ones with dots, repeated ones repeated.
fn append_query(pairs: &mut form_urlencoded::Serializer<'_, String>, prefix: &str, value: &Json) {
    match value {
        Json::Object(fields) => {
            for (name, inner) in fields {
                let name = if prefix.is_empty() {
                    name.clone()
                } else {
                    format!("{prefix}.{name}")
                };
                append_query(pairs, &name, inner);
            }
        }
        Json::Array(values) => {
            for inner in values {
                append_query(pairs, prefix, inner);
            }
        }
        Json::Null => {}
        Json::String(text) => {
            pairs.append_pair(prefix, text);
        }
        other => {
            pairs.append_pair(prefix, &other.to_string());
        }
    }
}

fn is_error(answer: &Json) -> bool {
    answer["code"].is_i64() && answer["status"].is_string() && answer["message"].is_string()
}

/// `{"code": 9, "status": "FAILED_PRECONDITION", "message": "…", "details": […]}` → the failure.
fn error_of(body: &Json) -> Failure {
    let code = body["code"].as_i64().and_then(|code| i32::try_from(code).ok());
    Failure {
        code: tonic::Code::from_i32(code.unwrap_or_else(|| panic!("an error body carries its code: {body}"))),
        message: body["message"].as_str().unwrap_or_default().to_owned(),
    }
}
