//! The REST transcoder's entry points for the fuzz targets in `fuzz/` (issue 15): a path
//! template parsed and a path matched against it, and a whole REST request read into the gRPC
//! frames the pass-through would forward, against the suite's own bindings. Only the `fuzzing`
//! feature builds this, so the transcoder's types stay private to the crate.

use rti_platform::limits::CallLimits;

use super::bindings::Bindings;
use super::template::PathTemplate;

/// What matching a path against a template gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateMatch {
    /// The template as written, which it must print back.
    pub text: String,
    /// The variables the template declares.
    pub variables: usize,
    /// Whether the template collides with itself, as every template must.
    pub collides_with_itself: bool,
    /// The captured values by dotted field path, when the path matches.
    pub captures: Option<Vec<(String, String)>>,
}

/// Parses `template` and matches `path` (as sent, percent-encoded) against it; the error is why
/// the template does not parse.
pub fn match_template(template: &str, path: &str) -> Result<TemplateMatch, String> {
    let parsed = PathTemplate::parse(template).map_err(|error| error.to_string())?;
    let captures = parsed.matches(path).map(|captures| {
        captures
            .into_iter()
            .map(|(field_path, value)| (field_path.join("."), value))
            .collect()
    });
    Ok(TemplateMatch {
        text: parsed.to_string(),
        variables: parsed.variables().len(),
        collides_with_itself: parsed.collides_with(&parsed),
        captures,
    })
}

/// A refused REST request: the HTTP status the gateway would answer with, and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub message: String,
}

/// The REST routes of the suite's four services, read once from the shipped descriptor set.
#[derive(Debug)]
pub struct RestRoutes {
    bindings: Bindings,
    calls: CallLimits,
}

impl RestRoutes {
    pub fn load() -> Result<Self, String> {
        let bindings = Bindings::load(rti_proto::FILE_DESCRIPTOR_SET, &rti_proto::SERVICE_NAMES)
            .map_err(|error| error.to_string())?;
        Ok(Self {
            bindings,
            calls: CallLimits::default(),
        })
    }

    /// Every route as `(HTTP method, path template)`, to seed a corpus from.
    pub fn routes(&self) -> Vec<(String, String)> {
        self.bindings
            .iter()
            .map(|binding| (binding.http_method.to_string(), binding.template.to_string()))
            .collect()
    }

    /// The gRPC path and frames of a REST request, as the gateway would forward them, or the
    /// refusal it would answer: no route (404), another method (405), or the request's fault.
    pub fn request(
        &self,
        http_method: &http::Method,
        path: &str,
        query: Option<&str>,
        body: &[u8],
    ) -> Result<(String, Vec<u8>), Refusal> {
        let (binding, captures) = self.bindings.find(http_method, path).map_err(|unrouted| Refusal {
            status: match unrouted {
                super::Unrouted::NoPath => 404,
                super::Unrouted::OtherMethods(_) => 405,
            },
            message: path.to_owned(),
        })?;
        let frames = super::grpc_body(binding, &captures, query, body, &self.calls).map_err(|error| Refusal {
            status: error.http_status().as_u16(),
            message: error.message().to_owned(),
        })?;
        Ok((binding.grpc_path(), frames))
    }
}
