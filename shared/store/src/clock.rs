//! Times are stored and shown as RFC 3339 UTC at second precision
//! (`2026-11-26T10:00:00Z`): fixed width, so they sort as strings.

use time::{format_description::well_known::Rfc3339, macros::format_description, OffsetDateTime};

pub fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

pub fn format(ts: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(ts).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    t.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
    ))
    .expect("fixed format")
}

pub fn parse(s: &str) -> Option<i64> {
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// 00:00 UTC of a `YYYY-MM-DD` date.
pub fn date_start(date: &str) -> Option<i64> {
    parse(&format!("{date}T00:00:00Z"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        assert_eq!(format(0), "1970-01-01T00:00:00Z");
        assert_eq!(parse(&format(1_790_000_000)), Some(1_790_000_000));
        assert_eq!(date_start("2026-11-03"), parse("2026-11-03T00:00:00Z"));
    }
}
