//! libphonenumber's rules for US numbers, as the `phonenumber` crate
//! applies them, with only their patterns compiled.
//!
//! The crate keeps a whole territory's metadata (formats, leading digits,
//! examples) and compiles its patterns Unicode-aware, where `\d` is every
//! digit of every script: for the US alone that held 2.4 MiB for the life of
//! each process, and took 6 ms of every cold start. A number here is always
//! ten ASCII digits, so the same patterns compiled ASCII-only (`regex-lite`)
//! decide the same, as a test checks against the crate's whole database.
//!
//! The crate's rule (`phonenumber::is_valid_with`, `number_type`): a
//! national number is valid when it matches the general pattern and the
//! pattern of at least one number type whose possible lengths include its
//! own; "matches" means a match that starts at its first digit.

use regex_lite::Regex;

/// The number types the crate looks at (its `Type`, but `Unknown`), by
/// their element names in the metadata.
const TYPES: [&str; 10] = [
    "premiumRate",
    "tollFree",
    "sharedCost",
    "voip",
    "personalNumber",
    "pager",
    "uan",
    "voicemail",
    "fixedLine",
    "mobile",
];

/// A descriptor's pattern and the national lengths it allows (none listed:
/// any length).
struct Descriptor {
    pattern: Regex,
    lengths: Vec<usize>,
}

impl Descriptor {
    fn matches(&self, national: &str) -> bool {
        (self.lengths.is_empty() || self.lengths.contains(&national.len()))
            && self.pattern.is_match(national)
    }
}

pub(crate) struct UsRules {
    general: Descriptor,
    types: Vec<Descriptor>,
}

impl UsRules {
    /// From the bundled `us-metadata.xml` (one territory, as extracted by
    /// scripts/us-metadata.sh). Panics on metadata it cannot read: the file
    /// is part of the build, and a test loads it.
    pub(crate) fn from_metadata(xml: &str) -> UsRules {
        let general = descriptor(element(xml, "generalDesc").expect("a generalDesc"));
        let types = TYPES
            .iter()
            .filter_map(|name| element(xml, name))
            .map(descriptor)
            .collect::<Vec<_>>();
        assert!(!types.is_empty(), "the US metadata names no number type");
        UsRules { general, types }
    }

    /// Whether `national` (the ten digits after `+1`) is a valid US number.
    pub(crate) fn is_valid(&self, national: &str) -> bool {
        self.general.matches(national) && self.types.iter().any(|t| t.matches(national))
    }
}

/// The text between `<name>` and `</name>`, if the element is there.
fn element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&format!("</{name}>"))?;
    Some(&xml[start..end])
}

fn descriptor(body: &str) -> Descriptor {
    let raw = element(body, "nationalNumberPattern").expect("a nationalNumberPattern");
    // The crate compiles patterns ignoring whitespace; none uses `#`.
    let pattern: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(
        !pattern.contains('#'),
        "a pattern with a comment: {pattern}"
    );
    let pattern = Regex::new(&format!("^(?:{pattern})")).expect("a metadata pattern compiles");
    Descriptor {
        pattern,
        lengths: national_lengths(body),
    }
}

/// `<possibleLengths national="10" …/>`: a list of lengths and ranges
/// (`"7,10"`, `"[8-10]"`); empty when the descriptor lists none.
fn national_lengths(body: &str) -> Vec<usize> {
    let Some(at) = body.find("<possibleLengths") else {
        return Vec::new();
    };
    let tag = &body[at..at + body[at..].find('>').expect("a closed tag")];
    let Some(value) = tag
        .split("national=\"")
        .nth(1)
        .and_then(|v| v.split('"').next())
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for part in value.split(',') {
        let part = part.trim();
        match part.strip_prefix('[').and_then(|p| p.strip_suffix(']')) {
            Some(range) => {
                let (lo, hi) = range.split_once('-').expect("a range of lengths");
                let (lo, hi): (usize, usize) =
                    (lo.parse().expect("a length"), hi.parse().expect("a length"));
                out.extend(lo..=hi);
            }
            None => out.push(part.parse().expect("a length")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_metadata_loads() {
        let rules = UsRules::from_metadata(include_str!("us-metadata.xml"));
        assert_eq!(
            rules.types.len(),
            5,
            "fixed line, mobile, toll free, premium, personal"
        );
        assert!(rules.types.iter().all(|t| t.lengths == [10]));
        assert!(rules.is_valid("2065550100"));
        assert!(!rules.is_valid("0065550100"));
    }

    #[test]
    fn lengths_and_ranges() {
        let tag = |v: &str| format!("<possibleLengths national=\"{v}\" localOnly=\"7\"/>");
        assert_eq!(national_lengths(&tag("10")), [10]);
        assert_eq!(national_lengths(&tag("7,10")), [7, 10]);
        assert_eq!(national_lengths(&tag("[8-10],12")), [8, 9, 10, 12]);
        assert_eq!(
            national_lengths("<nationalNumberPattern>1</nationalNumberPattern>"),
            Vec::<usize>::new()
        );
    }
}
