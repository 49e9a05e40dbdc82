//! The one error type, with stable codes for the JS layer.
//!
//! Codes reuse oauth4webapi's `OAUTH_*` names where the meaning is the same
//! and use `AUTH_*` for ours. No variant holds a token, a password, a secret
//! or a raw response body: at most a status, a length and a field name.

use std::borrow::Cow;
use std::fmt;

/// The longest `error_description` shown from a server (RFC 6749 §5.2).
pub const MAX_DESCRIPTION_CHARS: usize = 512;
/// The longest `error` code shown from a server (RFC 6749 §5.2).
pub const MAX_ERROR_CODE_CHARS: usize = 128;

/// Why a session ended; it then needs a new login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndReason {
    /// The server answered `invalid_grant` (RFC 6749 §5.2).
    InvalidGrant,
    /// The server rejected the refresh with 400 or 401 and no `invalid_grant`.
    Rejected,
    /// The refresh token's own expiry passed.
    RefreshTokenExpired,
    /// The access token expired and nothing can renew it.
    AccessTokenExpired,
    /// Another context (tab, worker) cleared the shared storage.
    ClearedElsewhere,
}

impl EndReason {
    /// A stable lower-case name, e.g. `"invalid_grant"`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidGrant => "invalid_grant",
            Self::Rejected => "rejected",
            Self::RefreshTokenExpired => "refresh_token_expired",
            Self::AccessTokenExpired => "access_token_expired",
            Self::ClearedElsewhere => "cleared_elsewhere",
        }
    }
}

/// Everything that can go wrong, each with a stable [`Error::code`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is invalid; `field` names the option.
    Config {
        /// The option, as the JS options object spells it.
        field: Cow<'static, str>,
        /// What is wrong, as a lower-case fragment.
        reason: &'static str,
    },
    /// A success response whose `Content-Type` is not JSON.
    NotJson {
        /// The media type received (sanitised, truncated), if any.
        content_type: Option<String>,
    },
    /// The body is not well-formed JSON (or too deeply nested).
    Parse {
        /// The body length in bytes.
        len: usize,
    },
    /// A success response that is not a conformant token response
    /// (RFC 6749 §5.1).
    InvalidResponse {
        /// The member at fault, e.g. `access_token`, or `body`.
        field: Cow<'static, str>,
        /// What is wrong, as a lower-case fragment.
        reason: &'static str,
    },
    /// A value the client does not support, e.g. a `token_type` other than
    /// `bearer` (RFC 6749 §7.1).
    Unsupported {
        /// The member at fault.
        field: Cow<'static, str>,
    },
    /// An OAuth error response (RFC 6749 §5.2, RFC 6750 §3, RFC 7009 §2.2.1).
    OAuth {
        /// The HTTP status.
        status: u16,
        /// The `error` code, control characters stripped.
        error: String,
        /// The `error_description`, truncated and stripped.
        description: Option<String>,
    },
    /// An unexpected HTTP status with no OAuth error body (3xx is never
    /// followed).
    Status {
        /// The HTTP status.
        status: u16,
    },
    /// 429 Too Many Requests (RFC 6585 §4).
    RateLimited {
        /// The server's `Retry-After`, in milliseconds, if it sent one.
        retry_after_ms: Option<u64>,
    },
    /// 408 or 5xx: the server is unavailable for now.
    ServerUnavailable {
        /// The HTTP status.
        status: u16,
    },
    /// The request failed before a response (fetch rejected).
    Network,
    /// The request timed out.
    Timeout,
    /// The caller aborted the request.
    Aborted,
    /// There is no session: log in first.
    NoSession,
    /// The session has no refresh token to renew with.
    NoRefreshToken,
    /// The session ended; a new login is needed.
    SessionEnded {
        /// Why it ended.
        reason: EndReason,
    },
    /// A refresh is not allowed yet (backoff after a failure, or the minimum
    /// interval between refreshes).
    RetryLater {
        /// Milliseconds until the next attempt is allowed.
        retry_in_ms: u64,
    },
    /// The token store failed.
    Storage {
        /// What failed, as a lower-case fragment.
        reason: &'static str,
    },
    /// The stored session is not in a format this version reads.
    StoredFormat {
        /// What is wrong, as a lower-case fragment.
        reason: &'static str,
    },
    /// The cross-context lock was not acquired in time.
    LockTimeout,
    /// `keeper.fetch` was asked to send the token to an origin outside
    /// `allowedOrigins`; nothing was sent.
    OriginNotAllowed {
        /// The request's origin (scheme, host and port only; sanitised).
        origin: String,
    },
    /// The authorization response's `state` is missing or differs from the
    /// one sent (RFC 6749 §4.1.2, §10.12).
    StateMismatch,
    /// An `issuer` or `iss` differs from the expected issuer: a discovery
    /// document (RFC 8414 §3.3, OpenID Connect Discovery §4.3) or an
    /// authorization response (RFC 9207 §2.4).
    IssuerMismatch {
        /// Where the issuer came from, e.g. `issuer` or `iss`.
        field: &'static str,
    },
    /// No authorization request is pending: nothing to complete.
    NoPendingLogin,
    /// The authorization server answered the authorization request with an
    /// error (RFC 6749 §4.1.2.1), e.g. `access_denied`.
    Authorization {
        /// The `error` code, control characters stripped.
        error: String,
        /// The `error_description`, truncated and stripped.
        description: Option<String>,
    },
    /// The redirect back is not an authorization response (RFC 6749
    /// §4.1.2): a parameter is missing, empty or repeated.
    InvalidCallback {
        /// The parameter at fault, e.g. `code`.
        field: &'static str,
        /// What is wrong, as a lower-case fragment.
        reason: &'static str,
    },
    /// The ID token failed a check of OpenID Connect Core §3.1.3.7, or its
    /// signature did not verify.
    IdToken {
        /// The claim or part at fault, e.g. `aud`, `nonce`, `signature`.
        field: &'static str,
        /// What is wrong, as a lower-case fragment.
        reason: &'static str,
    },
    /// A DPoP proof (RFC 9449 §4) cannot be made from what was given: the
    /// key is not a public P-256 JWK, or the method, URL, `jti` or
    /// signature is unusable.
    DpopProof {
        /// The input at fault, e.g. `jwk.crv`, `htu` or `signature`.
        field: &'static str,
        /// What is wrong, as a lower-case fragment.
        reason: &'static str,
    },
    /// A token response's `token_type` does not match the request
    /// (RFC 9449 §5): not `DPoP` although a DPoP proof was sent, or `DPoP`
    /// although none was.
    DpopTokenType {
        /// Whether a DPoP proof was sent, so that `DPoP` was expected.
        dpop: bool,
    },
    /// The device flow's codes expired before the user approved (RFC 8628
    /// §3.5).
    DeviceCodeExpired,
}

impl Error {
    pub(crate) fn config(field: impl Into<Cow<'static, str>>, reason: &'static str) -> Self {
        Self::Config {
            field: field.into(),
            reason,
        }
    }

    pub(crate) fn invalid(field: impl Into<Cow<'static, str>>, reason: &'static str) -> Self {
        Self::InvalidResponse {
            field: field.into(),
            reason,
        }
    }

    /// A stable code for programs to match on, e.g. `"OAUTH_INVALID_RESPONSE"`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Config { .. } => "AUTH_CONFIG",
            Self::NotJson { .. } => "OAUTH_RESPONSE_IS_NOT_JSON",
            Self::Parse { .. } => "OAUTH_PARSE_ERROR",
            Self::InvalidResponse { .. } => "OAUTH_INVALID_RESPONSE",
            Self::Unsupported { .. } => "OAUTH_UNSUPPORTED_OPERATION",
            Self::OAuth { .. } => "OAUTH_RESPONSE_BODY_ERROR",
            Self::Status { .. } => "OAUTH_RESPONSE_IS_NOT_CONFORM",
            Self::RateLimited { .. } => "AUTH_RATE_LIMITED",
            Self::ServerUnavailable { .. } => "AUTH_SERVER_UNAVAILABLE",
            Self::Network => "AUTH_NETWORK",
            Self::Timeout => "AUTH_TIMEOUT",
            Self::Aborted => "AUTH_ABORTED",
            Self::NoSession => "AUTH_NO_SESSION",
            Self::NoRefreshToken => "AUTH_NO_REFRESH_TOKEN",
            Self::SessionEnded { .. } => "AUTH_SESSION_ENDED",
            Self::RetryLater { .. } => "AUTH_RETRY_LATER",
            Self::Storage { .. } => "AUTH_STORAGE",
            Self::StoredFormat { .. } => "AUTH_STORAGE_FORMAT",
            Self::LockTimeout => "AUTH_LOCK_TIMEOUT",
            Self::OriginNotAllowed { .. } => "AUTH_ORIGIN_NOT_ALLOWED",
            Self::StateMismatch => "AUTH_STATE_MISMATCH",
            Self::IssuerMismatch { .. } => "AUTH_ISSUER_MISMATCH",
            Self::NoPendingLogin => "AUTH_NO_PENDING_LOGIN",
            Self::Authorization { .. } => "OAUTH_AUTHORIZATION_RESPONSE_ERROR",
            Self::InvalidCallback { .. } => "AUTH_CALLBACK_INVALID",
            Self::IdToken { .. } => "AUTH_ID_TOKEN_INVALID",
            Self::DpopProof { .. } => "AUTH_DPOP_PROOF",
            Self::DpopTokenType { .. } => "AUTH_DPOP_TOKEN_TYPE",
            Self::DeviceCodeExpired => "AUTH_DEVICE_CODE_EXPIRED",
        }
    }

    /// The HTTP status behind this error, if a response caused it.
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::OAuth { status, .. }
            | Self::Status { status }
            | Self::ServerUnavailable { status } => Some(*status),
            Self::RateLimited { .. } => Some(429),
            _ => None,
        }
    }

    /// The server's `error` code (RFC 6749 §5.2), e.g. `"invalid_grant"`,
    /// cut to [`MAX_ERROR_CODE_CHARS`].
    #[must_use]
    pub fn error(&self) -> Option<&str> {
        match self {
            Self::OAuth { error, .. } | Self::Authorization { error, .. } => {
                Some(clip(error, MAX_ERROR_CODE_CHARS))
            }
            _ => None,
        }
    }

    /// The server's `error_description` (RFC 6749 §5.2), cut to
    /// [`MAX_DESCRIPTION_CHARS`], control characters stripped.
    #[must_use]
    pub fn error_description(&self) -> Option<&str> {
        match self {
            Self::OAuth { description, .. } | Self::Authorization { description, .. } => {
                description
                    .as_deref()
                    .map(|d| clip(d, MAX_DESCRIPTION_CHARS))
            }
            _ => None,
        }
    }

    /// Whether trying again later may succeed: network faults, timeouts,
    /// 408, 429, 5xx and `temporarily_unavailable`.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Network
            | Self::Timeout
            | Self::RateLimited { .. }
            | Self::ServerUnavailable { .. }
            | Self::RetryLater { .. }
            | Self::LockTimeout
            | Self::Storage { .. } => true,
            Self::OAuth { status, error, .. } => {
                transient_status(*status) || error == "temporarily_unavailable"
            }
            _ => false,
        }
    }

    /// Replaces every occurrence of the given secrets in the server's `error`
    /// and `error_description` with `[redacted]`: servers sometimes echo
    /// input. The texts are kept whole until shown, so a secret near the
    /// cut is found whole too.
    pub(crate) fn scrub(&mut self, secrets: &[&str]) {
        if let Self::OAuth {
            error, description, ..
        }
        | Self::Authorization { error, description } = self
        {
            for text in std::iter::once(error).chain(description.as_mut()) {
                for s in secrets.iter().filter(|s| !s.is_empty()) {
                    if text.contains(s) {
                        *text = text.replace(s, "[redacted]");
                    }
                }
            }
        }
    }
}

/// 408, 429 and 5xx: statuses worth retrying (RFC 9110 §15.5.9, §15.6;
/// RFC 6585 §4).
pub(crate) fn transient_status(status: u16) -> bool {
    status == 408 || status == 429 || (500..=599).contains(&status)
}

/// Keeps at most `max` characters, dropping control characters.
pub(crate) fn sanitize(text: &str, max: usize) -> String {
    text.chars().filter(|c| !c.is_control()).take(max).collect()
}

/// A server's `error` or `error_description` as kept: whole (the body and
/// callback size limits bound it) but for control characters, so that
/// secrets are scrubbed before [`Error::error`] and
/// [`Error::error_description`] cut it.
pub(crate) fn server_text(text: &str) -> String {
    text.chars().filter(|c| !c.is_control()).collect()
}

/// The first `max` characters of `text`.
fn clip(text: &str, max: usize) -> &str {
    text.char_indices()
        .nth(max)
        .map_or(text, |(i, _)| &text[..i])
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config { field, reason } => write!(f, "\"{field}\" {reason}"),
            Self::NotJson {
                content_type: Some(ct),
            } => write!(f, "\"response\" content-type must be JSON, got \"{ct}\""),
            Self::NotJson { content_type: None } => {
                f.write_str("\"response\" content-type must be JSON, got none")
            }
            Self::Parse { len } => {
                write!(f, "\"response\" body ({len} bytes) is not valid JSON")
            }
            Self::InvalidResponse { field, reason } if field == "body" => {
                write!(f, "\"response\" body {reason}")
            }
            Self::InvalidResponse { field, reason } => {
                write!(f, "\"response\" body \"{field}\" property {reason}")
            }
            Self::Unsupported { field } => {
                write!(
                    f,
                    "\"response\" body \"{field}\" property has an unsupported value"
                )
            }
            Self::OAuth { status, error, .. } => {
                let error = clip(error, MAX_ERROR_CODE_CHARS);
                write!(
                    f,
                    "server responded with an error: \"{error}\" (status {status})"
                )
            }
            Self::Status { status } => write!(f, "unexpected response status {status}"),
            Self::RateLimited { .. } => f.write_str("server is rate limiting (status 429)"),
            Self::ServerUnavailable { status } => {
                write!(f, "server unavailable (status {status})")
            }
            Self::Network => f.write_str("network request failed"),
            Self::Timeout => f.write_str("request timed out"),
            Self::Aborted => f.write_str("request aborted"),
            Self::NoSession => f.write_str("no session: log in first"),
            Self::NoRefreshToken => f.write_str("session has no refresh token"),
            Self::SessionEnded { reason } => {
                write!(f, "session ended ({}): log in again", reason.as_str())
            }
            Self::RetryLater { retry_in_ms } => {
                write!(f, "refresh not allowed for another {retry_in_ms} ms")
            }
            Self::Storage { reason } => write!(f, "token storage failed: {reason}"),
            Self::StoredFormat { reason } => write!(f, "stored session {reason}"),
            Self::LockTimeout => f.write_str("lock not acquired in time"),
            Self::OriginNotAllowed { origin } => {
                write!(
                    f,
                    "\"{origin}\" is not an allowed origin for the access token"
                )
            }
            Self::StateMismatch => {
                f.write_str("\"state\" of the authorization response does not match")
            }
            Self::IssuerMismatch { field } => {
                write!(f, "\"{field}\" does not match the expected issuer")
            }
            Self::NoPendingLogin => f.write_str("no authorization request is pending"),
            Self::Authorization { error, .. } => {
                let error = clip(error, MAX_ERROR_CODE_CHARS);
                write!(
                    f,
                    "authorization server responded with an error: \"{error}\""
                )
            }
            Self::InvalidCallback { field, reason } => {
                write!(f, "authorization response \"{field}\" parameter {reason}")
            }
            Self::IdToken { field, reason } => write!(f, "\"id_token\" {field} {reason}"),
            Self::DpopProof { field, reason } => write!(f, "DPoP proof \"{field}\" {reason}"),
            Self::DpopTokenType { dpop: true } => f.write_str(
                "\"response\" body \"token_type\" property must be \"DPoP\" when a DPoP proof was sent",
            ),
            Self::DpopTokenType { dpop: false } => f.write_str(
                "\"response\" body \"token_type\" property must not be \"DPoP\" when no DPoP proof was sent",
            ),
            Self::DeviceCodeExpired => {
                f.write_str("the device code expired before the user approved: start again")
            }
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_field() {
        let e = Error::invalid("expires_in", "must be a non-negative number");
        assert_eq!(
            e.to_string(),
            "\"response\" body \"expires_in\" property must be a non-negative number"
        );
        assert_eq!(e.code(), "OAUTH_INVALID_RESPONSE");
        assert!(!e.is_transient());
    }

    #[test]
    fn scrub_and_sanitize() {
        let mut e = Error::OAuth {
            status: 400,
            error: "invalid_grant".into(),
            description: Some(server_text("bad pw SENTINEL_PW\r\n!")),
        };
        e.scrub(&["SENTINEL_PW", ""]);
        assert_eq!(e.error_description(), Some("bad pw [redacted]!"));
        let mut echoed = Error::OAuth {
            status: 503,
            error: "SENTINEL_RT".into(),
            description: None,
        };
        echoed.scrub(&["SENTINEL_RT"]);
        assert_eq!(echoed.error(), Some("[redacted]"));
        assert_eq!(e.status(), Some(400));
        assert_eq!(e.error(), Some("invalid_grant"));
    }

    #[test]
    fn a_secret_across_the_cut_is_scrubbed_whole() {
        let secret = "SENTINEL_RT_0123456789";
        for at in [MAX_DESCRIPTION_CHARS - 10, MAX_DESCRIPTION_CHARS - 1] {
            let text = format!("{}{secret} and more", "é".repeat(at));
            let mut e = Error::OAuth {
                status: 400,
                error: format!("{}{secret}", "x".repeat(MAX_ERROR_CODE_CHARS - 4)),
                description: Some(server_text(&text)),
            };
            e.scrub(&[secret]);
            let shown = e.error_description().unwrap_or_default();
            assert_eq!(shown.chars().count(), MAX_DESCRIPTION_CHARS);
            assert!(!shown.contains("SENTINEL"), "{at}");
            assert_eq!(
                e.error().map(|c| c.chars().count()),
                Some(MAX_ERROR_CODE_CHARS)
            );
            assert!(!e.to_string().contains("SENT"), "{e}");
        }
    }
}
