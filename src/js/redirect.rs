//! The redirect login and OpenID Connect discovery exports.
//!
//! `KeeperCore.beginRedirect` and `KeeperCore.completeRedirect` are the
//! wasm half of `TokenKeeper.loginWithRedirect` / `handleRedirect`;
//! `discoverProvider` is the wasm half of `TokenKeeper.discover`. Where the
//! pending login is kept between the two steps is the JS class's business:
//! this side sees it as an opaque string.
//!
//! `completeRedirect` checks the callback in the core, calls `consume()` once
//! the `state` matched (the pending login is used up from there on),
//! exchanges the code without touching the session, validates the ID token
//! (claims in the core, signature with WebCrypto against the issuer's JWK
//! Set, cached per `jwks_uri`), and only then installs the tokens. Any
//! failure leaves the session as it was and emits `loginfailed`.

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::{Map, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, future_to_promise};

use super::error;
use super::json::read_js;
use super::keeper::{KeeperCore, Shared};
use crate::core::config::{OAuth2Profile, Profile};
use crate::core::discovery;
use crate::core::error::Error;
use crate::core::id_token::{self, Expectations, UnverifiedIdToken};
use crate::core::json_text;
use crate::core::redirect::{self, AuthorizeParams, PendingLogin, RedirectRandom};
use crate::core::response::TransportError;
use crate::core::secret::IdToken;
use crate::core::time::UnixMillis;
use crate::platform::web::{FetchHttp, WebClock, WebRandom, get, resolve, scope, set};
use crate::platform::{Clock, HttpTransport, Random};

/// Default timeout of a discovery request.
const DISCOVERY_TIMEOUT_MS: u32 = 10_000;

/// How long a fetched JWK Set is used before it is fetched again (10 min).
const JWKS_MAX_AGE_MS: u64 = 600_000;

/// A JWK Set as last fetched.
struct CachedJwks {
    fetched_at: UnixMillis,
    keys: Rc<Vec<Map<String, Value>>>,
}

thread_local! {
    /// JWK Sets by `jwks_uri`, shared by every keeper of this module
    /// instance (public keys only). A page knows an issuer or two: a list,
    /// not a hash map (which would link a hasher).
    static JWKS: RefCell<Vec<(String, CachedJwks)>> = const { RefCell::new(Vec::new()) };
}

#[wasm_bindgen]
impl KeeperCore {
    /// Builds an authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3):
    /// `{ url, pending }`, where `pending` is the string to keep until the
    /// redirect comes back. `params` is `{ redirectUri?, scope?,
    /// extraParams? }`; `fallbackRedirectUri` is used when neither `params`
    /// nor the profile names a redirect URI; `dpopJkt` (from
    /// [`KeeperCore::dpop_jkt`]) binds the code to the DPoP key.
    #[wasm_bindgen(js_name = beginRedirect)]
    pub fn begin_redirect(
        &self,
        params: JsValue,
        fallback_redirect_uri: Option<String>,
        dpop_jkt: Option<String>,
    ) -> Result<JsValue, JsValue> {
        let mut params = if params.is_undefined() || params.is_null() {
            AuthorizeParams::default()
        } else {
            read_js(&params, "params", AuthorizeParams::from_value)?
        };
        params.dpop_jkt = dpop_jkt;
        let mut bytes = [0u8; 64];
        WebRandom.fill(&mut bytes).map_err(|e| error::to_js(&e))?;
        let random = RedirectRandom::from_bytes(&bytes);
        let driver = &self.shared.driver;
        let now = driver.platform_clock().now();
        let request = redirect::begin(
            driver.config(),
            &params,
            fallback_redirect_uri.as_deref(),
            &random,
            now,
        )
        .map_err(|e| error::to_js(&e))?;
        let out = js_sys::Object::new();
        set(&out, "url", &JsValue::from_str(&request.url));
        set(
            &out,
            "pending",
            &JsValue::from_str(&request.pending.to_stored()),
        );
        Ok(out.into())
    }

    /// Resolves to the authorization request's `dpop_jkt` (RFC 9449 §10),
    /// the DPoP key's JWK thumbprint (RFC 7638), making or loading the key;
    /// to `undefined` without DPoP or with a key that will not outlive the
    /// page (see [`crate::driver::Driver::dpop_jkt`]).
    #[wasm_bindgen(js_name = dpopJkt)]
    pub fn dpop_jkt(&self) -> js_sys::Promise {
        self.run(|shared| async move {
            Ok(shared
                .driver
                .dpop_jkt()
                .await?
                .map_or(JsValue::UNDEFINED, |t| JsValue::from_str(&t)))
        })
    }

    /// Completes a redirect login from the callback `url` and the stored
    /// `pending` string; calls `consume()` once the `state` matched. Resolves
    /// to `{ idTokenClaims }` (verified claims, or `null` without an ID
    /// token); rejects with a `TokenKeeperError`, the session unchanged.
    #[wasm_bindgen(js_name = completeRedirect)]
    pub fn complete_redirect(
        &self,
        url: String,
        pending: Option<String>,
        consume: js_sys::Function,
    ) -> js_sys::Promise {
        // A second delivery of the response being redeemed (a double effect,
        // a double click) joins it: a code is sent once.
        let state = redirect::callback_state(&url);
        if let Some(joined) = self.shared.redemption.join(state.as_deref()) {
            return joined;
        }
        let promise = self.run(|shared| async move {
            let result = complete(&shared, &url, pending.as_deref(), &consume).await;
            shared.redemption.finish();
            if let Err(e) = &result {
                shared.driver.report_login_failure(e.clone());
            }
            let claims = result?;
            let out = js_sys::Object::new();
            let claims = match claims {
                Some(c) => to_js_value(&Value::Object(c)),
                None => JsValue::NULL,
            };
            set(&out, "idTokenClaims", &claims);
            Ok(out.into())
        });
        if let Some(state) = state {
            self.shared.redemption.start(state, promise.clone());
        }
        promise
    }
}

/// The authorization response being redeemed, by its `state`.
#[derive(Default)]
pub(super) struct Redemption(RefCell<Option<(String, js_sys::Promise)>>);

impl Redemption {
    /// The promise of the redemption of the response with `state`, if one
    /// runs.
    fn join(&self, state: Option<&str>) -> Option<js_sys::Promise> {
        let current = self.0.borrow();
        let (running, promise) = current.as_ref()?;
        (Some(running.as_str()) == state).then(|| promise.clone())
    }

    fn start(&self, state: String, promise: js_sys::Promise) {
        *self.0.borrow_mut() = Some((state, promise));
    }

    fn finish(&self) {
        self.0.borrow_mut().take();
    }
}

impl std::fmt::Debug for Redemption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Redemption([redacted])")
    }
}

/// Fetches and validates the issuer's metadata (OpenID Connect Discovery
/// §4, RFC 8414 §3) for `options.profile.issuer`, through `options.fetch`
/// when given, with `redirect: "manual"` and `options.requestTimeoutMs`.
/// Resolves to the metadata with its RFC member names (`issuer`,
/// `token_endpoint`, `authorization_endpoint`, `revocation_endpoint`,
/// `jwks_uri`, `userinfo_endpoint`, `end_session_endpoint`, and the
/// boolean `authorization_response_iss_parameter_supported`).
#[wasm_bindgen(js_name = discoverProvider)]
pub fn discover_provider(options: JsValue) -> js_sys::Promise {
    future_to_promise(async move {
        let m = discover(&options).await.map_err(|e| error::to_js(&e))?;
        let out = js_sys::Object::new();
        let members = [
            ("issuer", Some(&m.issuer)),
            ("token_endpoint", Some(&m.token_endpoint)),
            ("authorization_endpoint", m.authorization_endpoint.as_ref()),
            ("revocation_endpoint", m.revocation_endpoint.as_ref()),
            ("jwks_uri", m.jwks_uri.as_ref()),
            ("userinfo_endpoint", m.userinfo_endpoint.as_ref()),
            ("end_session_endpoint", m.end_session_endpoint.as_ref()),
            (
                "device_authorization_endpoint",
                m.device_authorization_endpoint.as_ref(),
            ),
            (
                "pushed_authorization_request_endpoint",
                m.par_endpoint.as_ref(),
            ),
        ];
        for (name, value) in members {
            if let Some(v) = value {
                set(&out, name, &JsValue::from_str(v));
            }
        }
        set(
            &out,
            "authorization_response_iss_parameter_supported",
            &JsValue::from(m.authorization_response_iss),
        );
        set(
            &out,
            "require_pushed_authorization_requests",
            &JsValue::from(m.require_par),
        );
        Ok(out.into())
    })
}

async fn discover(options: &JsValue) -> Result<discovery::ProviderMetadata, Error> {
    let issuer = get(&get(options, "profile"), "issuer")
        .as_string()
        .ok_or_else(|| Error::config("profile.issuer", "is required for discovery"))?;
    let allow_http = get(options, "allowInsecureHttp").as_bool() == Some(true);
    let timeout = get(options, "requestTimeoutMs")
        .as_f64()
        .filter(|ms| ms.is_finite() && *ms >= 1.0 && *ms <= f64::from(u32::MAX));
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let timeout = timeout.map_or(DISCOVERY_TIMEOUT_MS, |ms| ms as u32);
    let http = FetchHttp::new(get(options, "fetch").dyn_into().ok(), timeout);
    let clock = WebClock::new(get(options, "now").dyn_into().ok());
    let req = discovery::discovery_request(&issuer, allow_http)?;
    let resp = http.send(req).await?;
    discovery::parse_discovery_response(&resp, &issuer, allow_http, clock.now())
}

/// The redirect completion; see the module docs.
async fn complete(
    shared: &Rc<Shared>,
    url: &str,
    pending: Option<&str>,
    consume: &js_sys::Function,
) -> Result<Option<Map<String, Value>>, Error> {
    let pending = PendingLogin::from_stored(pending.ok_or(Error::NoPendingLogin)?)?;
    let driver = &shared.driver;
    let Profile::OAuth2(profile) = &driver.config().profile else {
        return Err(Error::config(
            "profile",
            "must be oauth2 for a redirect login",
        ));
    };
    let now = driver.platform_clock().now();
    let expected = redirect::Expected {
        issuer: profile.issuer.as_deref(),
        require_iss: profile.require_iss,
    };
    let checked = redirect::complete(&pending, url, expected, now);
    if checked.as_ref().map_or_else(|r| r.used_up, |_| true) {
        // The response answered this pending login: it is used up,
        // whatever follows.
        if let Ok(p) = consume.call0(&JsValue::UNDEFINED) {
            let _ = resolve(p).await;
        }
    }
    let completed = checked.map_err(|r| r.error)?;
    let (tokens, timing) = driver.exchange(&completed.credentials).await?;
    let claims = match tokens.id_token() {
        Some(id) => Some(verify_id_token(shared, profile, id, &completed.nonce).await?),
        None if completed.id_token_required => {
            return Err(Error::invalid(
                "id_token",
                "is required in the answer to an openid login",
            ));
        }
        None => None,
    };
    driver.adopt_login(tokens, &timing).await;
    Ok(claims)
}

/// Validates the ID token's claims in the core, then its signature with
/// WebCrypto (OpenID Connect Core §3.1.3.7).
async fn verify_id_token(
    shared: &Rc<Shared>,
    profile: &OAuth2Profile,
    token: &IdToken,
    nonce: &str,
) -> Result<Map<String, Value>, Error> {
    let issuer = profile
        .issuer
        .as_deref()
        .ok_or_else(|| Error::config("profile.issuer", "is required to validate an ID token"))?;
    let jwks_uri = profile
        .jwks_uri
        .as_deref()
        .ok_or_else(|| Error::config("profile.jwksUri", "is required to verify an ID token"))?;
    let now = shared.driver.platform_clock().now();
    let expect = Expectations {
        issuer,
        client_id: &profile.client_id,
        nonce: Some(nonce),
        leeway_ms: id_token::DEFAULT_LEEWAY_MS,
    };
    let unverified = id_token::validate_claims(token, &expect, now)?;
    let kid = unverified.kid.as_deref();
    let (keys, fresh) = jwks(shared, jwks_uri, false).await?;
    let key = match id_token::select_key(&keys, unverified.alg, kid) {
        Ok(key) => key,
        // The issuer may have rotated its keys since the set was cached.
        Err(_) if !fresh => {
            let (keys, _) = jwks(shared, jwks_uri, true).await?;
            id_token::select_key(&keys, unverified.alg, kid)?
        }
        Err(e) => return Err(e),
    };
    verify_signature(&unverified, key).await?;
    Ok(unverified.claims)
}

/// The JWK Set at `uri`: the cached one unless stale or `force`; the flag
/// says whether it was fetched just now.
async fn jwks(
    shared: &Rc<Shared>,
    uri: &str,
    force: bool,
) -> Result<(Rc<Vec<Map<String, Value>>>, bool), Error> {
    let now = shared.driver.platform_clock().now();
    let cached = JWKS.with(|c| {
        c.borrow()
            .iter()
            .find(|(u, j)| u == uri && now.saturating_since(j.fetched_at) < JWKS_MAX_AGE_MS)
            .map(|(_, j)| Rc::clone(&j.keys))
    });
    if let (Some(keys), false) = (cached, force) {
        return Ok((keys, false));
    }
    let req = discovery::get_json(uri.to_owned());
    let resp = shared
        .driver
        .platform_http()
        .send(req)
        .await
        .map_err(|e: TransportError| Error::from(e))?;
    let now = shared.driver.platform_clock().now();
    let keys = Rc::new(id_token::parse_jwks_response(&resp, now)?);
    JWKS.with(|c| {
        let mut c = c.borrow_mut();
        c.retain(|(u, _)| u != uri);
        c.push((
            uri.to_owned(),
            CachedJwks {
                fetched_at: now,
                keys: Rc::clone(&keys),
            },
        ));
    });
    Ok((keys, true))
}

/// `crypto.subtle.importKey("jwk", …)` then `crypto.subtle.verify(…)`.
async fn verify_signature(token: &UnverifiedIdToken, key: Map<String, Value>) -> Result<(), Error> {
    const UNVERIFIABLE: Error = Error::IdToken {
        field: "signature",
        reason: "cannot be verified: the key was refused by WebCrypto",
    };
    // `crypto.subtle` is missing outside a secure context (an http: page
    // other than localhost).
    let subtle = scope()
        .crypto()
        .ok()
        .filter(|c| c.is_object())
        .map(|c| c.subtle())
        .filter(|s| s.is_object())
        .ok_or(Error::IdToken {
            field: "signature",
            reason: "cannot be verified: WebCrypto is unavailable",
        })?;
    let usages: js_sys::Array = std::iter::once(JsValue::from_str("verify")).collect();
    let imported = subtle
        .import_key_with_object(
            "jwk",
            to_js_value(&Value::Object(key)).unchecked_ref(),
            to_js_value(&token.alg.webcrypto_import()).unchecked_ref(),
            false,
            &usages,
        )
        .map_err(|_| UNVERIFIABLE)?;
    let imported = JsFuture::from(imported).await.map_err(|_| UNVERIFIABLE)?;
    let valid = subtle
        .verify_with_object_and_u8_array_and_u8_array(
            to_js_value(&token.alg.webcrypto_verify()).unchecked_ref(),
            imported.unchecked_ref(),
            &token.signature,
            &token.signing_input,
        )
        .map_err(|_| UNVERIFIABLE)?;
    let valid = JsFuture::from(valid).await.map_err(|_| UNVERIFIABLE)?;
    if valid.as_bool() == Some(true) {
        Ok(())
    } else {
        Err(Error::IdToken {
            field: "signature",
            reason: "does not verify",
        })
    }
}

/// A JSON value as a plain JS value, through JSON text and `JSON.parse`, so
/// a key named `__proto__` becomes an own property instead of a prototype.
fn to_js_value(value: &Value) -> JsValue {
    js_sys::JSON::parse(&json_text::to_text(value)).unwrap_or(JsValue::NULL)
}
