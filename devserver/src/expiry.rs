//! When a token counts as expired, decided the way each emulated server
//! decides it. Expiry instants are kept in Unix milliseconds on the offset
//! clock; a JWT's `exp` is whole seconds, so its instant is `exp × 1000`.

use crate::store::Style;

/// Whether a token of `style` that expires at `expires_at_ms` is expired at
/// `now_ms`.
///
/// - Keycloak compares whole seconds: `JsonWebToken.isExpired()` is
///   `Time.currentTime() > exp`, with `Time.currentTime()` in seconds, so a
///   token is still accepted during the second named by its `exp`.
/// - LGDX (ASP.NET Core JwtBearer, `ClockSkew = TimeSpan.Zero`): the
///   Microsoft.IdentityModel lifetime check `expires < utcNow - clockSkew`
///   compares with the full clock, so the token expires right after
///   `exp.000`. Identity Manager is given the same rule.
/// - TNCO (Spring Security OAuth): `DefaultOAuth2AccessToken.isExpired()` is
///   `expiration.before(new Date())`, milliseconds on both sides.
pub(crate) fn is_expired(style: Style, expires_at_ms: i64, now_ms: i64) -> bool {
    match style {
        Style::Kc => now_ms.div_euclid(1000) > expires_at_ms.div_euclid(1000),
        Style::Lgdx | Style::Im | Style::Tnco => now_ms > expires_at_ms,
    }
}

/// Whole seconds from `now_ms` until `expires_at_ms`, truncated and never
/// negative: Spring's `(expiration.getTime() - now) / 1000`, so it reads 0
/// during the last second of a token's life.
pub(crate) fn remaining_secs(expires_at_ms: i64, now_ms: i64) -> i64 {
    expires_at_ms.saturating_sub(now_ms).max(0) / 1000
}

/// `secs` seconds after `now_ms`, in milliseconds.
pub(crate) fn after_secs(now_ms: i64, secs: u64) -> i64 {
    let ms = i64::try_from(secs).unwrap_or(i64::MAX).saturating_mul(1000);
    now_ms.saturating_add(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keycloak_accepts_the_whole_exp_second() {
        let exp = 1_700_000_010_000;
        assert!(!is_expired(Style::Kc, exp, exp));
        assert!(!is_expired(Style::Kc, exp, exp + 999));
        assert!(is_expired(Style::Kc, exp, exp + 1000));
    }

    #[test]
    fn the_others_expire_one_millisecond_after() {
        let exp = 1_700_000_010_000;
        for style in [Style::Lgdx, Style::Im, Style::Tnco] {
            assert!(!is_expired(style, exp, exp - 1));
            assert!(!is_expired(style, exp, exp));
            assert!(is_expired(style, exp, exp + 1));
        }
    }

    #[test]
    fn remaining_seconds_truncate() {
        assert_eq!(remaining_secs(10_000, 0), 10);
        assert_eq!(remaining_secs(10_000, 1), 9);
        assert_eq!(remaining_secs(10_000, 9_001), 0);
        assert_eq!(remaining_secs(10_000, 10_000), 0);
        assert_eq!(remaining_secs(10_000, 12_000), 0);
        assert_eq!(after_secs(500, 2), 2_500);
        assert_eq!(after_secs(i64::MAX - 1, 2), i64::MAX);
    }
}
