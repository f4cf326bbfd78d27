//! The REST routes, read at start from the `google.api.http` options in the descriptor set, so
//! that no route is written by hand (DESIGN §3): each binding says which HTTP method and path
//! template call which RPC, and where the request message comes from (path variables, the body
//! or one field of it, the query string). Two bindings that could match the same request are a
//! mistake in the protos and stop the gateway from starting.

use prost_reflect::{
    DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, MethodDescriptor, Value,
};

use super::template::{Captures, PathTemplate};

/// Where the body of a REST request goes in the request message.
#[derive(Debug, Clone)]
pub(crate) enum BodyRule {
    /// No body: everything comes from the path and the query string.
    None,
    /// `body: "*"`: the body is the whole message (less the path variables).
    Whole,
    /// `body: "provider"`: the body is that field; the query string may set the others.
    Field(FieldDescriptor),
}

/// One REST route to one RPC.
#[derive(Debug, Clone)]
pub(crate) struct Binding {
    pub(crate) method: MethodDescriptor,
    pub(crate) http_method: http::Method,
    pub(crate) template: PathTemplate,
    pub(crate) body: BodyRule,
}

impl Binding {
    /// `/rti.registry.v1.RegistryService/GetProvider`: where the gRPC call goes.
    pub(crate) fn grpc_path(&self) -> String {
        format!("/{}/{}", self.method.parent_service().full_name(), self.method.name())
    }
}

/// Why a request path has no binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unrouted {
    /// No template matches the path.
    NoPath,
    /// Templates match the path, for these other HTTP methods only.
    OtherMethods(Vec<http::Method>),
}

/// Every binding of the services the gateway fronts.
#[derive(Debug, Clone)]
pub(crate) struct Bindings {
    bindings: Vec<Binding>,
    unbound: Vec<String>,
}

/// A rule in the protos that the transcoder cannot follow.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum BindingError {
    #[error("the descriptor set does not decode: {0}")]
    Descriptors(String),
    #[error("the descriptor set has no service {0}")]
    NoService(String),
    #[error("the google.api.http rule of {method} is invalid: {reason}")]
    Rule { method: String, reason: String },
    #[error("{first} and {second} both answer {http_method} {template}")]
    Collision {
        first: String,
        second: String,
        http_method: http::Method,
        template: String,
    },
}

impl Bindings {
    /// The bindings of `services` in the encoded descriptor set `descriptor_set`, which must keep
    /// extension options (see `proto/build.rs`).
    pub(crate) fn load(descriptor_set: &[u8], services: &[&str]) -> Result<Self, BindingError> {
        let pool =
            DescriptorPool::decode(descriptor_set).map_err(|error| BindingError::Descriptors(error.to_string()))?;
        let http = pool
            .get_extension_by_name("google.api.http")
            .ok_or_else(|| BindingError::Descriptors("google.api.http is not in the set".to_owned()))?;
        let mut bindings = Vec::new();
        let mut unbound = Vec::new();
        for service_name in services {
            let service = pool
                .get_service_by_name(service_name)
                .ok_or_else(|| BindingError::NoService((*service_name).to_owned()))?;
            for method in service.methods() {
                let options = method.options();
                if !options.has_extension(&http) {
                    unbound.push(method.full_name().to_owned());
                    continue;
                }
                let Value::Message(rule) = options.get_extension(&http).into_owned() else {
                    unbound.push(method.full_name().to_owned());
                    continue;
                };
                rules_of(&method, &rule, &mut bindings)?;
            }
        }
        refuse_collisions(&bindings)?;
        Ok(Self { bindings, unbound })
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Binding> {
        self.bindings.iter()
    }

    /// RPCs (full names) that have no `google.api.http` rule, and so no REST route.
    pub(crate) fn unbound(&self) -> &[String] {
        &self.unbound
    }

    /// The binding that answers `http_method` on `path` (as sent, percent-encoded), with the
    /// values of its path variables.
    pub(crate) fn find(&self, http_method: &http::Method, path: &str) -> Result<(&Binding, Captures), Unrouted> {
        let mut other_methods = Vec::new();
        for binding in &self.bindings {
            if let Some(captures) = binding.template.matches(path) {
                if binding.http_method == *http_method {
                    return Ok((binding, captures));
                }
                other_methods.push(binding.http_method.clone());
            }
        }
        if other_methods.is_empty() {
            Err(Unrouted::NoPath)
        } else {
            Err(Unrouted::OtherMethods(other_methods))
        }
    }
}

/// The rule and its `additional_bindings`, each checked against the request message.
fn rules_of(method: &MethodDescriptor, rule: &DynamicMessage, into: &mut Vec<Binding>) -> Result<(), BindingError> {
    let fail = |reason: String| BindingError::Rule {
        method: method.full_name().to_owned(),
        reason,
    };
    let text = |message: &DynamicMessage, name: &str| {
        message
            .get_field_by_name(name)
            .and_then(|value| value.as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    let mut pattern = None;
    for verb in ["get", "put", "post", "delete", "patch"] {
        if rule.has_field_by_name(verb) {
            let http_method = http::Method::from_bytes(verb.to_ascii_uppercase().as_bytes())
                .map_err(|error| fail(error.to_string()))?;
            pattern = Some((http_method, text(rule, verb)));
        }
    }
    if let Some(Value::Message(custom)) = rule.get_field_by_name("custom").map(|value| value.into_owned())
        && rule.has_field_by_name("custom")
    {
        let http_method = http::Method::from_bytes(text(&custom, "kind").as_bytes())
            .map_err(|_| fail("the custom kind is not an HTTP method".to_owned()))?;
        pattern = Some((http_method, text(&custom, "path")));
    }
    let (http_method, path) = pattern.ok_or_else(|| fail("it names no HTTP method".to_owned()))?;
    let template = PathTemplate::parse(&path).map_err(|error| fail(error.to_string()))?;
    if !text(rule, "response_body").is_empty() {
        return Err(fail(
            "response_body is not supported: the response is the whole message".to_owned(),
        ));
    }
    let input = method.input();
    for variable in template.variables() {
        let field = field_at(&input, &variable.field_path).map_err(&fail)?;
        if field.is_list() || field.is_map() || matches!(field.kind(), Kind::Message(_)) {
            return Err(fail(format!(
                "the path variable {} is not a single scalar field",
                variable.field_path.join(".")
            )));
        }
    }
    let body = match text(rule, "body").as_str() {
        "" => BodyRule::None,
        "*" => BodyRule::Whole,
        name => BodyRule::Field(
            input
                .get_field_by_name(name)
                .ok_or_else(|| fail(format!("the body field {name} is not in {}", input.full_name())))?,
        ),
    };
    if method.is_client_streaming() && !matches!(body, BodyRule::Whole) {
        return Err(fail(
            "a client stream takes its messages from the whole body (`body: \"*\"`)".to_owned(),
        ));
    }
    into.push(Binding {
        method: method.clone(),
        http_method,
        template,
        body,
    });
    if let Some(Value::List(additional)) = rule
        .get_field_by_name("additional_bindings")
        .map(|value| value.into_owned())
    {
        for extra in additional {
            if let Value::Message(extra) = extra {
                rules_of(method, &extra, into)?;
            }
        }
    }
    Ok(())
}

/// The field at a dotted proto path in `message`, through singular message fields.
pub(crate) fn field_at(message: &MessageDescriptor, path: &[String]) -> Result<FieldDescriptor, String> {
    let mut current = message.clone();
    let mut found = None;
    for (index, name) in path.iter().enumerate() {
        let field = current
            .get_field_by_name(name)
            .ok_or_else(|| format!("{} has no field {name}", current.full_name()))?;
        if index + 1 < path.len() {
            match field.kind() {
                Kind::Message(inner) if !field.is_list() && !field.is_map() => current = inner,
                _ => {
                    return Err(format!(
                        "{name} is not a message field that {} can go through",
                        path.join(".")
                    ));
                }
            }
        }
        found = Some(field);
    }
    found.ok_or_else(|| "an empty field path".to_owned())
}

fn refuse_collisions(bindings: &[Binding]) -> Result<(), BindingError> {
    for (index, first) in bindings.iter().enumerate() {
        for second in &bindings[index + 1..] {
            if first.http_method == second.http_method && first.template.collides_with(&second.template) {
                return Err(BindingError::Collision {
                    first: first.method.full_name().to_owned(),
                    second: second.method.full_name().to_owned(),
                    http_method: first.http_method.clone(),
                    template: second.template.to_string(),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bindings() -> Bindings {
        Bindings::load(rti_proto::FILE_DESCRIPTOR_SET, &rti_proto::SERVICE_NAMES).expect("the protos' rules load")
    }

    #[test]
    fn every_rpc_of_every_service_has_a_rest_binding() {
        let bindings = bindings();
        assert_eq!(bindings.unbound(), [] as [String; 0], "RPCs without google.api.http");
        for service in rti_proto::SERVICE_NAMES {
            let pool = DescriptorPool::decode(rti_proto::FILE_DESCRIPTOR_SET).expect("decodes");
            let declared = pool.get_service_by_name(service).expect("declared");
            for method in declared.methods() {
                assert!(
                    bindings
                        .iter()
                        .any(|binding| binding.method.full_name() == method.full_name()),
                    "{} has no binding",
                    method.full_name()
                );
            }
        }
    }

    #[test]
    fn no_two_bindings_answer_the_same_request() {
        // `load` refuses collisions; this checks the check on the real rules, both ways.
        let bindings = bindings();
        assert!(refuse_collisions(&bindings.bindings).is_ok());
        let mut doubled = bindings.bindings.clone();
        doubled.push(doubled[0].clone());
        assert!(matches!(
            refuse_collisions(&doubled),
            Err(BindingError::Collision { .. })
        ));
    }

    #[test]
    fn finds_the_rpc_of_a_method_and_path() {
        let bindings = bindings();
        let (binding, captures) = bindings
            .find(&http::Method::POST, "/v1/access-requests/r-1:submit")
            .expect("bound");
        assert_eq!(binding.grpc_path(), "/rti.intake.v1.IntakeService/SubmitAccessRequest");
        assert_eq!(captures, vec![(vec!["id".to_owned()], "r-1".to_owned())]);
        let (search, _) = bindings
            .find(&http::Method::GET, "/v1/installations:search")
            .expect("bound");
        assert_eq!(search.method.name(), "SearchInstallations");
        assert_eq!(
            bindings.find(&http::Method::DELETE, "/v1/providers/p-1").err(),
            Some(Unrouted::OtherMethods(vec![http::Method::GET, http::Method::PATCH]))
        );
        assert_eq!(
            bindings.find(&http::Method::GET, "/v1/nothing").err(),
            Some(Unrouted::NoPath)
        );
    }

    #[test]
    fn reads_body_rules_and_nested_path_variables() {
        let bindings = bindings();
        let (tariff, captures) = bindings
            .find(&http::Method::POST, "/v1/installations/i-1/tariffs")
            .expect("bound");
        assert!(matches!(&tariff.body, BodyRule::Field(field) if field.name() == "tariff"));
        assert_eq!(captures[0].0, ["tariff", "installation_id"]);
        let (get, _) = bindings.find(&http::Method::GET, "/v1/providers/p-1").expect("bound");
        assert!(matches!(get.body, BodyRule::None));
        let (ingest, _) = bindings
            .find(&http::Method::POST, "/v1/usage-records:ingest")
            .expect("bound");
        assert!(ingest.method.is_client_streaming() && matches!(ingest.body, BodyRule::Whole));
    }

    #[test]
    fn a_set_encoded_without_extension_options_binds_nothing() {
        // What `proto/build.rs` used to write: re-encoding through prost_types drops the rules.
        use prost::Message;
        let decoded = prost_types_set();
        let reencoded = decoded.encode_to_vec();
        let bindings = Bindings::load(&reencoded, &rti_proto::SERVICE_NAMES).expect("decodes");
        assert_eq!(bindings.iter().count(), 0);
        assert!(!bindings.unbound().is_empty());
    }

    fn prost_types_set() -> prost_reflect::prost_types::FileDescriptorSet {
        use prost::Message;
        prost_reflect::prost_types::FileDescriptorSet::decode(rti_proto::FILE_DESCRIPTOR_SET).expect("decodes")
    }
}
