//! Path templates of `google.api.http` rules (`/v1/installations/{id}`,
//! `/v1/access-requests/{id}:submit`, `/v1/files/{name=**}`) and matching a request path against
//! them. axum's router cannot express a `:verb` suffix on a variable segment, so the REST side
//! matches paths itself, as Envoy's transcoder and grpc-gateway do. The grammar is the one
//! `google/api/http.proto` documents:
//!
//! ```text
//! Template = "/" Segments [ Verb ] ;   Segments = Segment { "/" Segment } ;
//! Segment  = "*" | "**" | LITERAL | Variable ;   Variable = "{" FieldPath [ "=" Segments ] "}" ;
//! Verb     = ":" LITERAL ;
//! ```

use std::fmt;

/// One segment of a template, variables flattened into the segments they cover.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    /// `*`: exactly one segment.
    One,
    /// `**`: the rest of the path, one segment or more; only last.
    Rest,
}

/// A variable: the request field it sets and the segments it covers, `start..end`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Variable {
    /// The proto field path, e.g. `["tariff", "installation_id"]`.
    pub(crate) field_path: Vec<String>,
    start: usize,
    end: usize,
}

/// A parsed path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PathTemplate {
    text: String,
    segments: Vec<Segment>,
    variables: Vec<Variable>,
    verb: Option<String>,
}

/// Why a template does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the path template {template:?} is invalid: {reason}")]
pub(crate) struct TemplateError {
    template: String,
    reason: String,
}

/// The values a matched path gives its variables, percent-decoded, by field path.
pub(crate) type Captures = Vec<(Vec<String>, String)>;

impl PathTemplate {
    pub(crate) fn parse(text: &str) -> Result<Self, TemplateError> {
        let fail = |reason: &str| TemplateError {
            template: text.to_owned(),
            reason: reason.to_owned(),
        };
        let body = text.strip_prefix('/').ok_or_else(|| fail("it must start with '/'"))?;
        // The verb follows the last ':' that is outside braces.
        let (path, verb) = match body.rfind(':') {
            Some(colon) if !body[colon..].contains('}') => (&body[..colon], Some(body[colon + 1..].to_owned())),
            _ => (body, None),
        };
        if verb
            .as_deref()
            .is_some_and(|verb| verb.is_empty() || verb.contains('/'))
        {
            return Err(fail("the verb after ':' must be one non-empty literal"));
        }
        let mut segments = Vec::new();
        let mut variables = Vec::new();
        let mut rest = path;
        while !rest.is_empty() {
            if let Some(inner) = rest.strip_prefix('{') {
                let close = inner.find('}').ok_or_else(|| fail("a '{' is not closed"))?;
                let (field, pattern) = match inner[..close].split_once('=') {
                    Some((field, pattern)) => (field, pattern),
                    None => (&inner[..close], "*"),
                };
                if field.is_empty() || !field.split('.').all(is_identifier) {
                    return Err(fail(
                        "a variable must name a field path such as `tariff.installation_id`",
                    ));
                }
                let start = segments.len();
                for piece in pattern.split('/') {
                    segments.push(plain_segment(piece).ok_or_else(|| fail("a variable's pattern is invalid"))?);
                }
                variables.push(Variable {
                    field_path: field.split('.').map(str::to_owned).collect(),
                    start,
                    end: segments.len(),
                });
                rest = &inner[close + 1..];
            } else {
                let end = rest.find('/').unwrap_or(rest.len());
                let piece = &rest[..end];
                if piece.contains(['{', '}']) {
                    return Err(fail("a variable must take a whole segment"));
                }
                segments.push(plain_segment(piece).ok_or_else(|| fail("a segment is empty"))?);
                rest = &rest[end..];
            }
            rest = match rest.strip_prefix('/') {
                Some("") => return Err(fail("it must not end with '/'")),
                Some(next) => next,
                None if rest.is_empty() => rest,
                None => return Err(fail("segments must be separated by '/'")),
            };
        }
        if segments.is_empty() {
            return Err(fail("it has no segment"));
        }
        if segments.iter().rev().skip(1).any(|segment| *segment == Segment::Rest) {
            return Err(fail("`**` may only be the last segment"));
        }
        Ok(Self {
            text: text.to_owned(),
            segments,
            variables,
            verb,
        })
    }

    pub(crate) fn variables(&self) -> &[Variable] {
        &self.variables
    }

    /// The variables' values if `path` (as sent, percent-encoded) matches, else `None`.
    pub(crate) fn matches(&self, path: &str) -> Option<Captures> {
        let mut raw: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
        if let Some(verb) = &self.verb {
            let last = raw.pop()?;
            let stem = last.strip_suffix(verb.as_str())?.strip_suffix(':')?;
            raw.push(stem);
        }
        let fits = match self.segments.last() {
            Some(Segment::Rest) => raw.len() >= self.segments.len(),
            _ => raw.len() == self.segments.len(),
        };
        if !fits {
            return None;
        }
        let decoded: Vec<String> = raw.iter().map(|segment| decode(segment)).collect::<Option<_>>()?;
        for (index, segment) in self.segments.iter().enumerate() {
            let ok = match segment {
                Segment::Literal(literal) => decoded[index] == *literal,
                Segment::One => !decoded[index].is_empty(),
                Segment::Rest => decoded[index..].iter().all(|piece| !piece.is_empty()),
            };
            if !ok {
                return None;
            }
        }
        let captures = self
            .variables
            .iter()
            .map(|variable| {
                let end = if self.segments.get(variable.end - 1) == Some(&Segment::Rest) {
                    decoded.len()
                } else {
                    variable.end
                };
                (variable.field_path.clone(), decoded[variable.start..end].join("/"))
            })
            .collect();
        Some(captures)
    }

    /// Whether some path matches both templates (the HTTP methods are compared elsewhere).
    pub(crate) fn collides_with(&self, other: &PathTemplate) -> bool {
        if self.verb != other.verb {
            return false;
        }
        let compatible = |left: &Segment, right: &Segment| match (left, right) {
            (Segment::Literal(left), Segment::Literal(right)) => left == right,
            _ => true,
        };
        let (short, long) = if self.segments.len() <= other.segments.len() {
            (&self.segments, &other.segments)
        } else {
            (&other.segments, &self.segments)
        };
        // `**` takes one segment or more, so only the shorter template's can reach further.
        let lengths_fit = short.len() == long.len() || short.last() == Some(&Segment::Rest);
        lengths_fit
            && short
                .iter()
                .zip(long.iter())
                .all(|(left, right)| compatible(left, right))
    }
}

impl fmt::Display for PathTemplate {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.text)
    }
}

fn plain_segment(piece: &str) -> Option<Segment> {
    match piece {
        "" => None,
        "*" => Some(Segment::One),
        "**" => Some(Segment::Rest),
        literal if literal.contains(['*', '{', '}', '=']) => None,
        literal => Some(Segment::Literal(literal.to_owned())),
    }
}

fn is_identifier(name: &str) -> bool {
    let mut characters = name.chars();
    characters
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && characters.all(|character| character.is_ascii_alphanumeric() || character == '_')
}

/// A percent-decoded segment; `None` when it is not UTF-8 once decoded.
fn decode(segment: &str) -> Option<String> {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8()
        .ok()
        .map(|decoded| decoded.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(text: &str) -> PathTemplate {
        PathTemplate::parse(text).expect("a valid template")
    }

    fn captured(text: &str, path: &str) -> Option<Vec<(String, String)>> {
        template(text).matches(path).map(|captures| {
            captures
                .into_iter()
                .map(|(field, value)| (field.join("."), value))
                .collect()
        })
    }

    fn pairs(entries: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
        Some(
            entries
                .iter()
                .map(|(field, value)| ((*field).to_owned(), (*value).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn literal_paths_match_only_themselves() {
        assert_eq!(captured("/v1/providers", "/v1/providers"), pairs(&[]));
        assert_eq!(captured("/v1/providers", "/v1/provider"), None);
        assert_eq!(captured("/v1/providers", "/v1/providers/"), None);
        assert_eq!(captured("/v1/providers", "/v1/providers/x"), None);
    }

    #[test]
    fn variables_capture_one_non_empty_segment_into_their_field_path() {
        assert_eq!(
            captured("/v1/providers/{id}", "/v1/providers/p-1"),
            pairs(&[("id", "p-1")])
        );
        assert_eq!(captured("/v1/providers/{id}", "/v1/providers/"), None);
        assert_eq!(captured("/v1/providers/{id}", "/v1/providers/a/b"), None);
        assert_eq!(
            captured(
                "/v1/installations/{tariff.installation_id}/tariffs",
                "/v1/installations/i-9/tariffs"
            ),
            pairs(&[("tariff.installation_id", "i-9")])
        );
    }

    #[test]
    fn a_verb_suffix_must_be_present_and_is_not_part_of_the_variable() {
        let submit = "/v1/access-requests/{id}:submit";
        assert_eq!(
            captured(submit, "/v1/access-requests/r-1:submit"),
            pairs(&[("id", "r-1")])
        );
        assert_eq!(captured(submit, "/v1/access-requests/r-1"), None);
        assert_eq!(captured(submit, "/v1/access-requests/r-1:withdraw"), None);
        assert_eq!(captured(submit, "/v1/access-requests/:submit"), None);
        assert_eq!(
            captured("/v1/installations:search", "/v1/installations:search"),
            pairs(&[])
        );
        assert_eq!(captured("/v1/installations:search", "/v1/installations"), None);
        // Without a verb in the template a colon is an ordinary character of the value.
        assert_eq!(
            captured("/v1/providers/{id}", "/v1/providers/a:b"),
            pairs(&[("id", "a:b")])
        );
    }

    #[test]
    fn values_are_percent_decoded() {
        assert_eq!(
            captured("/v1/providers/{id}", "/v1/providers/caf%C3%A9%20%2F%3Asubmit"),
            pairs(&[("id", "café /:submit")])
        );
        assert_eq!(captured("/v1/providers/{id}", "/v1/providers/%FF"), None);
    }

    #[test]
    fn a_double_star_takes_the_rest_of_the_path() {
        let files = "/v1/{name=files/**}:download";
        assert_eq!(
            captured(files, "/v1/files/a/b/c:download"),
            pairs(&[("name", "files/a/b/c")])
        );
        assert_eq!(captured(files, "/v1/files:download"), None);
        assert_eq!(captured(files, "/v1/other/a:download"), None);
    }

    #[test]
    fn refuses_malformed_templates() {
        for text in [
            "v1/providers",
            "/v1/providers/",
            "/v1//providers",
            "/v1/{id",
            "/v1/{}",
            "/v1/{1d}",
            "/v1/x{id}",
            "/v1/{id}:",
            "/v1/**/x",
        ] {
            assert!(PathTemplate::parse(text).is_err(), "{text} should not parse");
        }
    }

    #[test]
    fn tells_templates_that_share_a_path_from_those_that_do_not() {
        let collide = |left: &str, right: &str| template(left).collides_with(&template(right));
        assert!(collide("/v1/providers/{id}", "/v1/providers/{provider_id}"));
        assert!(collide("/v1/providers/{id}", "/v1/providers/special"));
        assert!(collide("/v1/{name=**}", "/v1/providers/{id}"));
        assert!(!collide("/v1/providers/{id}", "/v1/providers"));
        assert!(!collide("/v1/providers/{id}", "/v1/providers/{id}:publish"));
        assert!(!collide(
            "/v1/installations/{id}/tariffs",
            "/v1/installations/{id}/kpis"
        ));
        assert!(!collide("/v1/installations:search", "/v1/installations"));
        assert!(!collide("/v1/{name=files/**}", "/v1/files"));
    }
}
