//! The policy administration point's rules: a policy reaches the store only after the active set
//! it would produce compiles, and the loader compiles active sets the same way.
//!
//! An *active set* is the active revision of every stored policy document. Its root (the first
//! document handed to the compiler) is the document whose id is [`DEFAULT_ROOT_POLICY_ID`] (the
//! shipped consent policy set) or the one named by `--root-policy`; the other documents are
//! reachable through `PolicySetIdReference` / `PolicyIdReference`. With a single active
//! document, that document is the root.

use std::sync::Arc;

use pdp_core::consent::catalogue::Catalogue;
use pdp_core::consent::index::ConsentIndex;
use pdp_core::consent::question::ClosedQuestionService;
use pdp_core::xacml::xml::doc::XmlLimits;
use pdp_core::xacml::{CompileOptions, PolicySource};

use crate::live::ActivePolicies;
use crate::store::{ChangeMeta, Store, StoreError, StoredPolicy};

/// The root of the shipped policies (`policies/mitz-consent.xml`).
pub const DEFAULT_ROOT_POLICY_ID: &str = "urn:akkoord:policy-set:mitz-closed-question";

/// Why a policy write was refused.
#[derive(Debug)]
pub enum PapError {
    /// The document is not a policy, or the active set it would produce does not compile; one
    /// message per problem, with `policy-id:line:column` where there is one.
    Invalid(Vec<String>),
    /// The store refused or failed.
    Store(StoreError),
}

impl std::fmt::Display for PapError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PapError::Invalid(errors) => write!(f, "policy refused: {}", errors.join("; ")),
            PapError::Store(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for PapError {}

impl From<StoreError> for PapError {
    fn from(e: StoreError) -> Self {
        PapError::Store(e)
    }
}

/// The `PolicyId` or `PolicySetId` of a policy document's root element.
pub fn document_policy_id(xml: &str) -> Result<String, String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Start(e)) | Ok(quick_xml::events::Event::Empty(e)) => {
                let local = e.local_name();
                let attr = match local.as_ref() {
                    b"PolicySet" => "PolicySetId",
                    b"Policy" => "PolicyId",
                    other => {
                        return Err(format!(
                            "the root element is <{}>; a policy document's root is <Policy> or <PolicySet>",
                            String::from_utf8_lossy(other)
                        ))
                    }
                };
                for a in e.attributes().flatten() {
                    if a.key.local_name().as_ref() == attr.as_bytes() {
                        return a
                            .unescape_value()
                            .map(|v| v.into_owned())
                            .map_err(|e| format!("the {attr} attribute is malformed: {e}"));
                    }
                }
                return Err(format!("the root element has no {attr} attribute"));
            }
            Ok(quick_xml::events::Event::DocType(_)) => {
                return Err("DOCTYPE declarations are not accepted in policies".into())
            }
            Ok(quick_xml::events::Event::Eof) => return Err("the document is empty".into()),
            Err(e) => {
                return Err(format!(
                    "not well-formed XML at byte {}: {e}",
                    reader.error_position()
                ))
            }
            Ok(_) => {}
        }
    }
}

/// Orders an active set root first: `root_id` if present, else the only document.
fn ordered<'a>(active: &'a [StoredPolicy], root_id: &str) -> Result<Vec<&'a StoredPolicy>, String> {
    let root = match active.iter().position(|p| p.policy_id == root_id) {
        Some(i) => i,
        None if active.len() == 1 => 0,
        None if active.is_empty() => return Err("no policy is active".into()),
        None => {
            return Err(format!(
                "none of the {} active policies is the root `{root_id}` (active: {}); activate \
                 it or start the node with --root-policy",
                active.len(),
                active
                    .iter()
                    .map(|p| p.policy_id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        }
    };
    let mut out = Vec::with_capacity(active.len());
    out.push(&active[root]);
    out.extend(
        active
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != root)
            .map(|(_, p)| p),
    );
    Ok(out)
}

/// Compiles an active set against `index` (the node's live index as policy information point).
pub fn compile_active_set(
    active: &[StoredPolicy],
    root_id: &str,
    catalogue: Arc<Catalogue>,
    index: Arc<ConsentIndex>,
    limits: XmlLimits,
) -> Result<ActivePolicies, Vec<String>> {
    let docs = ordered(active, root_id).map_err(|e| vec![e])?;
    let names: Vec<String> = docs
        .iter()
        .map(|p| format!("{}@{}", p.policy_id, p.revision))
        .collect();
    let sources: Vec<PolicySource<'_>> = docs
        .iter()
        .zip(&names)
        .map(|(p, name)| PolicySource { name, text: &p.xml })
        .collect();
    let options = CompileOptions {
        xml_limits: limits,
        ..CompileOptions::default()
    };
    let service = ClosedQuestionService::new(&sources, &options, catalogue, index)
        .map_err(|errors| errors.iter().map(|e| e.to_string()).collect::<Vec<_>>())?;
    Ok(ActivePolicies {
        service,
        revisions: docs
            .iter()
            .map(|p| (p.policy_id.clone(), p.revision))
            .collect(),
    })
}

/// Stores a new revision of a policy document after checking that it compiles together with
/// the active set it would join (when `activate`) or with the current active set replaced at
/// its id (when not, so a later activation is known to compile as of now). Returns
/// `(policy_id, revision)`.
pub fn put_policy_checked(
    store: &mut dyn Store,
    xml: &str,
    activate: bool,
    root_id: &str,
    catalogue: &Arc<Catalogue>,
    meta: &ChangeMeta,
) -> Result<(String, i64), PapError> {
    let policy_id = document_policy_id(xml).map_err(|e| PapError::Invalid(vec![e]))?;
    let mut proposed: Vec<StoredPolicy> = store
        .active_policies()?
        .into_iter()
        .filter(|p| p.policy_id != policy_id)
        .collect();
    proposed.push(StoredPolicy {
        policy_id: policy_id.clone(),
        revision: 0,
        xml: xml.to_string(),
        author: meta.author.clone(),
        created_at: 0,
        active: true,
    });
    check_compiles(&proposed, root_id, catalogue)?;
    let revision = store.put_policy(&policy_id, xml, activate, meta)?;
    Ok((policy_id, revision))
}

/// Activates a stored revision after checking that the resulting active set compiles.
pub fn activate_checked(
    store: &mut dyn Store,
    policy_id: &str,
    revision: i64,
    root_id: &str,
    catalogue: &Arc<Catalogue>,
    meta: &ChangeMeta,
) -> Result<(), PapError> {
    let Some(target) = store.policy(policy_id, revision)? else {
        return Err(PapError::Store(StoreError::Invalid(format!(
            "policy `{policy_id}` has no revision {revision}; list revisions with GET /policies"
        ))));
    };
    let mut proposed: Vec<StoredPolicy> = store
        .active_policies()?
        .into_iter()
        .filter(|p| p.policy_id != policy_id)
        .collect();
    proposed.push(target);
    check_compiles(&proposed, root_id, catalogue)?;
    store.activate_policy(policy_id, revision, meta)?;
    Ok(())
}

fn check_compiles(
    proposed: &[StoredPolicy],
    root_id: &str,
    catalogue: &Arc<Catalogue>,
) -> Result<(), PapError> {
    // Compilation does not read the index's contents; an empty index stands in for the live one.
    let index = Arc::new(ConsentIndex::with_shards(catalogue, 0));
    compile_active_set(
        proposed,
        root_id,
        catalogue.clone(),
        index,
        XmlLimits::default(),
    )
    .map(|_| ())
    .map_err(PapError::Invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_ids_come_from_the_root_element() {
        assert_eq!(
            document_policy_id(include_str!("../../policies/mitz-consent.xml")).expect("id"),
            DEFAULT_ROOT_POLICY_ID
        );
        assert!(document_policy_id("<Request/>")
            .expect_err("not a policy")
            .contains("<Request>"));
        assert!(document_policy_id("<Policy>").is_err());
        assert!(document_policy_id("<!DOCTYPE x><Policy PolicyId='a'/>").is_err());
        assert!(document_policy_id("").is_err());
    }

    #[test]
    fn the_shipped_policy_compiles_as_an_active_set_and_a_broken_one_does_not() {
        let c = Arc::new(
            Catalogue::from_json(include_str!("../../policies/mitz-catalogue.json"))
                .expect("catalogue"),
        );
        let good = StoredPolicy {
            policy_id: DEFAULT_ROOT_POLICY_ID.into(),
            revision: 1,
            xml: include_str!("../../policies/mitz-consent.xml").into(),
            author: "test".into(),
            created_at: 0,
            active: true,
        };
        let index = Arc::new(ConsentIndex::with_shards(&c, 0));
        let active = compile_active_set(
            std::slice::from_ref(&good),
            DEFAULT_ROOT_POLICY_ID,
            c.clone(),
            index,
            XmlLimits::default(),
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            active.revisions,
            vec![(DEFAULT_ROOT_POLICY_ID.to_string(), 1)]
        );
        let mut bad = good.clone();
        bad.xml = bad.xml.replace(
            "urn:oasis:names:tc:xacml:1.0:function:string-is-in",
            "urn:example:no-such-function",
        );
        assert_ne!(
            bad.xml, good.xml,
            "the test edits a function id that exists"
        );
        let errors = check_compiles(&[bad], DEFAULT_ROOT_POLICY_ID, &c).expect_err("refused");
        match errors {
            PapError::Invalid(e) => {
                assert!(e.iter().any(|m| m.contains("no-such-function")), "{e:?}")
            }
            PapError::Store(e) => panic!("{e}"),
        }
    }
}
