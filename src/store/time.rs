//! Calendar arithmetic for the timestamps other looms write (RFC 3339, pyloom's
//! "YYYY-MM-DD-HH.MM.SS", Swift reference-date seconds) and the ones exports print. UTC only.

/// Seconds between the Unix epoch and Swift's reference date, 2001-01-01T00:00:00Z.
pub const SWIFT_EPOCH_SECS: i64 = 978_307_200;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01: (year, month, day).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Unix milliseconds of a UTC date and time, or None when a field is out of range.
pub fn unix_ms(year: i64, month: u32, day: u32, h: u32, m: u32, s: u32) -> Option<i64> {
    let valid = (1..=9999).contains(&year)
        && (1..=12).contains(&month)
        && day >= 1
        && day <= days_in_month(year, month)
        && h < 24
        && m < 60
        && s < 61;
    if !valid {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some((days * 86_400 + i64::from(h) * 3600 + i64::from(m) * 60 + i64::from(s)) * 1000)
}

fn number(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// pyloom's `creation_timestamp`, "2021-09-16-21.55.18", read as UTC (the file has no zone).
pub fn parse_pyloom(text: &str) -> Option<i64> {
    let parts: Vec<&str> = text.trim().split(['-', '.']).collect();
    let [y, mo, d, h, mi, s] = parts.as_slice() else {
        return None;
    };
    unix_ms(
        i64::from(number(y)?),
        number(mo)?,
        number(d)?,
        number(h)?,
        number(mi)?,
        number(s)?,
    )
}

/// An RFC 3339 / ISO 8601 date-time such as "2024-03-01T12:00:00.250Z" or with an offset
/// ("+01:00"); a bare date or a missing zone is read as UTC.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, rest) = text.split_at(text.find(['T', 't', ' ']).unwrap_or(text.len()));
    let mut ymd = date.split('-');
    let (y, mo, d) = (ymd.next()?, ymd.next()?, ymd.next()?);
    if ymd.next().is_some() || y.len() != 4 {
        return None;
    }
    let (year, month, day) = (i64::from(number(y)?), number(mo)?, number(d)?);
    let rest = rest.get(1..).unwrap_or("");
    if rest.is_empty() {
        return unix_ms(year, month, day, 0, 0, 0);
    }
    let zone_at = rest.find(['Z', 'z', '+', '-']).unwrap_or(rest.len());
    let (clock, zone) = rest.split_at(zone_at);
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
    let mut hms = hms.split(':');
    let (h, mi) = (number(hms.next()?)?, number(hms.next()?)?);
    let s = hms.next().map(number).unwrap_or(Some(0))?;
    let millis = if frac.is_empty() {
        0
    } else {
        let digits: String = frac.chars().take(3).collect();
        number(&format!("{digits:0<3}"))?
    };
    let offset_min = match zone {
        "" | "Z" | "z" => 0,
        z => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let (oh, om) = z[1..].split_once(':').unwrap_or((&z[1..], "0"));
            sign * (i64::from(number(oh)?) * 60 + i64::from(number(om)?))
        }
    };
    let base = unix_ms(year, month, day, h, mi, s)?;
    Some(base + i64::from(millis) - offset_min * 60_000)
}

/// Unix milliseconds as "2024-03-01T12:00:00Z" (whole seconds, UTC).
pub fn format_rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let t = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}Z",
        t / 3600,
        t % 3600 / 60,
        t % 60
    )
}

/// Unix milliseconds in pyloom's "YYYY-MM-DD-HH.MM.SS" (UTC).
pub fn format_pyloom(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let t = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{mo:02}-{d:02}-{:02}.{:02}.{:02}",
        t / 3600,
        t % 3600 / 60,
        t % 60
    )
}

/// A number of seconds or milliseconds since 1970 as milliseconds: values below 10^11 are
/// taken as seconds (10^11 seconds is the year 5138; 10^11 ms is 1973).
pub fn epoch_guess_ms(value: f64) -> Option<i64> {
    if !value.is_finite() || value <= 0.0 || value > 1e15 {
        return None;
    }
    let ms = if value < 1e11 { value * 1000.0 } else { value };
    Some(ms.round() as i64)
}

/// Swift reference-date seconds (since 2001-01-01) as Unix milliseconds.
pub fn from_swift_seconds(value: f64) -> Option<i64> {
    if !value.is_finite() || value.abs() > 1e12 {
        return None;
    }
    Some(((value + SWIFT_EPOCH_SECS as f64) * 1000.0).round() as i64)
}

/// Unix milliseconds as Swift reference-date seconds.
pub fn to_swift_seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0 - SWIFT_EPOCH_SECS as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_convert_both_ways() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2001, 1, 1) * 86_400, SWIFT_EPOCH_SECS);
        for days in [-1000, 0, 59, 60, 11_016, 19_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn pyloom_timestamps_read_as_utc() {
        // 2021-09-16 21:55:18 UTC, checked with `date -u -d '2021-09-16 21:55:18' +%s`.
        assert_eq!(parse_pyloom("2021-09-16-21.55.18"), Some(1_631_829_318_000));
        assert_eq!(format_pyloom(1_631_829_318_000), "2021-09-16-21.55.18");
        assert_eq!(parse_pyloom("2021-02-30-00.00.00"), None);
        assert_eq!(parse_pyloom("soon"), None);
    }

    #[test]
    fn rfc3339_with_fractions_and_offsets() {
        assert_eq!(
            parse_rfc3339("2026-07-06T04:10:00Z"),
            Some(1_783_311_000_000)
        );
        assert_eq!(
            parse_rfc3339("2026-07-06T05:10:00.5+01:00"),
            Some(1_783_311_000_500)
        );
        assert_eq!(parse_rfc3339("2026-07-06"), Some(1_783_296_000_000));
        assert_eq!(format_rfc3339(1_783_311_000_999), "2026-07-06T04:10:00Z");
        assert_eq!(parse_rfc3339("2026-13-06T04:10:00Z"), None);
        assert_eq!(parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn swift_and_unix_seconds() {
        assert_eq!(from_swift_seconds(0.0), Some(978_307_200_000));
        assert_eq!(to_swift_seconds(978_307_201_500), 1.5);
        assert_eq!(epoch_guess_ms(1_683_506_737.0), Some(1_683_506_737_000));
        assert_eq!(epoch_guess_ms(1_710_000_000_000.0), Some(1_710_000_000_000));
        assert_eq!(epoch_guess_ms(f64::NAN), None);
    }
}
