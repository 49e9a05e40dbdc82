//! Start-up configuration, the settings that may change while running, and
//! the command-line parser of the binary.

use std::path::PathBuf;

use serde::de::value::{Error as ValueError, StrDeserializer};
use serde::{Deserialize, Serialize};

/// Whether the Keycloak-style token endpoint and userinfo speak DPoP
/// (RFC 9449).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DpopMode {
    /// The `DPoP` header is not read; every token is a Bearer token.
    #[default]
    Off,
    /// A token request with a proof gets DPoP-bound tokens, one without
    /// gets Bearer tokens.
    Allowed,
    /// Token requests without a proof are refused, and so are unbound
    /// tokens at userinfo.
    Required,
}

/// Where a DPoP proof must carry the server's current nonce (RFC 9449 §8, §9).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DpopNonce {
    /// Nowhere.
    #[default]
    Off,
    /// At the token endpoint only.
    Token,
    /// At userinfo (the protected API) only.
    Api,
    /// At both.
    Both,
}

impl DpopNonce {
    /// Whether the token endpoint requires a nonce.
    pub fn at_token(self) -> bool {
        matches!(self, Self::Token | Self::Both)
    }

    /// Whether the protected API requires a nonce.
    pub fn at_api(self) -> bool {
        matches!(self, Self::Api | Self::Both)
    }
}

/// Settings that the admin API may change while the server runs
/// (`GET`/`PATCH /admin/config`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Access-token lifetime in seconds (LGDX, Keycloak, Identity Manager).
    pub access_ttl: u64,
    /// Refresh-token lifetime in seconds (LGDX, Keycloak).
    pub refresh_ttl: u64,
    /// Access-token lifetime in seconds of the TNCO style.
    pub tnco_ttl: u64,
    /// Seconds added to the real clock: moves `iat`/`exp`, every expiry
    /// check and the `Date` header.
    pub clock_offset: i64,
    /// Milliseconds added to the real clock on top of `clock_offset`, to put
    /// the server clock at a chosen millisecond (expiry checks are in ms).
    pub clock_offset_ms: i64,
    /// Keycloak style: a used refresh token becomes invalid, and reusing it
    /// revokes the whole session (as Keycloak's "Revoke Refresh Token").
    pub kc_rotation: bool,
    /// TNCO style: while the token issued to a client is unexpired, the token
    /// endpoint hands back that same token with the remaining whole seconds
    /// (Spring Security OAuth's `DefaultTokenServices`). Off: a new token
    /// for every request.
    pub tnco_reissue: bool,
    /// Status of a protected API for a token it refuses (expired, revoked,
    /// unknown): 401 with a Bearer challenge, or 403 without one (ASP.NET
    /// Core when an API-key scheme beside Bearer authenticated the call).
    pub api_reject_status: u16,
    /// Keycloak style: DPoP at the token endpoint and userinfo.
    pub dpop: DpopMode,
    /// Where a DPoP proof must carry the current server nonce.
    pub dpop_nonce: DpopNonce,
    /// Seconds between two DPoP nonces; the one before stays accepted for
    /// one more period. 0: a new nonce only on `POST /admin/dpop/nonce`.
    pub dpop_nonce_rotation: u64,
    /// How far, in seconds, a DPoP proof's `iat` may be from the server
    /// clock, either way; also how long its `jti` is remembered.
    pub dpop_iat_window: u64,
    /// Keycloak style: seconds a device code lives (RFC 8628 `expires_in`;
    /// Keycloak's "OAuth 2.0 Device Code Lifespan", 600 by default).
    pub device_code_ttl: u64,
    /// Keycloak style: seconds a device client must wait between polls
    /// (RFC 8628 `interval`; Keycloak's "OAuth 2.0 Device Polling
    /// Interval", 5 by default). Each `slow_down` adds 5 for that code.
    pub device_poll_interval: u64,
    /// Keycloak style: the authorization endpoint refuses requests without
    /// a pushed `request_uri` (RFC 9126 §5, Keycloak's "Pushed
    /// authorization request required").
    pub require_par: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            access_ttl: 30,
            refresh_ttl: 300,
            tnco_ttl: 1199,
            clock_offset: 0,
            clock_offset_ms: 0,
            kc_rotation: false,
            tnco_reissue: true,
            api_reject_status: 401,
            dpop: DpopMode::Off,
            dpop_nonce: DpopNonce::Off,
            dpop_nonce_rotation: 60,
            dpop_iat_window: 60,
            device_code_ttl: 600,
            device_poll_interval: 5,
            require_par: false,
        }
    }
}

/// The statuses `api_reject_status` may take.
const REJECT_STATUSES: [u16; 2] = [401, 403];

fn check_reject_status(v: u16) -> Result<u16, String> {
    if REJECT_STATUSES.contains(&v) {
        Ok(v)
    } else {
        Err(format!("api_reject_status must be 401 or 403, not {v}"))
    }
}

/// A partial update of [`Settings`]: absent fields are left as they are.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SettingsPatch {
    pub(crate) access_ttl: Option<u64>,
    pub(crate) refresh_ttl: Option<u64>,
    pub(crate) tnco_ttl: Option<u64>,
    pub(crate) clock_offset: Option<i64>,
    pub(crate) clock_offset_ms: Option<i64>,
    pub(crate) kc_rotation: Option<bool>,
    pub(crate) tnco_reissue: Option<bool>,
    pub(crate) api_reject_status: Option<u16>,
    pub(crate) dpop: Option<DpopMode>,
    pub(crate) dpop_nonce: Option<DpopNonce>,
    pub(crate) dpop_nonce_rotation: Option<u64>,
    pub(crate) dpop_iat_window: Option<u64>,
    pub(crate) device_code_ttl: Option<u64>,
    pub(crate) device_poll_interval: Option<u64>,
    pub(crate) require_par: Option<bool>,
}

impl SettingsPatch {
    /// Checks the values a patch may not take, before anything is applied.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if let Some(v) = self.api_reject_status {
            check_reject_status(v)?;
        }
        Ok(())
    }

    /// Applies a [validated](Self::validate) patch.
    pub(crate) fn apply(self, s: &mut Settings) {
        if let Some(v) = self.access_ttl {
            s.access_ttl = v;
        }
        if let Some(v) = self.refresh_ttl {
            s.refresh_ttl = v;
        }
        if let Some(v) = self.tnco_ttl {
            s.tnco_ttl = v;
        }
        if let Some(v) = self.clock_offset {
            s.clock_offset = v;
        }
        if let Some(v) = self.clock_offset_ms {
            s.clock_offset_ms = v;
        }
        if let Some(v) = self.kc_rotation {
            s.kc_rotation = v;
        }
        if let Some(v) = self.tnco_reissue {
            s.tnco_reissue = v;
        }
        if let Some(v) = self.api_reject_status {
            s.api_reject_status = v;
        }
        if let Some(v) = self.dpop {
            s.dpop = v;
        }
        if let Some(v) = self.dpop_nonce {
            s.dpop_nonce = v;
        }
        if let Some(v) = self.dpop_nonce_rotation {
            s.dpop_nonce_rotation = v;
        }
        if let Some(v) = self.dpop_iat_window {
            s.dpop_iat_window = v;
        }
        if let Some(v) = self.device_code_ttl {
            s.device_code_ttl = v;
        }
        if let Some(v) = self.device_poll_interval {
            s.device_poll_interval = v;
        }
        if let Some(v) = self.require_par {
            s.require_par = v;
        }
    }
}

/// Everything [`crate::spawn`] needs. The server always binds 127.0.0.1.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// TCP port on 127.0.0.1; 0 picks any free port.
    pub port: u16,
    /// Lifetimes, clock offset, rotation, re-issue, refusal status, DPoP,
    /// device flow and PAR.
    pub settings: Settings,
    /// Origins allowed by CORS (exact `scheme://host:port`, never `*`).
    /// Empty: no CORS headers at all.
    pub cors_origins: Vec<String>,
    /// Directory served at `/demo/` (the demo page).
    pub www_dir: Option<PathBuf>,
    /// Directory served at `/pkg/` (the built package; `.wasm` as `application/wasm`).
    pub pkg_dir: Option<PathBuf>,
    /// A Content-Security-Policy sent with every file of `/demo/`.
    pub csp: Option<String>,
    /// Print one line per API request to stderr (never a secret).
    pub verbose: bool,
}

/// The usage text of the binary.
pub const USAGE: &str = "\
devserver: local identity-provider emulator (LGDX, Keycloak, Identity Manager, TNCO styles)

USAGE: devserver [OPTIONS]

OPTIONS:
  --port N               port on 127.0.0.1 (0 = any free port) [default: 8787]
  --access-ttl SECS      access-token lifetime (LGDX, Keycloak, IM) [default: 30]
  --refresh-ttl SECS     refresh-token lifetime (LGDX, Keycloak) [default: 300]
  --tnco-ttl SECS        TNCO access-token lifetime [default: 1199]
  --clock-offset SECS    shift the server clock (iat/exp/Date), may be negative [default: 0]
  --clock-offset-ms MS   shift the server clock by milliseconds more [default: 0]
  --kc-rotation on|off   Keycloak refresh-token rotation with reuse detection [default: off]
  --tnco-reissue on|off  TNCO: hand back the unexpired token of a client [default: on]
  --api-reject-status N  401 or 403: protected APIs' answer to a refused token [default: 401]
  --dpop MODE            off|allowed|required: DPoP at the Keycloak token endpoint and userinfo [default: off]
  --dpop-nonce WHERE     off|token|api|both: where DPoP proofs must carry the server nonce [default: off]
  --dpop-nonce-rotation SECS  seconds between DPoP nonces, 0 = on admin request only [default: 60]
  --dpop-iat-window SECS how far a DPoP proof's iat may be from the server clock [default: 60]
  --device-code-ttl SECS Keycloak device code lifetime (RFC 8628 expires_in) [default: 600]
  --device-poll-interval SECS  Keycloak device polling interval (RFC 8628 interval) [default: 5]
  --require-par on|off   Keycloak: the authorization endpoint needs a pushed request_uri [default: off]
  --cors-origin ORIGIN   allow this origin (repeatable or comma-separated; '*' refused)
  --www DIR              serve DIR at /demo/
  --pkg DIR              serve DIR at /pkg/
  --csp POLICY           send POLICY as the Content-Security-Policy of /demo/
  --verbose              one line per API request on stderr (no secrets)
  -h, --help             print this help
";

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    /// Run the server with this configuration.
    Run(Config),
    /// Print [`USAGE`] and exit.
    Help,
}

/// Parses the arguments (without the program name).
///
/// # Errors
/// A message naming the bad flag or value.
pub fn parse_args<I, S>(args: I) -> Result<Command, String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut cfg = Config {
        port: 8787,
        ..Config::default()
    };
    let mut it = args.into_iter().map(Into::into);
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            match inline.clone() {
                Some(v) => Ok(v),
                None => it.next().ok_or_else(|| format!("{name} needs a value")),
            }
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--port" => cfg.port = number(&flag, &value(&flag)?)?,
            "--access-ttl" => cfg.settings.access_ttl = number(&flag, &value(&flag)?)?,
            "--refresh-ttl" => cfg.settings.refresh_ttl = number(&flag, &value(&flag)?)?,
            "--tnco-ttl" => cfg.settings.tnco_ttl = number(&flag, &value(&flag)?)?,
            "--clock-offset" => cfg.settings.clock_offset = number(&flag, &value(&flag)?)?,
            "--clock-offset-ms" => cfg.settings.clock_offset_ms = number(&flag, &value(&flag)?)?,
            "--kc-rotation" => cfg.settings.kc_rotation = on_off(&flag, &value(&flag)?)?,
            "--tnco-reissue" => cfg.settings.tnco_reissue = on_off(&flag, &value(&flag)?)?,
            "--api-reject-status" => {
                cfg.settings.api_reject_status =
                    check_reject_status(number(&flag, &value(&flag)?)?)?;
            }
            "--dpop" => cfg.settings.dpop = choice(&flag, &value(&flag)?)?,
            "--dpop-nonce" => cfg.settings.dpop_nonce = choice(&flag, &value(&flag)?)?,
            "--dpop-nonce-rotation" => {
                cfg.settings.dpop_nonce_rotation = number(&flag, &value(&flag)?)?;
            }
            "--dpop-iat-window" => cfg.settings.dpop_iat_window = number(&flag, &value(&flag)?)?,
            "--device-code-ttl" => cfg.settings.device_code_ttl = number(&flag, &value(&flag)?)?,
            "--device-poll-interval" => {
                cfg.settings.device_poll_interval = number(&flag, &value(&flag)?)?;
            }
            "--require-par" => cfg.settings.require_par = on_off(&flag, &value(&flag)?)?,
            "--cors-origin" => {
                for origin in value(&flag)?.split(',').map(str::trim) {
                    if origin.is_empty() {
                        continue;
                    }
                    check_origin(origin)?;
                    cfg.cors_origins.push(origin.to_string());
                }
            }
            "--www" => cfg.www_dir = Some(PathBuf::from(value(&flag)?)),
            "--pkg" => cfg.pkg_dir = Some(PathBuf::from(value(&flag)?)),
            "--csp" => cfg.csp = Some(check_csp(&value(&flag)?)?),
            "--verbose" => cfg.verbose = true,
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(Command::Run(cfg))
}

/// A policy that fits in a header value (visible ASCII and spaces).
fn check_csp(policy: &str) -> Result<String, String> {
    if policy.trim().is_empty() || !policy.bytes().all(|b| b == b' ' || b.is_ascii_graphic()) {
        return Err(format!(
            "--csp takes a policy of visible ASCII, not {policy:?}"
        ));
    }
    Ok(policy.to_string())
}

fn on_off(flag: &str, v: &str) -> Result<bool, String> {
    match v {
        "on" | "true" | "1" => Ok(true),
        "off" | "false" | "0" => Ok(false),
        other => Err(format!("{flag} takes on|off, not {other:?}")),
    }
}

/// One of the lower-case names of a settings enum.
fn choice<T: for<'de> Deserialize<'de>>(flag: &str, v: &str) -> Result<T, String> {
    T::deserialize(StrDeserializer::<ValueError>::new(v)).map_err(|e| format!("{flag}: {e}"))
}

fn number<T: std::str::FromStr>(flag: &str, v: &str) -> Result<T, String> {
    v.parse()
        .map_err(|_| format!("{flag} takes a number, not {v:?}"))
}

/// An allowed CORS origin is an exact `http(s)://host[:port]`, never `*`
/// (credentials may be involved).
pub(crate) fn check_origin(origin: &str) -> Result<(), String> {
    if origin == "*" {
        return Err("--cors-origin '*' is refused: name the demo origin(s) exactly".into());
    }
    let rest = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .ok_or_else(|| format!("CORS origin {origin:?} must start with http:// or https://"))?;
    if rest.is_empty() || rest.contains('/') || rest.contains('*') {
        return Err(format!(
            "CORS origin {origin:?} must be scheme://host[:port] with no path"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Config {
        match parse_args(args.iter().copied()) {
            Ok(Command::Run(c)) => c,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn defaults_and_flags() {
        let c = run(&[]);
        assert_eq!(c.port, 8787);
        assert_eq!(c.settings, Settings::default());
        let c = run(&[
            "--port",
            "0",
            "--access-ttl=5",
            "--refresh-ttl",
            "60",
            "--tnco-ttl",
            "10",
            "--clock-offset",
            "-120",
            "--clock-offset-ms=250",
            "--kc-rotation",
            "on",
            "--tnco-reissue",
            "off",
            "--api-reject-status",
            "403",
            "--cors-origin",
            "http://localhost:5173,http://127.0.0.1:8080",
            "--www",
            "www",
            "--csp",
            "script-src 'self' 'wasm-unsafe-eval'",
            "--dpop",
            "required",
            "--dpop-nonce=api",
            "--dpop-nonce-rotation",
            "0",
            "--dpop-iat-window",
            "25",
            "--device-code-ttl=30",
            "--device-poll-interval",
            "1",
            "--require-par",
            "on",
        ]);
        assert_eq!(c.port, 0);
        assert_eq!(c.settings.access_ttl, 5);
        assert_eq!(c.settings.refresh_ttl, 60);
        assert_eq!(c.settings.tnco_ttl, 10);
        assert_eq!(c.settings.clock_offset, -120);
        assert_eq!(c.settings.clock_offset_ms, 250);
        assert!(c.settings.kc_rotation);
        assert!(!c.settings.tnco_reissue);
        assert_eq!(c.settings.api_reject_status, 403);
        assert_eq!(c.settings.dpop, DpopMode::Required);
        assert_eq!(c.settings.dpop_nonce, DpopNonce::Api);
        assert_eq!(c.settings.dpop_nonce_rotation, 0);
        assert_eq!(c.settings.dpop_iat_window, 25);
        assert_eq!(c.settings.device_code_ttl, 30);
        assert_eq!(c.settings.device_poll_interval, 1);
        assert!(c.settings.require_par);
        assert_eq!(c.cors_origins.len(), 2);
        assert_eq!(c.www_dir.as_deref(), Some(std::path::Path::new("www")));
        assert_eq!(
            c.csp.as_deref(),
            Some("script-src 'self' 'wasm-unsafe-eval'")
        );
    }

    #[test]
    fn rejects_bad_input() {
        for bad in [
            &["--port", "x"][..],
            &["--port"][..],
            &["--cors-origin", "*"][..],
            &["--cors-origin", "http://a/b"][..],
            &["--kc-rotation", "maybe"][..],
            &["--tnco-reissue", "yes"][..],
            &["--api-reject-status", "500"][..],
            &["--api-reject-status", "x"][..],
            &["--csp", " "][..],
            &["--dpop", "on"][..],
            &["--dpop-nonce", "always"][..],
            &["--dpop-iat-window", "-1"][..],
            &["--device-poll-interval", "-5"][..],
            &["--require-par", "maybe"][..],
            &["--csp", "script-src 'self'\ndefault-src *"][..],
            &["--nope"][..],
        ] {
            assert!(parse_args(bad.iter().copied()).is_err(), "{bad:?}");
        }
        assert!(matches!(parse_args(["-h"]), Ok(Command::Help)));
    }

    #[test]
    fn patch_validation() {
        let bad: SettingsPatch = serde_json::from_str(r#"{"api_reject_status":402}"#).unwrap();
        assert!(bad.validate().is_err());
        let ok: SettingsPatch =
            serde_json::from_str(r#"{"api_reject_status":403,"tnco_reissue":false}"#).unwrap();
        assert!(ok.validate().is_ok());
        let mut s = Settings::default();
        ok.apply(&mut s);
        assert_eq!((s.api_reject_status, s.tnco_reissue), (403, false));
        let dpop: SettingsPatch =
            serde_json::from_str(r#"{"dpop":"allowed","dpop_nonce":"both"}"#).unwrap();
        dpop.apply(&mut s);
        assert_eq!((s.dpop, s.dpop_nonce), (DpopMode::Allowed, DpopNonce::Both));
        assert!(serde_json::from_str::<SettingsPatch>(r#"{"dpop":"on"}"#).is_err());
        let device: SettingsPatch = serde_json::from_str(
            r#"{"device_code_ttl":3,"device_poll_interval":1,"require_par":true}"#,
        )
        .unwrap();
        device.apply(&mut s);
        assert_eq!(
            (s.device_code_ttl, s.device_poll_interval, s.require_par),
            (3, 1, true)
        );
    }
}
