//! The combining algorithms of XACML 3.0 Appendix C, including the legacy 1.0/1.1 identifiers.
//!
//! Each algorithm takes the candidate children in document order and a closure that evaluates
//! one child. Evaluation stops as early as the algorithm allows, so a child after a deciding
//! one is never evaluated (its errors cannot leak into the result). The "ordered" variants of
//! the overrides algorithms are the same as the unordered ones here, because this engine always
//! evaluates children in document order.
//!
//! Obligations and advice follow section 7.18: a combined Permit (Deny) carries the obligations
//! of the children that were evaluated and returned Permit (Deny); an Indeterminate or
//! NotApplicable result carries none.

use super::eval::{Ext, Outcome, Verdict};
use super::response::Status;

/// A rule- or policy-combining algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    DenyOverrides,
    PermitOverrides,
    FirstApplicable,
    /// Policy-combining only.
    OnlyOneApplicable,
    DenyUnlessPermit,
    PermitUnlessDeny,
    /// `urn:oasis:names:tc:xacml:1.0:rule-combining-algorithm:deny-overrides` (and 1.1 ordered).
    LegacyDenyOverridesRule,
    /// `urn:oasis:names:tc:xacml:1.0:rule-combining-algorithm:permit-overrides` (and 1.1 ordered).
    LegacyPermitOverridesRule,
    /// `urn:oasis:names:tc:xacml:1.0:policy-combining-algorithm:deny-overrides` (and 1.1 ordered).
    LegacyDenyOverridesPolicy,
    /// `urn:oasis:names:tc:xacml:1.0:policy-combining-algorithm:permit-overrides` (and 1.1 ordered).
    LegacyPermitOverridesPolicy,
}

const RULE: &str = "rule-combining-algorithm:";
const POLICY: &str = "policy-combining-algorithm:";

impl Algorithm {
    /// Resolves a `RuleCombiningAlgId`.
    pub fn rule_algorithm(id: &str) -> Option<Algorithm> {
        let (version, name) = split(id, RULE)?;
        resolve(version, name, false)
    }

    /// Resolves a `PolicyCombiningAlgId`.
    pub fn policy_algorithm(id: &str) -> Option<Algorithm> {
        let (version, name) = split(id, POLICY)?;
        resolve(version, name, true)
    }

    /// Combines the children `candidates` (indexes, in order) with `eval`.
    ///
    /// `OnlyOneApplicable` needs the children's targets and is handled by the evaluator.
    pub(crate) fn combine(
        self,
        candidates: impl Iterator<Item = usize>,
        eval: impl FnMut(usize) -> Outcome,
    ) -> Outcome {
        match self {
            Algorithm::DenyOverrides => overrides(candidates, eval, Verdict::Deny),
            Algorithm::PermitOverrides => overrides(candidates, eval, Verdict::Permit),
            Algorithm::FirstApplicable | Algorithm::OnlyOneApplicable => {
                first_applicable(candidates, eval)
            }
            Algorithm::DenyUnlessPermit => unless(candidates, eval, Verdict::Permit),
            Algorithm::PermitUnlessDeny => unless(candidates, eval, Verdict::Deny),
            Algorithm::LegacyDenyOverridesRule => legacy_rule(candidates, eval, Verdict::Deny),
            Algorithm::LegacyPermitOverridesRule => legacy_rule(candidates, eval, Verdict::Permit),
            Algorithm::LegacyDenyOverridesPolicy => legacy_policy(candidates, eval, Verdict::Deny),
            Algorithm::LegacyPermitOverridesPolicy => {
                legacy_policy(candidates, eval, Verdict::Permit)
            }
        }
    }
}

fn split<'a>(id: &'a str, kind: &str) -> Option<(&'a str, &'a str)> {
    let rest = id.strip_prefix("urn:oasis:names:tc:xacml:")?;
    let (version, rest) = rest.split_once(':')?;
    Some((version, rest.strip_prefix(kind)?))
}

fn resolve(version: &str, name: &str, policy: bool) -> Option<Algorithm> {
    use Algorithm::*;
    Some(match (version, name) {
        ("3.0", "deny-overrides" | "ordered-deny-overrides") => DenyOverrides,
        ("3.0", "permit-overrides" | "ordered-permit-overrides") => PermitOverrides,
        ("3.0", "deny-unless-permit") => DenyUnlessPermit,
        ("3.0", "permit-unless-deny") => PermitUnlessDeny,
        ("1.0", "first-applicable") => FirstApplicable,
        ("1.0", "only-one-applicable") if policy => OnlyOneApplicable,
        ("1.0", "deny-overrides") | ("1.1", "ordered-deny-overrides") => {
            if policy {
                LegacyDenyOverridesPolicy
            } else {
                LegacyDenyOverridesRule
            }
        }
        ("1.0", "permit-overrides") | ("1.1", "ordered-permit-overrides") => {
            if policy {
                LegacyPermitOverridesPolicy
            } else {
                LegacyPermitOverridesRule
            }
        }
        _ => return None,
    })
}

/// First status seen for each extended Indeterminate kind.
#[derive(Default)]
struct Errors {
    d: Option<Box<Status>>,
    p: Option<Box<Status>>,
    dp: Option<Box<Status>>,
}

impl Errors {
    fn note(&mut self, ext: Ext, status: Box<Status>) {
        let slot = match ext {
            Ext::D => &mut self.d,
            Ext::P => &mut self.p,
            Ext::DP => &mut self.dp,
        };
        slot.get_or_insert(status);
    }
}

/// deny-overrides (`winner` = Deny) and permit-overrides (`winner` = Permit), C.2–C.5.
fn overrides(
    candidates: impl Iterator<Item = usize>,
    mut eval: impl FnMut(usize) -> Outcome,
    winner: Verdict,
) -> Outcome {
    let loser = winner.opposite();
    let mut errors = Errors::default();
    let mut losing: Option<Outcome> = None;
    for i in candidates {
        let o = eval(i);
        if o.verdict == winner {
            return o;
        }
        if o.verdict == loser {
            merge_into(&mut losing, o);
            continue;
        }
        if let Verdict::Indeterminate(ext, status) = o.verdict {
            errors.note(ext, status);
        }
    }
    // In the spec's terms for deny-overrides: W = D, L = P.
    let (err_w, err_l) = if winner == Verdict::Deny {
        (errors.d, errors.p)
    } else {
        (errors.p, errors.d)
    };
    if let Some(s) = errors.dp {
        return Outcome::indeterminate(Ext::DP, s);
    }
    if let Some(s) = err_w {
        if err_l.is_some() || losing.is_some() {
            return Outcome::indeterminate(Ext::DP, s);
        }
        return Outcome::indeterminate(winner.ext(), s);
    }
    if let Some(o) = losing {
        return o;
    }
    if let Some(s) = err_l {
        return Outcome::indeterminate(loser.ext(), s);
    }
    Outcome::not_applicable()
}

/// first-applicable, C.8.
fn first_applicable(
    candidates: impl Iterator<Item = usize>,
    mut eval: impl FnMut(usize) -> Outcome,
) -> Outcome {
    for i in candidates {
        let o = eval(i);
        if o.verdict != Verdict::NotApplicable {
            return o;
        }
    }
    Outcome::not_applicable()
}

/// deny-unless-permit (`winner` = Permit) and permit-unless-deny (`winner` = Deny), C.6–C.7.
fn unless(
    candidates: impl Iterator<Item = usize>,
    mut eval: impl FnMut(usize) -> Outcome,
    winner: Verdict,
) -> Outcome {
    let mut fallback = Outcome::of(winner.opposite());
    for i in candidates {
        let o = eval(i);
        if o.verdict == winner {
            return o;
        }
        if o.verdict == winner.opposite() {
            fallback.absorb(o);
        }
    }
    fallback
}

/// Legacy 1.0 rule deny-overrides / permit-overrides (C.10, C.12).
fn legacy_rule(
    candidates: impl Iterator<Item = usize>,
    mut eval: impl FnMut(usize) -> Outcome,
    winner: Verdict,
) -> Outcome {
    let loser = winner.opposite();
    let mut potential_winner: Option<Box<Status>> = None;
    let mut error: Option<Box<Status>> = None;
    let mut losing: Option<Outcome> = None;
    for i in candidates {
        let o = eval(i);
        if o.verdict == winner {
            return o;
        }
        if o.verdict == loser {
            merge_into(&mut losing, o);
            continue;
        }
        if let Verdict::Indeterminate(ext, status) = o.verdict {
            // A rule's Indeterminate is {D} or {P} after its effect.
            if ext == winner.ext() || ext == Ext::DP {
                potential_winner.get_or_insert(status);
            } else {
                error.get_or_insert(status);
            }
        }
    }
    if let Some(s) = potential_winner {
        return Outcome::indeterminate(Ext::DP, s);
    }
    if let Some(o) = losing {
        return o;
    }
    if let Some(s) = error {
        return Outcome::indeterminate(loser.ext(), s);
    }
    Outcome::not_applicable()
}

/// Legacy 1.0 policy deny-overrides / permit-overrides (C.11, C.13).
fn legacy_policy(
    candidates: impl Iterator<Item = usize>,
    mut eval: impl FnMut(usize) -> Outcome,
    winner: Verdict,
) -> Outcome {
    let loser = winner.opposite();
    let mut error: Option<Box<Status>> = None;
    let mut losing: Option<Outcome> = None;
    for i in candidates {
        let o = eval(i);
        if o.verdict == winner {
            return o;
        }
        if o.verdict == loser {
            merge_into(&mut losing, o);
            continue;
        }
        if let Verdict::Indeterminate(_, status) = o.verdict {
            if winner == Verdict::Deny {
                // Legacy deny-overrides: an Indeterminate policy counts as Deny.
                return Outcome::of(Verdict::Deny);
            }
            error.get_or_insert(status);
        }
    }
    if let Some(o) = losing {
        return o;
    }
    if let Some(s) = error {
        return Outcome::indeterminate(Ext::DP, s);
    }
    Outcome::not_applicable()
}

fn merge_into(acc: &mut Option<Outcome>, o: Outcome) {
    match acc {
        Some(a) => a.absorb(o),
        None => *acc = Some(o),
    }
}

#[cfg(test)]
mod tests {
    //! The combining algorithms against the decision tables of XACML 3.0 Appendix C, with
    //! children given as fixed outcomes.

    use super::*;
    use crate::xacml::response::{PolicyAction, StatusCode};
    use std::sync::Arc;

    const P: u8 = 0;
    const D: u8 = 1;
    const NA: u8 = 2;
    const ID: u8 = 3; // Indeterminate{D}
    const IP: u8 = 4; // Indeterminate{P}
    const IDP: u8 = 5; // Indeterminate{DP}

    fn outcome(code: u8, n: usize) -> Outcome {
        let status = || {
            Box::new(Status::new(
                StatusCode::ProcessingError,
                format!("child {n}"),
            ))
        };
        let mut o = match code {
            P => Outcome::of(Verdict::Permit),
            D => Outcome::of(Verdict::Deny),
            NA => Outcome::not_applicable(),
            ID => Outcome::indeterminate(Ext::D, status()),
            IP => Outcome::indeterminate(Ext::P, status()),
            _ => Outcome::indeterminate(Ext::DP, status()),
        };
        if code == P || code == D {
            o.obligations.push(Arc::new(PolicyAction {
                id: Arc::from(format!("ob{n}")),
                assignments: Arc::new([]),
            }));
        }
        o
    }

    /// Runs `alg` over children with these outcomes; returns the verdict kind, the obligation
    /// ids and which children were evaluated.
    fn run(alg: Algorithm, children: &[u8]) -> (String, Vec<String>, Vec<usize>) {
        let mut evaluated = Vec::new();
        let o = alg.combine(0..children.len(), |i| {
            evaluated.push(i);
            outcome(children[i], i)
        });
        let v = match o.verdict {
            Verdict::Permit => "P".to_string(),
            Verdict::Deny => "D".to_string(),
            Verdict::NotApplicable => "NA".to_string(),
            Verdict::Indeterminate(Ext::D, _) => "ID".to_string(),
            Verdict::Indeterminate(Ext::P, _) => "IP".to_string(),
            Verdict::Indeterminate(Ext::DP, _) => "IDP".to_string(),
        };
        let obs = o.obligations.iter().map(|a| a.id.to_string()).collect();
        (v, obs, evaluated)
    }

    fn verdict(alg: Algorithm, children: &[u8]) -> String {
        run(alg, children).0
    }

    #[test]
    fn algorithm_identifiers_resolve() {
        use Algorithm::*;
        let r = |s: &str| Algorithm::rule_algorithm(s);
        let p = |s: &str| Algorithm::policy_algorithm(s);
        assert_eq!(
            r("urn:oasis:names:tc:xacml:3.0:rule-combining-algorithm:deny-overrides"),
            Some(DenyOverrides)
        );
        assert_eq!(
            r("urn:oasis:names:tc:xacml:3.0:rule-combining-algorithm:ordered-permit-overrides"),
            Some(PermitOverrides)
        );
        assert_eq!(
            r("urn:oasis:names:tc:xacml:1.0:rule-combining-algorithm:first-applicable"),
            Some(FirstApplicable)
        );
        assert_eq!(
            r("urn:oasis:names:tc:xacml:1.0:rule-combining-algorithm:only-one-applicable"),
            None
        );
        assert_eq!(
            p("urn:oasis:names:tc:xacml:1.0:policy-combining-algorithm:only-one-applicable"),
            Some(OnlyOneApplicable)
        );
        assert_eq!(
            r("urn:oasis:names:tc:xacml:1.0:rule-combining-algorithm:deny-overrides"),
            Some(LegacyDenyOverridesRule)
        );
        assert_eq!(
            r("urn:oasis:names:tc:xacml:1.1:rule-combining-algorithm:ordered-permit-overrides"),
            Some(LegacyPermitOverridesRule)
        );
        assert_eq!(
            p("urn:oasis:names:tc:xacml:1.0:policy-combining-algorithm:deny-overrides"),
            Some(LegacyDenyOverridesPolicy)
        );
        assert_eq!(
            p("urn:oasis:names:tc:xacml:1.1:policy-combining-algorithm:ordered-permit-overrides"),
            Some(LegacyPermitOverridesPolicy)
        );
        assert_eq!(
            p("urn:oasis:names:tc:xacml:3.0:policy-combining-algorithm:deny-unless-permit"),
            Some(DenyUnlessPermit)
        );
        assert_eq!(
            p("urn:oasis:names:tc:xacml:3.0:policy-combining-algorithm:permit-unless-deny"),
            Some(PermitUnlessDeny)
        );
        assert_eq!(
            r("urn:oasis:names:tc:xacml:3.0:rule-combining-algorithm:nope"),
            None
        );
        assert_eq!(
            r("urn:oasis:names:tc:xacml:3.0:policy-combining-algorithm:deny-overrides"),
            None
        );
    }

    // C.2 deny-overrides.
    #[test]
    fn deny_overrides_table() {
        let a = Algorithm::DenyOverrides;
        assert_eq!(verdict(a, &[]), "NA");
        assert_eq!(verdict(a, &[NA, NA]), "NA");
        assert_eq!(verdict(a, &[P, D, P]), "D");
        assert_eq!(verdict(a, &[ID, D]), "D");
        assert_eq!(verdict(a, &[IDP, P]), "IDP");
        assert_eq!(verdict(a, &[ID, P]), "IDP");
        assert_eq!(verdict(a, &[ID, IP]), "IDP");
        assert_eq!(verdict(a, &[ID, NA]), "ID");
        assert_eq!(verdict(a, &[IP, P]), "P");
        assert_eq!(verdict(a, &[IP, NA]), "IP");
        // Evaluation stops at the first Deny.
        let (_, obs, evaluated) = run(a, &[P, D, D]);
        assert_eq!(evaluated, vec![0, 1]);
        assert_eq!(obs, vec!["ob1"]);
        // A Permit carries the obligations of every Permit child.
        let (v, obs, _) = run(a, &[P, NA, P]);
        assert_eq!(
            (v.as_str(), obs),
            ("P", vec!["ob0".to_string(), "ob2".to_string()])
        );
    }

    // C.4 permit-overrides.
    #[test]
    fn permit_overrides_table() {
        let a = Algorithm::PermitOverrides;
        assert_eq!(verdict(a, &[D, P, D]), "P");
        assert_eq!(verdict(a, &[IP, D]), "IDP");
        assert_eq!(verdict(a, &[IP, ID]), "IDP");
        assert_eq!(verdict(a, &[IP]), "IP");
        assert_eq!(verdict(a, &[ID, D]), "D");
        assert_eq!(verdict(a, &[ID]), "ID");
        assert_eq!(verdict(a, &[IDP, D]), "IDP");
        let (v, obs, _) = run(a, &[D, D]);
        assert_eq!((v.as_str(), obs.len()), ("D", 2));
    }

    // C.6/C.7 deny-unless-permit and permit-unless-deny never return NA or Indeterminate.
    #[test]
    fn unless_algorithms() {
        assert_eq!(verdict(Algorithm::DenyUnlessPermit, &[]), "D");
        assert_eq!(verdict(Algorithm::DenyUnlessPermit, &[IDP, NA, IP]), "D");
        assert_eq!(verdict(Algorithm::DenyUnlessPermit, &[D, ID, P]), "P");
        assert_eq!(verdict(Algorithm::PermitUnlessDeny, &[]), "P");
        assert_eq!(verdict(Algorithm::PermitUnlessDeny, &[P, IDP, D]), "D");
        let (_, obs, _) = run(Algorithm::DenyUnlessPermit, &[D, NA, D]);
        assert_eq!(obs, vec!["ob0", "ob2"]);
    }

    // C.8 first-applicable.
    #[test]
    fn first_applicable() {
        let a = Algorithm::FirstApplicable;
        assert_eq!(verdict(a, &[NA, D, P]), "D");
        assert_eq!(verdict(a, &[NA, IP, P]), "IP");
        assert_eq!(verdict(a, &[NA, NA]), "NA");
        let (_, _, evaluated) = run(a, &[NA, P, D]);
        assert_eq!(evaluated, vec![0, 1]);
    }

    // C.10/C.12 legacy rule algorithms.
    #[test]
    fn legacy_rule_algorithms() {
        let a = Algorithm::LegacyDenyOverridesRule;
        assert_eq!(verdict(a, &[P, D]), "D");
        assert_eq!(verdict(a, &[ID, P]), "IDP"); // potential deny
        assert_eq!(verdict(a, &[IP, P]), "P");
        assert_eq!(verdict(a, &[IP, NA]), "IP");
        assert_eq!(verdict(a, &[NA]), "NA");
        let b = Algorithm::LegacyPermitOverridesRule;
        assert_eq!(verdict(b, &[D, P]), "P");
        assert_eq!(verdict(b, &[IP, D]), "IDP"); // potential permit
        assert_eq!(verdict(b, &[ID, D]), "D");
        assert_eq!(verdict(b, &[ID]), "ID");
    }

    // C.11/C.13 legacy policy algorithms.
    #[test]
    fn legacy_policy_algorithms() {
        let a = Algorithm::LegacyDenyOverridesPolicy;
        assert_eq!(verdict(a, &[P, IP]), "D"); // an Indeterminate policy counts as Deny
        assert_eq!(verdict(a, &[P, NA]), "P");
        assert_eq!(verdict(a, &[NA]), "NA");
        let b = Algorithm::LegacyPermitOverridesPolicy;
        assert_eq!(verdict(b, &[ID, D]), "D");
        assert_eq!(verdict(b, &[ID, NA]), "IDP");
        assert_eq!(verdict(b, &[D, P]), "P");
    }
}
