//! RFC 3339 date-times (§5.6), e.g. `2025-06-30T18:30:00.250+05:30`, as
//! token responses send absolute expiries.
//!
//! Read: `YYYY-MM-DD`, a separator, `HH:MM:SS`, an optional fraction of one
//! or more digits, then `Z` or a numeric offset `±HH:MM`. Pinned decisions:
//!
//! - The separator is `T`, `t` or one space, and the UTC designator `Z` or
//!   `z` (RFC 3339 §5.6 allows lower case and, "for readability", a space).
//! - An offset is required: a time without one is local to an unknown zone.
//!   `-00:00` reads as UTC.
//! - Fractions are floored to whole milliseconds (`.9999` → 999 ms), like
//!   every other number read from a response.
//! - Day numbers are checked against the month (Gregorian leap years). A
//!   leap second (`:60`) is accepted anywhere and reads as the first second
//!   of the next minute.
//! - Nothing else: no surrounding whitespace, no week or ordinal dates, no
//!   basic format (`20250630T…`), no offset without a colon, no hour 24.
//!
//! Hand-written over bytes: no dependency, no float, never panics.

use super::time::UnixMillis;

/// Parses an RFC 3339 date-time; `None` for anything else or an instant
/// before 1970-01-01T00:00:00Z.
#[must_use]
pub fn parse(text: &str) -> Option<UnixMillis> {
    let b = text.as_bytes();
    let mut f = [0; 6];
    read(b, b"dddd-dd-ddTdd:dd:dd", &mut f)?;
    let [year, month, day, hour, minute, second] = f;
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut rest = b.get(19..)?;
    let mut millis = 0;
    if let [b'.', tail @ ..] = rest {
        let n = tail.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        // The first three digits, padded with zeros: `.5` is 500 ms.
        for k in 0..3 {
            let digit = tail.get(k).filter(|_| k < n).map_or(0, |c| c - b'0');
            millis = millis * 10 + i64::from(digit);
        }
        rest = tail.get(n..)?;
    }
    let offset = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), hhmm @ ..] => {
            let mut o = [0; 2];
            read(hhmm, b"dd:dd", &mut o)?;
            if hhmm.len() != 5 || o[0] > 23 || o[1] > 59 {
                return None;
            }
            let seconds = o[0] * 3_600 + o[1] * 60;
            if *sign == b'-' { -seconds } else { seconds }
        }
        _ => return None,
    };
    let secs =
        days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second - offset;
    u64::try_from(secs * 1_000 + millis).ok().map(UnixMillis)
}

/// Reads the start of `b` against `pattern`, in which `d` is a digit, `T`
/// the date-time separator (`T`, `t` or a space) and any other byte
/// itself; each run of digits goes to the next number of `out`.
fn read(b: &[u8], pattern: &[u8], out: &mut [i64]) -> Option<()> {
    let b = b.get(..pattern.len())?;
    let mut k = 0;
    for (&c, &p) in b.iter().zip(pattern) {
        match p {
            b'd' if c.is_ascii_digit() => {
                let n = out.get_mut(k)?;
                *n = *n * 10 + i64::from(c - b'0');
            }
            b'T' if matches!(c, b'T' | b't' | b' ') => k += 1,
            b'd' | b'T' => return None,
            _ if c == p => k += 1,
            _ => return None,
        }
    }
    Some(())
}

/// Whether `year` is a Gregorian leap year.
fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// The number of days of `month` (1–12) in `year`.
fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date, negative before it
/// (Howard Hinnant's `days_from_civil`), for years 0–9999.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

// Not on wasm32: proptest is a native dev-dependency.
#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ms(secs: u64) -> Option<UnixMillis> {
        Some(UnixMillis(secs * 1_000))
    }

    /// Seconds from GNU `date -u -d <text> +%s`.
    #[test]
    fn known_instants() {
        let cases: &[(&str, Option<UnixMillis>)] = &[
            ("1970-01-01T00:00:00Z", ms(0)),
            ("2000-01-01T00:00:00Z", ms(946_684_800)),
            ("2000-02-29T12:34:56Z", ms(951_827_696)),
            ("2023-11-14T22:13:20Z", ms(1_700_000_000)),
            ("2024-02-29T23:59:59Z", ms(1_709_251_199)),
            ("2038-01-19T03:14:08Z", ms(2_147_483_648)),
            ("2100-03-01T00:00:00Z", ms(4_107_542_400)),
            ("2400-02-29T00:00:00Z", ms(13_574_563_200)),
            ("9999-12-31T23:59:59Z", ms(253_402_300_799)),
            ("2025-06-30T18:30:00+05:30", ms(1_751_288_400)),
            ("2025-06-30T18:30:00-09:45", ms(1_751_343_300)),
            // Lower case, a space, -00:00.
            ("2023-11-14t22:13:20z", ms(1_700_000_000)),
            ("2023-11-14 22:13:20Z", ms(1_700_000_000)),
            ("2023-11-14T22:13:20-00:00", ms(1_700_000_000)),
            ("2023-11-14T22:13:20+00:00", ms(1_700_000_000)),
            // An offset that carries the date across midnight and a year.
            ("2024-01-01T00:30:00+01:00", ms(1_704_067_200 - 1_800)),
            ("2023-12-31T23:30:00-01:00", ms(1_704_067_200 + 1_800)),
            // The extreme offsets.
            ("2023-11-14T22:13:20+23:59", ms(1_700_000_000 - 86_340)),
            ("2023-11-14T22:13:20-23:59", ms(1_700_000_000 + 86_340)),
            // A leap second reads as the next minute's first second.
            ("2016-12-31T23:59:60Z", ms(1_483_228_800)),
            // Just after the epoch through an offset; before it is None.
            ("1970-01-01T01:00:00+01:00", ms(0)),
            ("1970-01-01T00:59:59+01:00", None),
            ("1969-12-31T23:59:59Z", None),
            ("1969-12-31T23:00:00-01:00", ms(0)),
            ("1900-03-01T00:00:00Z", None),
            ("0000-01-01T00:00:00Z", None),
            ("0000-02-29T00:00:00Z", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text), *want, "{text}");
        }
    }

    #[test]
    fn fractions_are_floored_to_milliseconds() {
        let base = 1_700_000_000_000;
        for (frac, extra) in [
            (".0", 0),
            (".5", 500),
            (".05", 50),
            (".123", 123),
            (".1239", 123),
            (".9999", 999),
            (".000001", 0),
            (".999999999999999999999999999999", 999),
        ] {
            let text = format!("2023-11-14T22:13:20{frac}Z");
            assert_eq!(parse(&text), Some(UnixMillis(base + extra)), "{text}");
        }
        assert_eq!(
            parse("2023-11-14T22:13:20.250+01:00"),
            Some(UnixMillis(base - 3_600_000 + 250))
        );
    }

    #[test]
    fn leap_years_and_month_lengths() {
        for ok in [
            "2000-02-29T00:00:00Z",
            "2024-02-29T00:00:00Z",
            "2400-02-29T00:00:00Z",
            "2023-01-31T00:00:00Z",
            "2023-04-30T00:00:00Z",
            "2023-12-31T00:00:00Z",
        ] {
            assert!(parse(ok).is_some(), "{ok}");
        }
        for bad in [
            "1900-02-29T00:00:00Z",
            "2100-02-29T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-02-30T00:00:00Z",
            "2023-04-31T00:00:00Z",
            "2023-06-31T00:00:00Z",
            "2023-09-31T00:00:00Z",
            "2023-11-31T00:00:00Z",
            "2023-01-32T00:00:00Z",
            "2023-01-00T00:00:00Z",
            "2023-00-10T00:00:00Z",
            "2023-13-10T00:00:00Z",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "",
            "Z",
            "2023-11-14",
            "2023-11-14T22:13",
            "2023-11-14T22:13:20",
            "2023-11-14T22:13:20.5",
            "2023-11-14T22:13:20.Z",
            "2023-11-14T22:13:20,5Z",
            "2023-11-14T22:13:20ZZ",
            "2023-11-14T22:13:20Z ",
            " 2023-11-14T22:13:20Z",
            "2023-11-14T22:13:20 Z",
            "2023-11-14T22:13:20UTC",
            "2023-11-14T22:13:20GMT",
            "2023-11-14T22:13:20+01",
            "2023-11-14T22:13:20+0100",
            "2023-11-14T22:13:20+01:0",
            "2023-11-14T22:13:20+01:000",
            "2023-11-14T22:13:20+24:00",
            "2023-11-14T22:13:20+01:60",
            "2023-11-14T22:13:20+1:00Z",
            "2023-11-14T24:00:00Z",
            "2023-11-14T23:60:00Z",
            "2023-11-14T23:59:61Z",
            "2023-11-14_22:13:20Z",
            "2023-11-14  22:13:20Z",
            "2023-11-14T22:13:20.5.5Z",
            "2023/11/14T22:13:20Z",
            "2023-11-14T22-13-20Z",
            "20231114T221320Z",
            "2023-W46-2T22:13:20Z",
            "2023-318T22:13:20Z",
            "+2023-11-14T22:13:20Z",
            "-2023-11-14T22:13:20Z",
            "12023-11-14T22:13:20Z",
            "2023-1-14T22:13:20Z",
            "2023-11-14T2:13:20Z",
            "２０２３-11-14T22:13:20Z",
            "2023-11-14T22:13:2٠Z",
            "2023-11-14T22:13:20+０1:00",
            "1700000000",
            "2023-11-14T22:13:20\u{0}Z",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    /// An independent reference: days counted year by year and month by
    /// month from 1970.
    fn reference_days(year: i64, month: i64, day: i64) -> i64 {
        let year_len = |y: i64| if is_leap(y) { 366 } else { 365 };
        let mut days = 0;
        if year >= 1970 {
            days += (1970..year).map(year_len).sum::<i64>();
        } else {
            days -= (year..1970).map(year_len).sum::<i64>();
        }
        const MONTHS: [i64; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
        days += MONTHS[..usize::try_from(month - 1).unwrap()]
            .iter()
            .sum::<i64>();
        if month > 2 && is_leap(year) {
            days += 1;
        }
        days + day - 1
    }

    #[test]
    fn days_match_the_reference_for_every_year() {
        for year in 0..=9999 {
            for (month, day) in [(1, 1), (2, 28), (3, 1), (12, 31)] {
                assert_eq!(
                    days_from_civil(year, month, day),
                    reference_days(year, month, day),
                    "{year}-{month}-{day}"
                );
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 20000, ..ProptestConfig::default() })]

        #[test]
        fn parses_like_the_reference(
            year in 0_i64..=9999,
            month in 1_i64..=12,
            day in 1_i64..=31,
            hour in 0_i64..=23,
            minute in 0_i64..=59,
            second in 0_i64..=60,
            frac in "(\\.[0-9]{1,12})?",
            offset in prop_oneof![
                Just(String::from("Z")),
                Just(String::from("z")),
                (any::<bool>(), 0_i64..=23, 0_i64..=59)
                    .prop_map(|(neg, h, m)| format!("{}{h:02}:{m:02}", if neg { '-' } else { '+' })),
            ],
            sep in "[Tt ]",
        ) {
            let text = format!(
                "{year:04}-{month:02}-{day:02}{sep}{hour:02}:{minute:02}:{second:02}{frac}{offset}"
            );
            let offset_secs = match offset.as_bytes() {
                [b'Z' | b'z'] => 0,
                [s, ..] => {
                    let h: i64 = offset[1..3].parse().unwrap();
                    let m: i64 = offset[4..6].parse().unwrap();
                    if *s == b'-' { -(h * 3600 + m * 60) } else { h * 3600 + m * 60 }
                }
                [] => unreachable!(),
            };
            let millis: i64 = if frac.is_empty() {
                0
            } else {
                format!("{:0<3}", &frac[1..])[..3].parse().unwrap()
            };
            let valid_day = day <= days_in_month(year, month);
            let want = valid_day.then(|| {
                let secs = reference_days(year, month, day) * 86_400
                    + hour * 3600 + minute * 60 + second - offset_secs;
                secs * 1000 + millis
            })
            .and_then(|ms| u64::try_from(ms).ok())
            .map(UnixMillis);
            prop_assert_eq!(parse(&text), want, "{}", text);
        }

        #[test]
        fn arbitrary_text_never_panics(text in "[0-9Tt:+\\-.Zz ]{0,40}|\\PC{0,40}") {
            let _ = parse(&text);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = parse(&String::from_utf8_lossy(&bytes));
        }

        #[test]
        fn near_misses_never_panic(pos in 0_usize..29, byte in any::<u8>()) {
            let mut b = b"2023-11-14T22:13:20.123+05:30".to_vec();
            b[pos] = byte;
            if let Ok(text) = std::str::from_utf8(&b) {
                let _ = parse(text);
            }
            b.truncate(pos);
            if let Ok(text) = std::str::from_utf8(&b) {
                prop_assert_eq!(parse(text), None);
            }
        }
    }
}
