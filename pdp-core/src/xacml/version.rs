//! Policy versions and the version constraints of policy references (XACML 3.0 section 5.13).
//!
//! A version is a dot-separated list of non-negative integers. A version match pattern may use
//! `*` for any single component and `+` (last) for any number of further components.

use std::cmp::Ordering;

/// Whether `v` is a valid `VersionType` (`1`, `1.0`, `2.10.3`).
pub fn is_valid_version(v: &str) -> bool {
    !v.is_empty()
        && v.split('.')
            .all(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_digit()))
}

/// Compares two valid versions numerically, component by component (`1.10` > `1.9`).
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    let mut ia = a.split('.').map(|c| c.parse::<u64>().unwrap_or(u64::MAX));
    let mut ib = b.split('.').map(|c| c.parse::<u64>().unwrap_or(u64::MAX));
    loop {
        match (ia.next(), ib.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => match x.cmp(&y) {
                Ordering::Equal => {}
                o => return o,
            },
        }
    }
}

/// One `VersionMatchType` pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Pattern(Vec<Component>);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Component {
    Number(u64),
    AnyOne,
    AnyRest,
}

impl Pattern {
    fn parse(text: &str) -> Result<Pattern, String> {
        let parts: Vec<&str> = text.split('.').collect();
        let mut out = Vec::with_capacity(parts.len());
        for (i, p) in parts.iter().enumerate() {
            out.push(match *p {
                "*" => Component::AnyOne,
                "+" if i == parts.len() - 1 => Component::AnyRest,
                n if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
                    Component::Number(n.parse().map_err(|_| format!("version component {n} is too large"))?)
                }
                _ => {
                    return Err(format!(
                        "\"{text}\" is not a version pattern (numbers, '*' for any one component, a final '+' for any further components)"
                    ))
                }
            });
        }
        Ok(Pattern(out))
    }

    fn matches(&self, version: &str) -> bool {
        let comps: Vec<u64> = version
            .split('.')
            .map(|c| c.parse().unwrap_or(u64::MAX))
            .collect();
        let mut i = 0;
        for c in &self.0 {
            match c {
                Component::AnyRest => return true,
                Component::AnyOne => {
                    if i >= comps.len() {
                        return false;
                    }
                }
                Component::Number(n) => {
                    if comps.get(i) != Some(n) {
                        return false;
                    }
                }
            }
            i += 1;
        }
        i == comps.len()
    }

    /// Compares a version with the pattern as a bound: the pattern's wildcards stand for the
    /// most permissive value in the direction being checked.
    fn bound_ok(&self, version: &str, earliest: bool) -> bool {
        if self.matches(version) {
            return true;
        }
        let comps: Vec<u64> = version
            .split('.')
            .map(|c| c.parse().unwrap_or(u64::MAX))
            .collect();
        for (i, c) in self.0.iter().enumerate() {
            let v = comps.get(i).copied();
            match c {
                Component::AnyRest => return true,
                Component::AnyOne => {
                    if v.is_none() {
                        return !earliest;
                    }
                }
                Component::Number(n) => match v {
                    None => return !earliest,
                    Some(v) if v == *n => {}
                    Some(v) => return if earliest { v > *n } else { v < *n },
                },
            }
        }
        // The version has more components than the pattern: it is later.
        earliest
    }
}

/// The constraints of one policy reference.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VersionMatch {
    version: Option<Pattern>,
    earliest: Option<Pattern>,
    latest: Option<Pattern>,
}

impl VersionMatch {
    /// Builds the constraints from the `Version`, `EarliestVersion` and `LatestVersion`
    /// attributes of a reference.
    pub fn new(
        version: Option<&str>,
        earliest: Option<&str>,
        latest: Option<&str>,
    ) -> Result<VersionMatch, String> {
        let p = |t: Option<&str>| t.map(|t| Pattern::parse(t.trim())).transpose();
        Ok(VersionMatch {
            version: p(version)?,
            earliest: p(earliest)?,
            latest: p(latest)?,
        })
    }

    /// Whether a policy of version `v` satisfies every constraint.
    pub fn accepts(&self, v: &str) -> bool {
        self.version.as_ref().is_none_or(|p| p.matches(v))
            && self.earliest.as_ref().is_none_or(|p| p.bound_ok(v, true))
            && self.latest.as_ref().is_none_or(|p| p.bound_ok(v, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity() {
        assert!(is_valid_version("1.0"));
        assert!(is_valid_version("2"));
        assert!(!is_valid_version("1..0"));
        assert!(!is_valid_version("1.a"));
        assert!(!is_valid_version(""));
    }

    #[test]
    fn ordering_is_numeric() {
        assert_eq!(compare_versions("1.10", "1.9"), Ordering::Greater);
        assert_eq!(compare_versions("1.0", "1.0.1"), Ordering::Less);
        assert_eq!(compare_versions("2.0", "2.0"), Ordering::Equal);
    }

    // Examples from XACML 3.0 section 5.13 (VersionMatchType).
    #[test]
    fn patterns_from_the_spec() {
        let m = VersionMatch::new(Some("1.*.+"), None, None).unwrap();
        assert!(m.accepts("1.2"));
        assert!(m.accepts("1.2.3.4"));
        assert!(!m.accepts("1"));
        assert!(!m.accepts("2.0"));
        let exact = VersionMatch::new(Some("1.0"), None, None).unwrap();
        assert!(exact.accepts("1.0"));
        assert!(!exact.accepts("1.0.1"));
    }

    #[test]
    fn earliest_and_latest_bounds() {
        let m = VersionMatch::new(None, Some("1.5"), Some("2.*")).unwrap();
        assert!(m.accepts("1.5"));
        assert!(m.accepts("1.10"));
        assert!(m.accepts("2.7"));
        assert!(!m.accepts("1.4"));
        assert!(!m.accepts("3.0"));
    }

    #[test]
    fn bad_patterns_are_errors() {
        assert!(VersionMatch::new(Some("1.+.2"), None, None).is_err());
        assert!(VersionMatch::new(Some("x"), None, None).is_err());
    }
}
