//! Expiry math: pure functions of instants and lifetimes.
//!
//! Expiries are absolute local instants. A lifetime from `expires_in`
//! (RFC 6749 §5.1), or a JSON profile's lifetime in seconds or minutes,
//! counts from the moment the request was sent, which is immune to clock
//! skew. An absolute expiry, a JWT `exp` (RFC 7519 §4.1.4) or a JSON
//! profile's epoch or RFC 3339 member, is in the server's clock and is
//! shifted by the estimated offset.

use super::config::RefreshPolicy;
use super::time::UnixMillis;

/// The longest delay a JS timer accepts (2^31 − 1 ms, about 24.8 days);
/// larger values fire at once in browsers, Node and workerd.
pub const MAX_TIMER_DELAY_MS: u32 = i32::MAX as u32;

/// The delay to arm a timer with so that it fires at `at`: 0 when `at` is
/// already past, and never more than [`MAX_TIMER_DELAY_MS`] (a later
/// deadline is reached by re-arming when the timer fires).
#[must_use]
pub fn timer_delay(now: UnixMillis, at: UnixMillis) -> u32 {
    u32::try_from(at.saturating_since(now))
        .unwrap_or(MAX_TIMER_DELAY_MS)
        .min(MAX_TIMER_DELAY_MS)
}

/// `base` plus a lifetime of `count` units of `unit_ms` milliseconds
/// (1000 for `expires_in` seconds), saturating.
#[must_use]
pub fn expires_at(base: UnixMillis, count: u64, unit_ms: u64) -> UnixMillis {
    base.plus_millis(count.saturating_mul(unit_ms))
}

/// Whether a token with this expiry may still be used at `now`. An unknown
/// expiry counts as fresh (RFC 6749 §5.1 makes `expires_in` optional); an
/// expiry equal to `now` does not, so `expires_in: 0` is never fresh.
#[must_use]
pub fn is_fresh(now: UnixMillis, expires_at: Option<UnixMillis>) -> bool {
    expires_at.is_none_or(|at| now < at)
}

/// When to refresh a token issued at `issued_at` that expires at
/// `expires_at`: `expires_at − clamp(fraction × lifetime, min, max) −
/// jitter`, never before `issued_at + min_interval`. `None` when that is not
/// before the expiry (a lifetime too short to refresh ahead: it is renewed
/// on demand instead). `sample` is a random number from the caller; the
/// jitter is at most `max_jitter_ms` and at most half the time left.
#[must_use]
pub fn refresh_at(
    policy: &RefreshPolicy,
    issued_at: UnixMillis,
    expires_at: UnixMillis,
    sample: u32,
) -> Option<UnixMillis> {
    let lifetime = expires_at.saturating_since(issued_at);
    // Lifetimes are far below 2^52 ms, so the f64 round trip is exact
    // enough; the cast back saturates.
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    let share = (policy.lead_fraction * lifetime as f64) as u64;
    let lead = share
        .clamp(policy.min_lead_ms, policy.max_lead_ms)
        .min(lifetime);
    let jitter =
        (u64::from(sample) % policy.max_jitter_ms.saturating_add(1)).min((lifetime - lead) / 2);
    let at = UnixMillis(expires_at.0.saturating_sub(lead).saturating_sub(jitter))
        .max(issued_at.plus_millis(policy.min_interval_ms));
    (at < expires_at).then_some(at)
}

/// The delay before retry number `attempt` (1-based): `base × 2^(attempt−1)`
/// capped at the maximum, then "equal jitter" (half fixed, half drawn from
/// `sample`).
#[must_use]
pub fn backoff_delay(policy: &RefreshPolicy, attempt: u32, sample: u32) -> u64 {
    let exp = policy
        .backoff_base_ms
        .saturating_mul(1u64 << attempt.saturating_sub(1).min(32))
        .min(policy.backoff_max_ms);
    let half = exp / 2;
    exp - half + u64::from(sample) % (half + 1)
}

/// The server clock minus the local clock, estimated from a server instant
/// against the request midpoint (keycloak-js does the same with `iat`).
/// A `Date` header has whole seconds, so callers add 500 ms to it first.
#[must_use]
pub fn clock_offset(sent_at: UnixMillis, received_at: UnixMillis, server_time: UnixMillis) -> i64 {
    let mid = sent_at.0 / 2 + received_at.0 / 2;
    let signed = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    signed(server_time.0).saturating_sub(signed(mid))
}

/// A server-clock instant in the local clock, given [`clock_offset`].
#[must_use]
pub fn to_local(server_instant: UnixMillis, offset: i64) -> UnixMillis {
    if offset >= 0 {
        UnixMillis(server_instant.0.saturating_sub(offset.unsigned_abs()))
    } else {
        server_instant.plus_millis(offset.unsigned_abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timer_delay_saturates_and_clamps() {
        let now = UnixMillis(1_000);
        assert_eq!(timer_delay(now, UnixMillis(400)), 0);
        assert_eq!(timer_delay(now, now), 0);
        assert_eq!(timer_delay(now, UnixMillis(1_250)), 250);
        let far = now.plus_millis(31_536_000_000_000);
        assert_eq!(timer_delay(now, far), MAX_TIMER_DELAY_MS);
    }

    #[test]
    fn refresh_ahead_is_proportional_and_clamped() {
        let p = RefreshPolicy::default();
        let t0 = UnixMillis(1_000_000);
        // 1199 s (TNCO): 20 % = 239.8 s ahead.
        assert_eq!(
            refresh_at(&p, t0, expires_at(t0, 1199, 1_000), 0),
            Some(t0.plus_millis(959_200))
        );
        // 3600 s: 720 s clamps to 300 s.
        assert_eq!(
            refresh_at(&p, t0, expires_at(t0, 3600, 1_000), 0),
            Some(t0.plus_millis(3_300_000))
        );
        // 10 s: 2 s raises to the 5 s minimum lead; jitter ≤ half the rest.
        assert_eq!(
            refresh_at(&p, t0, expires_at(t0, 10, 1_000), 4_000),
            Some(t0.plus_millis(5_000))
        );
        // 0 s and 3 s: too short to refresh ahead.
        assert_eq!(refresh_at(&p, t0, t0, 0), None);
        assert_eq!(refresh_at(&p, t0, expires_at(t0, 3, 1_000), 0), None);
        // Jitter moves it earlier, bounded by max_jitter_ms.
        assert_eq!(
            refresh_at(&p, t0, expires_at(t0, 3600, 1_000), 4_999),
            Some(t0.plus_millis(3_295_001))
        );
        assert_eq!(
            refresh_at(&p, t0, expires_at(t0, 3600, 1_000), 5_001),
            Some(t0.plus_millis(3_300_000))
        );
    }

    #[test]
    fn backoff_doubles_with_jitter_and_caps() {
        let p = RefreshPolicy::default();
        assert_eq!(backoff_delay(&p, 1, 0), 500);
        assert_eq!(backoff_delay(&p, 1, 500), 1_000);
        assert_eq!(backoff_delay(&p, 2, 0), 1_000);
        assert_eq!(backoff_delay(&p, 7, 0), 30_000);
        assert_eq!(
            backoff_delay(&p, 40, u32::MAX),
            30_000 + u64::from(u32::MAX) % 30_001
        );
        assert!(backoff_delay(&p, 1000, u32::MAX) <= 60_000);
    }

    #[test]
    fn offsets() {
        let (s, r) = (UnixMillis(10_000), UnixMillis(12_000));
        assert_eq!(clock_offset(s, r, UnixMillis(611_000)), 600_000);
        assert_eq!(to_local(UnixMillis(700_000), 600_000), UnixMillis(100_000));
        assert_eq!(
            to_local(UnixMillis(700_000), -600_000),
            UnixMillis(1_300_000)
        );
        assert!(is_fresh(s, None));
        assert!(!is_fresh(s, Some(s)));
    }

    #[test]
    fn lifetimes_in_any_unit_saturate() {
        let t0 = UnixMillis(1_000);
        assert_eq!(expires_at(t0, 90, 1_000), UnixMillis(91_000));
        assert_eq!(expires_at(t0, 15, 60_000), UnixMillis(901_000));
        assert_eq!(expires_at(t0, 0, 60_000), t0);
        assert_eq!(expires_at(t0, u64::MAX, 60_000), UnixMillis(u64::MAX));
    }
}
