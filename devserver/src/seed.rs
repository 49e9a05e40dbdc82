//! The seeded demo credentials of every style. They are public test values:
//! never use them outside this emulator.

/// A demo user (LGDX login, Keycloak password grant and login form).
#[derive(Debug, Clone, Copy)]
pub struct User {
    /// Login name.
    pub username: &'static str,
    /// Password.
    pub password: &'static str,
    /// Stable `sub` claim.
    pub subject: &'static str,
    /// Display name.
    pub name: &'static str,
    /// E-mail address.
    pub email: &'static str,
}

/// The demo users, shared by the LGDX and Keycloak styles.
pub const USERS: &[User] = &[
    User {
        username: "demo",
        password: "demo-password",
        subject: "5b3f1c2e-8d4b-4c1e-9a55-2f0d3c4b5a61",
        name: "Demo User",
        email: "demo@tokenkeeper.test",
    },
    User {
        username: "alice",
        password: "alice-password",
        subject: "0d7e9a44-2b6c-4f1a-8e3d-9c5b7a6f4e21",
        name: "Alice Example",
        email: "alice@tokenkeeper.test",
    },
];

/// LGDX style: the value of the `X-API-Key` header.
pub const LGDX_API_KEY: &str = "lgdx-demo-api-key";

/// Keycloak style: the realms that exist (others answer 404).
pub const KC_REALMS: &[&str] = &["tokenkeeper", "apiax"];

/// A client of the Keycloak, Identity Manager or TNCO style.
#[derive(Debug, Clone, Copy)]
pub struct Client {
    /// `client_id`.
    pub id: &'static str,
    /// `client_secret`; `None` for a public client.
    pub secret: Option<&'static str>,
}

/// Keycloak style: the public PKCE/password client (no secret).
pub const KC_PUBLIC_CLIENT: Client = Client {
    id: "tokenkeeper-demo",
    secret: None,
};

/// Keycloak style: the confidential client (all grants, incl. client_credentials).
pub const KC_CONFIDENTIAL_CLIENT: Client = Client {
    id: "tokenkeeper-confidential",
    secret: Some("confidential-secret"),
};

/// Keycloak style: every client.
pub const KC_CLIENTS: &[Client] = &[KC_PUBLIC_CLIENT, KC_CONFIDENTIAL_CLIENT];

/// Identity Manager style: the job client (the id contains '@').
pub const IM_CLIENT: Client = Client {
    id: "Job@identitymanager.demo",
    secret: Some("im-demo-secret"),
};

/// Identity Manager style: the only scope.
pub const IM_SCOPE: &str = "usercube_api";

/// TNCO style: the plain client.
pub const TNCO_CLIENT: Client = Client {
    id: "LmClient",
    secret: Some("tnco-demo-secret"),
};

/// TNCO style: a client whose id and secret need form-urlencoding inside
/// the Basic header (RFC 6749 §2.3.1).
pub const TNCO_SPECIAL_CLIENT: Client = Client {
    id: "tnco client@demo",
    secret: Some("s3cr3t:with/special+chars%&="),
};

/// TNCO style: every client.
pub const TNCO_CLIENTS: &[Client] = &[TNCO_CLIENT, TNCO_SPECIAL_CLIENT];

/// The user with this name and password.
pub(crate) fn user_by_password(username: &str, password: &str) -> Option<&'static User> {
    USERS
        .iter()
        .find(|u| u.username == username && ct_eq(u.password, password))
}

/// The user with this `sub`.
pub(crate) fn user_by_subject(subject: &str) -> Option<&'static User> {
    USERS.iter().find(|u| u.subject == subject)
}

/// Equality whose time does not depend on where the strings differ.
pub(crate) fn ct_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
