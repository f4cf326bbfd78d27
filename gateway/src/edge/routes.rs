//! The routing table: which upstream answers a gRPC path, by path prefix (`/rti.registry.v1.` →
//! the registry). Data first ([`Routes`]), so tests and new services add routes without code;
//! [`Routes::connect`] turns it into lazy channels once the runtime is up.

use rti_platform::limits::UpstreamLimits;
use tonic::transport::Channel;

use super::config::{GatewayError, Upstreams};

/// Path prefixes and the upstream that answers each; the longest matching prefix wins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routes {
    entries: Vec<(String, http::Uri)>,
}

impl Routes {
    /// One route per service package: `/rti.<service>.v1.`.
    pub fn from_upstreams(upstreams: &Upstreams) -> Self {
        Self::default()
            .with_route("/rti.registry.v1.", upstreams.registry.clone())
            .with_route("/rti.intake.v1.", upstreams.intake.clone())
            .with_route("/rti.allocation.v1.", upstreams.allocation.clone())
            .with_route("/rti.reporting.v1.", upstreams.reporting.clone())
    }

    /// Adds a route, replacing the one with the same prefix if there is one.
    pub fn with_route(mut self, prefix: &str, uri: http::Uri) -> Self {
        self.entries.retain(|(existing, _)| existing != prefix);
        self.entries.push((prefix.to_owned(), uri));
        self
    }

    /// The upstream that answers `path`, if any.
    pub fn find(&self, path: &str) -> Option<&http::Uri> {
        longest_match(&self.entries, path).map(|(_, uri)| uri)
    }

    /// Checks every route and opens a lazy channel per route: nothing connects until the first
    /// call, so the gateway starts while the services are still starting. A connection attempt
    /// gives up after the connect timeout, so a call to a host that does not answer fails with
    /// UNAVAILABLE instead of hanging; `limits.deadline` is only a backstop, since the
    /// pass-through gives every call its own deadline.
    pub(crate) fn connect(&self, limits: &UpstreamLimits) -> Result<RouteTable, GatewayError> {
        let mut entries = Vec::with_capacity(self.entries.len());
        for (prefix, uri) in &self.entries {
            if !prefix.starts_with('/') {
                return Err(GatewayError::Config(format!(
                    "the route prefix {prefix:?} must start with '/'"
                )));
            }
            if uri.scheme() != Some(&http::uri::Scheme::HTTP) || uri.authority().is_none() {
                return Err(GatewayError::Config(format!(
                    "the upstream of {prefix} is {uri}; it must be http://host:port (TLS to upstreams is not supported)"
                )));
            }
            let channel = limits.channel(uri.clone());
            entries.push((prefix.clone(), channel));
        }
        Ok(RouteTable { entries })
    }
}

/// [`Routes`] with a channel per upstream. Cheap to clone: channels share their connection.
#[derive(Debug, Clone)]
pub(crate) struct RouteTable {
    entries: Vec<(String, Channel)>,
}

impl RouteTable {
    /// The channel to the upstream that answers `path`, if any.
    pub(crate) fn channel_for(&self, path: &str) -> Option<&Channel> {
        longest_match(&self.entries, path).map(|(_, channel)| channel)
    }

    /// The channel to the upstream that serves the gRPC service `service_name`, if any.
    pub(crate) fn channel_for_service(&self, service_name: &str) -> Option<&Channel> {
        self.channel_for(&format!("/{service_name}/"))
    }

    /// Whether some route covers the paths of the gRPC service `service_name`.
    pub(crate) fn covers_service(&self, service_name: &str) -> bool {
        self.channel_for_service(service_name).is_some()
    }
}

fn longest_match<'entries, T>(entries: &'entries [(String, T)], path: &str) -> Option<&'entries (String, T)> {
    entries
        .iter()
        .filter(|(prefix, _)| path.starts_with(prefix.as_str()))
        .max_by_key(|(prefix, _)| prefix.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(text: &'static str) -> http::Uri {
        http::Uri::from_static(text)
    }

    fn upstreams() -> Upstreams {
        Upstreams {
            registry: uri("http://registry:1"),
            intake: uri("http://intake:2"),
            allocation: uri("http://allocation:3"),
            reporting: uri("http://reporting:4"),
        }
    }

    #[test]
    fn routes_each_package_to_its_service() {
        let routes = Routes::from_upstreams(&upstreams());
        assert_eq!(
            routes.find("/rti.intake.v1.IntakeService/CreateRequest"),
            Some(&uri("http://intake:2"))
        );
        assert_eq!(
            routes.find("/rti.reporting.v1.ReportingService/Usage"),
            Some(&uri("http://reporting:4"))
        );
        assert_eq!(routes.find("/rti.intake.v2.IntakeService/CreateRequest"), None);
        assert_eq!(routes.find("/grpc.health.v1.Health/Check"), None);
    }

    #[test]
    fn the_longest_prefix_wins_whatever_the_order() {
        let routes = Routes::from_upstreams(&upstreams())
            .with_route("/rti.registry.v1.RegistryService/Subscribe", uri("http://events:5"));
        assert_eq!(
            routes.find("/rti.registry.v1.RegistryService/Subscribe"),
            Some(&uri("http://events:5"))
        );
        assert_eq!(
            routes.find("/rti.registry.v1.RegistryService/GetProvider"),
            Some(&uri("http://registry:1"))
        );
    }

    #[test]
    fn a_route_with_the_same_prefix_replaces_the_old_one() {
        let routes = Routes::from_upstreams(&upstreams()).with_route("/rti.registry.v1.", uri("http://elsewhere:6"));
        assert_eq!(
            routes.find("/rti.registry.v1.RegistryService/GetProvider"),
            Some(&uri("http://elsewhere:6"))
        );
    }

    #[tokio::test]
    async fn rejects_upstreams_that_are_not_plain_http_urls() {
        let https = Routes::default().with_route("/rti.registry.v1.", uri("https://registry:1"));
        assert!(
            matches!(https.connect(&UpstreamLimits::default()), Err(GatewayError::Config(message)) if message.contains("http://host:port"))
        );
        let relative = Routes::default().with_route("/rti.registry.v1.", uri("/registry"));
        assert!(relative.connect(&UpstreamLimits::default()).is_err());
        let no_slash = Routes::default().with_route("rti.registry.v1.", uri("http://registry:1"));
        assert!(no_slash.connect(&UpstreamLimits::default()).is_err());
    }
}
