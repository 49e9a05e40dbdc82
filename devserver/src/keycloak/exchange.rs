//! Token exchange (RFC 8693) as Keycloak 26's standard token exchange (V2,
//! `StandardTokenExchangeProvider`): a confidential client trades an access
//! token of the realm (the subject token) for an access token issued to
//! itself, for an `audience` and a `scope`. With an `actor_token` the new
//! token names the actor in `act` (RFC 8693 §4.1, delegation).

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::{
    bind, find_client, grant_scope, has_scope, id_token, issue_session_tokens, issuer, merge,
    new_session, session_lost, token_type, user_claims,
};
use crate::dpop::Proof;
use crate::jwt::Alg;
use crate::oauth::{self, Form};
use crate::seed::{Client, user_by_subject};
use crate::state::AppState;
use crate::store::{AccessRecord, Style};

/// The grant type of a token exchange request (RFC 8693 §2.1).
pub(super) const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// RFC 8693 §3: an OAuth access token.
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// RFC 8693 §3: an OAuth refresh token.
const REFRESH_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:refresh_token";

/// The token endpoint's token-exchange grant; counts what it answered.
pub(super) fn exchange(
    st: &AppState,
    realm: &str,
    client: &Client,
    form: &Form,
    proof: Option<&Proof>,
) -> Response {
    let r = run(st, realm, client, form, proof);
    st.stats().token_exchange(r.status().is_success());
    r
}

/// An access token of this realm that this server issued and still
/// honours: its claims and its record.
struct Presented {
    claims: Value,
    record: AccessRecord,
}

fn presented(st: &AppState, realm: &str, token: &str) -> Option<Presented> {
    let claims = st.keys.verify(Alg::Es256, token)?;
    let now_ms = st.now_ms();
    let record = st
        .store()
        .check_access(token, Style::Kc, Some(realm), now_ms)
        .ok()?;
    Some(Presented { claims, record })
}

/// Keycloak's rule (`validateAudience`): a client may exchange a token
/// issued to it (`azp`) or one whose `aud` names it.
fn may_exchange(claims: &Value, client_id: &str) -> bool {
    let named = |v: &Value| v.as_str() == Some(client_id);
    named(&claims["azp"])
        || match &claims["aud"] {
            Value::Array(auds) => auds.iter().any(named),
            aud => named(aud),
        }
}

/// The checks in Keycloak's order, with its errors: the subject token, the
/// actor token, the requested token type, the audience, the client, the
/// scope.
fn run(
    st: &AppState,
    realm: &str,
    client: &Client,
    form: &Form,
    proof: Option<&Proof>,
) -> Response {
    let Some(subject) = form.get("subject_token") else {
        return oauth::invalid_request(
            "Parameter 'subject_token' required for standard token exchange",
        );
    };
    let Some(subject_type) = form.get("subject_token_type") else {
        return oauth::invalid_request(
            "Parameter 'subject_token_type' required for standard token exchange",
        );
    };
    if subject_type != ACCESS_TOKEN_TYPE {
        return oauth::invalid_request("Parameter 'subject_token' supports access tokens only");
    }
    let Some(subject) = presented(st, realm, subject) else {
        return oauth::invalid_request("Invalid token");
    };
    let actor = match form.get("actor_token") {
        // RFC 8693 §2.1: actor_token_type goes with an actor_token only.
        None if form.get("actor_token_type").is_some() => {
            return oauth::invalid_request("Parameter 'actor_token_type' needs 'actor_token'");
        }
        None => None,
        Some(token) => {
            if form.get("actor_token_type") != Some(ACCESS_TOKEN_TYPE) {
                return oauth::invalid_request("Invalid actor token type");
            }
            let Some(actor) = presented(st, realm, token) else {
                return oauth::invalid_request("Invalid actor token");
            };
            if actor.record.subject == subject.record.subject {
                return oauth::invalid_request("Actor and subject user cannot be the same user");
            }
            Some(actor)
        }
    };
    // Keycloak: access (default) and refresh tokens; delegation: access only.
    let wants_refresh = match form.get("requested_token_type") {
        None | Some(ACCESS_TOKEN_TYPE) => false,
        Some(REFRESH_TOKEN_TYPE) if actor.is_none() => true,
        Some(_) => return oauth::invalid_request("requested_token_type unsupported"),
    };
    let audience = form.get("audience");
    if audience.is_some_and(|a| find_client(a).is_none()) {
        return oauth::error(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            "Audience not found",
        );
    }
    if client.secret.is_none() {
        return oauth::error(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            "Public client is not allowed to exchange token",
        );
    }
    let mut tokens = std::iter::once(&subject).chain(actor.as_ref());
    if tokens.any(|t| !may_exchange(&t.claims, client.id)) {
        return oauth::error(
            StatusCode::FORBIDDEN,
            "access_denied",
            "Client is not within the token audience",
        );
    }
    let scope = match grant_scope(form.get("scope")) {
        Ok(s) => s,
        Err(e) => return oauth::error(StatusCode::BAD_REQUEST, "invalid_scope", &e),
    };
    let mut extra = json!({});
    if let Some(a) = audience {
        extra["aud"] = json!(a);
    }
    if let Some(actor) = &actor {
        // The current actor outermost; the subject token's actors nested.
        let mut act = json!({"sub": actor.record.subject});
        if let Some(prior) = subject.claims.get("act") {
            act["act"] = prior.clone();
        }
        extra["act"] = act;
    }
    if wants_refresh {
        return with_refresh(st, realm, client, &subject.record, scope, extra, proof);
    }
    let body = access_only(st, realm, client, &subject.record, &scope, extra, proof);
    oauth::no_store_json(StatusCode::OK, &body)
}

/// `requested_token_type` refresh_token: a new session of the requesting
/// client for the subject's user (Keycloak: a client session in the same
/// user session, "Allow refresh token in Standard Token Exchange: Same
/// session"), and the usual token response of a login with its `aud`.
fn with_refresh(
    st: &AppState,
    realm: &str,
    client: &Client,
    subject: &AccessRecord,
    scope: String,
    extra: Value,
    proof: Option<&Proof>,
) -> Response {
    let session = subject
        .family
        .as_ref()
        .and_then(|f| st.store().family(f).cloned());
    let user = session.and_then(|f| user_by_subject(&f.subject));
    let Some(user) = user else {
        return oauth::invalid_request(
            "Refresh token not valid as requested_token_type because creating a new session is needed",
        );
    };
    if has_scope(&scope, "offline_access") {
        return oauth::invalid_request("Scope offline_access not allowed for token exchange");
    }
    let Some(family) = new_session(st, realm, client, user, scope, None) else {
        return session_lost();
    };
    let mut body = issue_session_tokens(st, realm, &family, st.now(), proof, client, Some(extra));
    body["issued_token_type"] = json!(REFRESH_TOKEN_TYPE);
    oauth::no_store_json(StatusCode::OK, &body)
}

/// The default answer: an access token issued to the requesting client in
/// the subject token's session (so ending that session ends it), no
/// refresh token; an ID token too when the scope has `openid` and there
/// is a session. The response of Keycloak's documentation example.
fn access_only(
    st: &AppState,
    realm: &str,
    client: &Client,
    subject: &AccessRecord,
    scope: &str,
    extra: Value,
    proof: Option<&Proof>,
) -> Value {
    let ttl = st.settings().access_ttl;
    let now = st.now();
    let exp = now.saturating_add_unsigned(ttl);
    let iss = issuer(st, realm);
    let session = subject
        .family
        .as_ref()
        .and_then(|f| st.store().family(f).cloned());
    let who = match user_by_subject(&subject.subject) {
        Some(u) => user_claims(Some(u)),
        None => json!({"preferred_username": subject.username}),
    };
    let mut claims = merge(
        json!({
            "exp": exp, "iat": now, "jti": uuid::Uuid::new_v4().to_string(), "iss": iss,
            "aud": "account", "sub": subject.subject, "typ": "Bearer", "azp": client.id,
            "scope": scope,
        }),
        who,
    );
    if let Some(f) = &session {
        claims["sid"] = json!(f.id);
        claims["session_state"] = json!(f.id);
        claims["auth_time"] = json!(f.auth_time);
    }
    let mut claims = merge(claims, extra);
    bind(&mut claims, proof);
    let access = st.keys.sign(Alg::Es256, &claims);
    st.store().add_access(
        access.clone(),
        AccessRecord {
            style: Style::Kc,
            family: subject.family.clone(),
            subject: subject.subject.clone(),
            username: subject.username.clone(),
            client_id: Some(client.id.to_string()),
            realm: Some(realm.to_string()),
            expires_at_ms: exp.saturating_mul(1000),
            revoked: false,
            jkt: proof.map(|p| p.jkt.clone()),
        },
    );
    let mut body = json!({
        "access_token": access,
        "expires_in": ttl,
        "refresh_expires_in": 0,
        "token_type": token_type(st, proof),
        "not-before-policy": 0,
        "scope": scope,
        "issued_token_type": ACCESS_TOKEN_TYPE,
    });
    if let Some(f) = &session {
        body["session_state"] = json!(f.id);
        if has_scope(scope, "openid") {
            body["id_token"] = json!(id_token(st, &iss, f, client.id, None, now, &access));
        }
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_requester_must_hold_the_token_or_be_its_audience() {
        let c = "backend";
        assert!(may_exchange(&json!({"azp": c, "aud": "account"}), c));
        assert!(may_exchange(&json!({"azp": "spa", "aud": c}), c));
        assert!(may_exchange(&json!({"azp": "spa", "aud": ["x", c]}), c));
        assert!(!may_exchange(&json!({"azp": "spa", "aud": "account"}), c));
        assert!(!may_exchange(&json!({"azp": "spa", "aud": ["x"]}), c));
        assert!(!may_exchange(&json!({}), c));
    }
}
