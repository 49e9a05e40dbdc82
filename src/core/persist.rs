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
use super::secret::{AccessToken, IdToken, RefreshToken};
use super::time::UnixMillis;
use super::tokens::{Renewal, TokenSet};
use serde::{Deserialize, Serialize};
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

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
enum StoredRenewal {
    RefreshToken,
    ClientCredentials,
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

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct V1 {
    v: u32,
    endpoint: String,
    #[serde(default)]
    client_id: Option<String>,
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    id_token: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    issued_at: u64,
    #[serde(default)]
    expires_at: Option<u64>,
    #[serde(default)]
    refresh_expires_at: Option<u64>,
    renewal: StoredRenewal,
}

#[derive(Deserialize)]
struct Version {
    v: u32,
}

/// Serialises a token set with its owner.
#[must_use]
pub fn save(t: &TokenSet, owner: Owner<'_>) -> StoredSession {
    let v1 = V1 {
        v: VERSION,
        endpoint: owner.endpoint.to_owned(),
        client_id: owner.client_id.map(str::to_owned),
        access_token: t.access_token.secret().to_owned(),
        refresh_token: t.refresh_token.as_ref().map(|r| r.secret().to_owned()),
        id_token: t.id_token.as_ref().map(|r| r.secret().to_owned()),
        scope: t.scope.clone(),
        issued_at: t.issued_at.0,
        expires_at: t.expires_at.map(|e| e.0),
        refresh_expires_at: t.refresh_expires_at.map(|e| e.0),
        renewal: match t.renewal {
            Renewal::RefreshToken => StoredRenewal::RefreshToken,
            Renewal::ClientCredentials => StoredRenewal::ClientCredentials,
        },
    };
    // Serialising plain strings and numbers cannot fail.
    StoredSession(serde_json::to_string(&v1).unwrap_or_default())
}

/// Reads a stored session back, if `owner` wrote it.
pub fn load(text: &str, owner: Owner<'_>) -> Result<TokenSet, Error> {
    let version = serde_json::from_str::<Version>(text).map_err(|_| Error::StoredFormat {
        reason: "is not a versioned JSON object",
    })?;
    if version.v != VERSION {
        return Err(Error::StoredFormat {
            reason: "has an unknown version",
        });
    }
    let v1 = serde_json::from_str::<V1>(text).map_err(|_| Error::StoredFormat {
        reason: "has missing or mistyped members",
    })?;
    if v1.endpoint != owner.endpoint || v1.client_id.as_deref() != owner.client_id {
        return Err(Error::StoredFormat {
            reason: "belongs to another token endpoint or client",
        });
    }
    let token_ok = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_graphic());
    if !token_ok(&v1.access_token) || !v1.refresh_token.as_deref().is_none_or(token_ok) {
        return Err(Error::StoredFormat {
            reason: "holds a malformed token",
        });
    }
    Ok(TokenSet {
        claims: claims::peek(&v1.access_token).map(|c| c.claims),
        access_token: AccessToken::new(v1.access_token),
        refresh_token: v1.refresh_token.map(RefreshToken::new),
        id_token: v1.id_token.map(IdToken::new),
        scope: v1.scope,
        issued_at: UnixMillis(v1.issued_at),
        expires_at: v1.expires_at.map(UnixMillis),
        refresh_expires_at: v1.refresh_expires_at.map(UnixMillis),
        renewal: match v1.renewal {
            StoredRenewal::RefreshToken => Renewal::RefreshToken,
            StoredRenewal::ClientCredentials => Renewal::ClientCredentials,
        },
    })
}
