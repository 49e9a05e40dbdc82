//! HTTP dates (`Date`, `Retry-After`) in the IMF-fixdate form of RFC 9110
//! §5.6.7, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
//!
//! Only IMF-fixdate is read: it is the form every current server sends. The
//! obsolete RFC 850 and asctime forms count as unreadable, which callers
//! treat like a missing header.

use super::time::UnixMillis;

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// Parses an IMF-fixdate; `None` for anything else or a date before 1970.
#[must_use]
pub fn parse(text: &str) -> Option<UnixMillis> {
    let b = text.trim().as_bytes();
    if b.len() != 29 || &b[3..5] != b", " || &b[25..] != b" GMT" {
        return None;
    }
    if b[7] != b' ' || b[11] != b' ' || b[16] != b' ' || b[19] != b':' || b[22] != b':' {
        return None;
    }
    let day = digits(&b[5..7])?;
    let month = MONTHS.iter().position(|m| &b[8..11] == *m)?;
    let year = digits(&b[12..16])?;
    let (h, m, s) = (
        digits(&b[17..19])?,
        digits(&b[20..22])?,
        digits(&b[23..25])?,
    );
    if !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 || year < 1970 {
        return None;
    }
    let days = days_from_civil(year, u64::try_from(month).ok()? + 1, day);
    let secs = days * 86_400 + h * 3_600 + m * 60 + s;
    Some(UnixMillis(secs * 1_000))
}

fn digits(b: &[u8]) -> Option<u64> {
    b.iter().try_fold(0u64, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u64::from(c - b'0'))
    })
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`), for years from 1970.
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe).saturating_sub(719_468)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imf_fixdate() {
        assert_eq!(
            parse("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(UnixMillis(784_111_777_000))
        );
        assert_eq!(parse("Thu, 01 Jan 1970 00:00:00 GMT"), Some(UnixMillis(0)));
        assert_eq!(
            parse("Tue, 29 Feb 2028 12:00:00 GMT"),
            Some(UnixMillis(1_835_438_400_000))
        );
        for bad in [
            "",
            "soon",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 36 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 0a:49:37 GMT",
            "Sun, 06 Növ 1994 08:49:37 GMT",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
