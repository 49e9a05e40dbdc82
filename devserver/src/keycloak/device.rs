//! The device authorization grant (RFC 8628) as Keycloak 26 runs it: the
//! device authorization endpoint (`…/protocol/openid-connect/auth/device`),
//! the verification page (`/realms/{realm}/device`) where the user approves
//! or denies, and the token endpoint's `device_code` grant, which answers
//! `authorization_pending`, `slow_down`, `access_denied` and
//! `expired_token` until the user approved, then tokens once.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::{
    St, authenticate, check_realm, error_line, error_page, find_client, grant_scope, html_escape,
    html_page, issue_session_tokens, new_session, realm_form,
};
use crate::dpop::Proof;
use crate::expiry::after_secs;
use crate::jwt::random_token;
use crate::oauth::{self, Form};
use crate::seed::{Client, USERS, User, user_by_password};
use crate::state::AppState;
use crate::stats::DevicePoll;
use crate::store::{DeviceAuth, DeviceLookup, DeviceStatus, Poll, Style};

/// The grant type of the token request a device polls with (RFC 8628 §3.4).
pub(super) const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// How long past its expiry (plus one interval) Keycloak keeps a device
/// code, to answer `expired_token` rather than `invalid_grant`
/// (`DeviceEndpoint`: a store lifespan of `expires_in + interval + 10`).
const KEEP_AFTER_EXPIRY_SECS: u64 = 10;

/// The verification page's messages (Keycloak's `messages_en.properties`).
const INVALID_CODE: &str = "Invalid code, please try again.";
const EXPIRED_CODE: &str =
    "The code has expired. Please go back to your device and try connecting again.";

/// A user code as Keycloak's `DefaultOAuth2DeviceUserCodeProvider` makes
/// one: eight random upper-case letters.
fn new_user_code() -> String {
    (0..8)
        .map(|_| char::from(b'A' + rand::random_range(0..26u8)))
        .collect()
}

/// The user code as shown: `ABCD-EFGH`.
fn display(user_code: &str) -> String {
    let (a, b) = user_code.split_at(user_code.len().min(4));
    format!("{a}-{b}")
}

/// The user code as typed, the way Keycloak compares it: dashes dropped,
/// upper-cased.
fn normalize(typed: &str) -> String {
    typed.trim().replace('-', "").to_ascii_uppercase()
}

/// `POST …/protocol/openid-connect/auth/device` (RFC 8628 §3.1, §3.2).
pub(super) async fn authorize(
    State(st): St,
    Path(realm): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = match realm_form(&realm, &headers, &body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let client = match authenticate(&headers, &form, &realm) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let scope = match grant_scope(form.get("scope")) {
        Ok(s) => s,
        Err(e) => return oauth::error(StatusCode::BAD_REQUEST, "invalid_scope", &e),
    };
    let s = st.settings();
    let now_ms = st.now_ms();
    let device_code = random_token(32);
    let user_code = new_user_code();
    let kept = s
        .device_code_ttl
        .saturating_add(s.device_poll_interval)
        .saturating_add(KEEP_AFTER_EXPIRY_SECS);
    st.store().add_device(
        device_code.clone(),
        DeviceAuth {
            user_code: user_code.clone(),
            client_id: client.id.to_string(),
            realm: realm.clone(),
            scope,
            nonce: form.get("nonce").map(str::to_string),
            expires_at: now_ms
                .div_euclid(1000)
                .saturating_add_unsigned(s.device_code_ttl),
            forget_at_ms: after_secs(now_ms, kept),
            interval: s.device_poll_interval,
            last_poll_ms: None,
            status: DeviceStatus::Pending,
        },
    );
    st.stats().device_authorization();
    let verification_uri = format!("{}/realms/{realm}/device", st.base_url);
    let shown = display(&user_code);
    oauth::no_store_json(
        StatusCode::OK,
        &json!({
            "device_code": device_code,
            "user_code": shown,
            "verification_uri": verification_uri,
            "verification_uri_complete": format!("{verification_uri}?user_code={shown}"),
            "expires_in": s.device_code_ttl,
            "interval": s.device_poll_interval,
        }),
    )
}

/// The token endpoint's `device_code` grant (RFC 8628 §3.4, §3.5), with
/// Keycloak's error descriptions (`DeviceGrantType`).
pub(super) fn poll(
    st: &AppState,
    realm: &str,
    client: &Client,
    form: &Form,
    proof: Option<&Proof>,
) -> Response {
    let Some(code) = form.get("device_code") else {
        return oauth::invalid_request("Missing parameter: device_code");
    };
    let now_ms = st.now_ms();
    let outcome = st.store().poll_device(code, client.id, realm, now_ms);
    let pending = |error: &str, desc: &str| oauth::error(StatusCode::BAD_REQUEST, error, desc);
    let (counted, response) = match outcome {
        Poll::Invalid => (
            DevicePoll::Invalid,
            oauth::invalid_grant("Device code not valid"),
        ),
        Poll::Expired => (
            DevicePoll::Expired,
            pending("expired_token", "Device code is expired"),
        ),
        Poll::SlowDown => (DevicePoll::SlowDown, pending("slow_down", "Slow down")),
        Poll::Denied => (
            DevicePoll::Denied,
            pending(
                "access_denied",
                "The end user denied the authorization request",
            ),
        ),
        Poll::Pending => (
            DevicePoll::Pending,
            pending(
                "authorization_pending",
                "The authorization request is still pending",
            ),
        ),
        Poll::Approved(family) => issue(st, realm, client, &family, proof),
    };
    st.stats().device_poll(counted);
    response
}

/// The tokens of an approved device code: the session the user's approval
/// opened, as after a login.
fn issue(
    st: &AppState,
    realm: &str,
    client: &Client,
    family: &str,
    proof: Option<&Proof>,
) -> (DevicePoll, Response) {
    let family = st.store().family(family).cloned();
    let Some(family) = family.filter(|f| !f.revoked) else {
        return (
            DevicePoll::Invalid,
            oauth::invalid_grant("Session not active"),
        );
    };
    st.stats().login(Style::Kc);
    let body = issue_session_tokens(st, realm, &family, st.now(), proof, client, None);
    (
        DevicePoll::Issued,
        oauth::no_store_json(StatusCode::OK, &body),
    )
}

/// What the user decides.
#[derive(Debug, Clone, Copy)]
enum Decision {
    Approve(&'static User),
    Deny,
}

/// Records a decision on the pending device authorization with this user
/// code (of `realm`, when the page of a realm asks); an approval opens the
/// session the tokens will belong to.
fn decide(
    st: &AppState,
    realm: Option<&str>,
    user_code: &str,
    decision: Decision,
) -> Result<DeviceAuth, DeviceLookup> {
    let code = normalize(user_code);
    let now_ms = st.now_ms();
    let auth = st.store().pending_device(&code, now_ms)?;
    if realm.is_some_and(|r| r != auth.realm) {
        return Err(DeviceLookup::Unknown);
    }
    let status = match decision {
        Decision::Approve(user) => {
            let client = find_client(&auth.client_id).ok_or(DeviceLookup::Unknown)?;
            let family = new_session(
                st,
                &auth.realm,
                client,
                user,
                auth.scope.clone(),
                auth.nonce.clone(),
            )
            .ok_or(DeviceLookup::Unknown)?;
            DeviceStatus::Approved(family.id)
        }
        Decision::Deny => DeviceStatus::Denied,
    };
    if !st.store().settle_device(&code, status) {
        return Err(DeviceLookup::Unknown);
    }
    st.stats()
        .device_decision(matches!(decision, Decision::Approve(_)));
    Ok(auth)
}

/// The verification form: the user code, the demo credentials, and the
/// two answers (deny needs no sign-in, as Keycloak's cancel on its login
/// page).
fn form_page(realm: &str, user_code: &str, username: &str, error: Option<&str>) -> Response {
    let error = error_line(error);
    let action = html_escape(realm);
    let code = html_escape(user_code);
    let username = html_escape(username);
    let main = format!(
        r#"{error}<form method="post" action="/realms/{action}/device">
<label>Code shown on your device <input name="user_code" value="{code}" autocomplete="off" required autofocus></label>
<label>Username <input name="username" autocomplete="username" value="{username}"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit" name="action" value="approve">Approve</button>
<button type="submit" name="action" value="deny" class="secondary">Deny</button>
</form>
<p class="hint">Demo user: demo / demo-password</p>
"#
    );
    html_page(&format!("Device login to {realm}"), &main)
}

/// Why a user code cannot be decided on, as the page says it.
fn lookup_message(e: DeviceLookup) -> &'static str {
    match e {
        DeviceLookup::Unknown => INVALID_CODE,
        DeviceLookup::Expired => EXPIRED_CODE,
    }
}

/// `GET /realms/{realm}/device[?user_code=…]`: the verification page
/// (`verification_uri`, `verification_uri_complete`).
pub(super) async fn page(
    State(st): St,
    Path(realm): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    if let Err(r) = check_realm(&realm) {
        return r;
    }
    let query = match oauth::parse_query(q.unwrap_or_default().as_bytes()) {
        Ok(f) => f,
        Err(e) => return error_page(StatusCode::BAD_REQUEST, &e),
    };
    let typed = query.get("user_code").unwrap_or("");
    let error = (!typed.is_empty())
        .then(|| {
            let now_ms = st.now_ms();
            let found = st.store().pending_device(&normalize(typed), now_ms);
            match found {
                Ok(auth) if auth.realm == realm => None,
                Ok(_) => Some(INVALID_CODE),
                Err(e) => Some(lookup_message(e)),
            }
        })
        .flatten();
    form_page(&realm, typed, "", error)
}

/// `POST /realms/{realm}/device`: the user's answer (`user_code`,
/// `username`, `password`, `action` = `approve` | `deny`).
pub(super) async fn submit(
    State(st): St,
    Path(realm): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = check_realm(&realm) {
        return r;
    }
    let Ok(form) = oauth::parse_form(&headers, &body) else {
        return error_page(StatusCode::BAD_REQUEST, "Malformed device form");
    };
    let typed = form.get("user_code").unwrap_or("");
    let username = form.get("username").unwrap_or("");
    let decision = match form.get("action") {
        None | Some("approve") => {
            let user = match form.get("password") {
                Some(p) => user_by_password(username, p),
                None => None,
            };
            let Some(user) = user else {
                st.stats().login_failure(Style::Kc);
                let error = Some("Invalid username or password.");
                return form_page(&realm, typed, username, error);
            };
            Decision::Approve(user)
        }
        Some("deny") => Decision::Deny,
        Some(_) => return error_page(StatusCode::BAD_REQUEST, "Invalid parameter: action"),
    };
    match decide(&st, Some(&realm), typed, decision) {
        Ok(_) => match decision {
            Decision::Approve(_) => html_page(
                "Device Login Successful",
                "<p>You may close this browser window and go back to your device.</p>\n",
            ),
            Decision::Deny => html_page(
                "Device Login Failed",
                "<p>Consent denied for connecting the device.</p>\n",
            ),
        },
        Err(e) => form_page(&realm, typed, username, Some(lookup_message(e))),
    }
}

/// What `POST /admin/device` takes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AdminDecision {
    user_code: String,
    action: AdminAction,
    /// Who approves; `demo` when absent.
    #[serde(default)]
    username: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum AdminAction {
    Approve,
    Deny,
}

/// `POST /admin/device` `{"user_code", "action": "approve" | "deny",
/// "username"?}`: decides as the user would on the page, without the
/// password. → `{"user_code", "action", "username"?, "client_id",
/// "realm", "scope"}`; 404 for a user code with nothing pending, 400
/// `expired_token` for an expired one.
pub(crate) fn admin_decide(st: &AppState, body: &Bytes) -> Response {
    let req: AdminDecision = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => return oauth::invalid_request(&format!("bad JSON body: {e}")),
    };
    let username = req.username.as_deref().unwrap_or("demo");
    let decision = match req.action {
        AdminAction::Approve => match USERS.iter().find(|u| u.username == username) {
            Some(u) => Decision::Approve(u),
            None => return oauth::invalid_request(&format!("unknown user {username:?}")),
        },
        AdminAction::Deny => Decision::Deny,
    };
    match decide(st, None, &req.user_code, decision) {
        Ok(auth) => {
            let mut body = json!({
                "user_code": display(&auth.user_code),
                "action": match req.action {
                    AdminAction::Approve => "approve",
                    AdminAction::Deny => "deny",
                },
                "client_id": auth.client_id,
                "realm": auth.realm,
                "scope": auth.scope,
            });
            if let Decision::Approve(u) = decision {
                body["username"] = json!(u.username);
            }
            axum::Json(body).into_response()
        }
        Err(DeviceLookup::Unknown) => oauth::error(
            StatusCode::NOT_FOUND,
            "not_found",
            "No pending device authorization has this user code",
        ),
        Err(DeviceLookup::Expired) => oauth::error(
            StatusCode::BAD_REQUEST,
            "expired_token",
            "The device code has expired",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_look_like_keycloaks() {
        let code = new_user_code();
        assert_eq!(code.len(), 8);
        assert!(code.bytes().all(|b| b.is_ascii_uppercase()));
        let shown = display(&code);
        assert_eq!(shown.len(), 9);
        assert_eq!(&shown[4..5], "-");
        assert_eq!(normalize(&shown.to_ascii_lowercase()), code);
        assert_eq!(normalize(" wdjb-mjht "), "WDJBMJHT");
    }
}
