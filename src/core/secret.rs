//! Secret values as types that cannot leak by accident.
//!
//! Each type wraps a `String`; `Debug` prints `Name([redacted])` and
//! `Display` prints `[redacted]`. None derives `PartialEq`, so a secret is
//! never compared in variable time by accident. The raw value is reached only
//! through `secret()`, which request building and persistence call.

use std::fmt;

macro_rules! secret_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name(String);

        impl $name {
            /// Wraps a secret value.
            #[must_use]
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The raw secret.
            ///
            /// # Security Warning
            ///
            /// Never log, display or embed the returned value in an error,
            /// a URL or an event; send it only where its protocol says.
            #[must_use]
            pub fn secret(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("[redacted]")
            }
        }
    };
}

secret_type!(
    /// An access token (RFC 6749 §1.4), sent as `Authorization: Bearer`
    /// (RFC 6750 §2.1).
    AccessToken
);
secret_type!(
    /// A refresh token (RFC 6749 §1.5).
    RefreshToken
);
secret_type!(
    /// An OpenID Connect ID token, kept opaque.
    IdToken
);
secret_type!(
    /// A client secret (RFC 6749 §2.3.1).
    ClientSecret
);
secret_type!(
    /// A resource owner's password (RFC 6749 §4.3) or a custom login's.
    Password
);
secret_type!(
    /// A PKCE code verifier (RFC 7636 §4.1).
    CodeVerifier
);
secret_type!(
    /// An authorization code (RFC 6749 §4.1.2): single-use, but whoever
    /// holds it with the verifier can redeem it.
    AuthCode
);
secret_type!(
    /// A device code (RFC 8628 §3.2): whoever holds it gets the tokens the
    /// user approves.
    DeviceCode
);
secret_type!(
    /// A token given in a token exchange (RFC 8693 §2.1): the subject's or
    /// the actor's.
    ExchangedToken
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_redact() {
        let t = RefreshToken::new("SENTINEL_RT_1");
        assert_eq!(format!("{t:?}"), "RefreshToken([redacted])");
        assert_eq!(t.to_string(), "[redacted]");
        assert_eq!(t.secret(), "SENTINEL_RT_1");
    }
}
