//! Regular-expression matching (A.3.13): `string-regexp-match` and the `*-regexp-match`
//! functions for `anyURI`, `ipAddress`, `dnsName`, `rfc822Name` and `x500Name`.
//!
//! The pattern syntax is XML Schema's (with XQuery's `^`/`$` anchors and reluctant quantifiers)
//! and the semantics are XQuery `fn:matches` without flags: the pattern matches if it matches
//! any substring, unless anchored. Patterns are translated to the `regex` crate's dialect; the
//! parts that have no equivalent (back-references, Unicode block escapes `\p{IsBlock}`) are
//! reported as errors rather than silently changed. Non-string arguments are matched in their
//! lexical form (`string-from-<type>`).
//!
//! The pattern is compiled on each call; [`compile_xsd_regex`] is public so that a compile
//! step can compile constant patterns once instead.

use regex::{Regex, RegexBuilder};

use super::args::{self, fixed, fn_id, ret_bool, ANY_URI, BOOLEAN, RFC822_NAME, STRING, X500_NAME};
use super::registry::Entry;
use super::{ArgType, FnError, Function, StrictFn, Val};
use crate::xacml::datatype::DataType;

/// Longest pattern accepted, in bytes: policies need short patterns, and this bounds the cost of
/// compiling an attacker-supplied one.
pub const MAX_PATTERN_LEN: usize = 4096;
/// Bound on the compiled program size.
const COMPILED_SIZE_LIMIT: usize = 1 << 20;

/// XML `NameStartChar` (XML 1.0 fifth edition), for `\i`.
const NAME_START: &str = r":A-Z_a-z\u{C0}-\u{D6}\u{D8}-\u{F6}\u{F8}-\u{2FF}\u{370}-\u{37D}\u{37F}-\u{1FFF}\u{200C}-\u{200D}\u{2070}-\u{218F}\u{2C00}-\u{2FEF}\u{3001}-\u{D7FF}\u{F900}-\u{FDCF}\u{FDF0}-\u{FFFD}\u{10000}-\u{EFFFF}";
/// The further `NameChar`s, for `\c`.
const NAME_REST: &str = r"\-.0-9\u{B7}\u{300}-\u{36F}\u{203F}-\u{2040}";

fn bad(msg: &str) -> FnError {
    FnError::new(format!("regular expression: {msg}"))
}

/// The translation of an XML Schema escape `\c` (the character after the backslash), as text
/// valid both inside and outside a character class.
fn escape(
    c: char,
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
) -> Result<String, FnError> {
    Ok(match c {
        'i' => format!("[{NAME_START}]"),
        'I' => format!("[^{NAME_START}]"),
        'c' => format!("[{NAME_START}{NAME_REST}]"),
        'C' => format!("[^{NAME_START}{NAME_REST}]"),
        's' => r"[ \t\n\r]".to_owned(),
        'S' => r"[^ \t\n\r]".to_owned(),
        // XML Schema: \w is everything but punctuation, separators and "other" characters.
        'w' => r"[^\p{P}\p{Z}\p{C}]".to_owned(),
        'W' => r"[\p{P}\p{Z}\p{C}]".to_owned(),
        'd' => r"\p{Nd}".to_owned(),
        'D' => r"\P{Nd}".to_owned(),
        'p' | 'P' => {
            if chars.next() != Some('{') {
                return Err(bad("expected '{' after \\p"));
            }
            let mut name = String::new();
            loop {
                match chars.next() {
                    Some('}') => break,
                    Some(ch) if ch.is_ascii_alphanumeric() || ch == '-' => name.push(ch),
                    _ => return Err(bad("malformed \\p{...} escape")),
                }
            }
            if name.starts_with("Is") {
                return Err(bad("Unicode block escapes (\\p{Is...}) are not supported"));
            }
            format!("\\{c}{{{name}}}")
        }
        'n' | 'r' | 't' | '\\' | '|' | '.' | '-' | '^' | '?' | '*' | '+' | '{' | '}' | '('
        | ')' | '[' | ']' | '$' => format!("\\{c}"),
        '0'..='9' => return Err(bad("back-references are not supported")),
        _ => return Err(bad(&format!("invalid escape \\{c}"))),
    })
}

/// Translates an XML Schema / XQuery pattern to the `regex` crate's syntax.
fn translate(p: &str) -> Result<String, FnError> {
    let mut out = String::with_capacity(p.len() + 16);
    let mut chars = p.chars().peekable();
    // Nesting depth of character classes (subtraction nests one level per `-[`).
    let mut depth = 0usize;
    // Whether the previous token opened a class (so `^` there negates it).
    let mut class_start = false;
    while let Some(c) = chars.next() {
        let at_start = std::mem::take(&mut class_start);
        if c == '\\' {
            let e = chars
                .next()
                .ok_or_else(|| bad("the pattern ends with '\\'"))?;
            out.push_str(&escape(e, &mut chars)?);
            continue;
        }
        if depth == 0 {
            match c {
                '.' => out.push_str(r"[^\n\r]"),
                '[' => {
                    depth = 1;
                    class_start = true;
                    out.push('[');
                }
                '(' if chars.peek() == Some(&'?') => {
                    chars.next();
                    if chars.next() != Some(':') {
                        return Err(bad("only (?: groups are supported"));
                    }
                    out.push_str("(?:");
                }
                ']' => return Err(bad("unbalanced ']'")),
                _ => out.push(c),
            }
        } else {
            match c {
                '^' if at_start => out.push('^'),
                '-' if chars.peek() == Some(&'[') => {
                    chars.next();
                    depth += 1;
                    class_start = true;
                    out.push_str("--[");
                }
                ']' => {
                    depth -= 1;
                    out.push(']');
                }
                '[' => return Err(bad("'[' inside a character class must be escaped")),
                // Operators or metacharacters in the regex crate, literals in XML Schema.
                '&' | '~' | '.' | '$' | '|' | '(' | ')' | '*' | '+' | '?' | '{' | '}' => {
                    out.push('\\');
                    out.push(c);
                }
                _ => out.push(c),
            }
        }
    }
    if depth != 0 {
        return Err(bad("unterminated character class"));
    }
    Ok(out)
}

/// Compiles an XML Schema / XQuery regular expression with `fn:matches` semantics.
pub fn compile_xsd_regex(pattern: &str) -> Result<Regex, FnError> {
    if pattern.len() > MAX_PATTERN_LEN {
        return Err(bad(&format!(
            "the pattern is longer than {MAX_PATTERN_LEN} bytes"
        )));
    }
    let translated = translate(pattern)?;
    RegexBuilder::new(&translated)
        .size_limit(COMPILED_SIZE_LIMIT)
        .dfa_size_limit(COMPILED_SIZE_LIMIT)
        .build()
        .map_err(|e| bad(&format!("invalid pattern '{pattern}': {e}")))
}

fn regexp_match(a: &[Val]) -> Result<Val, FnError> {
    let re = compile_xsd_regex(args::text(a, 0)?)?;
    ret_bool(regex_matches(&re, args::single(a, 1)?))
}

/// Whether `subject` (a string, or the lexical form of an anyURI, ipAddress, dnsName,
/// rfc822Name or x500Name) matches an already compiled pattern. The compile step uses this with
/// patterns it compiled once, when the pattern is a literal.
pub fn regex_matches(re: &Regex, subject: &crate::xacml::value::Value) -> bool {
    match subject.as_str() {
        Some(s) => re.is_match(s),
        None => re.is_match(&subject.to_string()),
    }
}

/// Whether `f` is one of the `*-regexp-match` functions (pattern first, subject second).
pub fn is_regexp_match(f: &StrictFn) -> bool {
    f.id.ends_with("-regexp-match")
}

pub(super) static STRING_REGEXP_MATCH: StrictFn = fixed(
    fn_id!("1.0", "string-regexp-match"),
    &[STRING, STRING],
    BOOLEAN,
    regexp_match,
);
pub(super) static ANY_URI_REGEXP_MATCH: StrictFn = fixed(
    fn_id!("2.0", "anyURI-regexp-match"),
    &[STRING, ANY_URI],
    BOOLEAN,
    regexp_match,
);
pub(super) static IP_ADDRESS_REGEXP_MATCH: StrictFn = fixed(
    fn_id!("2.0", "ipAddress-regexp-match"),
    &[STRING, ArgType::Single(DataType::IpAddress)],
    BOOLEAN,
    regexp_match,
);
pub(super) static DNS_NAME_REGEXP_MATCH: StrictFn = fixed(
    fn_id!("2.0", "dnsName-regexp-match"),
    &[STRING, ArgType::Single(DataType::DnsName)],
    BOOLEAN,
    regexp_match,
);
pub(super) static RFC822_NAME_REGEXP_MATCH: StrictFn = fixed(
    fn_id!("2.0", "rfc822Name-regexp-match"),
    &[STRING, RFC822_NAME],
    BOOLEAN,
    regexp_match,
);
pub(super) static X500_NAME_REGEXP_MATCH: StrictFn = fixed(
    fn_id!("2.0", "x500Name-regexp-match"),
    &[STRING, X500_NAME],
    BOOLEAN,
    regexp_match,
);

pub(super) static ENTRIES: &[Entry] = &[
    (
        STRING_REGEXP_MATCH.id,
        Function::Strict(&STRING_REGEXP_MATCH),
    ),
    (
        ANY_URI_REGEXP_MATCH.id,
        Function::Strict(&ANY_URI_REGEXP_MATCH),
    ),
    (
        IP_ADDRESS_REGEXP_MATCH.id,
        Function::Strict(&IP_ADDRESS_REGEXP_MATCH),
    ),
    (
        DNS_NAME_REGEXP_MATCH.id,
        Function::Strict(&DNS_NAME_REGEXP_MATCH),
    ),
    (
        RFC822_NAME_REGEXP_MATCH.id,
        Function::Strict(&RFC822_NAME_REGEXP_MATCH),
    ),
    (
        X500_NAME_REGEXP_MATCH.id,
        Function::Strict(&X500_NAME_REGEXP_MATCH),
    ),
];

#[cfg(test)]
mod tests {
    use super::super::args::testing::*;
    use super::*;

    fn m(p: &str, s_: &str) -> bool {
        truth(&STRING_REGEXP_MATCH, &[s(p), s(s_)])
    }

    #[test]
    fn matches_is_an_unanchored_search() {
        // XQuery fn:matches examples: matches("abracadabra", "bra") is true,
        // matches("abracadabra", "^a.*a$") is true, matches("abracadabra", "^bra") is false.
        assert!(m("bra", "abracadabra"));
        assert!(m("^a.*a$", "abracadabra"));
        assert!(!m("^bra", "abracadabra"));
        assert!(m("^[0-9]{3}-[0-9]{4}$", "555-1234"));
        assert!(!m("^[0-9]{3}-[0-9]{4}$", "555-12345"));
    }

    #[test]
    fn xml_schema_escapes() {
        // '.' does not match a line break.
        assert!(!m("^a.b$", "a\nb"));
        assert!(!m("^a.b$", "a\rb"));
        // \s is only the four XML white space characters.
        assert!(m(r"^\s$", "\t"));
        assert!(!m(r"^\s$", "\u{A0}"));
        // \i and \c are XML name characters.
        assert!(m(r"^\i\c*$", "xml:lang-1.0"));
        assert!(!m(r"^\i\c*$", "1abc"));
        // \w excludes punctuation, separators and others.
        assert!(m(r"^\w+$", "aé9"));
        assert!(!m(r"^\w+$", "a-b"));
        // Character class subtraction.
        assert!(m("^[a-z-[aeiou]]+$", "bcd"));
        assert!(!m("^[a-z-[aeiou]]+$", "bad"));
        // Characters that are operators in other dialects are literals in a class.
        assert!(m("^[&~]+$", "&~&"));
        assert!(m(r"^\p{Lu}\p{Ll}+$", "Hello"));
        assert!(m(r"^[\d]+$", "123"));
    }

    #[test]
    fn untranslatable_or_invalid_patterns_are_errors() {
        for p in [
            r"(a)\1",
            r"\p{IsBasicLatin}",
            "[a",
            "a]",
            r"\q",
            "a\\",
            "(?i)a",
            "(a",
            "[a[b]]",
        ] {
            fails(&STRING_REGEXP_MATCH, &[s(p), s("a")]);
        }
        fails(
            &STRING_REGEXP_MATCH,
            &[s(&"a".repeat(MAX_PATTERN_LEN + 1)), s("a")],
        );
    }

    #[test]
    fn other_types_match_their_lexical_form() {
        assert!(truth(
            &ANY_URI_REGEXP_MATCH,
            &[s("^http://"), v(DataType::AnyUri, "http://x")]
        ));
        assert!(truth(
            &IP_ADDRESS_REGEXP_MATCH,
            &[s(r"^10\.0\."), v(DataType::IpAddress, "10.0.0.1")]
        ));
        assert!(truth(
            &DNS_NAME_REGEXP_MATCH,
            &[
                s(r"\.example\.com$"),
                v(DataType::DnsName, "www.example.com")
            ]
        ));
        assert!(truth(
            &RFC822_NAME_REGEXP_MATCH,
            &[s("@sun"), v(DataType::Rfc822Name, "a@sun.com")]
        ));
        assert!(truth(
            &X500_NAME_REGEXP_MATCH,
            &[s("o=Medico"), v(DataType::X500Name, "cn=A, o=Medico")]
        ));
    }
}
