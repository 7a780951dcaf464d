//! Special match functions (A.3.14): `x500Name-match` and `rfc822Name-match`.

use super::args::{self, fixed, fn_id, ret_bool, BOOLEAN, RFC822_NAME, STRING, X500_NAME};
use super::registry::Entry;
use super::{FnError, Function, StrictFn, Val};
use crate::xacml::value::Value;

/// True when the first name matches a terminal sequence of RDNs of the second.
fn x500_name_match(a: &[Val]) -> Result<Val, FnError> {
    match (args::single(a, 0)?, args::single(a, 1)?) {
        (Value::X500Name(pattern), Value::X500Name(name)) => ret_bool(pattern.is_suffix_of(name)),
        _ => Err(FnError::new("x500Name-match: expected two x500Names")),
    }
}

/// The first argument is a mailbox, a domain, or a `.`-prefixed parent domain.
fn rfc822_name_match(a: &[Val]) -> Result<Val, FnError> {
    let pattern = args::text(a, 0)?;
    match args::single(a, 1)? {
        Value::Rfc822Name(name) => ret_bool(name.matches_pattern(pattern)),
        _ => Err(FnError::new(
            "rfc822Name-match: argument 2 is not an rfc822Name",
        )),
    }
}

pub(super) static X500_NAME_MATCH: StrictFn = fixed(
    fn_id!("1.0", "x500Name-match"),
    &[X500_NAME, X500_NAME],
    BOOLEAN,
    x500_name_match,
);
pub(super) static RFC822_NAME_MATCH: StrictFn = fixed(
    fn_id!("1.0", "rfc822Name-match"),
    &[STRING, RFC822_NAME],
    BOOLEAN,
    rfc822_name_match,
);

pub(super) static ENTRIES: &[Entry] = &[
    (X500_NAME_MATCH.id, Function::Strict(&X500_NAME_MATCH)),
    (RFC822_NAME_MATCH.id, Function::Strict(&RFC822_NAME_MATCH)),
];

#[cfg(test)]
mod tests {
    use super::super::args::testing::*;
    use super::*;
    use crate::xacml::datatype::DataType;

    #[test]
    fn x500_name_match() {
        let n = |x: &str| v(DataType::X500Name, x);
        let name = n("cn=John Smith, o=Medico Corp, c=US");
        assert!(truth(
            &X500_NAME_MATCH,
            &[n("o=Medico Corp, c=US"), name.clone()]
        ));
        assert!(truth(
            &X500_NAME_MATCH,
            &[n("O=medico corp,C=us"), name.clone()]
        ));
        assert!(!truth(
            &X500_NAME_MATCH,
            &[n("cn=John Smith, o=Medico Corp"), name.clone()]
        ));
        assert!(!truth(&X500_NAME_MATCH, &[name, n("o=Medico Corp, c=US")]));
    }

    #[test]
    fn rfc822_name_match() {
        // A.3.14 examples.
        let n = |x: &str| v(DataType::Rfc822Name, x);
        let ok = |p: &str, x: &str| truth(&RFC822_NAME_MATCH, &[s(p), n(x)]);
        assert!(ok("Anderson@sun.com", "Anderson@SUN.COM"));
        assert!(!ok("Anderson@sun.com", "anderson@sun.com"));
        assert!(ok("sun.com", "Baxter@SUN.COM"));
        assert!(!ok("sun.com", "Anderson@east.sun.com"));
        assert!(ok(".east.sun.com", "anne.anderson@ISRG.EAST.SUN.COM"));
        assert!(!ok(".east.sun.com", "anderson@east.sun.com"));
        fails(&RFC822_NAME_MATCH, &[s("sun.com"), s("a@sun.com")]);
    }
}
