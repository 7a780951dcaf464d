//! The cross-document part of compilation: resolving `PolicyIdReference` and
//! `PolicySetIdReference` (with version constraints) into shared compiled nodes, rejecting
//! dangling references and reference cycles, and building each policy set's target index.

use std::collections::HashMap;
use std::sync::Arc;

use super::index::ChildIndex;
use super::model::{PolicyNode, PolicySet};
use super::pdp::PolicyError;
use super::response::PolicyKind;
use super::version::compare_versions;
use super::xml::doc::Position;
use super::xml::policy::{ParsedChild, ParsedDoc, ParsedSet, Reference};

/// A parsed top-level document with the file it came from.
pub(crate) struct LoadedDoc {
    pub file: String,
    pub doc: ParsedDoc,
}

impl LoadedDoc {
    fn kind(&self) -> PolicyKind {
        match self.doc {
            ParsedDoc::Policy(_) => PolicyKind::Policy,
            ParsedDoc::PolicySet(_) => PolicyKind::PolicySet,
        }
    }

    fn id_version(&self) -> (&str, &str) {
        match &self.doc {
            ParsedDoc::Policy(p) => (&p.id, &p.version),
            ParsedDoc::PolicySet(s) => (&s.id, &s.version),
        }
    }
}

/// The deepest chain of policy sets referring to policy sets. Each document's own nesting is
/// bounded by the XML depth limit; references chain documents, and without a bound a hostile
/// set of documents could make resolution and evaluation recurse without limit.
pub const MAX_REFERENCE_DEPTH: usize = 32;

enum Slot {
    Todo,
    InProgress,
    Done(Option<PolicyNode>),
}

/// Resolves every document, returning the compiled node of each (in input order), or the errors.
pub(crate) fn resolve(docs: &[LoadedDoc]) -> Result<Vec<PolicyNode>, Vec<PolicyError>> {
    let mut errors = Vec::new();
    // Two top-level documents with the same kind, id and version are ambiguous.
    let mut seen: HashMap<(PolicyKind, &str, &str), &str> = HashMap::new();
    for d in docs {
        let (id, version) = d.id_version();
        if let Some(first) = seen.insert((d.kind(), id, version), &d.file) {
            errors.push(PolicyError {
                file: d.file.clone(),
                position: Position { line: 1, column: 1 },
                message: format!(
                    "\"{id}\" version {version} is also defined in {first}; each policy id and version may be loaded once"
                ),
            });
        }
    }
    let mut r = Resolver {
        docs,
        slots: docs.iter().map(|_| Slot::Todo).collect(),
        stack: Vec::new(),
        errors: &mut errors,
    };
    let nodes: Vec<Option<PolicyNode>> = (0..docs.len()).map(|i| r.doc(i)).collect();
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(nodes.into_iter().flatten().collect())
}

struct Resolver<'a> {
    docs: &'a [LoadedDoc],
    slots: Vec<Slot>,
    /// The ids being resolved, for cycle messages.
    stack: Vec<String>,
    errors: &'a mut Vec<PolicyError>,
}

impl Resolver<'_> {
    fn doc(&mut self, i: usize) -> Option<PolicyNode> {
        match std::mem::replace(&mut self.slots[i], Slot::InProgress) {
            Slot::Done(node) => {
                self.slots[i] = Slot::Done(node.clone());
                node
            }
            Slot::InProgress => None,
            Slot::Todo => {
                let d = &self.docs[i];
                let node = match &d.doc {
                    ParsedDoc::Policy(p) => Some(PolicyNode::Policy(p.clone())),
                    ParsedDoc::PolicySet(s) => {
                        self.stack.push(s.id.to_string());
                        let set = self.set(s, &d.file);
                        self.stack.pop();
                        set.map(PolicyNode::PolicySet)
                    }
                };
                self.slots[i] = Slot::Done(node.clone());
                node
            }
        }
    }

    fn set(&mut self, s: &ParsedSet, file: &str) -> Option<Arc<PolicySet>> {
        let mut children = Vec::with_capacity(s.children.len());
        let mut ok = true;
        for child in &s.children {
            let node = match child {
                ParsedChild::Policy(p) => Some(PolicyNode::Policy(p.clone())),
                ParsedChild::PolicySet(nested) => self.set(nested, file).map(PolicyNode::PolicySet),
                ParsedChild::Reference(r) => self.reference(r, file),
            };
            match node {
                Some(n) => children.push(n),
                None => ok = false,
            }
        }
        if !ok {
            return None;
        }
        let child_index = ChildIndex::build(children.iter().map(PolicyNode::target));
        Some(Arc::new(PolicySet {
            id: s.id.clone(),
            version: s.version.clone(),
            target: s.target.clone(),
            children,
            algorithm: s.algorithm,
            actions: s.actions.clone(),
            child_index,
        }))
    }

    fn reference(&mut self, r: &Reference, file: &str) -> Option<PolicyNode> {
        let element = match r.kind {
            PolicyKind::Policy => "PolicyIdReference",
            PolicyKind::PolicySet => "PolicySetIdReference",
        };
        // The latest loaded version that satisfies the constraints (section 5.10).
        let best = (0..self.docs.len())
            .filter(|&j| {
                let d = &self.docs[j];
                let (id, version) = d.id_version();
                d.kind() == r.kind && id == r.id && r.version.accepts(version)
            })
            .max_by(|&a, &b| {
                compare_versions(self.docs[a].id_version().1, self.docs[b].id_version().1)
            });
        let Some(j) = best else {
            let what = match r.kind {
                PolicyKind::Policy => "policy",
                PolicyKind::PolicySet => "policy set",
            };
            self.error(file, r.position, format!(
                "<{element}> to \"{}\" matches no loaded {what}{}; load the file that defines it together with this one",
                r.id,
                if r.version == Default::default() { String::new() } else { " with the requested version".to_string() }
            ));
            return None;
        };
        if self.stack.len() >= MAX_REFERENCE_DEPTH {
            self.error(file, r.position, format!(
                "<{element}> to \"{}\" nests policy references more than {MAX_REFERENCE_DEPTH} levels deep; flatten the policy sets",
                r.id
            ));
            return None;
        }
        if let Slot::InProgress = self.slots[j] {
            let mut cycle = self.stack.clone();
            cycle.push(r.id.clone());
            self.error(file, r.position, format!(
                "<{element}> to \"{}\" closes a reference cycle ({}); a policy set cannot contain itself",
                r.id,
                cycle.join(" -> ")
            ));
            return None;
        }
        self.doc(j)
    }

    fn error(&mut self, file: &str, position: Position, message: String) {
        self.errors.push(PolicyError {
            file: file.to_string(),
            position,
            message,
        });
    }
}
