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

/// An instant, at second precision: shown and stored as RFC 3339 UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    pub fn now() -> Timestamp {
        Timestamp(now())
    }
    pub fn from_unix(seconds: i64) -> Timestamp {
        Timestamp(seconds)
    }
    /// `None` for anything but RFC 3339: a stored time that does not parse
    /// is the caller's error to report, never "now".
    pub fn parse(s: &str) -> Option<Timestamp> {
        parse(s).map(Timestamp)
    }
    pub fn unix(self) -> i64 {
        self.0
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&format(self.0))
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(self.0))
    }
}

impl PartialEq<&str> for Timestamp {
    fn eq(&self, other: &&str) -> bool {
        parse(other) == Some(self.0)
    }
}

/// A calendar day (`YYYY-MM-DD`), such as a FOC date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(time::Date);

impl Day {
    pub fn parse(s: &str) -> Option<Day> {
        time::Date::parse(s, format_description!("[year]-[month]-[day]"))
            .ok()
            .map(Day)
    }
    pub fn from_date(date: time::Date) -> Day {
        Day(date)
    }
    pub fn date(self) -> time::Date {
        self.0
    }
    /// 00:00 UTC of the day.
    pub fn start(self) -> i64 {
        self.0.midnight().assume_utc().unix_timestamp()
    }
}

impl std::fmt::Display for Day {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = self
            .0
            .format(format_description!("[year]-[month]-[day]"))
            .expect("fixed format");
        f.write_str(&text)
    }
}

impl serde::Serialize for Day {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl PartialEq<&str> for Day {
    fn eq(&self, other: &&str) -> bool {
        Day::parse(other) == Some(*self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        assert_eq!(format(0), "1970-01-01T00:00:00Z");
        assert_eq!(parse(&format(1_790_000_000)), Some(1_790_000_000));
        assert_eq!(date_start("2026-11-03"), parse("2026-11-03T00:00:00Z"));
        let day = Day::parse("2026-11-03").unwrap();
        assert_eq!(day.to_string(), "2026-11-03");
        assert_eq!(Some(day.start()), date_start("2026-11-03"));
        assert!(Day::parse("2026-11-3").is_none());
        let t = Timestamp::parse("2026-11-26T10:00:00Z").unwrap();
        assert_eq!(t.to_string(), "2026-11-26T10:00:00Z");
        assert!(Timestamp::parse("yesterday").is_none());
    }
}
