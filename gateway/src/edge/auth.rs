//! Authentication at the edge (DESIGN §4): a call reaches a service only with a valid bearer
//! token, or without one when that service's RPC table makes the method public. The services
//! check again (defence in depth), so the `authorization` header is forwarded unchanged, and no
//! principal is ever passed on in a header of the gateway's own. The `service` role is for calls
//! between the suite's services, which never pass through here: a token that carries it is
//! refused at the edge, whatever the method.

use rti_platform::auth::{Authenticator, Principal, Role};
use rti_platform::authz::AuthzTable;
use tonic::Status;

#[derive(Debug, Clone)]
pub(crate) struct EdgeAuth {
    authenticator: Authenticator,
    tables: Vec<&'static AuthzTable>,
}

impl EdgeAuth {
    pub(crate) fn new(authenticator: Authenticator, tables: Vec<&'static AuthzTable>) -> Self {
        Self { authenticator, tables }
    }

    /// The caller of a call, when it carries a token, which must be valid.
    pub(crate) async fn authenticate(
        &self,
        authorization: Option<&http::HeaderValue>,
    ) -> Result<Option<Principal>, Status> {
        // A token that is present is always verified, even for public methods: a client whose
        // token is bad should hear it here, not get anonymous answers.
        Ok(self.authenticator.authenticate(authorization).await?)
    }

    /// Decides whether `principal` (or an anonymous caller) may call `path`.
    pub(crate) fn authorize(&self, path: &str, principal: Option<&Principal>) -> Result<(), Status> {
        if principal.is_some_and(|principal| principal.has_role(Role::Service)) {
            return Err(Status::permission_denied(
                "service tokens are for calls between the suite's services, not through the gateway",
            ));
        }
        let rule = self
            .tables
            .iter()
            .find_map(|table| table.method_of(path).map(|method| (table, method)));
        match rule {
            Some((table, method)) => table.check(method, principal),
            // An RTI service without a table here cannot say which of its methods are public:
            // let only authenticated callers through and leave the rest to the service.
            None if path.starts_with("/rti.") && principal.is_none() => {
                Err(Status::unauthenticated(format!("{path} needs a bearer token")))
            }
            None => Ok(()),
        }
    }

    /// Decides whether a call to `path` may go on to its service: both steps at once.
    pub(crate) async fn admit(&self, path: &str, authorization: Option<&http::HeaderValue>) -> Result<(), Status> {
        let principal = self.authenticate(authorization).await?;
        self.authorize(path, principal.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rti_platform::authz::{Access, RpcRule};
    use rti_platform::testing::{test_auth, token};
    use tonic::Code;

    static REGISTRY: AuthzTable = AuthzTable {
        service: "rti.registry.v1.RegistryService",
        rules: &[
            RpcRule {
                method: "GetInfrastructure",
                access: Access::Public,
            },
            RpcRule {
                method: "CreateInfrastructure",
                access: Access::Roles(&[Role::Admin]),
            },
        ],
    };

    fn edge() -> EdgeAuth {
        EdgeAuth::new(
            Authenticator::new(&test_auth()).expect("the test secret is long enough"),
            vec![&REGISTRY],
        )
    }

    fn bearer(role: Role) -> http::HeaderValue {
        http::HeaderValue::from_str(&format!("Bearer {}", token(role))).expect("a JWT is ASCII")
    }

    async fn code(path: &str, authorization: Option<&http::HeaderValue>) -> Code {
        edge()
            .admit(path, authorization)
            .await
            .err()
            .map_or(Code::Ok, |status| status.code())
    }

    #[tokio::test]
    async fn public_methods_pass_without_a_token_but_not_with_a_bad_one() {
        let path = "/rti.registry.v1.RegistryService/GetInfrastructure";
        assert_eq!(code(path, None).await, Code::Ok);
        let forged = http::HeaderValue::from_static("Bearer not-a-jwt");
        assert_eq!(code(path, Some(&forged)).await, Code::Unauthenticated);
    }

    #[tokio::test]
    async fn role_methods_need_a_token_with_one_of_the_roles() {
        let path = "/rti.registry.v1.RegistryService/CreateInfrastructure";
        assert_eq!(code(path, None).await, Code::Unauthenticated);
        assert_eq!(code(path, Some(&bearer(Role::Funder))).await, Code::PermissionDenied);
        assert_eq!(code(path, Some(&bearer(Role::Admin))).await, Code::Ok);
    }

    #[tokio::test]
    async fn a_service_token_is_refused_at_the_edge_whatever_the_method() {
        // An edge able to verify it (as with a service token an identity provider issued).
        for path in [
            "/rti.registry.v1.RegistryService/GetInfrastructure",
            "/rti.registry.v1.RegistryService/CreateInfrastructure",
            "/rti.intake.v1.IntakeService/Subscribe",
        ] {
            assert_eq!(
                code(path, Some(&bearer(Role::Service))).await,
                Code::PermissionDenied,
                "{path}"
            );
        }
        assert_eq!(
            code(
                "/rti.registry.v1.RegistryService/CreateInfrastructure",
                Some(&bearer(Role::Admin))
            )
            .await,
            Code::Ok
        );
    }

    #[tokio::test]
    async fn methods_missing_from_the_table_are_denied() {
        let path = "/rti.registry.v1.RegistryService/DropEverything";
        assert_eq!(code(path, Some(&bearer(Role::Admin))).await, Code::PermissionDenied);
    }

    #[tokio::test]
    async fn rti_services_without_a_table_need_a_token() {
        let path = "/rti.intake.v1.IntakeService/CreateRequest";
        assert_eq!(code(path, None).await, Code::Unauthenticated);
        assert_eq!(code(path, Some(&bearer(Role::Applicant))).await, Code::Ok);
        assert_eq!(
            code("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", None).await,
            Code::Ok
        );
    }
}
