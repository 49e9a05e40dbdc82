//! Where a token's expiry comes from: the JSON profile's `expiry` and
//! `refreshExpiry` source lists (every unit, the order of preference, the
//! JWT fallback anywhere in a list, errors naming the member) and how each
//! hint lands on the local clock.
// A native suite: `wasm-pack test` builds every test target for wasm32,
// where the native dev-dependencies (the fakes, proptest) are missing.
#![cfg(not(target_arch = "wasm32"))]
// Tests fail by panicking; unwrap/expect in helpers is the point.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::{Value, json};
use support::*;
use tokenkeeper::core::config::{Config, ExpirySource, ExpiryUnit, Profile};
use tokenkeeper::core::error::Error;
use tokenkeeper::core::response::{
    self, EARLIEST_EXPIRY, ExpiryHint, LATEST_EXPIRY, TokenResponse,
};
use tokenkeeper::core::time::UnixMillis;
use tokenkeeper::core::tokens::{Renewal, Timing, TokenSet};

const MINUTE: u64 = 60_000;

/// A JSON profile with these extra profile options.
fn json_cfg(extra: Value) -> Result<Config, Error> {
    let mut profile = json!({
        "kind": "json",
        "loginUrl": "https://api.example/login",
        "refreshUrl": "https://api.example/refresh",
    });
    for (k, v) in extra.as_object().unwrap() {
        profile[k] = v.clone();
    }
    let cfg = Config::from_value(&json!({ "profile": profile }))?;
    cfg.validate()?;
    Ok(cfg)
}

fn json_profile(extra: Value) -> Profile {
    json_cfg(extra).unwrap().profile
}

fn config_error(extra: Value) -> String {
    let e = json_cfg(extra).unwrap_err();
    assert_eq!(e.code(), "AUTH_CONFIG");
    e.to_string()
}

fn parse(profile: &Profile, body: &Value) -> Result<TokenResponse, Error> {
    response::parse_token_response(profile, &json_response(200, &body.to_string()), T0)
}

fn expires(profile: &Profile, body: Value) -> Option<ExpiryHint> {
    parse(profile, &body).unwrap().expires()
}

fn refresh_expires(profile: &Profile, body: Value) -> Option<ExpiryHint> {
    parse(profile, &body).unwrap().refresh_expires()
}

fn field(name: &str, unit: ExpiryUnit) -> ExpirySource {
    ExpirySource::Field {
        name: name.into(),
        unit,
    }
}

fn lifetime(count: u64, unit_ms: u64) -> Option<ExpiryHint> {
    Some(ExpiryHint::In { count, unit_ms })
}

fn at(ms: u64) -> Option<ExpiryHint> {
    Some(ExpiryHint::At(UnixMillis(ms)))
}

fn list(profile: &Profile) -> (&[ExpirySource], &[ExpirySource]) {
    match profile {
        Profile::Json(j) => (&j.expiry, &j.refresh_expiry),
        Profile::OAuth2(_) => panic!("not a JSON profile"),
    }
}

// ---- Configuration ----------------------------------------------------------

#[test]
fn defaults_state_the_old_behaviour_and_follow_renamed_fields() {
    let p = json_profile(json!({}));
    let (access, refresh) = list(&p);
    assert_eq!(
        access,
        [field("expiresIn", ExpiryUnit::Seconds), ExpirySource::Jwt]
    );
    assert_eq!(
        refresh,
        [
            field("refreshExpiresIn", ExpiryUnit::Seconds),
            ExpirySource::Jwt
        ]
    );
    let p = json_profile(json!({"fields": {"expiresIn": "ttl", "refreshExpiresIn": "rttl"}}));
    let (access, refresh) = list(&p);
    assert_eq!(
        access,
        [field("ttl", ExpiryUnit::Seconds), ExpirySource::Jwt]
    );
    assert_eq!(
        refresh,
        [field("rttl", ExpiryUnit::Seconds), ExpirySource::Jwt]
    );
    // null reads as absent, as for every option.
    let p = json_profile(json!({"expiry": null, "refreshExpiry": null}));
    assert_eq!(list(&p).0.len(), 2);
}

#[test]
fn every_unit_is_read_from_the_options() {
    let p = json_profile(json!({
        "expiry": [
            {"field": "a", "unit": "seconds"},
            {"field": "b", "unit": "minutes"},
            "jwt",
            {"field": "c", "unit": "epochSeconds"},
            {"field": "d", "unit": "epochMillis"},
            {"field": "e", "unit": "iso8601"},
        ],
        "refreshExpiry": ["jwt", {"field": "r", "unit": "minutes"}],
    }));
    let (access, refresh) = list(&p);
    assert_eq!(
        access,
        [
            field("a", ExpiryUnit::Seconds),
            field("b", ExpiryUnit::Minutes),
            ExpirySource::Jwt,
            field("c", ExpiryUnit::EpochSeconds),
            field("d", ExpiryUnit::EpochMillis),
            field("e", ExpiryUnit::Iso8601),
        ]
    );
    assert_eq!(
        refresh,
        [ExpirySource::Jwt, field("r", ExpiryUnit::Minutes)]
    );
    // A single source is a whole list: the JWT fallback is then off.
    let p = json_profile(json!({"expiry": [{"field": "expiresMins", "unit": "minutes"}]}));
    assert_eq!(list(&p).0, [field("expiresMins", ExpiryUnit::Minutes)]);
}

#[test]
fn errors_name_the_member_and_never_quote_a_value() {
    let one = |entry: Value| json!({"expiry": [{"field": "ok", "unit": "seconds"}, entry]});
    let cases: &[(Value, &str)] = &[
        (
            json!({"expiry": "SENTINEL_x"}),
            "\"expiry\" must be a list of sources",
        ),
        (
            json!({"refreshExpiry": {"field": "a"}}),
            "\"refreshExpiry\" must be a list of sources",
        ),
        (json!({"expiry": []}), "\"expiry\" must not be empty"),
        (
            json!({"refreshExpiry": []}),
            "\"refreshExpiry\" must not be empty",
        ),
        (
            one(json!("SENTINEL_jwt")),
            "\"expiry[1]\" must be \"jwt\" or { field, unit }",
        ),
        (
            one(json!("JWT")),
            "\"expiry[1]\" must be \"jwt\" or { field, unit }",
        ),
        (
            one(json!(3600)),
            "\"expiry[1]\" must be \"jwt\" or { field, unit }",
        ),
        (
            one(json!(["jwt"])),
            "\"expiry[1]\" must be \"jwt\" or { field, unit }",
        ),
        (
            one(json!(null)),
            "\"expiry[1]\" must be \"jwt\" or { field, unit }",
        ),
        (
            one(json!({"field": "b", "unit": "SENTINEL_hours"})),
            "\"expiry[1].unit\" must be \"seconds\", \"minutes\", \"epochSeconds\", \"epochMillis\" or \"iso8601\"",
        ),
        (
            one(json!({"field": "b", "unit": "Seconds"})),
            "\"expiry[1].unit\" must be \"seconds\", \"minutes\", \"epochSeconds\", \"epochMillis\" or \"iso8601\"",
        ),
        (
            one(json!({"field": "b", "unit": 60})),
            "\"expiry[1].unit\" must be \"seconds\", \"minutes\", \"epochSeconds\", \"epochMillis\" or \"iso8601\"",
        ),
        (
            one(json!({"field": "b"})),
            "\"expiry[1].unit\" must be \"seconds\", \"minutes\", \"epochSeconds\", \"epochMillis\" or \"iso8601\"",
        ),
        (
            one(json!({"unit": "seconds"})),
            "\"expiry[1].field\" is required",
        ),
        (
            one(json!({"field": 7, "unit": "seconds"})),
            "\"expiry[1].field\" must be a string",
        ),
        (
            one(json!({"field": "", "unit": "seconds"})),
            "\"expiry[1].field\" must not be empty",
        ),
        (
            one(json!({"field": "b", "unit": "seconds", "units": "SENTINEL_y"})),
            "\"expiry[1]\" must have no members but field and unit",
        ),
        (
            json!({"expiry": ["jwt", "jwt"]}),
            "\"expiry[1]\" must not repeat an earlier source",
        ),
        (
            one(json!({"field": "ok", "unit": "minutes"})),
            "\"expiry[1]\" must not repeat an earlier source",
        ),
        (
            json!({"refreshExpiry": [{"field": "r", "unit": "seconds"}, "jwt", {"field": "r", "unit": "iso8601"}]}),
            "\"refreshExpiry[2]\" must not repeat an earlier source",
        ),
        (
            json!({"expiry": [{"field": "accessToken", "unit": "seconds"}]}),
            "\"expiry[0].field\" must not name a token member",
        ),
        (
            json!({"fields": {"refreshToken": "rt"}, "refreshExpiry": ["jwt", {"field": "rt", "unit": "seconds"}]}),
            "\"refreshExpiry[1].field\" must not name a token member",
        ),
        (
            json!({"expiry": [{"field": "exp", "unit": "epochSeconds"}], "refreshExpiry": [{"field": "exp", "unit": "epochSeconds"}]}),
            "\"refreshExpiry[0].field\" must not name a member that expiry reads",
        ),
        (
            json!({"refreshExpiry": [{"field": "expiresIn", "unit": "minutes"}]}),
            "\"refreshExpiry[0].field\" must not name a member that expiry reads",
        ),
    ];
    for (extra, want) in cases {
        let got = config_error(extra.clone());
        assert_eq!(got, *want, "{extra}");
        assert!(!got.contains("SENTINEL"), "{got}");
    }
    // The OAuth 2.0 profile keeps expires_in, then the JWT exp: no option.
    let e = Config::from_value(&json!({"profile": {
        "kind": "oauth2", "tokenUrl": "https://as.example/token", "clientId": "c",
        "expiry": ["jwt"],
    }}))
    .unwrap_err();
    assert_eq!(e.to_string(), "\"expiry\" is not an option");
}

// ---- Parsing ----------------------------------------------------------------

#[test]
fn lifetimes_in_seconds_and_minutes() {
    let p = json_profile(json!({"expiry": [
        {"field": "expiresMins", "unit": "minutes"},
        {"field": "expiresIn", "unit": "seconds"},
    ]}));
    let cases: &[(Value, Option<ExpiryHint>)] = &[
        (json!(15), lifetime(15, MINUTE)),
        (json!("15"), lifetime(15, MINUTE)),
        (json!(15.9), lifetime(15, MINUTE)),
        (json!("15.9"), lifetime(15, MINUTE)),
        (json!(0), lifetime(0, MINUTE)),
        (json!(1e3), lifetime(1000, MINUTE)),
    ];
    for (v, want) in cases {
        let got = expires(&p, json!({"accessToken": "a", "expiresMins": v}));
        assert_eq!(got, *want, "{v}");
    }
    assert_eq!(
        expires(&p, json!({"accessToken": "a", "expiresIn": "90"})),
        lifetime(90, 1_000)
    );
    for v in [
        json!(-1),
        json!("-1"),
        json!("15m"),
        json!(""),
        json!(null),
        json!(true),
        json!({}),
    ] {
        let e = parse(
            &p,
            &json!({"accessToken": "a", "expiresMins": v, "expiresIn": 60}),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "\"response\" body \"expiresMins\" property must be a non-negative number",
            "{v}"
        );
    }
}

#[test]
fn absolute_times_in_every_form() {
    let p = json_profile(json!({"expiry": [
        {"field": "expiresAt", "unit": "iso8601"},
        {"field": "exp", "unit": "epochSeconds"},
        {"field": "expMs", "unit": "epochMillis"},
    ]}));
    let t = 1_700_000_900_000; // 2023-11-14T22:28:20Z
    let cases: &[(&str, Value, Option<ExpiryHint>)] = &[
        ("expiresAt", json!("2023-11-14T22:28:20Z"), at(t)),
        ("expiresAt", json!("2023-11-14T22:28:20.123Z"), at(t + 123)),
        ("expiresAt", json!("2023-11-14T23:28:20+01:00"), at(t)),
        ("expiresAt", json!("2023-11-14t22:28:20z"), at(t)),
        ("expiresAt", json!("2023-11-14 22:28:20Z"), at(t)),
        ("exp", json!(1_700_000_900), at(t)),
        ("exp", json!("1700000900"), at(t)),
        ("exp", json!(1_700_000_900.75), at(t)),
        ("exp", json!("1700000900.75"), at(t)),
        ("expMs", json!(1_700_000_900_123_u64), at(t + 123)),
        ("expMs", json!("1700000900123"), at(t + 123)),
        ("expMs", json!(1_700_000_900_123.9), at(t + 123)),
        // The bounds, inclusive.
        ("exp", json!(946_684_800), at(EARLIEST_EXPIRY.0)),
        ("expMs", json!(253_402_300_799_999_u64), at(LATEST_EXPIRY.0)),
        (
            "expiresAt",
            json!("9999-12-31T23:59:59.999Z"),
            at(LATEST_EXPIRY.0),
        ),
        (
            "expiresAt",
            json!("2000-01-01T00:00:00Z"),
            at(EARLIEST_EXPIRY.0),
        ),
    ];
    for (name, v, want) in cases {
        let got = expires(&p, json!({"accessToken": "a", *name: v}));
        assert_eq!(got, *want, "{name}: {v}");
    }
}

// Pinned: an absolute time before 2000 or after 9999 is refused, not
// clamped. Both are the marks of a unit mix-up: a lifetime read as an epoch
// time (1970), seconds read as milliseconds (1970), milliseconds read as
// seconds (year 55000). Refused, the login fails with the member named
// instead of a session that expired in 1970 and renews without end.
#[test]
fn absolute_times_out_of_range_are_refused() {
    let p = json_profile(json!({"expiry": [
        {"field": "expiresAt", "unit": "iso8601"},
        {"field": "exp", "unit": "epochSeconds"},
        {"field": "expMs", "unit": "epochMillis"},
    ]}));
    let seconds = "must be epoch seconds from 2000 to 9999";
    let millis = "must be epoch milliseconds from 2000 to 9999";
    let iso = "must be an RFC 3339 date-time from 2000 to 9999";
    let cases: &[(&str, Value, &str)] = &[
        ("exp", json!(3600), seconds),
        ("exp", json!(946_684_799), seconds),
        ("exp", json!(253_402_300_800_u64), seconds),
        ("exp", json!(1_700_000_900_000_u64), seconds),
        ("exp", json!(u64::MAX), seconds),
        ("exp", json!(1e300), seconds),
        ("exp", json!(-1), seconds),
        ("exp", json!("2023-11-14T22:28:20Z"), seconds),
        ("exp", json!(null), seconds),
        ("expMs", json!(1_700_000_900), millis),
        ("expMs", json!(946_684_799_999_u64), millis),
        ("expMs", json!(253_402_300_800_000_u64), millis),
        ("expMs", json!("soon"), millis),
        ("expiresAt", json!("1999-12-31T23:59:59.999Z"), iso),
        ("expiresAt", json!("2000-01-01T00:59:59+01:00"), iso),
        ("expiresAt", json!("1970-01-01T00:00:00Z"), iso),
        ("expiresAt", json!("2023-11-14T22:28:20"), iso),
        ("expiresAt", json!("Tue, 14 Nov 2023 22:28:20 GMT"), iso),
        ("expiresAt", json!(1_700_000_900), iso),
        ("expiresAt", json!(""), iso),
    ];
    for (name, v, reason) in cases {
        let e = parse(&p, &json!({"accessToken": "a", *name: v})).unwrap_err();
        assert_eq!(e.code(), "OAUTH_INVALID_RESPONSE");
        assert_eq!(
            e.to_string(),
            format!("\"response\" body \"{name}\" property {reason}"),
            "{v}"
        );
    }
    // An out-of-range refresh expiry is advisory: ignored.
    let p = json_profile(json!({"refreshExpiry": [{"field": "rexp", "unit": "epochSeconds"}]}));
    let r = parse(
        &p,
        &json!({"accessToken": "a", "refreshToken": "r", "rexp": 3600}),
    )
    .unwrap();
    assert_eq!(r.refresh_expires(), None);
}

#[test]
fn the_first_source_present_wins() {
    let p = json_profile(json!({"expiry": [
        {"field": "expiresMins", "unit": "minutes"},
        {"field": "expiresAt", "unit": "iso8601"},
        {"field": "expiresIn", "unit": "seconds"},
    ]}));
    let all = json!({"accessToken": "a", "expiresMins": 15, "expiresAt": "2023-11-14T22:28:20Z", "expiresIn": 60});
    assert_eq!(expires(&p, all), lifetime(15, MINUTE));
    let two = json!({"accessToken": "a", "expiresAt": "2023-11-14T22:28:20Z", "expiresIn": 60});
    assert_eq!(expires(&p, two), at(1_700_000_900_000));
    let last = json!({"accessToken": "a", "expiresIn": 60});
    assert_eq!(expires(&p, last), lifetime(60, 1_000));
    assert_eq!(expires(&p, json!({"accessToken": "a"})), None);
    // A present but unreadable source is an error: a later one does not
    // stand in for it.
    let bad = json!({"accessToken": "a", "expiresMins": "soon", "expiresIn": 60});
    let e = parse(&p, &bad).unwrap_err();
    assert_eq!(
        e.to_string(),
        "\"response\" body \"expiresMins\" property must be a non-negative number"
    );
}

#[test]
fn jwt_in_the_middle_of_a_list() {
    let p = json_profile(json!({"expiry": [
        {"field": "expiresMins", "unit": "minutes"},
        "jwt",
        {"field": "expiresIn", "unit": "seconds"},
    ]}));
    let with_exp = jwt(&json!({"exp": secs(T0) + 900}));
    let without_exp = jwt(&json!({"sub": "u"}));
    let bad_exp = jwt(&json!({"exp": "tomorrow"}));
    // Before the JWT: the field wins.
    let body = json!({"accessToken": with_exp, "expiresMins": 5, "expiresIn": 60});
    assert_eq!(expires(&p, body), lifetime(5, MINUTE));
    // The JWT's exp beats a later field.
    let body = json!({"accessToken": with_exp, "expiresIn": 60});
    assert_eq!(
        expires(&p, body),
        Some(ExpiryHint::Jwt(T0.plus_millis(900_000)))
    );
    // No readable exp: on to the next source.
    for token in [&without_exp, &bad_exp, "opaque-token"] {
        let body = json!({"accessToken": token, "expiresIn": 60});
        assert_eq!(expires(&p, body), lifetime(60, 1_000), "{token}");
        let body = json!({"accessToken": token});
        assert_eq!(expires(&p, body), None, "{token}");
    }
    // Without "jwt" in the list, the exp is never read.
    let p = json_profile(json!({"expiry": [{"field": "expiresIn", "unit": "seconds"}]}));
    assert_eq!(expires(&p, json!({"accessToken": with_exp})), None);
    // Nor on the local clock.
    let t = set(&p, json!({"accessToken": with_exp}), &TIMING, None);
    assert_eq!(t.expires_at(), None);
}

#[test]
fn refresh_list_reads_the_refresh_tokens_jwt_and_skips_unreadable_sources() {
    let p = json_profile(json!({"refreshExpiry": [
        {"field": "refreshExpiresMins", "unit": "minutes"},
        "jwt",
        {"field": "refreshExpiresAt", "unit": "epochMillis"},
    ]}));
    let access = jwt(&json!({"exp": secs(T0) + 900}));
    let refresh = jwt(&json!({"exp": secs(T0) + 86_400}));
    let body = |extra: Value| {
        let mut b = json!({"accessToken": access, "refreshToken": refresh});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    assert_eq!(
        refresh_expires(&p, body(json!({"refreshExpiresMins": 600}))),
        lifetime(600, MINUTE)
    );
    // The refresh token's own exp, not the access token's.
    assert_eq!(
        refresh_expires(&p, body(json!({}))),
        Some(ExpiryHint::Jwt(T0.plus_millis(86_400_000)))
    );
    // Unreadable: skipped, as if absent.
    assert_eq!(
        refresh_expires(&p, body(json!({"refreshExpiresMins": "x"}))),
        Some(ExpiryHint::Jwt(T0.plus_millis(86_400_000)))
    );
    // An opaque refresh token: on to the epoch member.
    let opaque = json!({"accessToken": access, "refreshToken": "SENTINEL_RT_1", "refreshExpiresAt": 1_700_086_400_000_u64});
    assert_eq!(refresh_expires(&p, opaque), at(1_700_086_400_000));
    let opaque = json!({"accessToken": access, "refreshToken": "SENTINEL_RT_1", "refreshExpiresMins": null, "refreshExpiresAt": "x"});
    assert_eq!(refresh_expires(&p, opaque), None);
    // The access token's list is independent of it.
    assert_eq!(
        expires(&p, body(json!({"refreshExpiresMins": 600}))),
        Some(ExpiryHint::Jwt(T0.plus_millis(900_000)))
    );
}

#[test]
fn oauth_profiles_keep_expires_in_then_the_jwt() {
    let p = keycloak().profile;
    let at_jwt = jwt(&json!({"exp": secs(T0) + 900}));
    let body = |extra: Value| {
        let mut b = json!({"access_token": at_jwt, "token_type": "Bearer", "refresh_token": "SENTINEL_RT_1"});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    assert_eq!(
        expires(&p, body(json!({"expires_in": 300}))),
        lifetime(300, 1_000)
    );
    assert_eq!(
        expires(&p, body(json!({}))),
        Some(ExpiryHint::Jwt(T0.plus_millis(900_000)))
    );
    // Camel-case members mean nothing to an OAuth 2.0 profile.
    assert_eq!(
        expires(
            &p,
            body(json!({"expiresMins": 5, "expiresAt": "2023-11-14T22:28:20Z"}))
        ),
        Some(ExpiryHint::Jwt(T0.plus_millis(900_000)))
    );
    assert_eq!(
        refresh_expires(&p, body(json!({"refresh_expires_in": 0}))),
        lifetime(0, 1_000)
    );
}

// ---- Resolution on the local clock --------------------------------------------

/// Sent at T0, received 2 s later.
const TIMING: Timing = Timing {
    sent_at: T0,
    received_at: UnixMillis(T0.0 + 2_000),
    server_date: None,
};

fn set(profile: &Profile, body: Value, timing: &Timing, previous: Option<&TokenSet>) -> TokenSet {
    TokenSet::from_response(
        parse(profile, &body).unwrap(),
        timing,
        Renewal::RefreshToken,
        previous,
        true,
    )
}

fn lgdx_minutes() -> Profile {
    json_profile(
        json!({"expiry": [{"field": "expiresMins", "unit": "minutes"}, "jwt"],
                        "refreshExpiry": [{"field": "refreshExpiresMins", "unit": "minutes"}]}),
    )
}

#[test]
fn minutes_count_from_the_send_time_and_a_reissue_gets_the_latest() {
    let p = lgdx_minutes();
    let t = set(
        &p,
        json!({"accessToken": "SENTINEL_AT_1", "refreshToken": "SENTINEL_RT_1", "expiresMins": 15, "refreshExpiresMins": 1440}),
        &TIMING,
        None,
    );
    assert_eq!(t.expires_at(), Some(T0.plus_millis(15 * MINUTE)));
    assert_eq!(t.refresh_expires_at(), Some(T0.plus_millis(1440 * MINUTE)));
    // The same access token again, 10 min later, says 4 whole minutes
    // left: it lasts until received + 5 min at the latest.
    let later = Timing {
        sent_at: T0.plus_millis(10 * MINUTE),
        received_at: T0.plus_millis(10 * MINUTE + 1_000),
        server_date: None,
    };
    let again = set(
        &p,
        json!({"accessToken": "SENTINEL_AT_1", "refreshToken": "SENTINEL_RT_2", "expiresMins": 4}),
        &later,
        Some(&t),
    );
    assert_eq!(
        again.expires_at(),
        Some(later.received_at.plus_millis(5 * MINUTE))
    );
    // A new token gets the earliest.
    let new = set(
        &p,
        json!({"accessToken": "SENTINEL_AT_2", "refreshToken": "SENTINEL_RT_2", "expiresMins": 4}),
        &later,
        Some(&t),
    );
    assert_eq!(
        new.expires_at(),
        Some(later.sent_at.plus_millis(4 * MINUTE))
    );
    // 0 minutes means "under a minute": the latest, from the arrival.
    let zero = set(
        &p,
        json!({"accessToken": "SENTINEL_AT_3", "expiresMins": 0}),
        &TIMING,
        None,
    );
    assert_eq!(
        zero.expires_at(),
        Some(TIMING.received_at.plus_millis(MINUTE))
    );
    // A refresh token lifetime of 0 minutes: no fixed maximum.
    let open = set(
        &p,
        json!({"accessToken": "SENTINEL_AT_3", "refreshToken": "SENTINEL_RT_3", "refreshExpiresMins": 0}),
        &TIMING,
        None,
    );
    assert_eq!(open.refresh_expires_at(), None);
    // A huge count saturates instead of wrapping.
    let huge = set(
        &p,
        json!({"accessToken": "SENTINEL_AT_4", "expiresMins": 18_446_744_073_709_551_615_u64}),
        &TIMING,
        None,
    );
    assert_eq!(huge.expires_at(), Some(UnixMillis(u64::MAX)));
}

#[test]
fn absolute_times_are_shifted_by_the_server_clock_offset() {
    let p = json_profile(json!({
        "expiry": [{"field": "expiresAt", "unit": "iso8601"}],
        "refreshExpiry": [{"field": "refreshExpiresAt", "unit": "epochSeconds"}],
    }));
    // The server is 10 min ahead: its Date reads T0 + 10 min + 1 s at the
    // request's midpoint (T0 + 1 s); its whole second gets 500 ms.
    let timing = Timing {
        server_date: Some(T0.plus_millis(10 * MINUTE + 1_000)),
        ..TIMING
    };
    let offset = 10 * MINUTE + 500;
    let t = set(
        &p,
        json!({"accessToken": "SENTINEL_AT_1", "refreshToken": "SENTINEL_RT_1",
               "expiresAt": "2023-11-14T22:38:20Z", // T0 + 25 min, server clock
               "refreshExpiresAt": secs(T0) + 3_600 + 600}),
        &timing,
        None,
    );
    assert_eq!(t.expires_at(), Some(T0.plus_millis(25 * MINUTE - offset)));
    assert_eq!(
        t.refresh_expires_at(),
        Some(T0.plus_millis(70 * MINUTE - offset))
    );
    // A re-issued token keeps the stated instant: nothing was truncated.
    let again = set(
        &p,
        json!({"accessToken": "SENTINEL_AT_1", "expiresAt": "2023-11-14T22:38:20Z"}),
        &timing,
        Some(&t),
    );
    assert_eq!(again.expires_at(), t.expires_at());
    // Without a Date header, the access token's iat gives the offset.
    let token = jwt(&json!({"iat": secs(T0) - 600, "sub": "u"}));
    let t = set(
        &p,
        json!({"accessToken": token, "expiresAt": "2023-11-14T22:18:20Z"}),
        &TIMING,
        None,
    );
    // iat = T0 − 10 min against the midpoint T0 + 1 s: the server is
    // 10 min 1 s behind, so T0 + 5 min (server) is T0 + 15 min 1 s here.
    assert_eq!(t.expires_at(), Some(T0.plus_millis(15 * MINUTE + 1_000)));
    assert_eq!(t.refresh_expires_at(), None);
}

#[test]
fn a_session_refreshes_ahead_of_an_expiry_in_minutes() {
    let cfg =
        json_cfg(json!({"expiry": [{"field": "expiresMins", "unit": "minutes"}, "jwt"]})).unwrap();
    let s = logged_in(
        cfg,
        &password("alice", "SENTINEL_PW_1"),
        r#"{"accessToken":"SENTINEL_AT_1","refreshToken":"SENTINEL_RT_1","expiresMins":15}"#,
    );
    assert_eq!(
        s.tokens().unwrap().expires_at(),
        Some(T0.plus_millis(15 * MINUTE))
    );
    // 20 % of 15 min is 3 min, within the 5 min cap; jitter 0 at most 5 s.
    let due = s.poll_timeout().unwrap();
    assert!(
        due <= T0.plus_millis(12 * MINUTE) && due >= T0.plus_millis(12 * MINUTE - 5_000),
        "{due:?}"
    );
    // A bad value fails the login with the member named.
    let cfg =
        json_cfg(json!({"expiry": [{"field": "expiresMins", "unit": "minutes"}, "jwt"]})).unwrap();
    let e = login_rejected(
        cfg,
        &json_response(
            200,
            r#"{"accessToken":"SENTINEL_AT_1","expiresMins":"SENTINEL_AT_x"}"#,
        ),
    );
    assert_eq!(
        e.to_string(),
        "\"response\" body \"expiresMins\" property must be a non-negative number"
    );
    assert_no_leak(&format!("{e} {e:?}"));
}
