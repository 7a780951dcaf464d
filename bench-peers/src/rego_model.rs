//! The consent semantics in Rego, evaluated by Regorus.
//!
//! # Data shape (loaded once as `data`)
//!
//! ```json
//! { "covered_by": { "GGC012": { "GGC002": true, "GGC012": true }, ... },
//!   "citizens": { "<bsn>": { "ind": { "<ura>": [record, ...] },
//!                            "cat": { "<holder category>": [record, ...] } } } }
//! ```
//!
//! with `record = {"dc": "GGC002", "consulting": {"RPZAC001": true}, "choice": "no"|"nue"|"yes",
//! "from": n, "until": n}`. Like a Rego author writing for speed, the host indexes the records by
//! citizen and holder, so the policy looks up the one or two short lists that can apply instead
//! of scanning every record of the citizen; consulting sets and the hierarchy are objects so that
//! membership is a lookup. Open validity bounds are ±2^53 (exact in every JSON number reader).
//! Records of minors that are pending or rejected can never count and are left out (as for
//! Cedar: only in the peers' favour).
//!
//! # Modes
//!
//! Regorus offers three ways to evaluate; all three are built, checked and timed:
//! - [`RegoMode::Interpreter`]: `Engine::eval_rule` (the tree-walking interpreter);
//! - [`RegoMode::Compiled`]: `CompiledPolicy::eval_with_input` (the interpreter with the
//!   policy prepared once for one entry point);
//! - [`RegoMode::Rvm`]: the policy compiled to a Regorus Virtual Machine program
//!   (`regorus::rvm`, register-based bytecode), run by a `RegoVM` that keeps the program and
//!   the data loaded and only gets a new `input` per question.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::Arc;

use regorus::languages::rego::compiler::Compiler;
use regorus::rvm::program::Program;
use regorus::rvm::vm::RegoVM;
use regorus::{CompiledPolicy, Engine, Rc, Value};
use serde_json::{json, Map};

use crate::model::{Hierarchy, Holder, Outcome, Question, Record};

/// The decision rules of domain §8 in Rego. `decision` is always defined.
pub const POLICY: &str = r#"
package mitz

import rego.v1

# Choices of the effective records in `records` that cover the asked data category and
# include the requester's consulting category.
choices(records) := {r.choice |
	some r in records
	r.from <= input.now
	input.now < r.until
	data.covered_by[input.dc][r.dc]
	r.consulting[input.consulting]
}

# The citizen's profile, looked up once per question (a rule's value is cached for the
# evaluation; `data.citizens` is a large ordered map, so each lookup costs).
citizen := data.citizens[input.bsn]

individual := choices(citizen.ind[input.ura]) if {
	citizen.ind[input.ura]
} else := set()

categorical := choices(citizen.cat[input.cat]) if {
	citizen.cat[input.cat]
} else := set()

# One level decides as soon as it has an applicable choice: "no" wins, then
# "no unless emergency" (permit with the inform obligation only for ETREAT), then "yes".
level(s) := {"permit": false, "obligation": false, "advice": false} if {
	"no" in s
} else := {"permit": true, "obligation": true, "advice": false} if {
	"nue" in s
	input.purpose == "ETREAT"
} else := {"permit": false, "obligation": false, "advice": false} if {
	"nue" in s
} else := {"permit": true, "obligation": false, "advice": false}

decision := level(individual) if {
	count(individual) > 0
} else := level(categorical) if {
	count(categorical) > 0
} else := {"permit": true, "obligation": false, "advice": false} if {
	input.purpose == "COC"
} else := {"permit": false, "obligation": false, "advice": true}
"#;

/// The rule every mode evaluates.
pub const ENTRY_POINT: &str = "data.mitz.decision";

/// Open validity bounds (exactly representable as f64).
const OPEN: i64 = 1 << 53;

/// Which Regorus evaluator to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegoMode {
    Interpreter,
    Compiled,
    Rvm,
}

impl RegoMode {
    pub const ALL: [RegoMode; 3] = [RegoMode::Interpreter, RegoMode::Compiled, RegoMode::Rvm];

    /// Short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            RegoMode::Interpreter => "regorus-interpreter",
            RegoMode::Compiled => "regorus-compiled",
            RegoMode::Rvm => "regorus-rvm",
        }
    }
}

/// Why a Rego engine could not be built or gave no decision.
#[derive(Debug)]
pub struct RegoError(pub String);

impl std::fmt::Display for RegoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "regorus: {}", self.0)
    }
}

impl std::error::Error for RegoError {}

fn err(e: impl std::fmt::Display) -> RegoError {
    RegoError(e.to_string())
}

/// The `data` document of the module doc, built from the citizens' records.
pub fn build_data<'a>(
    citizens: impl IntoIterator<Item = (&'a String, &'a Vec<Record>)>,
    hierarchy: &Hierarchy,
    data_categories: &[String],
) -> Value {
    let mut covered_by = Map::new();
    for asked in data_categories {
        let by: Map<String, serde_json::Value> = hierarchy
            .covering(asked)
            .into_iter()
            .map(|c| (c, json!(true)))
            .collect();
        covered_by.insert(asked.clone(), serde_json::Value::Object(by));
    }
    let mut people = Map::new();
    for (bsn, records) in citizens {
        let mut ind: Map<String, serde_json::Value> = Map::new();
        let mut cat: Map<String, serde_json::Value> = Map::new();
        for r in records.iter().filter(|r| r.minor.counts()) {
            let consulting: Map<String, serde_json::Value> = r
                .consulting
                .iter()
                .map(|c| (c.clone(), json!(true)))
                .collect();
            let value = json!({
                "dc": r.data_category,
                "consulting": consulting,
                "choice": r.choice.code(),
                "from": r.valid_from.unwrap_or(-OPEN),
                "until": r.valid_until.unwrap_or(OPEN),
            });
            let (map, key) = match &r.holder {
                Holder::Organisation(ura) => (&mut ind, ura),
                Holder::Category(c) => (&mut cat, c),
            };
            if let serde_json::Value::Array(list) =
                map.entry(key.clone()).or_insert_with(|| json!([]))
            {
                list.push(value);
            }
        }
        people.insert(bsn.clone(), json!({ "ind": ind, "cat": cat }));
    }
    Value::from(json!({ "covered_by": covered_by, "citizens": people }))
}

/// The `input` document for one question.
pub fn input(q: &Question) -> Value {
    let mut map = BTreeMap::new();
    map.insert(Value::from("bsn"), Value::from(q.bsn.as_str()));
    map.insert(Value::from("ura"), Value::from(q.holder_ura.as_str()));
    map.insert(Value::from("cat"), Value::from(q.holder_category.as_str()));
    map.insert(Value::from("dc"), Value::from(q.data_category.as_str()));
    map.insert(
        Value::from("consulting"),
        Value::from(q.consulting.as_str()),
    );
    map.insert(Value::from("purpose"), Value::from(q.purpose.code()));
    map.insert(Value::from("now"), Value::from(q.now));
    Value::from(map)
}

/// Reads the `{"permit", "obligation", "advice"}` object the policy returns.
fn outcome(v: &Value) -> Result<Outcome, RegoError> {
    let flag = |name: &str| -> Result<bool, RegoError> {
        v[name]
            .as_bool()
            .copied()
            .map_err(|e| RegoError(format!("result field {name}: {e} (result {v})")))
    };
    Ok(Outcome {
        permit: flag("permit")?,
        obligation: flag("obligation")?,
        advice: flag("advice")?,
    })
}

enum Evaluator {
    Interpreter(Engine),
    Compiled(CompiledPolicy),
    Rvm(RegoVM),
}

/// One Regorus evaluator with the policy and the data loaded.
pub struct RegoEngine {
    mode: RegoMode,
    /// Interior mutability: the interpreter and the VM need `&mut self` to evaluate, the
    /// comparison and the benches share engines by reference.
    evaluator: RefCell<Evaluator>,
}

impl RegoEngine {
    /// Loads the policy and `data` into a new evaluator of the given mode.
    pub fn new(mode: RegoMode, data: Value) -> Result<RegoEngine, RegoError> {
        let mut engine = Engine::new();
        engine
            .add_policy("mitz.rego".to_string(), POLICY.to_string())
            .map_err(err)?;
        let evaluator = match mode {
            RegoMode::Interpreter => {
                engine.add_data(data).map_err(err)?;
                Evaluator::Interpreter(engine)
            }
            RegoMode::Compiled => {
                engine.add_data(data).map_err(err)?;
                let entry: Rc<str> = ENTRY_POINT.into();
                Evaluator::Compiled(engine.compile_with_entrypoint(&entry).map_err(err)?)
            }
            RegoMode::Rvm => {
                let entry: Rc<str> = ENTRY_POINT.into();
                let compiled = engine.compile_with_entrypoint(&entry).map_err(err)?;
                let program: Arc<Program> =
                    Compiler::compile_from_policy(&compiled, &[ENTRY_POINT]).map_err(err)?;
                let mut vm = RegoVM::new();
                vm.load_program(program);
                vm.set_data(data).map_err(err)?;
                Evaluator::Rvm(vm)
            }
        };
        Ok(RegoEngine {
            mode,
            evaluator: RefCell::new(evaluator),
        })
    }

    pub fn mode(&self) -> RegoMode {
        self.mode
    }

    /// Decides one question given its prepared `input` document.
    pub fn decide(&self, input: &Value) -> Result<Outcome, RegoError> {
        let mut evaluator = self.evaluator.borrow_mut();
        let result = match &mut *evaluator {
            Evaluator::Interpreter(engine) => {
                engine.set_input(input.clone());
                engine.eval_rule(ENTRY_POINT.to_string()).map_err(err)?
            }
            Evaluator::Compiled(policy) => policy.eval_with_input(input.clone()).map_err(err)?,
            Evaluator::Rvm(vm) => {
                vm.set_input(input.clone());
                vm.execute().map_err(err)?
            }
        };
        outcome(&result)
    }
}
