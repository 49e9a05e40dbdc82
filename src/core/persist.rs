//! The stored form of a session: versioned JSON, `{"v":1,…}`.
//!
//! It holds the tokens and their absolute expiries, never a password or a
//! client secret, and names its [`Owner`]: the endpoint that renews the
//! tokens and the client they were issued to. An unknown version, unreadable
//! text or another owner's session is a typed error and changes nothing, so
//! a keeper never sends a refresh token to an endpoint that did not issue it.

use super::claims;
use super::config::Profile;
use super::error::Error;
use super::json_text::ObjectText;
use super::secret::{AccessToken, RefreshToken};
use super::time::UnixMillis;
use super::tokens::{Renewal, TokenSet};
use serde_json::Value;
use std::fmt;

/// The version this build writes and reads.
pub const VERSION: u32 = 1;

/// A serialised session, ready for a token store. `Debug` redacts it: it
/// holds tokens.
#[derive(Clone)]
pub struct StoredSession(String);

impl StoredSession {
    /// Wraps text read from a store.
    #[must_use]
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The JSON text.
    ///
    /// # Security Warning
    ///
    /// It contains the tokens: write it only to the configured store.
    #[must_use]
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for StoredSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StoredSession([redacted])")
    }
}

/// Whom a stored session belongs to. Not secret: URLs and a client id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner<'a> {
    /// The endpoint that renews the tokens: the OAuth 2.0 token endpoint,
    /// or a JSON API's refresh URL.
    pub endpoint: &'a str,
    /// The OAuth 2.0 client the tokens were issued to.
    pub client_id: Option<&'a str>,
}

impl<'a> Owner<'a> {
    /// The default storage key (and lock name) of this owner's sessions:
    /// `tokenkeeper:<endpoint>`, plus ` <client id>` for OAuth 2.0, so that
    /// keepers for different endpoints or clients on one origin neither
    /// read nor overwrite nor clear each other's sessions.
    #[must_use]
    pub fn storage_key(&self) -> String {
        match self.client_id {
            Some(id) => format!("tokenkeeper:{} {id}", self.endpoint),
            None => format!("tokenkeeper:{}", self.endpoint),
        }
    }

    /// The owner of the sessions a keeper with `profile` writes and reads.
    #[must_use]
    pub fn of(profile: &'a Profile) -> Self {
        match profile {
            Profile::OAuth2(p) => Self {
                endpoint: &p.token_url,
                client_id: Some(&p.client_id),
            },
            Profile::Json(p) => Self {
                endpoint: &p.refresh_url,
                client_id: None,
            },
        }
    }
}

/// Serialises a token set with its owner.
#[must_use]
pub fn save(t: &TokenSet, owner: Owner<'_>) -> StoredSession {
    let renewal = match t.renewal {
        Renewal::RefreshToken => "refreshToken",
        Renewal::ClientCredentials => "clientCredentials",
    };
    let text = ObjectText::new()
        .number("v", Some(u64::from(VERSION)))
        .string("endpoint", owner.endpoint)
        .opt_string("clientId", owner.client_id)
        .string("accessToken", t.access_token.secret())
        .opt_string(
            "refreshToken",
            t.refresh_token.as_ref().map(RefreshToken::secret),
        )
        .opt_string("scope", t.scope.as_deref())
        .number("issuedAt", Some(t.issued_at.0))
        .number("expiresAt", t.expires_at.map(|e| e.0))
        .number("refreshExpiresAt", t.refresh_expires_at.map(|e| e.0))
        .string("renewal", renewal)
        .bool("reissued", t.reissued)
        .finish();
    StoredSession(text)
}

/// Reads a stored session back, if `owner` wrote it. Members it does not
/// know are ignored.
pub fn load(text: &str, owner: Owner<'_>) -> Result<TokenSet, Error> {
    // from_slice, not from_str: one parser instance in the module, shared
    // with the token responses and jwt-compact.
    let value = serde_json::from_slice::<Value>(text.as_bytes()).ok();
    let Some(m) = value.as_ref().and_then(Value::as_object) else {
        return Err(Error::StoredFormat {
            reason: "is not a versioned JSON object",
        });
    };
    match m.get("v").map(Value::as_u64) {
        Some(Some(v)) if v == u64::from(VERSION) => {}
        Some(_) => {
            return Err(Error::StoredFormat {
                reason: "has an unknown version",
            });
        }
        None => {
            return Err(Error::StoredFormat {
                reason: "is not a versioned JSON object",
            });
        }
    }
    let mistyped = || Error::StoredFormat {
        reason: "has missing or mistyped members",
    };
    // A member that is absent or null is `None`; one of another type is an
    // error.
    let string = |name: &str| match m.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(mistyped()),
    };
    let number = |name: &str| match m.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or_else(mistyped),
    };
    let access_token = string("accessToken")?.ok_or_else(mistyped)?;
    let refresh_token = string("refreshToken")?;
    let issued_at = number("issuedAt")?.ok_or_else(mistyped)?;
    let renewal = match string("renewal")? {
        Some("refreshToken") => Renewal::RefreshToken,
        Some("clientCredentials") => Renewal::ClientCredentials,
        _ => return Err(mistyped()),
    };
    if string("endpoint")? != Some(owner.endpoint) || string("clientId")? != owner.client_id {
        return Err(Error::StoredFormat {
            reason: "belongs to another token endpoint or client",
        });
    }
    let token_ok = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_graphic());
    if !token_ok(access_token) || !refresh_token.is_none_or(token_ok) {
        return Err(Error::StoredFormat {
            reason: "holds a malformed token",
        });
    }
    Ok(TokenSet {
        claims: claims::peek(access_token).map(|c| c.claims),
        access_token: AccessToken::new(access_token),
        refresh_token: refresh_token.map(RefreshToken::new),
        scope: string("scope")?.map(str::to_owned),
        issued_at: UnixMillis(issued_at),
        expires_at: number("expiresAt")?.map(UnixMillis),
        refresh_expires_at: number("refreshExpiresAt")?.map(UnixMillis),
        renewal,
        reissued: matches!(m.get("reissued"), Some(Value::Bool(true))),
        expires_by: None,
        rejected: false,
    })
}
