//! Token, login, refresh and revocation requests as plain values.
//!
//! Every request is a `POST` with `Accept: application/json`. OAuth bodies
//! are `application/x-www-form-urlencoded` (RFC 6749 Appendix B), custom
//! profiles send JSON. No parameter appears twice or empty, and secrets go in
//! the body or the `Authorization` header, never in the URL (RFC 6749 §2.3.1).

use super::config::{ClientAuth, JsonProfile, OAuth2Profile};
use super::error::Error;
use super::json_text::ObjectText;
use super::members::Members;
use super::secret::{
    AccessToken, AuthCode, CodeVerifier, DeviceCode, ExchangedToken, Password, RefreshToken,
};
use base64ct::{Base64, Base64UrlUnpadded, Encoding};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fmt;

/// An HTTP request for the transport to send as is. `Debug` shows header
/// names and the body length only: values and bodies hold secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// The method; always `"POST"` for token endpoints (RFC 6749 §3.2).
    pub method: &'static str,
    /// The absolute URL.
    pub url: String,
    /// Header names and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl HttpRequest {
    fn post(url: &str, content_type: &str, body: Vec<u8>) -> Self {
        Self {
            method: "POST",
            url: url.to_owned(),
            headers: vec![
                ("Accept".into(), "application/json".into()),
                ("Content-Type".into(), content_type.into()),
            ],
            body,
        }
    }

    fn form(url: &str, form: &Form) -> Self {
        Self::post(
            url,
            "application/x-www-form-urlencoded",
            form.encode().into_bytes(),
        )
    }

    /// The first header named `name` (ASCII case-insensitive).
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

/// The first of `headers` named `name` (ASCII case-insensitive, RFC 9110
/// §5.1), for requests and responses alike.
pub(crate) fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &self.url)
            .field(
                "headers",
                &self.headers.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// The credentials a login presents.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// Resource owner password (RFC 6749 §4.3) or a custom JSON login.
    Password {
        /// The user name.
        username: String,
        /// The password.
        password: Password,
    },
    /// An authorization code with its PKCE verifier (RFC 6749 §4.1.3,
    /// RFC 7636 §4.5).
    AuthorizationCode {
        /// The code from the redirect.
        code: AuthCode,
        /// The verifier whose challenge went in the authorization request.
        code_verifier: CodeVerifier,
        /// The redirect URI used in the authorization request.
        redirect_uri: String,
    },
    /// The client's own credentials (RFC 6749 §4.4); an empty JS object.
    ClientCredentials {},
    /// A device code the user approved (RFC 8628 §3.4); made by the device
    /// flow, never read from JS.
    DeviceCode(DeviceCode),
    /// A token exchange (RFC 8693 §2.1): `{ subjectToken,
    /// subjectTokenType, actorToken?, actorTokenType?, audience?,
    /// resource?, scope?, requestedTokenType? }`.
    TokenExchange(Box<TokenExchange>),
}

/// What a token exchange asks for (RFC 8693 §2.1).
#[derive(Debug, Clone)]
pub struct TokenExchange {
    /// `subject_token`.
    pub subject_token: ExchangedToken,
    /// `subject_token_type`, e.g. `urn:ietf:params:oauth:token-type:access_token`.
    pub subject_token_type: String,
    /// `actor_token` and `actor_token_type` (RFC 8693 §2.1: both or neither).
    pub actor: Option<(ExchangedToken, String)>,
    /// `audience` values.
    pub audience: Vec<String>,
    /// `resource` values (absolute URIs).
    pub resource: Vec<String>,
    /// `scope`; the profile's when absent.
    pub scope: Option<String>,
    /// `requested_token_type`.
    pub requested_token_type: Option<String>,
}

impl TokenExchange {
    /// Reads the JS object described on [`Credentials::TokenExchange`].
    fn from_members(m: &Members<'_>) -> Result<Self, Error> {
        let actor = match (m.string("actorToken")?, m.string("actorTokenType")?) {
            (Some(t), Some(ty)) => Some((ExchangedToken::new(t), ty)),
            (None, None) => None,
            _ => {
                return Err(Error::config(
                    "credentials.actorToken",
                    "and actorTokenType go together",
                ));
            }
        };
        let list = |name: &'static str| -> Result<Vec<String>, Error> {
            match m.get(name) {
                None => Ok(Vec::new()),
                Some(Value::String(s)) => Ok(vec![s.clone()]),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|v| v.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| Error::config(name, "must be a string or a list of strings")),
                Some(_) => Err(Error::config(name, "must be a string or a list of strings")),
            }
        };
        Ok(Self {
            subject_token: ExchangedToken::new(m.required("subjectToken")?),
            subject_token_type: m.required("subjectTokenType")?,
            actor,
            audience: list("audience")?,
            resource: list("resource")?,
            scope: m.string("scope")?,
            requested_token_type: m.string("requestedTokenType")?,
        })
    }
}

impl Credentials {
    /// Reads `{ username, password }`, `{ code, codeVerifier, redirectUri }`
    /// or `{}` (client credentials), and nothing else.
    pub fn from_value(value: &Value) -> Result<Self, Error> {
        let m = Members::of(
            value,
            "credentials",
            "",
            &[
                "username",
                "password",
                "code",
                "codeVerifier",
                "redirectUri",
                "subjectToken",
                "subjectTokenType",
                "actorToken",
                "actorTokenType",
                "audience",
                "resource",
                "scope",
                "requestedTokenType",
            ],
        )?;
        let present = |names: &[&str]| names.iter().all(|n| m.get(n).is_some());
        let exchange = [
            "subjectToken",
            "subjectTokenType",
            "actorToken",
            "actorTokenType",
            "audience",
            "resource",
            "scope",
            "requestedTokenType",
        ];
        let others = |names: &[&str]| names.iter().any(|n| m.get(n).is_some());
        if present(&["subjectToken"]) && !others(&["username", "password", "code"]) {
            Ok(Self::TokenExchange(Box::new(TokenExchange::from_members(
                &m,
            )?)))
        } else if others(&exchange) {
            Err(Error::config(
                "credentials",
                "a token exchange needs subjectToken and subjectTokenType, and nothing of another grant",
            ))
        } else if present(&["username", "password"]) && !present(&["code"]) {
            Ok(Self::Password {
                username: m.required("username")?,
                password: Password::new(m.required("password")?),
            })
        } else if present(&["code", "codeVerifier", "redirectUri"]) && !present(&["username"]) {
            Ok(Self::AuthorizationCode {
                code: AuthCode::new(m.required("code")?),
                code_verifier: CodeVerifier::new(m.required("codeVerifier")?),
                redirect_uri: m.required("redirectUri")?,
            })
        } else if value.as_object().is_some_and(serde_json::Map::is_empty) {
            Ok(Self::ClientCredentials {})
        } else {
            Err(Error::config(
                "credentials",
                "must be { username, password }, { code, codeVerifier, redirectUri } or nothing",
            ))
        }
    }
}

/// Pairs for an `application/x-www-form-urlencoded` body.
struct Form(Vec<(String, String)>);

impl Form {
    /// Adds a pair unless the value is empty or the name is already present.
    fn push(&mut self, name: &str, value: &str) {
        if !value.is_empty() && !self.0.iter().any(|(k, _)| k == name) {
            self.0.push((name.to_owned(), value.to_owned()));
        }
    }

    /// Adds a pair even when the name is there: a parameter RFC 8693 §2.1
    /// lets repeat (`audience`, `resource`).
    fn push_repeated(&mut self, name: &str, value: &str) {
        if !value.is_empty() {
            self.0.push((name.to_owned(), value.to_owned()));
        }
    }

    fn encode(&self) -> String {
        let mut out = String::new();
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push('&');
            }
            form_encode_into(&mut out, k, false);
            out.push('=');
            form_encode_into(&mut out, v, false);
        }
        out
    }
}

/// Appends `s` form-urlencoded (RFC 6749 Appendix B, as `URLSearchParams`
/// does): space → `+`; ASCII letters and digits kept; `*-._` kept unless
/// `strict`; every other UTF-8 byte as `%XX`.
fn form_encode_into(out: &mut String, s: &str, strict: bool) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in s.bytes() {
        match b {
            b' ' => out.push('+'),
            b if b.is_ascii_alphanumeric() => out.push(char::from(b)),
            b'*' | b'-' | b'.' | b'_' if !strict => out.push(char::from(b)),
            b => {
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 15)]));
            }
        }
    }
}

/// Form-urlencodes one value (RFC 6749 Appendix B).
#[must_use]
pub fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    form_encode_into(&mut out, s, false);
    out
}

/// The grant-specific part of a token request.
enum Grant<'a> {
    Password(&'a str, &'a Password),
    ClientCredentials,
    Refresh(&'a RefreshToken),
    Code(&'a str, &'a CodeVerifier, &'a str),
    Device(&'a DeviceCode),
    Exchange(&'a TokenExchange),
}

/// The login request for OAuth credentials: the password, client
/// credentials or authorization code grant.
#[must_use]
pub fn oauth_login(cfg: &OAuth2Profile, creds: &Credentials) -> HttpRequest {
    let grant = match creds {
        Credentials::Password { username, password } => Grant::Password(username, password),
        Credentials::ClientCredentials {} => Grant::ClientCredentials,
        Credentials::AuthorizationCode {
            code,
            code_verifier,
            redirect_uri,
        } => Grant::Code(code.secret(), code_verifier, redirect_uri),
        Credentials::DeviceCode(code) => Grant::Device(code),
        Credentials::TokenExchange(x) => Grant::Exchange(x),
    };
    token_request(cfg, &grant)
}

/// The client credentials grant (RFC 6749 §4.4.2), also used to renew a
/// client credentials session.
#[must_use]
pub fn client_credentials(cfg: &OAuth2Profile) -> HttpRequest {
    token_request(cfg, &Grant::ClientCredentials)
}

/// The refresh token grant (RFC 6749 §6). `scope` is omitted so the grant
/// is never narrowed by accident.
#[must_use]
pub fn oauth_refresh(cfg: &OAuth2Profile, refresh_token: &RefreshToken) -> HttpRequest {
    token_request(cfg, &Grant::Refresh(refresh_token))
}

fn token_request(cfg: &OAuth2Profile, grant: &Grant<'_>) -> HttpRequest {
    let mut form = Form(Vec::with_capacity(8));
    match grant {
        Grant::Password(user, pw) => {
            form.push("grant_type", "password");
            form.push("username", user);
            form.push("password", pw.secret());
        }
        Grant::ClientCredentials => form.push("grant_type", "client_credentials"),
        Grant::Refresh(rt) => {
            form.push("grant_type", "refresh_token");
            form.push("refresh_token", rt.secret());
        }
        Grant::Code(code, verifier, redirect_uri) => {
            form.push("grant_type", "authorization_code");
            form.push("code", code);
            form.push("redirect_uri", redirect_uri);
            form.push("code_verifier", verifier.secret());
        }
        Grant::Device(code) => {
            form.push("grant_type", DEVICE_CODE_GRANT);
            form.push("device_code", code.secret());
        }
        Grant::Exchange(x) => {
            form.push("grant_type", TOKEN_EXCHANGE_GRANT);
            form.push("subject_token", x.subject_token.secret());
            form.push("subject_token_type", &x.subject_token_type);
            if let Some((token, ty)) = &x.actor {
                form.push("actor_token", token.secret());
                form.push("actor_token_type", ty);
            }
            for a in &x.audience {
                form.push_repeated("audience", a);
            }
            for r in &x.resource {
                form.push_repeated("resource", r);
            }
            if let Some(t) = &x.requested_token_type {
                form.push("requested_token_type", t);
            }
        }
    }
    match grant {
        // The device code carries the scope of its authorization request
        // (RFC 8628 §3.4); a refresh is never narrowed by accident.
        Grant::Refresh(_) | Grant::Device(_) => {}
        Grant::Exchange(x) => form.push(
            "scope",
            x.scope
                .as_deref()
                .or(cfg.scope.as_deref())
                .unwrap_or_default(),
        ),
        _ => form.push("scope", cfg.scope.as_deref().unwrap_or_default()),
    }
    authenticated(cfg, &cfg.token_url, form)
}

/// The device code grant type (RFC 8628 §3.4).
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// The token exchange grant type (RFC 8693 §2.1).
pub const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// The device authorization request (RFC 8628 §3.1): the client and the
/// scope; `None` without a `deviceAuthorizationUrl`.
#[must_use]
pub fn device_authorization(cfg: &OAuth2Profile, scope: Option<&str>) -> Option<HttpRequest> {
    let url = cfg.device_authorization_url.as_deref()?;
    let mut form = Form(Vec::with_capacity(4));
    form.push("scope", scope.or(cfg.scope.as_deref()).unwrap_or_default());
    Some(authenticated(cfg, url, form))
}

/// A pushed authorization request (RFC 9126 §2.1): the authorization
/// request's parameters, with client authentication; `None` without a
/// `pushedAuthorizationRequestUrl`. `client_id` is sent once, by the client
/// authentication.
#[must_use]
pub fn pushed_authorization(
    cfg: &OAuth2Profile,
    params: &[(String, String)],
) -> Option<HttpRequest> {
    let url = cfg.par_url.as_deref()?;
    let mut form = Form(Vec::with_capacity(params.len() + 3));
    for (k, v) in params.iter().filter(|(k, _)| k != "client_id") {
        form.push(k, v);
    }
    let mut req = authenticated(cfg, url, form);
    if !matches!(cfg.client_auth(), ClientAuth::None | ClientAuth::Post) {
        // Basic authentication names the client; RFC 9126 §2.1 still
        // wants `client_id` among the parameters, as the request it
        // replaces has it.
        let mut form = Form(Vec::new());
        form.push("client_id", &cfg.client_id);
        req.body.push(b'&');
        req.body
            .extend_from_slice(&HttpRequest::form(url, &form).body);
    }
    Some(req)
}

/// A revocation request (RFC 7009 §2.1) for `token`, with its type hint
/// (`refresh_token` or `access_token`). `None` without a `revocationUrl`.
#[must_use]
pub fn revocation(cfg: &OAuth2Profile, token: &str, hint: &'static str) -> Option<HttpRequest> {
    let url = cfg.revocation_url.as_deref()?;
    let mut form = Form(Vec::with_capacity(5));
    form.push("token", token);
    form.push("token_type_hint", hint);
    Some(authenticated(cfg, url, form))
}

/// Adds client authentication (RFC 6749 §2.3.1) and the extra parameters.
fn authenticated(cfg: &OAuth2Profile, url: &str, mut form: Form) -> HttpRequest {
    let secret = cfg
        .client_secret
        .as_ref()
        .map(|s| s.secret())
        .unwrap_or_default();
    let auth = cfg.client_auth();
    match auth {
        ClientAuth::Basic | ClientAuth::BasicPlain => {}
        ClientAuth::Post => {
            form.push("client_id", &cfg.client_id);
            form.push("client_secret", secret);
        }
        ClientAuth::None => form.push("client_id", &cfg.client_id),
    }
    for (k, v) in &cfg.extra_params {
        form.push(k, v);
    }
    let mut req = HttpRequest::form(url, &form);
    if matches!(auth, ClientAuth::Basic | ClientAuth::BasicPlain) {
        req.headers.push((
            "Authorization".into(),
            basic_auth(&cfg.client_id, secret, auth),
        ));
    }
    req
}

/// `Basic base64(id ":" secret)`; with [`ClientAuth::Basic`] both parts are
/// form-urlencoded first (RFC 6749 §2.3.1), encoding every character but
/// ASCII letters and digits as oauth4webapi does.
fn basic_auth(id: &str, secret: &str, auth: ClientAuth) -> String {
    let mut pair = String::with_capacity(id.len() + secret.len() + 1);
    if auth == ClientAuth::Basic {
        form_encode_into(&mut pair, id, true);
        pair.push(':');
        form_encode_into(&mut pair, secret, true);
    } else {
        pair.push_str(id);
        pair.push(':');
        pair.push_str(secret);
    }
    format!("Basic {}", Base64::encode_string(pair.as_bytes()))
}

/// The JSON login request: static headers plus `{username, password}` under
/// the configured member names.
#[must_use]
pub fn json_login(cfg: &JsonProfile, username: &str, password: &Password) -> HttpRequest {
    let f = &cfg.fields;
    let body = json_object(&[(&f.username, username), (&f.password, password.secret())]);
    with_static_headers(
        cfg,
        HttpRequest::post(&cfg.login_url, "application/json", body),
    )
}

/// The JSON refresh request: static headers, `Authorization: Bearer` with
/// the current access token when configured, and `{refreshToken}`.
#[must_use]
pub fn json_refresh(
    cfg: &JsonProfile,
    access_token: &AccessToken,
    refresh_token: &RefreshToken,
) -> HttpRequest {
    let body = json_object(&[(&cfg.fields.refresh_token, refresh_token.secret())]);
    let mut req = with_static_headers(
        cfg,
        HttpRequest::post(&cfg.refresh_url, "application/json", body),
    );
    if cfg.bearer_on_refresh {
        req.headers.push((
            "Authorization".into(),
            format!("Bearer {}", access_token.secret()),
        ));
    }
    req
}

fn with_static_headers(cfg: &JsonProfile, mut req: HttpRequest) -> HttpRequest {
    req.headers
        .extend(cfg.headers.0.iter().map(|(k, v)| (k.clone(), v.clone())));
    req
}

/// `{"k":"v",…}` in the given order.
fn json_object(pairs: &[(&str, &str)]) -> Vec<u8> {
    pairs
        .iter()
        .fold(ObjectText::new(), |o, (k, v)| o.string(k, v))
        .finish()
        .into_bytes()
}

/// A PKCE pair (RFC 7636 §4.1–4.2, method `S256`).
#[derive(Debug, Clone)]
pub struct Pkce {
    /// The code verifier: 43 base64url characters from 32 random bytes.
    pub verifier: CodeVerifier,
    /// `BASE64URL(SHA256(verifier))`.
    pub challenge: String,
}

impl Pkce {
    /// Derives a pair from 32 random bytes (the core has no RNG).
    #[must_use]
    pub fn from_random(bytes: &[u8; 32]) -> Self {
        let verifier = CodeVerifier::new(Base64UrlUnpadded::encode_string(bytes));
        let challenge = s256_challenge(verifier.secret());
        Self {
            verifier,
            challenge,
        }
    }
}

/// The `S256` code challenge of a verifier (RFC 7636 §4.2).
#[must_use]
pub fn s256_challenge(verifier: &str) -> String {
    Base64UrlUnpadded::encode_string(&Sha256::digest(verifier.as_bytes()))
}

/// A random `state` or `nonce` value: base64url of 16+ random bytes.
#[must_use]
pub fn random_value(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

/// The authorization request URL (RFC 6749 §4.1.1, RFC 7636 §4.3, OpenID
/// Connect Core §3.1.2.1): `response_type=code`, `client_id`,
/// `redirect_uri`, `scope`, `state`, `nonce`, `code_challenge`,
/// `code_challenge_method=S256`.
pub fn authorize_url(
    cfg: &OAuth2Profile,
    state: &str,
    nonce: &str,
    code_challenge: &str,
) -> Result<String, Error> {
    let base = cfg
        .authorization_url
        .as_deref()
        .ok_or_else(|| Error::config("authorizationUrl", "is required for the code flow"))?;
    let redirect = cfg
        .redirect_uri
        .as_deref()
        .ok_or_else(|| Error::config("redirectUri", "is required for the code flow"))?;
    let mut form = Form(Vec::with_capacity(8));
    form.push("response_type", "code");
    form.push("client_id", &cfg.client_id);
    form.push("redirect_uri", redirect);
    form.push("scope", cfg.scope.as_deref().unwrap_or_default());
    form.push("state", state);
    form.push("nonce", nonce);
    form.push("code_challenge", code_challenge);
    form.push("code_challenge_method", "S256");
    let sep = if base.contains('?') { '&' } else { '?' };
    Ok(format!("{base}{sep}{}", form.encode()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b() {
        assert_eq!(
            s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn form_encoding() {
        assert_eq!(
            form_encode("a b&c=d+é@*-._~"),
            "a+b%26c%3Dd%2B%C3%A9%40*-._%7E"
        );
    }
}
