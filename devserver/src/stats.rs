//! Counters and a bounded log of the API requests received, for tests to
//! assert on (`GET /admin/stats`). Nothing here holds a secret: the log
//! keeps the method, the path without its query, the endpoint name, the
//! `grant_type` and the status.

use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;
use serde_json::{Value, json};

use crate::store::Style;

/// How many log entries are kept.
const LOG_CAP: usize = 500;

/// Outcome of a call to a protected API.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Protected {
    Ok,
    Missing,
    Expired,
    Invalid,
    /// The token was good but the API key missing or wrong (LGDX).
    BadApiKey,
}

/// The outcome of a device-code poll of the token endpoint (RFC 8628 §3.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DevicePoll {
    /// `authorization_pending`.
    Pending,
    /// `slow_down`.
    SlowDown,
    /// `access_denied`.
    Denied,
    /// `expired_token`.
    Expired,
    /// Tokens issued.
    Issued,
    /// `invalid_grant`: unknown, spent or another client's code.
    Invalid,
}

impl DevicePoll {
    const ALL: [Self; 6] = [
        Self::Pending,
        Self::SlowDown,
        Self::Denied,
        Self::Expired,
        Self::Issued,
        Self::Invalid,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::SlowDown => "slow_down",
            Self::Denied => "denied",
            Self::Expired => "expired",
            Self::Issued => "issued",
            Self::Invalid => "invalid",
        }
    }
}

/// What a token endpoint handed out, put in the response's extensions by
/// the handler and copied to the request's log entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum TokenOutcome {
    /// A token issued by this request.
    New,
    /// A token issued earlier and still unexpired, handed back again.
    Reissued,
}

/// One received API request.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct LogEntry {
    pub(crate) seq: u64,
    /// Server time (offset clock), Unix milliseconds.
    pub(crate) at_ms: i64,
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) endpoint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) grant: Option<String>,
    /// `null` when the connection was dropped without a response.
    pub(crate) status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) fault: Option<String>,
    /// For TNCO token requests that succeeded: `new` or `reissued`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) token: Option<TokenOutcome>,
    /// For requests DPoP looked at: `ok` (a valid proof) or why it refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) dpop: Option<&'static str>,
    pub(crate) duration_ms: u64,
}

#[derive(Debug, Default)]
struct PerStyle(BTreeMap<Style, u64>);

impl PerStyle {
    fn add(&mut self, s: Style) {
        *self.0.entry(s).or_default() += 1;
    }
    fn json(&self) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("total".into(), json!(self.0.values().sum::<u64>()));
        for (s, n) in &self.0 {
            m.insert(s.as_str().into(), json!(n));
        }
        Value::Object(m)
    }
}

/// All counters.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    requests: BTreeMap<String, u64>,
    preflights: u64,
    logins: PerStyle,
    login_failures: PerStyle,
    refreshes: PerStyle,
    refresh_rejections: PerStyle,
    reuse_detections: PerStyle,
    client_credentials: PerStyle,
    code_exchanges: u64,
    revocations: u64,
    protected_ok: u64,
    protected_missing: u64,
    protected_expired: u64,
    protected_invalid: u64,
    protected_bad_api_key: u64,
    tnco_new: u64,
    tnco_reissued: u64,
    dpop_accepted: u64,
    dpop_rejected: BTreeMap<&'static str, u64>,
    dpop_bound_tokens: u64,
    device_authorizations: u64,
    device_approvals: u64,
    device_denials: u64,
    device_polls: [u64; DevicePoll::ALL.len()],
    token_exchanges: u64,
    token_exchange_refusals: u64,
    par_pushed: u64,
    par_used: u64,
    par_rejected: u64,
    faults: BTreeMap<String, u64>,
    log: VecDeque<LogEntry>,
    seq: u64,
}

impl Stats {
    pub(crate) fn request(&mut self, endpoint: &str) {
        *self.requests.entry(endpoint.to_string()).or_default() += 1;
    }
    pub(crate) fn preflight(&mut self) {
        self.preflights += 1;
    }
    pub(crate) fn login(&mut self, s: Style) {
        self.logins.add(s);
    }
    pub(crate) fn login_failure(&mut self, s: Style) {
        self.login_failures.add(s);
    }
    pub(crate) fn refresh(&mut self, s: Style) {
        self.refreshes.add(s);
    }
    pub(crate) fn refresh_rejected(&mut self, s: Style) {
        self.refresh_rejections.add(s);
    }
    pub(crate) fn reuse_detected(&mut self, s: Style) {
        self.reuse_detections.add(s);
    }
    pub(crate) fn client_credentials(&mut self, s: Style) {
        self.client_credentials.add(s);
    }
    /// A successful TNCO client-credentials grant: a new token or a re-issue.
    pub(crate) fn tnco_token(&mut self, outcome: TokenOutcome) {
        match outcome {
            TokenOutcome::New => self.tnco_new += 1,
            TokenOutcome::Reissued => self.tnco_reissued += 1,
        }
    }
    pub(crate) fn code_exchange(&mut self) {
        self.code_exchanges += 1;
    }
    pub(crate) fn revocation(&mut self) {
        self.revocations += 1;
    }
    pub(crate) fn protected(&mut self, p: Protected) {
        match p {
            Protected::Ok => self.protected_ok += 1,
            Protected::Missing => self.protected_missing += 1,
            Protected::Expired => self.protected_expired += 1,
            Protected::Invalid => self.protected_invalid += 1,
            Protected::BadApiKey => self.protected_bad_api_key += 1,
        }
    }
    /// A DPoP proof that passed every check.
    pub(crate) fn dpop_accepted(&mut self) {
        self.dpop_accepted += 1;
    }
    /// A request DPoP refused, by reason.
    pub(crate) fn dpop_rejected(&mut self, reason: &'static str) {
        *self.dpop_rejected.entry(reason).or_default() += 1;
    }
    /// A token response with DPoP-bound tokens.
    pub(crate) fn dpop_bound(&mut self) {
        self.dpop_bound_tokens += 1;
    }
    /// A device authorization response (RFC 8628 §3.2).
    pub(crate) fn device_authorization(&mut self) {
        self.device_authorizations += 1;
    }
    /// A user's decision on a device authorization.
    pub(crate) fn device_decision(&mut self, approved: bool) {
        if approved {
            self.device_approvals += 1;
        } else {
            self.device_denials += 1;
        }
    }
    /// A device-code poll of the token endpoint, by outcome.
    pub(crate) fn device_poll(&mut self, outcome: DevicePoll) {
        if let Some(i) = DevicePoll::ALL.iter().position(|p| *p == outcome) {
            self.device_polls[i] += 1;
        }
    }
    /// A token exchange (RFC 8693): issued, or refused after client
    /// authentication.
    pub(crate) fn token_exchange(&mut self, issued: bool) {
        if issued {
            self.token_exchanges += 1;
        } else {
            self.token_exchange_refusals += 1;
        }
    }
    /// A pushed authorization request answered with a `request_uri`.
    pub(crate) fn par_pushed(&mut self) {
        self.par_pushed += 1;
    }
    /// A `request_uri` at the authorization endpoint: spent by a login
    /// (`true`), or refused as unknown, spent, expired or another client's.
    pub(crate) fn par_use(&mut self, used: bool) {
        if used {
            self.par_used += 1;
        } else {
            self.par_rejected += 1;
        }
    }
    pub(crate) fn fault(&mut self, kind: &str) {
        *self.faults.entry(kind.to_string()).or_default() += 1;
    }
    pub(crate) fn log(&mut self, mut entry: LogEntry) {
        self.seq += 1;
        entry.seq = self.seq;
        if self.log.len() == LOG_CAP {
            self.log.pop_front();
        }
        self.log.push_back(entry);
    }

    /// The `GET /admin/stats` body.
    pub(crate) fn json(&self) -> Value {
        let mut faults = serde_json::Map::new();
        faults.insert("total".into(), json!(self.faults.values().sum::<u64>()));
        for (k, n) in &self.faults {
            faults.insert(k.clone(), json!(n));
        }
        let mut dpop_rejected = serde_json::Map::new();
        dpop_rejected.insert(
            "total".into(),
            json!(self.dpop_rejected.values().sum::<u64>()),
        );
        for (k, n) in &self.dpop_rejected {
            dpop_rejected.insert((*k).into(), json!(n));
        }
        let mut polls = serde_json::Map::new();
        polls.insert("total".into(), json!(self.device_polls.iter().sum::<u64>()));
        for (p, n) in DevicePoll::ALL.iter().zip(self.device_polls) {
            polls.insert(p.as_str().into(), json!(n));
        }
        json!({
            "requests": self.requests,
            "preflights": self.preflights,
            "logins": self.logins.json(),
            "login_failures": self.login_failures.json(),
            "refreshes": self.refreshes.json(),
            "refresh_rejections": self.refresh_rejections.json(),
            "reuse_detections": self.reuse_detections.json(),
            "client_credentials": self.client_credentials.json(),
            "code_exchanges": self.code_exchanges,
            "revocations": self.revocations,
            "protected_calls": {
                "ok": self.protected_ok,
                "missing": self.protected_missing,
                "expired": self.protected_expired,
                "invalid": self.protected_invalid,
                "bad_api_key": self.protected_bad_api_key,
            },
            "tnco_tokens": {"new": self.tnco_new, "reissued": self.tnco_reissued},
            "expired_token_calls": self.protected_expired,
            "dpop": {
                "accepted": self.dpop_accepted,
                "rejected": dpop_rejected,
                "bound_tokens": self.dpop_bound_tokens,
            },
            "device": {
                "authorizations": self.device_authorizations,
                "approved": self.device_approvals,
                "denied": self.device_denials,
                "polls": polls,
            },
            "token_exchanges": {
                "issued": self.token_exchanges,
                "refused": self.token_exchange_refusals,
            },
            "par": {
                "pushed": self.par_pushed,
                "used": self.par_used,
                "rejected": self.par_rejected,
            },
            "faults_applied": faults,
            "log": self.log,
        })
    }
}
