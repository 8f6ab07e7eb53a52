//! No test input carries a calendar date that will one day be in the past.
//!
//! The rules compare dates with the clock (a FOC date may not be before the
//! order's creation, nor more than 120 days ahead), so a date written into a
//! test, fixture, example or script silently turns from valid to invalid on
//! its day: `make test` broke that way on 2026-12-04. Tests compute such
//! dates from the clock (`portguard_tests::date_in`). This guard fails on any
//! calendar date later than the day of the commit under test (today outside
//! a git checkout) in the files that feed the code: a date already in the
//! past at commit time fails its own test at once, so only future ones rot.
//! A line holding `fixed-date:` (with the reason after it) is exempt.

use std::path::{Path, PathBuf};

/// Where test inputs live, relative to the repository root.
const ROOTS: &[&str] = &[
    "tests",
    "events",
    "bench/src",
    "fuzz",
    "scripts",
    "cli",
    "functions",
    "shared",
    "console",
    "README.md",
    "Makefile",
    "mk",
    ".ci",
];
const SKIP_DIRS: &[&str] = &["target", "node_modules", ".local", "results"];
const TEXT: &[&str] = &[
    "rs", "json", "md", "sh", "py", "js", "html", "mk", "toml", "txt", "",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `(year, month, day)` of the commit under test, else of today (UTC).
fn reference_day() -> (u32, u32, u32) {
    let from_git = std::process::Command::new("git")
        .args(["log", "-1", "--format=%cd", "--date=format-local:%Y-%m-%d"])
        .env("TZ", "UTC")
        .current_dir(root())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| parse(String::from_utf8_lossy(&o.stdout).trim()));
    from_git.unwrap_or_else(|| {
        let today = time::OffsetDateTime::now_utc().date();
        (
            today.year() as u32,
            u8::from(today.month()) as u32,
            today.day() as u32,
        )
    })
}

/// A real calendar date `YYYY-MM-DD` (month 1–12, day 1–31), else `None`.
fn parse(s: &str) -> Option<(u32, u32, u32)> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |acc, c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, m, d) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    ((1..=12).contains(&m) && (1..=31).contains(&d)).then_some((y, m, d))
}

/// Every calendar date in `line` (not part of a longer run of digits).
fn dates_in(line: &str) -> Vec<(u32, u32, u32)> {
    let b = line.as_bytes();
    let mut found = Vec::new();
    for start in 0..b.len().saturating_sub(9) {
        let before_ok = start == 0 || !b[start - 1].is_ascii_digit();
        let after_ok = b.get(start + 10).is_none_or(|c| !c.is_ascii_digit());
        if before_ok && after_ok {
            if let Some(date) = line.get(start..start + 10).and_then(parse) {
                found.push(date);
            }
        }
    }
    found
}

fn walk(path: &Path, out: &mut Vec<PathBuf>) {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if path.is_dir() {
        if SKIP_DIRS.contains(&name) {
            return;
        }
        for entry in std::fs::read_dir(path).into_iter().flatten().flatten() {
            walk(&entry.path(), out);
        }
    } else {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        // This guard's own file names dates to test its scanner.
        if TEXT.contains(&ext) && name != "Cargo.lock" && !path.ends_with("tests/dates.rs") {
            out.push(path.to_owned());
        }
    }
}

#[test]
fn no_test_input_holds_a_date_after_the_commit() {
    let reference = reference_day();
    let mut files = Vec::new();
    for r in ROOTS {
        walk(&root().join(r), &mut files);
    }
    assert!(files.len() > 50, "the scan found too few files: {files:?}");
    let mut offending = Vec::new();
    for file in &files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for (i, line) in text.lines().enumerate() {
            if line.contains("fixed-date:") {
                continue;
            }
            for date in dates_in(line) {
                if date > reference {
                    offending.push(format!(
                        "{}:{}: {:04}-{:02}-{:02}",
                        file.strip_prefix(root()).unwrap_or(file).display(),
                        i + 1,
                        date.0,
                        date.1,
                        date.2
                    ));
                }
            }
        }
    }
    assert!(
        offending.is_empty(),
        "calendar dates after {:04}-{:02}-{:02} in test inputs; compute them from the clock \
         (portguard_tests::date_in) instead:\n{}",
        reference.0,
        reference.1,
        reference.2,
        offending.join("\n")
    );
}

#[test]
fn the_scanner_finds_dates_and_only_dates() {
    assert_eq!(dates_in(r#""focDate":"2026-12-03""#), vec![(2026, 12, 3)]);
    assert_eq!(dates_in("2026-12-03T00:00:00Z"), vec![(2026, 12, 3)]);
    assert!(dates_in("12026-12-031 2026-13-01 2026-12-3 +12065550100").is_empty());
    assert_eq!(parse("2027-01-31"), Some((2027, 1, 31)));
    assert!(parse("2027-00-10").is_none());
}
