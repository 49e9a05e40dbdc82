//! Configuration as endpoint profiles, not forks: one OAuth 2.0 token
//! endpoint profile and one custom JSON profile, plus a refresh policy.
//!
//! [`Config::from_value`] reads the JS options' JSON form, camelCase names
//! as the options spell them:
//!
//! ```json
//! { "profile": { "kind": "oauth2", "tokenUrl": "https://as.example/token",
//!                "clientId": "app", "clientSecret": "…", "clientAuth": "basic",
//!                "scope": "api", "extraParams": { "audience": "x" } },
//!   "refresh": { "leadFraction": 0.2 } }
//! ```
//!
//! A JSON profile names where each token's expiry is read, in order of
//! preference (here LGDXRobot Cloud's whole minutes, then the JWT `exp`):
//!
//! ```json
//! { "profile": { "kind": "json", "loginUrl": "https://api.example/Identity/Auth/Login",
//!                "refreshUrl": "https://api.example/Identity/Auth/Refresh",
//!                "expiry": [{ "field": "expiresMins", "unit": "minutes" }, "jwt"],
//!                "refreshExpiry": [{ "field": "refreshExpiresAt", "unit": "iso8601" }] } }
//! ```
//!
//! A source is `"jwt"` (the token's own `exp`) or `{ field, unit }` with a
//! lifetime unit (`"seconds"`, `"minutes"`) or an absolute one
//! (`"epochSeconds"`, `"epochMillis"`, `"iso8601"`); see [`ExpirySource`]
//! and, for how values are read, [`crate::core::response`].
//!
//! An unknown member or a mistyped value is an error naming the member,
//! never quoting the value. [`Config::validate`] then rejects an invalid
//! configuration with a message that names the field;
//! [`crate::core::session::Session::new`] calls it.

use super::api::{ApiOptions, ApiPolicy};
use super::error::Error;
use super::members::Members;
use super::secret::ClientSecret;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

/// The whole core configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The token endpoint profile.
    pub profile: Profile,
    /// When to refresh and how to back off.
    pub refresh: RefreshPolicy,
    /// Allows `http:` endpoints on hosts other than loopback (development
    /// only; RFC 6749 §3.2 requires TLS).
    pub allow_insecure_http: bool,
    /// What `keeper.fetch` does at resource servers: `allowedOrigins` and
    /// `rejectStatuses` (see [`ApiPolicy`]).
    pub api: ApiOptions,
}

/// Which token endpoint dialect to speak.
#[derive(Debug, Clone)]
pub enum Profile {
    /// An RFC 6749 token endpoint (`"kind": "oauth2"`).
    OAuth2(OAuth2Profile),
    /// A custom JSON login/refresh API (`"kind": "json"`).
    Json(JsonProfile),
}

/// An OAuth 2.0 token endpoint (RFC 6749 §3.2).
#[derive(Debug, Clone)]
pub struct OAuth2Profile {
    /// The token endpoint (RFC 6749 §3.2): absolute, https (http only on
    /// loopback), no fragment, no user info.
    pub token_url: String,
    /// The client identifier (RFC 6749 §2.2).
    pub client_id: String,
    /// The client secret for confidential clients (RFC 6749 §2.3.1).
    pub client_secret: Option<ClientSecret>,
    /// How to authenticate the client; defaults to `basic` with a secret and
    /// `none` without.
    pub client_auth: Option<ClientAuth>,
    /// The scope to request at login (RFC 6749 §3.3); never sent on refresh.
    pub scope: Option<String>,
    /// Extra form parameters for every token request (e.g. `audience`);
    /// they cannot repeat a parameter the grant sets.
    pub extra_params: BTreeMap<String, String>,
    /// The revocation endpoint (RFC 7009 §2), used on logout.
    pub revocation_url: Option<String>,
    /// The authorization endpoint (RFC 6749 §3.1), for the code flow.
    pub authorization_url: Option<String>,
    /// The redirect URI (RFC 6749 §3.1.2), for the code flow.
    pub redirect_uri: Option<String>,
    /// The issuer identifier (OpenID Connect Core §2, RFC 8414 §2): the
    /// ID token's `iss` and an authorization response's `iss` (RFC 9207)
    /// must equal it exactly.
    pub issuer: Option<String>,
    /// Whether every authorization response must carry `iss` (RFC 9207
    /// §2.4): set from the provider's metadata
    /// `authorization_response_iss_parameter_supported` by discovery, or by
    /// hand (option `requireIss`).
    pub require_iss: bool,
    /// The JWK Set of the issuer's signing keys (RFC 8414 §2 `jwks_uri`),
    /// to verify ID token signatures.
    pub jwks_uri: Option<String>,
    /// Static headers `keeper.fetch` sends with the token, to allowed
    /// origins only (option `apiHeaders`).
    pub api_headers: StaticHeaders,
    /// Whether every token request carries a DPoP proof and the tokens are
    /// sender-constrained (RFC 9449; the top-level option `dpop`).
    pub dpop: bool,
    /// The device authorization endpoint (RFC 8628 §3.1), for the device
    /// flow (option `deviceAuthorizationUrl`).
    pub device_authorization_url: Option<String>,
    /// The pushed authorization request endpoint (RFC 9126 §2), option
    /// `pushedAuthorizationRequestUrl`.
    pub par_url: Option<String>,
    /// Whether a redirect login pushes its request first (RFC 9126 §5):
    /// option `requirePushedAuthorizationRequests`, set by discovery from
    /// the metadata of the same name.
    pub require_par: bool,
}

/// Client authentication at the token endpoint (RFC 6749 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// HTTP Basic with id and secret form-urlencoded first (RFC 6749
    /// §2.3.1, Appendix B).
    Basic,
    /// HTTP Basic with the raw id and secret, for servers that do not
    /// decode (interop; the id must not contain `:`).
    BasicPlain,
    /// `client_id` and `client_secret` in the request body (RFC 6749 §2.3.1).
    Post,
    /// A public client: `client_id` in the body, no secret (RFC 6749 §2.1).
    None,
}

/// A custom JSON login and refresh API (e.g. `X-API-Key` plus
/// `{username,password}` → `{accessToken,refreshToken}`).
#[derive(Debug, Clone)]
pub struct JsonProfile {
    /// The login endpoint.
    pub login_url: String,
    /// The refresh endpoint.
    pub refresh_url: String,
    /// Static headers sent on login and refresh only (e.g. `X-API-Key`).
    pub headers: StaticHeaders,
    /// Static headers `keeper.fetch` sends with the token, to allowed
    /// origins only (option `apiHeaders`); not sent on login or refresh.
    pub api_headers: StaticHeaders,
    /// Request and response member names.
    pub fields: JsonFields,
    /// Sends `Authorization: Bearer <access token>` on refresh (default
    /// true), even when that token has expired.
    pub bearer_on_refresh: bool,
    /// Each refresh token can be used once (default true): a refresh answer
    /// without a new one leaves the session non-refreshable.
    pub single_use_refresh_token: bool,
    /// Where the access token's expiry is read (option `expiry`), in order
    /// of preference: the first source the response has wins. Default
    /// `[{ field: fields.expiresIn, unit: "seconds" }, "jwt"]`.
    pub expiry: Vec<ExpirySource>,
    /// Where the refresh token's expiry is read (option `refreshExpiry`),
    /// likewise; a lifetime of 0 means "no fixed maximum". Default
    /// `[{ field: fields.refreshExpiresIn, unit: "seconds" }, "jwt"]`, the
    /// JWT being the refresh token's.
    pub refresh_expiry: Vec<ExpirySource>,
}

/// One place a token's expiry may be read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpirySource {
    /// The token's own JWT `exp` claim (RFC 7519 §4.1.4), read without
    /// verification (`"jwt"`); skipped when the token has no readable one.
    Jwt,
    /// A response member (`{ field, unit }`).
    Field {
        /// The member name.
        name: String,
        /// How its value is read.
        unit: ExpiryUnit,
    },
}

/// How an expiry member's value is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryUnit {
    /// A lifetime in whole seconds (`"seconds"`).
    Seconds,
    /// A lifetime in whole minutes (`"minutes"`).
    Minutes,
    /// An absolute time in seconds since 1970-01-01T00:00:00Z
    /// (`"epochSeconds"`).
    EpochSeconds,
    /// An absolute time in milliseconds since 1970-01-01T00:00:00Z
    /// (`"epochMillis"`).
    EpochMillis,
    /// An absolute RFC 3339 date-time with an offset (`"iso8601"`; see
    /// [`crate::core::timestamp`]).
    Iso8601,
}

impl ExpiryUnit {
    /// The length of a lifetime unit in milliseconds; `None` for an
    /// absolute time.
    #[must_use]
    pub fn lifetime_ms(self) -> Option<u64> {
        match self {
            Self::Seconds => Some(1_000),
            Self::Minutes => Some(60_000),
            Self::EpochSeconds | Self::EpochMillis | Self::Iso8601 => None,
        }
    }
}

impl ExpirySource {
    /// `[{ field: name, unit: "seconds" }, "jwt"]`: a lifetime in seconds,
    /// else the JWT `exp`.
    pub(crate) fn seconds_then_jwt(name: &str) -> Vec<Self> {
        vec![
            Self::Field {
                name: name.to_owned(),
                unit: ExpiryUnit::Seconds,
            },
            Self::Jwt,
        ]
    }

    /// Reads entry `i` of the list `list`: `"jwt"` or `{ field, unit }`.
    fn from_value(value: &Value, list: &'static str, i: usize) -> Result<Self, Error> {
        Self::read(value).map_err(|(member, reason)| Error::config(entry(list, i, member), reason))
    }

    /// [`Self::from_value`], the error as the member (`""`, `".field"`,
    /// `".unit"`) and the reason.
    fn read(value: &Value) -> Result<Self, (&'static str, &'static str)> {
        let map = match value {
            Value::String(s) if s == "jwt" => return Ok(Self::Jwt),
            Value::Object(map) => map,
            _ => return Err(("", "must be \"jwt\" or { field, unit }")),
        };
        let (field, unit) = (map.get("field"), map.get("unit"));
        if map.len() > usize::from(field.is_some()) + usize::from(unit.is_some()) {
            return Err(("", "must have no members but field and unit"));
        }
        let name = match field {
            Some(Value::String(s)) => s.clone(),
            None | Some(Value::Null) => return Err((".field", "is required")),
            Some(_) => return Err((".field", "must be a string")),
        };
        let unit = match unit.and_then(Value::as_str) {
            Some("seconds") => ExpiryUnit::Seconds,
            Some("minutes") => ExpiryUnit::Minutes,
            Some("epochSeconds") => ExpiryUnit::EpochSeconds,
            Some("epochMillis") => ExpiryUnit::EpochMillis,
            Some("iso8601") => ExpiryUnit::Iso8601,
            _ => {
                return Err((
                    ".unit",
                    "must be \"seconds\", \"minutes\", \"epochSeconds\", \"epochMillis\" or \"iso8601\"",
                ));
            }
        };
        Ok(Self::Field { name, unit })
    }

    /// Reads the list option `list`; when it is absent, the default
    /// `[{ field: default_field, unit: "seconds" }, "jwt"]`.
    fn list(
        value: Option<&Value>,
        list: &'static str,
        default_field: &str,
    ) -> Result<Vec<Self>, Error> {
        let Some(value) = value else {
            return Ok(Self::seconds_then_jwt(default_field));
        };
        let items = value
            .as_array()
            .ok_or_else(|| Error::config(list, "must be a list of sources"))?;
        let mut out = Vec::with_capacity(items.len());
        for (i, v) in items.iter().enumerate() {
            out.push(Self::from_value(v, list, i)?);
        }
        Ok(out)
    }

    /// The member this source reads, if any.
    fn field(&self) -> Option<&str> {
        match self {
            Self::Jwt => None,
            Self::Field { name, .. } => Some(name),
        }
    }

    /// Checks the list option `list`: not empty, no source twice, no empty
    /// member name, no token member (`tokens`) and no member that the
    /// `other` list reads.
    fn check_list(
        list: &'static str,
        sources: &[Self],
        tokens: &[&str],
        other: &[Self],
    ) -> Result<(), Error> {
        if sources.is_empty() {
            return Err(Error::config(list, "must not be empty"));
        }
        for (i, s) in sources.iter().enumerate() {
            let problem = match s.field() {
                Some("") => Some((".field", "must not be empty")),
                Some(name) if tokens.contains(&name) => {
                    Some((".field", "must not name a token member"))
                }
                Some(name) if other.iter().any(|o| o.field() == Some(name)) => {
                    Some((".field", "must not name a member that expiry reads"))
                }
                _ if sources[..i].iter().any(|p| p.field() == s.field()) => {
                    Some(("", "must not repeat an earlier source"))
                }
                _ => None,
            };
            if let Some((member, reason)) = problem {
                return Err(Error::config(entry(list, i, member), reason));
            }
        }
        Ok(())
    }
}

/// The name of entry `i` of the list option `list` or its `member`, for
/// errors: `expiry[1].unit`.
fn entry(list: &str, i: usize, member: &str) -> Cow<'static, str> {
    Cow::Owned(format!("{list}[{i}]{member}"))
}

/// Headers a JSON profile sends verbatim. `Debug` shows names only: values
/// such as API keys are secrets.
#[derive(Clone, Default)]
pub struct StaticHeaders(pub BTreeMap<String, String>);

impl fmt::Debug for StaticHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|k| (k, "[redacted]")))
            .finish()
    }
}

/// Member names of a JSON profile's requests and responses.
#[derive(Debug, Clone)]
pub struct JsonFields {
    /// Login request: the user name member (`username`).
    pub username: String,
    /// Login request: the password member (`password`).
    pub password: String,
    /// Refresh request and both responses: the refresh token member
    /// (`refreshToken`).
    pub refresh_token: String,
    /// Responses: the access token member (`accessToken`).
    pub access_token: String,
    /// Responses: the lifetime in seconds (`expiresIn`), the first source
    /// of the default [`JsonProfile::expiry`].
    pub expires_in: String,
    /// Responses: the refresh token's lifetime in seconds
    /// (`refreshExpiresIn`), the first source of the default
    /// [`JsonProfile::refresh_expiry`].
    pub refresh_expires_in: String,
}

impl Default for JsonFields {
    fn default() -> Self {
        Self {
            username: "username".into(),
            password: "password".into(),
            refresh_token: "refreshToken".into(),
            access_token: "accessToken".into(),
            expires_in: "expiresIn".into(),
            refresh_expires_in: "refreshExpiresIn".into(),
        }
    }
}

/// When to refresh and how to retry. All durations in milliseconds.
///
/// The refresh is due at `expires_at − clamp(leadFraction × lifetime,
/// minLeadMs, maxLeadMs) − jitter`, never sooner than `minIntervalMs` after
/// the tokens arrived.
///
/// Rate limiting is for failures: a token that has expired or was rejected
/// is renewed at once, and during backoff a caller without a valid token
/// waits up to `maxWaitMs` for the next attempt.
#[derive(Debug, Clone)]
pub struct RefreshPolicy {
    /// Share of the lifetime to refresh ahead (0–1; default 0.2).
    pub lead_fraction: f64,
    /// Least lead time (default 5 s).
    pub min_lead_ms: u64,
    /// Most lead time (default 5 min).
    pub max_lead_ms: u64,
    /// Largest random extra lead, spreading tabs apart (default 5 s).
    pub max_jitter_ms: u64,
    /// Least time between two refreshes ahead of expiry (default 5 s). It
    /// never delays the renewal of a token that has expired or was
    /// rejected.
    pub min_interval_ms: u64,
    /// During backoff, how long a caller with no valid token waits for the
    /// next attempt before it fails with `AUTH_RETRY_LATER` (default 5 s).
    pub max_wait_ms: u64,
    /// First retry delay after a transient failure (default 1 s).
    pub backoff_base_ms: u64,
    /// Longest retry delay (default 60 s).
    pub backoff_max_ms: u64,
    /// Cap on a server's `Retry-After` (default 3600 s).
    pub retry_after_max_ms: u64,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        Self {
            lead_fraction: 0.2,
            min_lead_ms: 5_000,
            max_lead_ms: 300_000,
            max_jitter_ms: 5_000,
            min_interval_ms: 5_000,
            max_wait_ms: 5_000,
            backoff_base_ms: 1_000,
            backoff_max_ms: 60_000,
            retry_after_max_ms: 3_600_000,
        }
    }
}

/// Form parameters that grants set themselves (RFC 6749 §4, §6, RFC 7636).
const RESERVED_PARAMS: &[&str] = &[
    "grant_type",
    "client_id",
    "client_secret",
    "username",
    "password",
    "refresh_token",
    "scope",
    "code",
    "code_verifier",
    "redirect_uri",
];

/// Headers the client sets itself, or that a browser forbids.
const RESERVED_HEADERS: &[&str] = &[
    "authorization",
    "content-type",
    "content-length",
    "accept",
    "host",
    "cookie",
];

impl Config {
    /// Reads the options' JSON form (`{ profile, refresh?,
    /// allowInsecureHttp? }`); the error names the first unknown or
    /// mistyped member. It is not validated yet: see [`Config::validate`].
    pub fn from_value(value: &Value) -> Result<Self, Error> {
        let m = Members::of(
            value,
            "options",
            "",
            &[
                "profile",
                "refresh",
                "allowInsecureHttp",
                "allowedOrigins",
                "rejectStatuses",
                "dpop",
            ],
        )?;
        let profile = m
            .get("profile")
            .ok_or_else(|| Error::config("profile", "is required"))?;
        let mut profile = Profile::from_value(profile)?;
        let dpop = match m.get("dpop") {
            None | Some(Value::Null | Value::Bool(false)) => false,
            // `{ keyPair }`: the key itself is the platform's to read.
            Some(Value::Bool(true) | Value::Object(_)) => true,
            Some(_) => return Err(Error::config("dpop", "must be a boolean or { keyPair }")),
        };
        match &mut profile {
            Profile::OAuth2(p) => p.dpop = dpop,
            Profile::Json(_) if dpop => {
                return Err(Error::config("dpop", "needs an oauth2 profile"));
            }
            Profile::Json(_) => {}
        }
        Ok(Self {
            profile,
            refresh: match m.get("refresh") {
                Some(v) => RefreshPolicy::from_value(v)?,
                None => RefreshPolicy::default(),
            },
            allow_insecure_http: m.bool("allowInsecureHttp")?.unwrap_or(false),
            api: ApiOptions::from_members(&m)?,
        })
    }

    /// Checks every field; the error names the first invalid one.
    pub fn validate(&self) -> Result<(), Error> {
        let http = self.allow_insecure_http;
        match &self.profile {
            Profile::OAuth2(p) => p.validate(http)?,
            Profile::Json(p) => p.validate(http)?,
        }
        // `allowedOrigins`, `rejectStatuses` and `apiHeaders`.
        ApiPolicy::new(self, None)?;
        self.refresh.validate()
    }
}

impl Profile {
    /// Reads `{ kind: "oauth2" | "json", … }`.
    pub fn from_value(value: &Value) -> Result<Self, Error> {
        if !value.is_object() {
            return Err(Error::config("profile", "must be an object"));
        }
        let kind = value.get("kind").and_then(Value::as_str);
        match kind {
            Some("oauth2") => OAuth2Profile::from_value(value).map(Self::OAuth2),
            Some("json") => JsonProfile::from_value(value).map(Self::Json),
            _ => Err(Error::config(
                "profile.kind",
                "must be \"oauth2\" or \"json\"",
            )),
        }
    }
}

impl OAuth2Profile {
    fn from_value(value: &Value) -> Result<Self, Error> {
        let m = Members::of(
            value,
            "profile",
            "",
            &[
                "kind",
                "tokenUrl",
                "clientId",
                "clientSecret",
                "clientAuth",
                "scope",
                "extraParams",
                "revocationUrl",
                "authorizationUrl",
                "redirectUri",
                "issuer",
                "requireIss",
                "jwksUri",
                "apiHeaders",
                "deviceAuthorizationUrl",
                "pushedAuthorizationRequestUrl",
                "requirePushedAuthorizationRequests",
            ],
        )?;
        let client_auth = match m.string("clientAuth")?.as_deref() {
            None => None,
            Some("basic") => Some(ClientAuth::Basic),
            Some("basic-plain") => Some(ClientAuth::BasicPlain),
            Some("post") => Some(ClientAuth::Post),
            Some("none") => Some(ClientAuth::None),
            Some(_) => {
                return Err(Error::config(
                    "clientAuth",
                    "must be \"basic\", \"basic-plain\", \"post\" or \"none\"",
                ));
            }
        };
        Ok(Self {
            token_url: m.required("tokenUrl")?,
            client_id: m.required("clientId")?,
            client_secret: m.string("clientSecret")?.map(ClientSecret::new),
            client_auth,
            scope: m.string("scope")?,
            extra_params: m.strings("extraParams")?,
            revocation_url: m.string("revocationUrl")?,
            authorization_url: m.string("authorizationUrl")?,
            redirect_uri: m.string("redirectUri")?,
            issuer: m.string("issuer")?,
            require_iss: m.bool("requireIss")?.unwrap_or(false),
            jwks_uri: m.string("jwksUri")?,
            api_headers: StaticHeaders(m.strings("apiHeaders")?),
            dpop: false,
            device_authorization_url: m.string("deviceAuthorizationUrl")?,
            par_url: m.string("pushedAuthorizationRequestUrl")?,
            require_par: m
                .bool("requirePushedAuthorizationRequests")?
                .unwrap_or(false),
        })
    }

    /// The client authentication in effect: the configured one, else `basic`
    /// with a secret and `none` without.
    #[must_use]
    pub fn client_auth(&self) -> ClientAuth {
        match (self.client_auth, &self.client_secret) {
            (Some(a), _) => a,
            (None, Some(_)) => ClientAuth::Basic,
            (None, None) => ClientAuth::None,
        }
    }

    fn validate(&self, http: bool) -> Result<(), Error> {
        check_url("tokenUrl", &self.token_url, http)?;
        for (field, url) in [
            ("revocationUrl", &self.revocation_url),
            ("authorizationUrl", &self.authorization_url),
            ("jwksUri", &self.jwks_uri),
            ("deviceAuthorizationUrl", &self.device_authorization_url),
            ("pushedAuthorizationRequestUrl", &self.par_url),
        ] {
            if let Some(url) = url {
                check_url(field, url, http)?;
            }
        }
        if let Some(uri) = &self.redirect_uri {
            check_text("redirectUri", uri)?;
        }
        if let Some(issuer) = &self.issuer {
            check_issuer("issuer", issuer, http)?;
        } else if self.require_iss {
            return Err(Error::config("requireIss", "needs issuer"));
        }
        if self.require_par && self.par_url.is_none() {
            return Err(Error::config(
                "requirePushedAuthorizationRequests",
                "needs pushedAuthorizationRequestUrl",
            ));
        }
        check_text("clientId", &self.client_id)?;
        let auth = self.client_auth();
        match (&self.client_secret, auth) {
            (Some(_), ClientAuth::None) => {
                return Err(Error::config(
                    "clientSecret",
                    "must not be set with clientAuth \"none\"",
                ));
            }
            (Some(s), _) if s.secret().is_empty() => {
                return Err(Error::config("clientSecret", "must not be empty"));
            }
            (None, ClientAuth::Basic | ClientAuth::BasicPlain | ClientAuth::Post) => {
                return Err(Error::config(
                    "clientSecret",
                    "is required by this clientAuth",
                ));
            }
            _ => {}
        }
        if auth == ClientAuth::BasicPlain && self.client_id.contains(':') {
            return Err(Error::config(
                "clientId",
                "must not contain \":\" with clientAuth \"basic-plain\"",
            ));
        }
        if let Some(scope) = &self.scope {
            check_scope(scope)?;
        }
        for (k, v) in &self.extra_params {
            if k.is_empty() || v.is_empty() {
                return Err(Error::config(
                    "extraParams",
                    "must not hold an empty name or value",
                ));
            }
            if RESERVED_PARAMS.contains(&k.as_str()) {
                return Err(Error::config(
                    "extraParams",
                    "must not repeat a parameter the grant sets",
                ));
            }
        }
        Ok(())
    }
}

impl JsonProfile {
    fn from_value(value: &Value) -> Result<Self, Error> {
        let m = Members::of(
            value,
            "profile",
            "",
            &[
                "kind",
                "loginUrl",
                "refreshUrl",
                "headers",
                "fields",
                "bearerOnRefresh",
                "singleUseRefreshToken",
                "expiry",
                "refreshExpiry",
                "apiHeaders",
            ],
        )?;
        let login_url = m.required("loginUrl")?;
        let refresh_url = m.required("refreshUrl")?;
        let headers = StaticHeaders(m.strings("headers")?);
        let fields = match m.get("fields") {
            Some(v) => JsonFields::from_value(v)?,
            None => JsonFields::default(),
        };
        Ok(Self {
            login_url,
            refresh_url,
            headers,
            api_headers: StaticHeaders(m.strings("apiHeaders")?),
            bearer_on_refresh: m.bool("bearerOnRefresh")?.unwrap_or(true),
            single_use_refresh_token: m.bool("singleUseRefreshToken")?.unwrap_or(true),
            expiry: ExpirySource::list(m.get("expiry"), "expiry", &fields.expires_in)?,
            refresh_expiry: ExpirySource::list(
                m.get("refreshExpiry"),
                "refreshExpiry",
                &fields.refresh_expires_in,
            )?,
            fields,
        })
    }

    fn validate(&self, http: bool) -> Result<(), Error> {
        check_url("loginUrl", &self.login_url, http)?;
        check_url("refreshUrl", &self.refresh_url, http)?;
        check_headers("headers", &self.headers)?;
        let f = &self.fields;
        let names = [
            ("fields.username", &f.username),
            ("fields.password", &f.password),
            ("fields.refreshToken", &f.refresh_token),
            ("fields.accessToken", &f.access_token),
            ("fields.expiresIn", &f.expires_in),
            ("fields.refreshExpiresIn", &f.refresh_expires_in),
        ];
        for (field, name) in names {
            if name.is_empty() {
                return Err(Error::config(field, "must not be empty"));
            }
        }
        if f.username == f.password {
            return Err(Error::config(
                "fields.password",
                "must differ from fields.username",
            ));
        }
        let response = [
            &f.access_token,
            &f.refresh_token,
            &f.expires_in,
            &f.refresh_expires_in,
        ];
        for (i, a) in response.iter().enumerate() {
            if response[i + 1..].contains(a) {
                return Err(Error::config(
                    "fields",
                    "response member names must be distinct",
                ));
            }
        }
        let tokens = [f.access_token.as_str(), f.refresh_token.as_str()];
        ExpirySource::check_list("expiry", &self.expiry, &tokens, &[])?;
        ExpirySource::check_list("refreshExpiry", &self.refresh_expiry, &tokens, &self.expiry)
    }
}

impl JsonFields {
    fn from_value(value: &Value) -> Result<Self, Error> {
        let m = Members::of(
            value,
            "fields",
            "fields.",
            &[
                "username",
                "password",
                "refreshToken",
                "accessToken",
                "expiresIn",
                "refreshExpiresIn",
            ],
        )?;
        let d = Self::default();
        Ok(Self {
            username: m.string("username")?.unwrap_or(d.username),
            password: m.string("password")?.unwrap_or(d.password),
            refresh_token: m.string("refreshToken")?.unwrap_or(d.refresh_token),
            access_token: m.string("accessToken")?.unwrap_or(d.access_token),
            expires_in: m.string("expiresIn")?.unwrap_or(d.expires_in),
            refresh_expires_in: m
                .string("refreshExpiresIn")?
                .unwrap_or(d.refresh_expires_in),
        })
    }
}

impl RefreshPolicy {
    fn from_value(value: &Value) -> Result<Self, Error> {
        let m = Members::of(
            value,
            "refresh",
            "refresh.",
            &[
                "leadFraction",
                "minLeadMs",
                "maxLeadMs",
                "maxJitterMs",
                "minIntervalMs",
                "maxWaitMs",
                "backoffBaseMs",
                "backoffMaxMs",
                "retryAfterMaxMs",
            ],
        )?;
        let d = Self::default();
        Ok(Self {
            lead_fraction: m.f64("leadFraction")?.unwrap_or(d.lead_fraction),
            min_lead_ms: m.u64("minLeadMs")?.unwrap_or(d.min_lead_ms),
            max_lead_ms: m.u64("maxLeadMs")?.unwrap_or(d.max_lead_ms),
            max_jitter_ms: m.u64("maxJitterMs")?.unwrap_or(d.max_jitter_ms),
            min_interval_ms: m.u64("minIntervalMs")?.unwrap_or(d.min_interval_ms),
            max_wait_ms: m.u64("maxWaitMs")?.unwrap_or(d.max_wait_ms),
            backoff_base_ms: m.u64("backoffBaseMs")?.unwrap_or(d.backoff_base_ms),
            backoff_max_ms: m.u64("backoffMaxMs")?.unwrap_or(d.backoff_max_ms),
            retry_after_max_ms: m.u64("retryAfterMaxMs")?.unwrap_or(d.retry_after_max_ms),
        })
    }

    fn validate(&self) -> Result<(), Error> {
        if !(0.0..=1.0).contains(&self.lead_fraction) {
            return Err(Error::config(
                "refresh.leadFraction",
                "must be a number from 0 to 1",
            ));
        }
        if self.min_lead_ms > self.max_lead_ms {
            return Err(Error::config(
                "refresh.minLeadMs",
                "must not exceed refresh.maxLeadMs",
            ));
        }
        if self.backoff_base_ms == 0 || self.backoff_base_ms > self.backoff_max_ms {
            return Err(Error::config(
                "refresh.backoffBaseMs",
                "must be at least 1 and not exceed refresh.backoffMaxMs",
            ));
        }
        Ok(())
    }
}

/// Static headers (the JSON profile's `headers`, either profile's
/// `apiHeaders`): RFC 9110 §5.6.2 token names other than the ones the
/// client sets, visible-ASCII values. The error names `field` only.
pub(crate) fn check_headers(field: &'static str, headers: &StaticHeaders) -> Result<(), Error> {
    for (name, value) in &headers.0 {
        if name.is_empty() || !name.bytes().all(is_tchar) {
            return Err(Error::config(
                field,
                "names must be HTTP tokens (RFC 9110 §5.6.2)",
            ));
        }
        if RESERVED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(Error::config(
                field,
                "must not set a header the client sets",
            ));
        }
        if !value
            .bytes()
            .all(|b| b == b'\t' || (0x20..0x7f).contains(&b))
        {
            return Err(Error::config(field, "values must be visible ASCII"));
        }
    }
    Ok(())
}

/// RFC 9110 §5.6.2 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Non-empty visible ASCII (RFC 6749 §2.2 leaves ids opaque; we keep them
/// printable so they are safe in a header and a form).
fn check_text(field: &'static str, value: &str) -> Result<(), Error> {
    if value.is_empty() || value.chars().any(char::is_control) {
        return Err(Error::config(
            field,
            "must be non-empty text without control characters",
        ));
    }
    Ok(())
}

/// RFC 6749 §3.3: space-delimited NQCHAR tokens.
fn check_scope(scope: &str) -> Result<(), Error> {
    let ok = scope.bytes().all(|b| {
        b == b' ' || (b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
    });
    if !ok {
        return Err(Error::config(
            "scope",
            "must be space-separated scope tokens (RFC 6749 §3.3)",
        ));
    }
    Ok(())
}

/// An issuer identifier (RFC 8414 §2, OpenID Connect Discovery §2): an
/// endpoint URL (see [`check_url`]) without a query or fragment.
pub(crate) fn check_issuer(field: &'static str, url: &str, allow_http: bool) -> Result<(), Error> {
    check_url(field, url, allow_http)?;
    if url.contains('?') {
        return Err(Error::config(field, "must not contain a query"));
    }
    Ok(())
}

/// An endpoint URL: absolute `https:` (`http:` only on a loopback host,
/// see [`super::loopback`], or with `allow_http`), ASCII without spaces or
/// controls, no user info, no fragment (RFC 6749 §3.2).
pub(crate) fn check_url(field: &'static str, url: &str, allow_http: bool) -> Result<(), Error> {
    const MUST: &str = "must be an absolute http(s) URL";
    if url.len() > 2048 || !url.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::config(field, MUST));
    }
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let (https, rest) = if lower.starts_with("https://") {
        (true, &url[8..])
    } else if lower.starts_with("http://") {
        (false, &url[7..])
    } else {
        return Err(Error::config(field, MUST));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() {
        return Err(Error::config(field, MUST));
    }
    if authority.contains('@') {
        return Err(Error::config(field, "must not contain user info"));
    }
    if url.contains('#') {
        return Err(Error::config(field, "must not contain a fragment"));
    }
    // `host` as written (an IPv6 literal with its brackets), `name` without
    // the brackets.
    let (name, host) = if let Some(v6) = authority.strip_prefix('[') {
        match v6.split_once(']') {
            Some((addr, _)) => (addr, authority.get(..addr.len() + 2).unwrap_or(authority)),
            None => (v6, authority),
        }
    } else {
        let name = authority.split(':').next().unwrap_or_default();
        (name, name)
    };
    if name.is_empty() {
        return Err(Error::config(field, MUST));
    }
    if !https && !super::loopback::is_loopback_host(host) && !allow_http {
        return Err(Error::config(
            field,
            "must use https (http only on loopback or with allowInsecureHttp)",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let bad = [
            "",
            "/token",
            "ftp://x/token",
            "javascript:alert(1)",
            "data:text/plain,x",
            "https://",
            "https://u:p@as.example/t",
            "https://as.example/t#f",
            "https://as example/",
        ];
        for url in bad {
            assert!(check_url("tokenUrl", url, false).is_err(), "{url}");
        }
        let e = check_url("tokenUrl", "/token", false)
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("\"tokenUrl\" must be an absolute http(s) URL")
        );
        assert!(check_url("tokenUrl", "http://as.example/t", false).is_err());
        assert!(check_url("tokenUrl", "http://as.example/t", true).is_ok());
        assert!(check_url("tokenUrl", "http://127.0.0.1:8080/t", false).is_ok());
        assert!(check_url("tokenUrl", "http://[::1]:8080/t", false).is_ok());
        assert!(check_url("tokenUrl", "HTTPS://as.example/t?x=1", false).is_ok());
    }

    /// Plain http without `allowInsecureHttp` on loopback IP literals and
    /// `localhost` only (RFC 8252 §8.3).
    #[test]
    fn http_on_loopback_literals_only() {
        for host in [
            "127.0.0.1",
            "127.0.0.1:8080",
            "127.1.2.3",
            "[::1]",
            "[::1]:8080",
            "[0:0:0:0:0:0:0:1]",
            "localhost",
            "LOCALHOST:3000",
        ] {
            let url = format!("http://{host}/token");
            assert!(check_url("tokenUrl", &url, false).is_ok(), "{url}");
        }
        for host in [
            "127.x.example",
            "127.attacker.example",
            "127.0.0.1.nip.io",
            "127.0.0.1.nip.io:8080",
            "localhost.example",
            "localhost.",
            "0x7f000001",
            "2130706433",
            "127.1",
            "0177.0.0.1",
            "127.000.0.1",
            "[::ffff:127.0.0.1]",
        ] {
            let url = format!("http://{host}/token");
            let e = check_url("tokenUrl", &url, false).map_err(|e| e.to_string());
            assert_eq!(
                e,
                Err(
                    "\"tokenUrl\" must use https (http only on loopback or with allowInsecureHttp)"
                        .to_owned()
                ),
                "{url}"
            );
            assert!(check_url("tokenUrl", &url, true).is_ok(), "{url}");
            let https = format!("https://{host}/token");
            assert!(check_url("tokenUrl", &https, false).is_ok(), "{https}");
        }
        assert!(check_url("tokenUrl", "http://[::1/token", false).is_err());
    }
}
