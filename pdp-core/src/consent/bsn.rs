//! Citizen and organisation identifiers: the BSN (burgerservicenummer) and the URA
//! (UZI-register abonneenummer).
//!
//! Both are kept as a `u32` so that the consent index can store and compare them without
//! strings. Parsing is strict, because these numbers are identity keys: a lenient parser that
//! repairs input could attach a consent choice to the wrong citizen.
//!
//! - A BSN is exactly nine ASCII digits that pass the 11-check (elfproef) and are not all zeros.
//!   Eight digits are **refused**, with a hint to restore the leading zero: a BSN that lost its
//!   leading zero in a spreadsheet or a numeric column is common, but silently adding the zero
//!   would also accept a nine-digit number with one digit dropped whenever the result happens to
//!   pass the check. The caller that knows its source is numeric can pad before parsing.
//! - A URA is exactly eight ASCII digits (leading zeros significant in the text, e.g.
//!   `00000001`).
//!
//! Privacy rule: error messages never contain the digits of the input (a BSN must never reach a
//! log). They say what is wrong and what to do.

use std::fmt;

/// A citizen service number (BSN) that passed the 11-check. `Display` writes the nine digits
/// (with leading zeros); it is the only way the digits leave this type, so callers that log must
/// not format it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bsn(u32);

/// Why a text or number is not a valid BSN. The message never includes the digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BsnError {
    /// Empty input.
    Empty,
    /// A character other than an ASCII digit.
    NotDigits,
    /// Eight digits: most likely a lost leading zero.
    EightDigits,
    /// Neither eight nor nine digits.
    WrongLength,
    /// `000000000`.
    AllZeros,
    /// The 11-check failed.
    CheckFailed,
}

impl fmt::Display for BsnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BsnError::Empty => "the BSN is empty; send the nine digits of the citizen service number",
            BsnError::NotDigits => "the BSN contains a character other than a digit; send exactly nine digits without spaces or dots",
            BsnError::EightDigits => "the BSN has eight digits; a BSN has nine: if a leading zero was lost, add it back",
            BsnError::WrongLength => "the BSN does not have nine digits; send exactly nine digits",
            BsnError::AllZeros => "the BSN consists of zeros only, which is not a valid BSN",
            BsnError::CheckFailed => "the BSN fails the 11-check (elfproef); check the number for a typing error",
        })
    }
}

impl std::error::Error for BsnError {}

impl Bsn {
    /// 999990019, the BSN of the domain model's examples (valid; used in documentation and as
    /// a placeholder where a BSN is structurally required).
    pub const EXAMPLE: Bsn = Bsn(999_990_019);

    /// Parses exactly nine ASCII digits that pass the 11-check. Costs a few nanoseconds and never
    /// allocates.
    pub fn parse(text: &str) -> Result<Bsn, BsnError> {
        let bytes = text.as_bytes();
        if bytes.is_empty() {
            return Err(BsnError::Empty);
        }
        if !bytes.iter().all(u8::is_ascii_digit) {
            return Err(BsnError::NotDigits);
        }
        match bytes.len() {
            9 => {}
            8 => return Err(BsnError::EightDigits),
            _ => return Err(BsnError::WrongLength),
        }
        let value = bytes
            .iter()
            .fold(0u32, |acc, b| acc * 10 + u32::from(b - b'0'));
        Bsn::from_u32(value)
    }

    /// Checks a BSN held as a number (leading zeros implied, so `12345672` is `012345672`).
    pub fn from_u32(value: u32) -> Result<Bsn, BsnError> {
        if value == 0 {
            return Err(BsnError::AllZeros);
        }
        if value > 999_999_999 {
            return Err(BsnError::WrongLength);
        }
        if !elfproef_sum(value).is_multiple_of(11) {
            return Err(BsnError::CheckFailed);
        }
        Ok(Bsn(value))
    }

    /// A BSN that was checked before it was stored as a number by this crate (the consent
    /// provider's prepared words): the 11-check is not repeated on the decision path. A
    /// number that was not checked only ever fails to find a profile, as an unknown BSN does.
    pub(crate) fn from_checked(value: u32) -> Bsn {
        Bsn(value)
    }

    /// The number (what the index stores).
    pub fn get(self) -> u32 {
        self.0
    }

    /// The check digit that makes the eight-digit `prefix` (0..=99_999_999, the first eight
    /// digits of a BSN) pass the 11-check, or `None` where no digit does (the residue would be
    /// 10). Used by the synthetic data generator and by tests.
    pub fn check_digit(prefix: u32) -> Option<u32> {
        if prefix > 99_999_999 {
            return None;
        }
        // 9*d1 + ... + 2*d8 - d9 ≡ 0 (mod 11)  ⇔  d9 ≡ 9*d1 + ... + 2*d8 (mod 11).
        let mut rest = prefix;
        let mut sum = 0u32;
        for weight in 2..=9 {
            sum += weight * (rest % 10);
            rest /= 10;
        }
        let digit = sum % 11;
        (digit < 10).then_some(digit)
    }
}

/// 9*d1 + 8*d2 + ... + 2*d8 - d9 over the nine digits of `value`, offset by 11 to stay
/// unsigned; ≡ 0 (mod 11) exactly when the BSN passes.
fn elfproef_sum(value: u32) -> u32 {
    let mut rest = value;
    // d9 has weight -1: add 10*d9 ≡ -d9 (mod 11).
    let mut sum = 10 * (rest % 10);
    rest /= 10;
    for weight in 2..=9 {
        sum += weight * (rest % 10);
        rest /= 10;
    }
    sum
}

impl fmt::Display for Bsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:09}", self.0)
    }
}

/// `Debug` hides the digits so that a `{:?}` of a record or an error never leaks a BSN into a
/// log or a test failure message printed in CI.
impl fmt::Debug for Bsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Bsn(*********)")
    }
}

/// An organisation's URA (UZI-register abonneenummer): eight digits, shown with leading zeros.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Ura(u32);

/// Why a text is not a valid URA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UraError {
    /// A character other than an ASCII digit, or not exactly eight of them.
    NotEightDigits,
}

impl fmt::Display for UraError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UraError::NotEightDigits => f.write_str(
                "the URA is not eight digits; send the UZI-register subscriber number with its leading zeros, e.g. 00000001",
            ),
        }
    }
}

impl std::error::Error for UraError {}

impl Ura {
    /// 00000001, the URA of the domain model's examples.
    pub const EXAMPLE: Ura = Ura(1);

    /// The largest URA (eight nines).
    pub const MAX: u32 = 99_999_999;

    /// Parses exactly eight ASCII digits.
    pub fn parse(text: &str) -> Result<Ura, UraError> {
        let bytes = text.as_bytes();
        if bytes.len() != 8 || !bytes.iter().all(u8::is_ascii_digit) {
            return Err(UraError::NotEightDigits);
        }
        Ok(Ura(bytes
            .iter()
            .fold(0u32, |acc, b| acc * 10 + u32::from(b - b'0'))))
    }

    /// A URA held as a number (at most 99 999 999).
    pub fn from_u32(value: u32) -> Result<Ura, UraError> {
        if value > Self::MAX {
            return Err(UraError::NotEightDigits);
        }
        Ok(Ura(value))
    }

    /// The number (what the index stores).
    pub fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for Ura {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_test_bsns_pass() {
        // 999990019 is the BSN of the domain model's examples; 111222333 is a classic test BSN.
        for text in ["999990019", "111222333", "123456782"] {
            let bsn = Bsn::parse(text).expect("valid test BSN");
            assert_eq!(bsn.to_string(), text);
        }
    }

    #[test]
    fn leading_zero_is_kept_in_display() {
        let prefix = 1_234_567;
        let digit = Bsn::check_digit(prefix).expect("some digit fits");
        let bsn = Bsn::from_u32(prefix * 10 + digit).expect("valid");
        assert_eq!(bsn.to_string().len(), 9);
        assert!(bsn.to_string().starts_with("01234567"));
        assert_eq!(Bsn::parse(&bsn.to_string()), Ok(bsn));
    }

    #[test]
    fn errors_are_specific_and_never_contain_digits() {
        let cases = [
            ("", BsnError::Empty),
            ("12345678a", BsnError::NotDigits),
            (" 11122233", BsnError::NotDigits),
            ("11122233", BsnError::EightDigits),
            ("1112223334", BsnError::WrongLength),
            ("000000000", BsnError::AllZeros),
            ("111222334", BsnError::CheckFailed),
        ];
        for (text, want) in cases {
            let err = Bsn::parse(text).expect_err(text);
            assert_eq!(err, want, "{text:?}");
            let message = err.to_string();
            assert!(
                !message.chars().any(|c| c.is_ascii_digit() && c != '1'),
                "message should carry no digits except the '11' of 11-check: {message}"
            );
        }
    }

    #[test]
    fn check_digit_agrees_with_the_check() {
        for prefix in (0..99_999_999u32).step_by(7_654_321) {
            match Bsn::check_digit(prefix) {
                Some(d) if prefix != 0 => assert!(Bsn::from_u32(prefix * 10 + d).is_ok()),
                Some(_) => {}
                None => {
                    for d in 0..10 {
                        assert!(Bsn::from_u32(prefix * 10 + d).is_err());
                    }
                }
            }
        }
    }

    #[test]
    fn example_constants_are_valid() {
        assert_eq!(Bsn::parse("999990019"), Ok(Bsn::EXAMPLE));
        assert_eq!(Ura::parse("00000001"), Ok(Ura::EXAMPLE));
    }

    #[test]
    fn debug_hides_the_digits() {
        let bsn = Bsn::parse("999990019").expect("valid");
        assert!(!format!("{bsn:?}").contains("999990019"));
    }

    #[test]
    fn ura_is_eight_digits() {
        assert_eq!(Ura::parse("00000001").map(Ura::get), Ok(1));
        assert_eq!(
            Ura::parse("00000001").map(|u| u.to_string()),
            Ok("00000001".into())
        );
        assert!(Ura::parse("0000001").is_err());
        assert!(Ura::parse("000000001").is_err());
        assert!(Ura::parse("0000000x").is_err());
        assert!(Ura::from_u32(100_000_000).is_err());
    }
}
