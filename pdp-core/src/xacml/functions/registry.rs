//! Function identifier resolution: every identifier of XACML 3.0 Appendix A.3, including the
//! deprecated 1.0/2.0 identifiers of section 10.2.8.
//!
//! Resolution happens when a policy is compiled, never per request, so a linear scan over the
//! static tables (a few hundred entries, no allocation, no global state) is plenty.
//!
//! The XPath functions (`xpath-node-count`, `xpath-node-equal`, `xpath-node-match`, 1.0 and
//! 3.0 ids) and `access-permitted` belong to optional features this engine does not implement:
//! they do not resolve, so a policy that uses them is rejected at load with an "unknown
//! function" error instead of failing at evaluation time.

use super::{
    arithmetic, bag, comparison, conversion, date_arithmetic, equality, hl7, regex, set,
    special_match, string, Function, HigherOrder,
};

/// One identifier and what it resolves to.
pub(super) type Entry = (&'static str, Function);

/// Logical functions evaluated lazily by the evaluator (A.3.5).
static LOGICAL: &[Entry] = &[
    ("urn:oasis:names:tc:xacml:1.0:function:and", Function::And),
    ("urn:oasis:names:tc:xacml:1.0:function:or", Function::Or),
    ("urn:oasis:names:tc:xacml:1.0:function:n-of", Function::NOf),
];

/// Higher-order bag functions (A.3.12), under their 3.0 ids and the deprecated 1.0 ids.
static HIGHER_ORDER: &[Entry] = &[
    (
        "urn:oasis:names:tc:xacml:3.0:function:any-of",
        Function::HigherOrder(HigherOrder::AnyOf),
    ),
    (
        "urn:oasis:names:tc:xacml:1.0:function:any-of",
        Function::HigherOrder(HigherOrder::AnyOf),
    ),
    (
        "urn:oasis:names:tc:xacml:3.0:function:all-of",
        Function::HigherOrder(HigherOrder::AllOf),
    ),
    (
        "urn:oasis:names:tc:xacml:1.0:function:all-of",
        Function::HigherOrder(HigherOrder::AllOf),
    ),
    (
        "urn:oasis:names:tc:xacml:3.0:function:any-of-any",
        Function::HigherOrder(HigherOrder::AnyOfAny),
    ),
    (
        "urn:oasis:names:tc:xacml:1.0:function:any-of-any",
        Function::HigherOrder(HigherOrder::AnyOfAny),
    ),
    (
        "urn:oasis:names:tc:xacml:3.0:function:all-of-any",
        Function::HigherOrder(HigherOrder::AllOfAny),
    ),
    (
        "urn:oasis:names:tc:xacml:1.0:function:all-of-any",
        Function::HigherOrder(HigherOrder::AllOfAny),
    ),
    (
        "urn:oasis:names:tc:xacml:3.0:function:any-of-all",
        Function::HigherOrder(HigherOrder::AnyOfAll),
    ),
    (
        "urn:oasis:names:tc:xacml:1.0:function:any-of-all",
        Function::HigherOrder(HigherOrder::AnyOfAll),
    ),
    (
        "urn:oasis:names:tc:xacml:3.0:function:all-of-all",
        Function::HigherOrder(HigherOrder::AllOfAll),
    ),
    (
        "urn:oasis:names:tc:xacml:1.0:function:all-of-all",
        Function::HigherOrder(HigherOrder::AllOfAll),
    ),
    (
        "urn:oasis:names:tc:xacml:3.0:function:map",
        Function::HigherOrder(HigherOrder::Map),
    ),
    (
        "urn:oasis:names:tc:xacml:1.0:function:map",
        Function::HigherOrder(HigherOrder::Map),
    ),
];

/// Every table, in no particular order (identifiers are unique across them).
fn tables() -> [&'static [Entry]; 13] {
    [
        LOGICAL,
        HIGHER_ORDER,
        equality::ENTRIES,
        arithmetic::ENTRIES,
        string::ENTRIES,
        conversion::ENTRIES,
        comparison::ENTRIES,
        date_arithmetic::ENTRIES,
        bag::ENTRIES,
        set::ENTRIES,
        regex::ENTRIES,
        special_match::ENTRIES,
        // Extension: HL7 v3 II and CV (Akkoord identifiers).
        hl7::ENTRIES,
    ]
}

/// Resolves a function identifier; `None` for an unknown one (and for the unsupported XPath
/// functions and `access-permitted`).
pub fn lookup(id: &str) -> Option<Function> {
    tables()
        .into_iter()
        .flatten()
        .find(|(name, _)| *name == id)
        .map(|(_, f)| *f)
}

/// Every identifier that [`lookup`] resolves, for diagnostics and tests.
pub fn all_ids() -> impl Iterator<Item = &'static str> {
    tables().into_iter().flatten().map(|(name, _)| *name)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::path::Path;

    use super::super::{ArgType, StrictFn};
    use super::*;
    use crate::xacml::datatype::DataType;

    fn strict(id: &str) -> &'static StrictFn {
        match lookup(id) {
            Some(Function::Strict(f)) => f,
            other => panic!("{id}: {other:?}"),
        }
    }

    #[test]
    fn identifiers_are_unique() {
        let mut seen = HashSet::new();
        for id in all_ids() {
            assert!(seen.insert(id), "duplicate entry {id}");
        }
        // 3 logical + 14 higher-order + 17 equality + 16 arithmetic/conversion/not + 12 string
        // + 26 string conversions + 25 comparisons + 12 date arithmetic + 62 bag + 70 set
        // + 6 regexp-match + 2 special match + 24 HL7 (10 each for II and CV, 4 accessors).
        assert_eq!(seen.len(), 289);
    }

    #[test]
    fn strict_functions_are_registered_under_their_own_id_or_a_legacy_alias() {
        for (name, f) in tables().into_iter().flatten() {
            if let Function::Strict(s) = f {
                let local = |id: &'static str| id.rsplit(':').next().unwrap_or(id);
                assert_eq!(local(name), local(s.id), "{name} resolves to {}", s.id);
                assert!(
                    s.min_args >= s.params.len() || s.variadic.is_some(),
                    "{name}"
                );
                if s.variadic.is_none() {
                    assert_eq!(s.min_args, s.params.len(), "{name}");
                }
            }
        }
    }

    #[test]
    fn legacy_and_current_ids_resolve_to_the_same_function() {
        for name in [
            "dateTime-add-dayTimeDuration",
            "dateTime-subtract-dayTimeDuration",
            "dateTime-add-yearMonthDuration",
            "dateTime-subtract-yearMonthDuration",
            "date-add-yearMonthDuration",
            "date-subtract-yearMonthDuration",
            "dayTimeDuration-equal",
            "yearMonthDuration-equal",
        ] {
            let new = strict(&format!("urn:oasis:names:tc:xacml:3.0:function:{name}"));
            let old = strict(&format!("urn:oasis:names:tc:xacml:1.0:function:{name}"));
            assert!(std::ptr::eq(new, old), "{name}");
            assert!(new.id.contains(":3.0:"));
        }
        for name in [
            "any-of",
            "all-of",
            "any-of-any",
            "all-of-any",
            "any-of-all",
            "all-of-all",
            "map",
        ] {
            let new = lookup(&format!("urn:oasis:names:tc:xacml:3.0:function:{name}"));
            let old = lookup(&format!("urn:oasis:names:tc:xacml:1.0:function:{name}"));
            assert!(matches!(new, Some(Function::HigherOrder(_))), "{name}");
            assert_eq!(format!("{new:?}"), format!("{old:?}"));
        }
        assert!(matches!(
            lookup("urn:oasis:names:tc:xacml:1.0:function:and"),
            Some(Function::And)
        ));
        assert!(matches!(
            lookup("urn:oasis:names:tc:xacml:1.0:function:or"),
            Some(Function::Or)
        ));
        assert!(matches!(
            lookup("urn:oasis:names:tc:xacml:1.0:function:n-of"),
            Some(Function::NOf)
        ));
        assert!(lookup("urn:oasis:names:tc:xacml:2.0:function:uri-string-concatenate").is_some());
    }

    #[test]
    fn signatures() {
        let f = strict("urn:oasis:names:tc:xacml:1.0:function:integer-add");
        assert_eq!(
            (f.params.len(), f.variadic, f.min_args),
            (2, Some(ArgType::Single(DataType::Integer)), 2)
        );
        let f = strict("urn:oasis:names:tc:xacml:1.0:function:string-bag");
        assert_eq!((f.params.len(), f.min_args), (0, 0));
        assert_eq!(f.ret, ArgType::Bag(DataType::String));
        let f = strict("urn:oasis:names:tc:xacml:1.0:function:x500Name-union");
        assert_eq!(
            (f.min_args, f.variadic),
            (2, Some(ArgType::Bag(DataType::X500Name)))
        );
        let f = strict("urn:oasis:names:tc:xacml:3.0:function:anyURI-starts-with");
        assert_eq!(
            f.params,
            &[
                ArgType::Single(DataType::String),
                ArgType::Single(DataType::AnyUri)
            ]
        );
        let f = strict("urn:oasis:names:tc:xacml:2.0:function:ipAddress-one-and-only");
        assert_eq!(f.ret, ArgType::Single(DataType::IpAddress));
        let f = strict("urn:oasis:names:tc:xacml:3.0:function:dayTimeDuration-one-and-only");
        assert_eq!(f.ret, ArgType::Single(DataType::DayTimeDuration));
    }

    #[test]
    fn equality_function_for_matches_lookup() {
        for dt in DataType::ALL {
            let f = equality::equality_function_for(dt);
            assert_eq!(f.params, &[ArgType::Single(dt), ArgType::Single(dt)]);
            match dt {
                DataType::IpAddress | DataType::DnsName | DataType::XPathExpression => {
                    assert!(lookup(f.id).is_none(), "{}", f.id)
                }
                _ => assert!(std::ptr::eq(strict(f.id), f), "{}", f.id),
            }
        }
    }

    #[test]
    fn unsupported_and_unknown_ids_do_not_resolve() {
        for id in [
            "urn:oasis:names:tc:xacml:3.0:function:xpath-node-count",
            "urn:oasis:names:tc:xacml:1.0:function:xpath-node-match",
            "urn:oasis:names:tc:xacml:3.0:function:access-permitted",
            "urn:oasis:names:tc:xacml:1.0:function:string-equal-ignore-case",
            "urn:oasis:names:tc:xacml:2.0:function:ipAddress-is-in",
            "urn:oasis:names:tc:xacml:3.0:function:string-equal",
            "string-equal",
            "",
        ] {
            assert!(lookup(id).is_none(), "{id}");
        }
    }

    /// Every FunctionId and MatchId used by the conformance policies resolves (except the
    /// optional XPath functions). The suite lives outside the repository; skip without it.
    #[test]
    fn conformance_suite_function_ids_resolve() {
        let root = Path::new("/work/shared/conformance/authzforce");
        if !root.is_dir() {
            eprintln!("skipped: {} not found", root.display());
            return;
        }
        let mut files = Vec::new();
        let mut dirs = vec![root.to_path_buf()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "xml") {
                    files.push(path);
                }
            }
        }
        let mut ids = HashSet::new();
        for file in &files {
            let Ok(text) = std::fs::read_to_string(file) else {
                continue;
            };
            for attr in ["FunctionId=\"", "MatchId=\""] {
                for part in text.split(attr).skip(1) {
                    if let Some(end) = part.find('"') {
                        ids.insert(part[..end].to_owned());
                    }
                }
            }
        }
        assert!(
            ids.len() > 100,
            "found only {} ids in {} files",
            ids.len(),
            files.len()
        );
        let missing: Vec<_> = ids
            .iter()
            .filter(|id| !id.contains("xpath-node-") && !id.ends_with("access-permitted"))
            .filter(|id| id.starts_with("urn:oasis:names:tc:xacml:"))
            .filter(|id| lookup(id).is_none())
            .collect();
        assert!(missing.is_empty(), "unresolved: {missing:?}");
    }
}
