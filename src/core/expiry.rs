//! Expiry math: pure functions of instants and lifetimes.

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
}
