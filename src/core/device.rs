//! The device authorization grant (RFC 8628): reading the codes, and what
//! to do after each answer to a poll.

use super::api;
use super::error::Error;
use super::response::{HttpResponse, error_response, json_object};
use super::secret::DeviceCode;
use super::time::UnixMillis;
use serde_json::{Map, Value};

/// The interval between polls when the server names none (RFC 8628 §3.2).
pub const DEFAULT_INTERVAL_MS: u64 = 5_000;
/// What `slow_down` adds to the interval (RFC 8628 §3.5).
pub const SLOW_DOWN_MS: u64 = 5_000;
/// The longest interval honoured, against a server asking for hours.
pub const MAX_INTERVAL_MS: u64 = 60_000;

/// A device authorization response (RFC 8628 §3.2), checked.
#[derive(Debug, Clone)]
pub struct DeviceAuthorization {
    /// The device code, polled with; never shown.
    pub device_code: DeviceCode,
    /// The code the user enters.
    pub user_code: String,
    /// Where the user enters it: an absolute http(s) URL.
    pub verification_uri: String,
    /// The same with the code in it, if the server gave one.
    pub verification_uri_complete: Option<String>,
    /// When the codes expire, in the local clock.
    pub expires_at: UnixMillis,
    /// The wait before each poll; `slow_down` lengthens it.
    pub interval_ms: u64,
}

/// What to do after a poll was refused.
#[derive(Debug)]
pub enum Poll {
    /// Poll again after this many milliseconds.
    Wait(u64),
    /// Stop with this error.
    Stop(Error),
}

/// Reads a device authorization response received at `now`.
pub fn parse_device_authorization(
    resp: &HttpResponse,
    now: UnixMillis,
) -> Result<DeviceAuthorization, Error> {
    if resp.status != 200 {
        return Err(error_response(resp, now));
    }
    let map = json_object(resp, true)?;
    let text = |name: &'static str| -> Result<String, Error> {
        match map.get(name) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            Some(_) => Err(Error::invalid(name, "must be a non-empty string")),
            None => Err(Error::invalid(name, "is required")),
        }
    };
    let uri = |name: &'static str| -> Result<Option<String>, Error> {
        match map.get(name) {
            None => Ok(None),
            Some(Value::String(s)) if api::parse(s).is_ok() => Ok(Some(s.clone())),
            Some(_) => Err(Error::invalid(name, "must be an absolute http(s) URL")),
        }
    };
    let expires_in =
        seconds(&map, "expires_in")?.ok_or_else(|| Error::invalid("expires_in", "is required"))?;
    let interval =
        seconds(&map, "interval")?.map_or(DEFAULT_INTERVAL_MS, |s| s.saturating_mul(1000));
    Ok(DeviceAuthorization {
        device_code: DeviceCode::new(text("device_code")?),
        user_code: text("user_code")?,
        verification_uri: uri("verification_uri")?
            .ok_or_else(|| Error::invalid("verification_uri", "is required"))?,
        verification_uri_complete: uri("verification_uri_complete")?,
        expires_at: now.plus_millis(expires_in.saturating_mul(1000)),
        interval_ms: interval.clamp(1, MAX_INTERVAL_MS),
    })
}

/// A whole number of seconds, if the member is there.
fn seconds(map: &Map<String, Value>, name: &'static str) -> Result<Option<u64>, Error> {
    match map.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .filter(|s| *s > 0)
            .map(Some)
            .ok_or_else(|| Error::invalid(name, "must be a positive whole number of seconds")),
    }
}

/// What to do after a poll at `now` failed with `error` (RFC 8628 §3.5):
/// wait while the user has not decided (`authorization_pending`), wait 5 s
/// longer from now on after `slow_down`, and also after a transient failure
/// (network, 5xx); stop on anything else (`access_denied`, `expired_token`)
/// and once the codes have expired.
pub fn after_error(auth: &mut DeviceAuthorization, error: Error, now: UnixMillis) -> Poll {
    let wait = match &error {
        Error::OAuth { error: code, .. } if code == "authorization_pending" => true,
        Error::OAuth { error: code, .. } if code == "slow_down" => {
            auth.interval_ms = (auth.interval_ms + SLOW_DOWN_MS).min(MAX_INTERVAL_MS);
            true
        }
        e => e.is_transient(),
    };
    if !wait {
        return Poll::Stop(error);
    }
    if now.plus_millis(auth.interval_ms) >= auth.expires_at {
        return Poll::Stop(Error::DeviceCodeExpired);
    }
    Poll::Wait(auth.interval_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: UnixMillis = UnixMillis(1_700_000_000_000);

    fn answer(status: u16, body: &str) -> HttpResponse {
        HttpResponse {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    fn oauth(code: &str) -> Error {
        Error::OAuth {
            status: 400,
            error: code.into(),
            description: None,
        }
    }

    fn codes() -> DeviceAuthorization {
        parse_device_authorization(
            &answer(
                200,
                r#"{"device_code":"SENTINEL_DC","user_code":"WDJB-MJHT","verification_uri":"https://id.example/device","verification_uri_complete":"https://id.example/device?user_code=WDJB-MJHT","expires_in":1800,"interval":5}"#,
            ),
            T0,
        )
        .unwrap()
    }

    #[test]
    fn the_codes_are_read_and_checked() {
        let a = codes();
        assert_eq!(a.user_code, "WDJB-MJHT");
        assert_eq!(a.device_code.secret(), "SENTINEL_DC");
        assert_eq!(a.interval_ms, 5_000);
        assert_eq!(a.expires_at, T0.plus_millis(1_800_000));
        assert!(!format!("{a:?}").contains("SENTINEL"));
        for (body, field) in [
            (
                r#"{"user_code":"A","verification_uri":"https://x/d","expires_in":600}"#,
                "device_code",
            ),
            (
                r#"{"device_code":"D","user_code":"A","verification_uri":"javascript:alert(1)","expires_in":600}"#,
                "verification_uri",
            ),
            (
                r#"{"device_code":"D","user_code":"A","verification_uri":"https://x/d"}"#,
                "expires_in",
            ),
            (
                r#"{"device_code":"D","user_code":"A","verification_uri":"https://x/d","expires_in":600,"interval":-1}"#,
                "interval",
            ),
        ] {
            let e = parse_device_authorization(&answer(200, body), T0).unwrap_err();
            assert!(e.to_string().contains(field), "{e}");
        }
        let e = parse_device_authorization(&answer(400, r#"{"error":"invalid_client"}"#), T0)
            .unwrap_err();
        assert_eq!(e.error(), Some("invalid_client"));
    }

    #[test]
    fn pending_waits_slow_down_adds_five_seconds_and_the_rest_stops() {
        let mut a = codes();
        assert!(matches!(
            after_error(&mut a, oauth("authorization_pending"), T0),
            Poll::Wait(5_000)
        ));
        assert!(matches!(
            after_error(&mut a, oauth("slow_down"), T0),
            Poll::Wait(10_000)
        ));
        assert!(matches!(
            after_error(&mut a, oauth("authorization_pending"), T0),
            Poll::Wait(10_000)
        ));
        assert!(matches!(
            after_error(&mut a, oauth("slow_down"), T0),
            Poll::Wait(15_000)
        ));
        assert!(matches!(
            after_error(&mut a, Error::Network, T0),
            Poll::Wait(15_000)
        ));
        for code in ["access_denied", "expired_token", "invalid_grant"] {
            match after_error(&mut a, oauth(code), T0) {
                Poll::Stop(e) => assert_eq!(e.error(), Some(code)),
                Poll::Wait(_) => panic!("{code} must stop"),
            }
        }
        // No poll is planned past the codes' expiry.
        let late = a.expires_at.plus_millis(0).0 - 1_000;
        match after_error(&mut a, oauth("authorization_pending"), UnixMillis(late)) {
            Poll::Stop(e) => assert_eq!(e.code(), "AUTH_DEVICE_CODE_EXPIRED"),
            Poll::Wait(_) => panic!("expired codes must stop"),
        }
    }
}
