//! The routing table: which upstream answers a gRPC path, by path prefix (`/rti.registry.v1.` →
//! the registry), and at which addresses (one or several, balanced: `balance`). Data first
//! ([`Routes`]), so tests and new services add routes without code; [`Routes::connect`] turns
//! it into lazy channels, each upstream with its cap on calls in flight (`shed`), once the
//! runtime is up.

use rti_platform::limits::UpstreamLimits;

use super::balance::Balanced;
use super::config::{GatewayError, Upstreams};
use super::shed::InFlightCap;

/// Path prefixes and the addresses of the upstream that answers each; the longest matching
/// prefix wins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routes {
    entries: Vec<(String, Vec<http::Uri>)>,
}

impl Routes {
    /// One route per service package: `/rti.<service>.v1.`.
    pub fn from_upstreams(upstreams: &Upstreams) -> Self {
        Self::default()
            .with_addresses("/rti.registry.v1.", upstreams.registry.clone())
            .with_addresses("/rti.intake.v1.", upstreams.intake.clone())
            .with_addresses("/rti.allocation.v1.", upstreams.allocation.clone())
            .with_addresses("/rti.reporting.v1.", upstreams.reporting.clone())
    }

    /// Adds a route to one address, replacing the one with the same prefix if there is one.
    pub fn with_route(self, prefix: &str, uri: http::Uri) -> Self {
        self.with_addresses(prefix, vec![uri])
    }

    /// Adds a route to an upstream with several addresses, replacing the one with the same
    /// prefix if there is one.
    pub fn with_addresses(mut self, prefix: &str, uris: Vec<http::Uri>) -> Self {
        self.entries.retain(|(existing, _)| existing != prefix);
        self.entries.push((prefix.to_owned(), uris));
        self
    }

    /// The addresses of the upstream that answers `path`, if any.
    pub fn find(&self, path: &str) -> Option<&[http::Uri]> {
        longest_match(&self.entries, path).map(|(_, uris)| uris.as_slice())
    }

    /// Checks every route and opens a lazy channel per address: nothing connects until the
    /// first call, so the gateway starts while the services are still starting. A connection
    /// attempt gives up after the connect timeout, so a call to a host that does not answer
    /// fails with UNAVAILABLE instead of hanging; `limits.deadline` is only a backstop, since
    /// the pass-through gives every call its own deadline. Each upstream takes at most
    /// `max_in_flight` calls at once.
    pub(crate) fn connect(&self, limits: &UpstreamLimits, max_in_flight: usize) -> Result<RouteTable, GatewayError> {
        let mut entries = Vec::with_capacity(self.entries.len());
        for (prefix, uris) in &self.entries {
            if !prefix.starts_with('/') {
                return Err(GatewayError::Config(format!(
                    "the route prefix {prefix:?} must start with '/'"
                )));
            }
            if uris.is_empty() {
                return Err(GatewayError::Config(format!("the upstream of {prefix} has no address")));
            }
            if let Some(uri) = uris
                .iter()
                .find(|uri| uri.scheme() != Some(&http::uri::Scheme::HTTP) || uri.authority().is_none())
            {
                return Err(GatewayError::Config(format!(
                    "the upstream of {prefix} is {uri}; it must be http://host:port (TLS to upstreams is not supported)"
                )));
            }
            let upstream = Upstream {
                service: Balanced::new(uris, limits),
                places: InFlightCap::new(max_in_flight),
            };
            entries.push((prefix.clone(), upstream));
        }
        Ok(RouteTable { entries })
    }
}

/// One upstream service: its addresses and its places for calls in flight.
#[derive(Debug, Clone)]
pub(crate) struct Upstream {
    pub(crate) service: Balanced,
    pub(crate) places: InFlightCap,
}

/// [`Routes`] with channels per upstream. Cheap to clone: channels share their connections.
#[derive(Debug, Clone)]
pub(crate) struct RouteTable {
    entries: Vec<(String, Upstream)>,
}

impl RouteTable {
    /// The upstream that answers `path`, if any.
    pub(crate) fn upstream_for(&self, path: &str) -> Option<&Upstream> {
        longest_match(&self.entries, path).map(|(_, upstream)| upstream)
    }

    /// The channel to the upstream that serves the gRPC service `service_name`, if any.
    pub(crate) fn channel_for_service(&self, service_name: &str) -> Option<&Balanced> {
        self.upstream_for(&format!("/{service_name}/"))
            .map(|upstream| &upstream.service)
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
            registry: vec![uri("http://registry:1"), uri("http://registry:11")],
            intake: vec![uri("http://intake:2")],
            allocation: vec![uri("http://allocation:3")],
            reporting: vec![uri("http://reporting:4")],
        }
    }

    #[test]
    fn routes_each_package_to_its_service() {
        let routes = Routes::from_upstreams(&upstreams());
        assert_eq!(
            routes.find("/rti.intake.v1.IntakeService/CreateRequest"),
            Some(&[uri("http://intake:2")][..])
        );
        assert_eq!(
            routes.find("/rti.reporting.v1.ReportingService/Usage"),
            Some(&[uri("http://reporting:4")][..])
        );
        assert_eq!(
            routes.find("/rti.registry.v1.RegistryService/GetProvider"),
            Some(&[uri("http://registry:1"), uri("http://registry:11")][..])
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
            Some(&[uri("http://events:5")][..])
        );
        assert_eq!(
            routes
                .find("/rti.registry.v1.RegistryService/GetProvider")
                .map(<[http::Uri]>::len),
            Some(2)
        );
    }

    #[test]
    fn a_route_with_the_same_prefix_replaces_the_old_one() {
        let routes = Routes::from_upstreams(&upstreams()).with_route("/rti.registry.v1.", uri("http://elsewhere:6"));
        assert_eq!(
            routes.find("/rti.registry.v1.RegistryService/GetProvider"),
            Some(&[uri("http://elsewhere:6")][..])
        );
    }

    #[tokio::test]
    async fn rejects_upstreams_that_are_not_plain_http_urls() {
        let https = Routes::default().with_route("/rti.registry.v1.", uri("https://registry:1"));
        let connect = |routes: &Routes| routes.connect(&UpstreamLimits::default(), 8);
        assert!(matches!(connect(&https), Err(GatewayError::Config(message)) if message.contains("http://host:port")));
        let one_of_two = Routes::default().with_addresses(
            "/rti.registry.v1.",
            vec![uri("http://registry:1"), uri("https://registry:2")],
        );
        assert!(connect(&one_of_two).is_err());
        let relative = Routes::default().with_route("/rti.registry.v1.", uri("/registry"));
        assert!(connect(&relative).is_err());
        let no_slash = Routes::default().with_route("rti.registry.v1.", uri("http://registry:1"));
        assert!(connect(&no_slash).is_err());
        let nowhere = Routes::default().with_addresses("/rti.registry.v1.", Vec::new());
        assert!(matches!(connect(&nowhere), Err(GatewayError::Config(message)) if message.contains("has no address")));
    }
}
