//! The reason a tenant admin gives when it rejects a port-out.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be at most 500 characters with no control characters")]
pub struct ReasonError;

/// At most 500 characters (Unicode scalar values), no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectReason(String);

impl RejectReason {
    pub fn parse(input: &str) -> Result<RejectReason, ReasonError> {
        let ok = input.chars().count() <= 500 && !input.chars().any(char::is_control);
        ok.then(|| RejectReason(input.to_owned()))
            .ok_or(ReasonError)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn up_to_500_characters() {
        assert!(RejectReason::parse("").is_ok());
        assert!(RejectReason::parse(&"é".repeat(500)).is_ok());
        assert!(RejectReason::parse(&"a".repeat(501)).is_err());
        assert!(RejectReason::parse("not\u{0}ours").is_err());
    }
}
