//! Endpoint names: how stats count requests and how faults match them.

/// What a request path is, for counting and fault matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An emulated API endpoint, named e.g. `kc.token`.
    Api(&'static str),
    /// `/admin/...`: never counted, never faulted.
    Admin,
    /// Static files and the index: never counted, never faulted.
    Static,
}

impl Kind {
    /// Token endpoints carry a form body with a `grant_type`.
    pub(crate) fn is_token_endpoint(self) -> bool {
        matches!(self, Self::Api("kc.token" | "im.token" | "tnco.token"))
    }
}

/// Every API endpoint name, for the README and `GET /`.
pub(crate) const NAMES: &[(&str, &str)] = &[
    ("lgdx.login", "POST /Identity/Auth/Login"),
    ("lgdx.refresh", "POST /Identity/Auth/Refresh"),
    ("lgdx.realms", "GET /Navigation/Realms"),
    (
        "kc.discovery",
        "GET /realms/{realm}/.well-known/openid-configuration",
    ),
    (
        "kc.certs",
        "GET /realms/{realm}/protocol/openid-connect/certs",
    ),
    (
        "kc.auth",
        "GET|POST /realms/{realm}/protocol/openid-connect/auth",
    ),
    (
        "kc.token",
        "POST /realms/{realm}/protocol/openid-connect/token",
    ),
    (
        "kc.revoke",
        "POST /realms/{realm}/protocol/openid-connect/revoke",
    ),
    (
        "kc.userinfo",
        "GET|POST /realms/{realm}/protocol/openid-connect/userinfo",
    ),
    (
        "kc.device",
        "POST /realms/{realm}/protocol/openid-connect/auth/device",
    ),
    ("kc.device_verify", "GET|POST /realms/{realm}/device"),
    (
        "kc.par",
        "POST /realms/{realm}/protocol/openid-connect/ext/par/request",
    ),
    ("im.token", "POST /im/connect/token"),
    ("im.api", "GET /im/?api-version=1.0"),
    (
        "tnco.token",
        "POST /tnco/oauth/token (alias POST /oauth/token)",
    ),
    ("tnco.api", "GET /tnco/api/resources"),
];

/// Classifies a request path (without its query).
pub(crate) fn classify(path: &str) -> Kind {
    match path {
        "/Identity/Auth/Login" => return Kind::Api("lgdx.login"),
        "/Identity/Auth/Refresh" => return Kind::Api("lgdx.refresh"),
        "/Navigation/Realms" => return Kind::Api("lgdx.realms"),
        "/im/connect/token" => return Kind::Api("im.token"),
        "/im" | "/im/" => return Kind::Api("im.api"),
        "/oauth/token" | "/tnco/oauth/token" => return Kind::Api("tnco.token"),
        "/tnco/api/resources" => return Kind::Api("tnco.api"),
        _ => {}
    }
    if path == "/admin" || path.starts_with("/admin/") {
        return Kind::Admin;
    }
    if let Some(rest) = path.strip_prefix("/realms/") {
        let tail = rest.split_once('/').map_or("", |(_, t)| t);
        let name = match tail {
            ".well-known/openid-configuration" => "kc.discovery",
            "protocol/openid-connect/certs" => "kc.certs",
            "protocol/openid-connect/auth" => "kc.auth",
            "protocol/openid-connect/token" => "kc.token",
            "protocol/openid-connect/revoke" => "kc.revoke",
            "protocol/openid-connect/userinfo" => "kc.userinfo",
            "protocol/openid-connect/auth/device" => "kc.device",
            "device" => "kc.device_verify",
            "protocol/openid-connect/ext/par/request" => "kc.par",
            _ => "kc.other",
        };
        return Kind::Api(name);
    }
    Kind::Static
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            classify("/realms/tokenkeeper/protocol/openid-connect/token"),
            Kind::Api("kc.token")
        );
        assert_eq!(classify("/oauth/token"), Kind::Api("tnco.token"));
        assert_eq!(
            classify("/realms/apiax/protocol/openid-connect/auth/device"),
            Kind::Api("kc.device")
        );
        assert_eq!(
            classify("/realms/apiax/device"),
            Kind::Api("kc.device_verify")
        );
        assert_eq!(
            classify("/realms/tokenkeeper/protocol/openid-connect/ext/par/request"),
            Kind::Api("kc.par")
        );
        assert_eq!(classify("/im/"), Kind::Api("im.api"));
        assert_eq!(classify("/admin/stats"), Kind::Admin);
        assert_eq!(classify("/demo/index.html"), Kind::Static);
        assert!(classify("/im/connect/token").is_token_endpoint());
    }
}
