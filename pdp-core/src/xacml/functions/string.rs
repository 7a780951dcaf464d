//! String functions (A.3.3 normalisation, A.3.9 concatenation, prefix/suffix/containment and
//! substrings for `string` and `anyURI`).
//!
//! Positions in `*-substring` count Unicode code points, as XQuery strings do.

use std::sync::Arc;

use crate::xacml::value::Value;

use super::args::{self, fixed, fn_id, ret, ret_bool, variadic, ANY_URI, BOOLEAN, INTEGER, STRING};
use super::registry::Entry;
use super::{FnError, Function, StrictFn, Val};

/// XML white space, the characters `string-normalize-space` strips.
const XML_SPACE: [char; 4] = [' ', '\t', '\r', '\n'];

fn concatenate(a: &[Val]) -> Result<String, FnError> {
    let mut out = String::new();
    for i in 0..a.len() {
        out.push_str(args::text(a, i)?);
    }
    Ok(out)
}

/// `*-substring(s, begin, end)`: `begin` inclusive, `end` exclusive, `end = -1` for the rest of
/// the string; anything out of range is an error (A.3.9).
fn substring(a: &[Val]) -> Result<Val, FnError> {
    let s = args::text(a, 0)?;
    let (begin, end) = (args::integer(a, 1)?, args::integer(a, 2)?);
    let len = s.chars().count() as i64;
    let end = if end == -1 { len } else { end };
    if begin < 0 || begin > len || end < begin || end > len {
        return Err(FnError::new(format!(
            "substring: positions {begin}..{end} are outside a string of {len} characters"
        )));
    }
    let out: String = s
        .chars()
        .skip(begin as usize)
        .take((end - begin) as usize)
        .collect();
    ret(Value::String(out.into()))
}

pub(super) static STRING_NORMALIZE_SPACE: StrictFn = fixed(
    fn_id!("1.0", "string-normalize-space"),
    &[STRING],
    STRING,
    |a| {
        ret(Value::String(
            args::text(a, 0)?.trim_matches(XML_SPACE).into(),
        ))
    },
);
pub(super) static STRING_NORMALIZE_TO_LOWER_CASE: StrictFn = fixed(
    fn_id!("1.0", "string-normalize-to-lower-case"),
    &[STRING],
    STRING,
    |a| ret(Value::String(args::text(a, 0)?.to_lowercase().into())),
);
pub(super) static STRING_CONCATENATE: StrictFn = variadic(
    fn_id!("2.0", "string-concatenate"),
    &[STRING, STRING],
    STRING,
    2,
    STRING,
    |a| ret(Value::String(concatenate(a)?.into())),
);
/// Deprecated in 3.0 (section 10.2.8) but still resolved: an anyURI followed by one or more
/// strings, giving an anyURI.
pub(super) static URI_STRING_CONCATENATE: StrictFn = variadic(
    fn_id!("2.0", "uri-string-concatenate"),
    &[ANY_URI, STRING],
    STRING,
    2,
    ANY_URI,
    |a| ret(Value::AnyUri(Arc::from(concatenate(a)?))),
);

macro_rules! text_predicates {
    ($( $stat:ident: $name:literal, $second:ident, $op:expr; )*) => {
        $(
            /// True when the second argument has the first as the named part (A.3.9).
            pub(super) static $stat: StrictFn = fixed(
                fn_id!("3.0", $name),
                &[STRING, $second],
                BOOLEAN,
                |a| {
                    let op: fn(&str, &str) -> bool = $op;
                    ret_bool(op(args::text(a, 1)?, args::text(a, 0)?))
                },
            );
        )*
    };
}

text_predicates! {
    STRING_STARTS_WITH: "string-starts-with", STRING, |s, p| s.starts_with(p);
    ANY_URI_STARTS_WITH: "anyURI-starts-with", ANY_URI, |s, p| s.starts_with(p);
    STRING_ENDS_WITH: "string-ends-with", STRING, |s, p| s.ends_with(p);
    ANY_URI_ENDS_WITH: "anyURI-ends-with", ANY_URI, |s, p| s.ends_with(p);
    STRING_CONTAINS: "string-contains", STRING, |s, p| s.contains(p);
    ANY_URI_CONTAINS: "anyURI-contains", ANY_URI, |s, p| s.contains(p);
}

pub(super) static STRING_SUBSTRING: StrictFn = fixed(
    fn_id!("3.0", "string-substring"),
    &[STRING, INTEGER, INTEGER],
    STRING,
    substring,
);
pub(super) static ANY_URI_SUBSTRING: StrictFn = fixed(
    fn_id!("3.0", "anyURI-substring"),
    &[ANY_URI, INTEGER, INTEGER],
    STRING,
    substring,
);

pub(super) static ENTRIES: &[Entry] = &[
    (
        STRING_NORMALIZE_SPACE.id,
        Function::Strict(&STRING_NORMALIZE_SPACE),
    ),
    (
        STRING_NORMALIZE_TO_LOWER_CASE.id,
        Function::Strict(&STRING_NORMALIZE_TO_LOWER_CASE),
    ),
    (STRING_CONCATENATE.id, Function::Strict(&STRING_CONCATENATE)),
    (
        URI_STRING_CONCATENATE.id,
        Function::Strict(&URI_STRING_CONCATENATE),
    ),
    (STRING_STARTS_WITH.id, Function::Strict(&STRING_STARTS_WITH)),
    (
        ANY_URI_STARTS_WITH.id,
        Function::Strict(&ANY_URI_STARTS_WITH),
    ),
    (STRING_ENDS_WITH.id, Function::Strict(&STRING_ENDS_WITH)),
    (ANY_URI_ENDS_WITH.id, Function::Strict(&ANY_URI_ENDS_WITH)),
    (STRING_CONTAINS.id, Function::Strict(&STRING_CONTAINS)),
    (ANY_URI_CONTAINS.id, Function::Strict(&ANY_URI_CONTAINS)),
    (STRING_SUBSTRING.id, Function::Strict(&STRING_SUBSTRING)),
    (ANY_URI_SUBSTRING.id, Function::Strict(&ANY_URI_SUBSTRING)),
];

#[cfg(test)]
mod tests {
    use super::super::args::testing::*;
    use super::*;
    use crate::xacml::datatype::DataType;

    fn uri(s: &str) -> Val {
        v(DataType::AnyUri, s)
    }

    #[test]
    fn normalisation() {
        // A.3.3: strip leading and trailing white space; inner white space stays.
        assert_eq!(show(&STRING_NORMALIZE_SPACE, &[s(" \t a  b \r\n")]), "a  b");
        assert_eq!(
            show(&STRING_NORMALIZE_TO_LOWER_CASE, &[s("AbC ÄÖ")]),
            "abc äö"
        );
    }

    #[test]
    fn concatenation() {
        assert_eq!(show(&STRING_CONCATENATE, &[s("a"), s("b"), s("c")]), "abc");
        let r = call(&URI_STRING_CONCATENATE, &[uri("http://x/"), s("a"), s("b")]);
        assert_eq!(r.datatype(), DataType::AnyUri);
        assert_eq!(r.to_string(), "http://x/ab");
    }

    #[test]
    fn prefixes_suffixes_containment() {
        // The first argument is looked for in the second.
        assert!(truth(&STRING_STARTS_WITH, &[s("ab"), s("abc")]));
        assert!(!truth(&STRING_STARTS_WITH, &[s("abc"), s("ab")]));
        assert!(truth(&STRING_ENDS_WITH, &[s("bc"), s("abc")]));
        assert!(truth(&STRING_CONTAINS, &[s("b"), s("abc")]));
        assert!(truth(&STRING_CONTAINS, &[s(""), s("abc")]));
        assert!(!truth(&STRING_CONTAINS, &[s("B"), s("abc")]));
        assert!(truth(
            &ANY_URI_STARTS_WITH,
            &[s("http://"), uri("http://x/y")]
        ));
        assert!(truth(&ANY_URI_ENDS_WITH, &[s("/y"), uri("http://x/y")]));
        assert!(truth(&ANY_URI_CONTAINS, &[s("x/"), uri("http://x/y")]));
    }

    #[test]
    fn substrings() {
        let sub = |x: &str, b: i64, e: i64| show(&STRING_SUBSTRING, &[s(x), i(b), i(e)]);
        assert_eq!(sub("abcdef", 1, 3), "bc");
        assert_eq!(sub("abcdef", 2, -1), "cdef");
        assert_eq!(sub("abcdef", 0, 6), "abcdef");
        assert_eq!(sub("abcdef", 6, -1), "");
        assert_eq!(sub("äöü", 1, 2), "ö");
        let r = call(&ANY_URI_SUBSTRING, &[uri("http://x/y"), i(0), i(4)]);
        assert_eq!(r.datatype(), DataType::String);
        assert_eq!(r.to_string(), "http");
        for (b, e) in [(-1, 2), (7, -1), (3, 2), (0, 7), (2, -2)] {
            fails(&STRING_SUBSTRING, &[s("abcdef"), i(b), i(e)]);
        }
    }
}
