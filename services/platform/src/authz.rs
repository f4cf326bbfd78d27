//! Authorization by table (DESIGN §4): each service lists every RPC with the roles allowed to
//! call it. The check runs before the request is decoded or validated, so an unauthorized caller
//! learns nothing from validation errors. Object-level checks (this operator's own
//! infrastructures, this applicant's own requests) stay in the service, next to the data.

use crate::auth::{Principal, Role};
use tonic::Status;

/// Who may call an RPC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, with or without a token (catalogue reads).
    Public,
    /// A verified token with at least one of these roles.
    Roles(&'static [Role]),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RpcRule {
    /// The method name, e.g. `CreateInfrastructure`.
    pub method: &'static str,
    pub access: Access,
}

/// A service's RPC × role table.
#[derive(Debug, Clone, Copy)]
pub struct AuthzTable {
    /// The fully qualified service name, e.g. `rti.registry.v1.RegistryService`.
    pub service: &'static str,
    pub rules: &'static [RpcRule],
}

impl AuthzTable {
    /// The method name of a gRPC path of this service, `None` for other services' paths.
    pub fn method_of<'path>(&self, path: &'path str) -> Option<&'path str> {
        path.strip_prefix('/')?.strip_prefix(self.service)?.strip_prefix('/')
    }

    pub fn access(&self, method: &str) -> Option<Access> {
        self.rules
            .iter()
            .find(|rule| rule.method == method)
            .map(|rule| rule.access)
    }

    /// Decides a call. A method missing from the table is denied.
    pub fn check(&self, method: &str, principal: Option<&Principal>) -> Result<(), Status> {
        match self.access(method) {
            None => Err(Status::permission_denied(format!(
                "{}/{method} is not open to any caller",
                self.service
            ))),
            Some(Access::Public) => Ok(()),
            Some(Access::Roles(roles)) => {
                let principal =
                    principal.ok_or_else(|| Status::unauthenticated(format!("{method} needs a bearer token")))?;
                if roles.iter().any(|role| principal.has_role(*role)) {
                    Ok(())
                } else {
                    let allowed: Vec<_> = roles.iter().map(|role| role.as_str()).collect();
                    Err(Status::permission_denied(format!(
                        "{method} is for the roles: {}",
                        allowed.join(", ")
                    )))
                }
            }
        }
    }
}

/// The methods a service declares in the shipped descriptor set, in declaration order.
pub fn declared_methods(service: &str) -> Vec<String> {
    use prost::Message;
    let Ok(descriptors) = prost_types::FileDescriptorSet::decode(rti_proto::FILE_DESCRIPTOR_SET) else {
        return Vec::new();
    };
    descriptors
        .file
        .iter()
        .flat_map(|file| {
            file.service
                .iter()
                .filter(move |declared| format!("{}.{}", file.package(), declared.name()) == service)
        })
        .flat_map(|declared| declared.method.iter().map(|method| method.name().to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use tonic::Code;

    const TABLE: AuthzTable = AuthzTable {
        service: "rti.test.v1.TestService",
        rules: &[
            RpcRule {
                method: "Read",
                access: Access::Public,
            },
            RpcRule {
                method: "Write",
                access: Access::Roles(&[Role::Admin, Role::Operator]),
            },
        ],
    };

    fn principal(roles: &[Role]) -> Principal {
        Principal {
            subject: "someone".into(),
            roles: roles.iter().copied().collect(),
            org: None,
            infrastructures: BTreeSet::new(),
            country: None,
            eu: false,
        }
    }

    #[test]
    fn finds_the_method_of_its_own_paths_only() {
        assert_eq!(TABLE.method_of("/rti.test.v1.TestService/Write"), Some("Write"));
        assert_eq!(TABLE.method_of("/rti.test.v1.TestServiceX/Write"), None);
        assert_eq!(TABLE.method_of("/grpc.health.v1.Health/Check"), None);
    }

    #[test]
    fn public_methods_need_no_token() {
        assert!(TABLE.check("Read", None).is_ok());
    }

    #[test]
    fn role_methods_need_a_token_and_one_of_the_roles() {
        assert_eq!(
            TABLE.check("Write", None).expect_err("anonymous").code(),
            Code::Unauthenticated
        );
        assert_eq!(
            TABLE
                .check("Write", Some(&principal(&[Role::Funder])))
                .expect_err("funder")
                .code(),
            Code::PermissionDenied
        );
        assert!(
            TABLE
                .check("Write", Some(&principal(&[Role::Funder, Role::Operator])))
                .is_ok()
        );
    }

    #[test]
    fn methods_missing_from_the_table_are_denied_even_to_admins() {
        let status = TABLE
            .check("Delete", Some(&principal(&[Role::Admin])))
            .expect_err("not listed");
        assert_eq!(status.code(), Code::PermissionDenied);
    }
}
