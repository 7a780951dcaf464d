//! Functions of the HL7 v3 extension types `II` and `CV` (see [`crate::xacml::hl7`]).
//!
//! XACML defines no functions for these types, so they carry Akkoord identifiers in the
//! namespace `urn:akkoord:function:hl7:`, named like their A.3 counterparts so that a policy
//! author can guess them:
//!
//! | identifier (after `urn:akkoord:function:hl7:`) | signature |
//! | --- | --- |
//! | `II-equal`, `CV-equal` | (T, T) → boolean, HL7 identity (II: root + extension; CV: code + codeSystem) |
//! | `II-one-and-only`, `CV-one-and-only` | bag(T) → T |
//! | `II-bag-size`, `CV-bag-size` | bag(T) → integer |
//! | `II-is-in`, `CV-is-in` | (T, bag(T)) → boolean |
//! | `II-bag`, `CV-bag` | (T...) → bag(T) |
//! | `II-intersection`, `CV-intersection` | (bag(T), bag(T)) → bag(T) |
//! | `II-at-least-one-member-of`, `CV-at-least-one-member-of` | (bag(T), bag(T)) → boolean |
//! | `II-union`, `CV-union` | (bag(T), bag(T), bag(T)...) → bag(T) |
//! | `II-subset`, `CV-subset` | (bag(T), bag(T)) → boolean |
//! | `II-set-equals`, `CV-set-equals` | (bag(T), bag(T)) → boolean |
//! | `II-root`, `II-extension` | II → string |
//! | `CV-code`, `CV-codeSystem` | CV → string |
//!
//! The bag and set functions share their evaluation with the standard ones (membership by the
//! type's equality), so they behave exactly like `string-is-in` and friends. With
//! `II-equal`/`CV-equal` as a `MatchId` (or through the higher-order functions) a policy can
//! match a request's HL7 values directly, e.g. the purpose of use:
//! `<Match MatchId="urn:akkoord:function:hl7:CV-equal">` with
//! `<AttributeValue DataType="urn:hl7-org:v3#CV"><v3:CodedValue code="TREAT"
//! codeSystem="2.16.840.1.113883.1.11.20448"/></AttributeValue>`.

use std::sync::Arc;

use crate::xacml::datatype::DataType;
use crate::xacml::value::Value;

use super::args::{self, fixed, ret, variadic, BOOLEAN, INTEGER, STRING};
use super::registry::Entry;
use super::{bag, equality, set, ArgType, FnError, Function, StrictFn, Val};

const II: ArgType = ArgType::Single(DataType::Hl7Ii);
const II_BAG: ArgType = ArgType::Bag(DataType::Hl7Ii);
const CV: ArgType = ArgType::Single(DataType::Hl7Cv);
const CV_BAG: ArgType = ArgType::Bag(DataType::Hl7Cv);

/// Builds an identifier in the Akkoord HL7 function namespace.
macro_rules! hl7_id {
    ($($name:expr),+) => {
        concat!("urn:akkoord:function:hl7:", $($name),+)
    };
}

macro_rules! hl7_type_functions {
    ($t:ident, $b:ident, $dt:ident, $prefix:literal:
        $equal:ident, $one:ident, $size:ident, $is_in:ident, $bag:ident, $inter:ident,
        $alo:ident, $union:ident, $subset:ident, $set_eq:ident) => {
        pub(super) static $equal: StrictFn = fixed(
            hl7_id!($prefix, "-equal"),
            &[$t, $t],
            BOOLEAN,
            equality::eval_equal,
        );
        pub(super) static $one: StrictFn = fixed(
            hl7_id!($prefix, "-one-and-only"),
            &[$b],
            $t,
            bag::one_and_only,
        );
        pub(super) static $size: StrictFn =
            fixed(hl7_id!($prefix, "-bag-size"), &[$b], INTEGER, bag::bag_size);
        pub(super) static $is_in: StrictFn =
            fixed(hl7_id!($prefix, "-is-in"), &[$t, $b], BOOLEAN, bag::is_in);
        pub(super) static $bag: StrictFn =
            variadic(hl7_id!($prefix, "-bag"), &[], $t, 0, $b, |a| {
                bag::make_bag(DataType::$dt, a)
            });
        pub(super) static $inter: StrictFn = fixed(
            hl7_id!($prefix, "-intersection"),
            &[$b, $b],
            $b,
            set::intersection,
        );
        pub(super) static $alo: StrictFn = fixed(
            hl7_id!($prefix, "-at-least-one-member-of"),
            &[$b, $b],
            BOOLEAN,
            set::at_least_one_member_of,
        );
        pub(super) static $union: StrictFn =
            variadic(hl7_id!($prefix, "-union"), &[$b, $b], $b, 2, $b, set::union);
        pub(super) static $subset: StrictFn =
            fixed(hl7_id!($prefix, "-subset"), &[$b, $b], BOOLEAN, set::subset);
        pub(super) static $set_eq: StrictFn = fixed(
            hl7_id!($prefix, "-set-equals"),
            &[$b, $b],
            BOOLEAN,
            set::set_equals,
        );
    };
}

hl7_type_functions!(II, II_BAG, Hl7Ii, "II":
    II_EQUAL, II_ONE_AND_ONLY, II_BAG_SIZE, II_IS_IN, II_BAG_FN, II_INTERSECTION,
    II_AT_LEAST_ONE_MEMBER_OF, II_UNION, II_SUBSET, II_SET_EQUALS);

hl7_type_functions!(CV, CV_BAG, Hl7Cv, "CV":
    CV_EQUAL, CV_ONE_AND_ONLY, CV_BAG_SIZE, CV_IS_IN, CV_BAG_FN, CV_INTERSECTION,
    CV_AT_LEAST_ONE_MEMBER_OF, CV_UNION, CV_SUBSET, CV_SET_EQUALS);

fn ii_arg(a: &[Val]) -> Result<&crate::xacml::hl7::Ii, FnError> {
    args::single(a, 0)?
        .as_ii()
        .ok_or_else(|| FnError::new("argument 1 is not an II"))
}

fn cv_arg(a: &[Val]) -> Result<&crate::xacml::hl7::Cv, FnError> {
    args::single(a, 0)?
        .as_cv()
        .ok_or_else(|| FnError::new("argument 1 is not a CV"))
}

fn string(s: &str) -> Result<Val, FnError> {
    ret(Value::String(Arc::from(s)))
}

pub(super) static II_ROOT: StrictFn = fixed(hl7_id!("II-root"), &[II], STRING, |a| {
    string(ii_arg(a)?.root())
});
pub(super) static II_EXTENSION: StrictFn = fixed(hl7_id!("II-extension"), &[II], STRING, |a| {
    string(ii_arg(a)?.extension())
});
pub(super) static CV_CODE: StrictFn = fixed(hl7_id!("CV-code"), &[CV], STRING, |a| {
    string(cv_arg(a)?.code())
});
pub(super) static CV_CODE_SYSTEM: StrictFn = fixed(hl7_id!("CV-codeSystem"), &[CV], STRING, |a| {
    string(cv_arg(a)?.code_system())
});

pub(super) static ENTRIES: &[Entry] = &[
    (hl7_id!("II-equal"), Function::Strict(&II_EQUAL)),
    (
        hl7_id!("II-one-and-only"),
        Function::Strict(&II_ONE_AND_ONLY),
    ),
    (hl7_id!("II-bag-size"), Function::Strict(&II_BAG_SIZE)),
    (hl7_id!("II-is-in"), Function::Strict(&II_IS_IN)),
    (hl7_id!("II-bag"), Function::Strict(&II_BAG_FN)),
    (
        hl7_id!("II-intersection"),
        Function::Strict(&II_INTERSECTION),
    ),
    (
        hl7_id!("II-at-least-one-member-of"),
        Function::Strict(&II_AT_LEAST_ONE_MEMBER_OF),
    ),
    (hl7_id!("II-union"), Function::Strict(&II_UNION)),
    (hl7_id!("II-subset"), Function::Strict(&II_SUBSET)),
    (hl7_id!("II-set-equals"), Function::Strict(&II_SET_EQUALS)),
    (hl7_id!("CV-equal"), Function::Strict(&CV_EQUAL)),
    (
        hl7_id!("CV-one-and-only"),
        Function::Strict(&CV_ONE_AND_ONLY),
    ),
    (hl7_id!("CV-bag-size"), Function::Strict(&CV_BAG_SIZE)),
    (hl7_id!("CV-is-in"), Function::Strict(&CV_IS_IN)),
    (hl7_id!("CV-bag"), Function::Strict(&CV_BAG_FN)),
    (
        hl7_id!("CV-intersection"),
        Function::Strict(&CV_INTERSECTION),
    ),
    (
        hl7_id!("CV-at-least-one-member-of"),
        Function::Strict(&CV_AT_LEAST_ONE_MEMBER_OF),
    ),
    (hl7_id!("CV-union"), Function::Strict(&CV_UNION)),
    (hl7_id!("CV-subset"), Function::Strict(&CV_SUBSET)),
    (hl7_id!("CV-set-equals"), Function::Strict(&CV_SET_EQUALS)),
    (hl7_id!("II-root"), Function::Strict(&II_ROOT)),
    (hl7_id!("II-extension"), Function::Strict(&II_EXTENSION)),
    (hl7_id!("CV-code"), Function::Strict(&CV_CODE)),
    (hl7_id!("CV-codeSystem"), Function::Strict(&CV_CODE_SYSTEM)),
];

#[cfg(test)]
mod tests {
    use super::super::args::testing::*;
    use super::super::{lookup, Bag};
    use super::*;

    const BSN: &str = "2.16.840.1.113883.2.4.6.3";
    const GGC: &str = "2.16.840.1.113883.2.4.3.111.5.10.1";

    fn ii(ext: &str) -> Val {
        Val::Single(Value::ii(BSN, ext, None))
    }

    fn ggc(code: &str) -> Val {
        Val::Single(Value::cv(code, GGC, None))
    }

    fn bag_of_vals(dt: DataType, items: &[Val]) -> Val {
        Val::Bag(Bag {
            datatype: dt,
            values: items
                .iter()
                .map(|v| match v {
                    Val::Single(v) => v.clone(),
                    Val::Bag(_) => panic!("nested bag"),
                })
                .collect(),
        })
    }

    #[test]
    fn every_function_resolves_under_its_documented_id() {
        for (id, f) in ENTRIES {
            assert!(id.starts_with("urn:akkoord:function:hl7:"), "{id}");
            match (lookup(id), f) {
                (Some(Function::Strict(a)), Function::Strict(b)) => assert!(std::ptr::eq(a, *b)),
                other => panic!("{id}: {other:?}"),
            }
        }
        assert!(std::ptr::eq(
            super::super::equality_function_for(DataType::Hl7Ii),
            &II_EQUAL
        ));
        assert!(std::ptr::eq(
            super::super::equality_function_for(DataType::Hl7Cv),
            &CV_EQUAL
        ));
    }

    #[test]
    fn equality_is_hl7_identity() {
        // Domain 2.7: II equality is root + extension, CV equality is code + codeSystem;
        // assigningAuthorityName and displayName are ignored.
        assert!(truth(
            &II_EQUAL,
            &[
                Val::Single(Value::ii("2.16.528.1.1007.3.1", "000000123", Some("CIBG"))),
                Val::Single(Value::ii("2.16.528.1.1007.3.1", "000000123", None)),
            ]
        ));
        assert!(!truth(&II_EQUAL, &[ii("999990019"), ii("999990020")]));
        assert!(truth(
            &CV_EQUAL,
            &[
                Val::Single(Value::cv("GGC002", GGC, Some("Behandelgegevens"))),
                ggc("GGC002")
            ]
        ));
        assert!(!truth(
            &CV_EQUAL,
            &[
                ggc("TREAT"),
                Val::Single(Value::cv("TREAT", "2.16.840.1.113883.1.11.20448", None))
            ]
        ));
    }

    #[test]
    fn bag_functions() {
        // Two data categories asked in one question (domain 2.3, "one action per category").
        let asked = bag_of_vals(DataType::Hl7Cv, &[ggc("GGC002"), ggc("GGC013")]);
        assert_eq!(
            call(&CV_BAG_SIZE, std::slice::from_ref(&asked)).as_integer(),
            Some(2)
        );
        assert!(truth(&CV_IS_IN, &[ggc("GGC013"), asked.clone()]));
        assert!(!truth(&CV_IS_IN, &[ggc("GGC012"), asked.clone()]));
        fails(&CV_ONE_AND_ONLY, std::slice::from_ref(&asked));
        let patient = bag_of_vals(DataType::Hl7Ii, &[ii("999990019")]);
        assert_eq!(
            call(&II_ONE_AND_ONLY, &[patient]).to_string(),
            "2.16.840.1.113883.2.4.6.3|999990019"
        );
        match (II_BAG_FN.eval)(&[ii("1"), ii("2")]) {
            Ok(Val::Bag(b)) => {
                assert_eq!(b.datatype, DataType::Hl7Ii);
                assert_eq!(b.values.len(), 2);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn set_functions() {
        let x = bag_of_vals(
            DataType::Hl7Cv,
            &[ggc("GGC002"), ggc("GGC013"), ggc("GGC002")],
        );
        let y = bag_of_vals(DataType::Hl7Cv, &[ggc("GGC013"), ggc("GGC012")]);
        match (CV_INTERSECTION.eval)(&[x.clone(), y.clone()]) {
            Ok(Val::Bag(b)) => assert_eq!(b.values.len(), 1),
            other => panic!("{other:?}"),
        }
        match (CV_UNION.eval)(&[x.clone(), y.clone()]) {
            Ok(Val::Bag(b)) => assert_eq!(b.values.len(), 3),
            other => panic!("{other:?}"),
        }
        assert!(truth(&CV_AT_LEAST_ONE_MEMBER_OF, &[x.clone(), y.clone()]));
        assert!(!truth(&CV_SUBSET, &[x.clone(), y.clone()]));
        let z = bag_of_vals(DataType::Hl7Cv, &[ggc("GGC013"), ggc("GGC002")]);
        assert!(truth(&CV_SET_EQUALS, &[x.clone(), z.clone()]));
        assert!(truth(&CV_SUBSET, &[z, x]));
        let a = bag_of_vals(DataType::Hl7Ii, &[ii("1")]);
        let b = bag_of_vals(DataType::Hl7Ii, &[ii("1"), ii("2")]);
        assert!(truth(&II_SUBSET, &[a.clone(), b.clone()]));
        assert!(!truth(&II_SET_EQUALS, &[a.clone(), b.clone()]));
        assert!(truth(&II_AT_LEAST_ONE_MEMBER_OF, &[a.clone(), b.clone()]));
        match (II_INTERSECTION.eval)(&[a.clone(), b.clone()]) {
            Ok(Val::Bag(bag)) => assert_eq!(bag.values.len(), 1),
            other => panic!("{other:?}"),
        }
        match (II_UNION.eval)(&[a, b]) {
            Ok(Val::Bag(bag)) => assert_eq!(bag.values.len(), 2),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn accessors() {
        assert_eq!(show(&II_ROOT, &[ii("999990019")]), BSN);
        assert_eq!(show(&II_EXTENSION, &[ii("999990019")]), "999990019");
        assert_eq!(show(&CV_CODE, &[ggc("GGC002")]), "GGC002");
        assert_eq!(show(&CV_CODE_SYSTEM, &[ggc("GGC002")]), GGC);
        assert_eq!(II_ROOT.ret, STRING);
        fails(&II_ROOT, &[ggc("GGC002")]);
        fails(&CV_CODE, &[s("x")]);
    }
}
