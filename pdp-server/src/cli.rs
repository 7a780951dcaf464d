//! The `akkoord` command line: the node (`serve`), and offline evaluation and validation of
//! XACML policies.
//!
//! The CLI only reads files, calls `pdp-core` and prints; every decision is the engine's. Input
//! problems never panic: they print a message naming the file (and line:column where there is
//! one) on stderr and give exit status 1; usage errors give 2.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;

use clap::{Parser, Subcommand};
use pdp_core::xacml::pdp::{CompileOptions, Pdp, PolicySource};
use pdp_core::xacml::request::RequestTime;
use pdp_core::xacml::xml::doc::XmlLimits;
use pdp_core::xacml::xml::request::parse_request;
use pdp_core::xacml::xml::response::write_response;

/// Exit status for invalid input files (unreadable, malformed, invalid policy or request).
/// Usage errors (unknown option, missing argument) exit with 2, through clap.
pub const EXIT_INVALID_INPUT: u8 = 1;

/// Akkoord: an XACML 3.0 policy decision point.
#[derive(Debug, Parser)]
#[command(
    name = "akkoord",
    version,
    about = "Akkoord: an XACML 3.0 policy decision point (offline evaluation, policy checks, consent import)",
    after_help = "Examples:\n  \
        akkoord eval --policy policies/examples/hospital-records.xml \\\n      \
        --request fixtures/requests/hospital-physician-reads-record.xml\n  \
        akkoord check policies/examples/hospital-records.xml\n\n\
        Exit status: 0 on success, 1 for invalid input (unreadable file, malformed or invalid \
        policy or request), 2 for usage errors."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Evaluate one XACML 3.0 XML request against policies and print the XML response.
    ///
    /// The first --policy is the root policy (or policy set); the others are only reachable
    /// through PolicyIdReference / PolicySetIdReference. The request is evaluated at the
    /// current system time.
    Eval {
        /// Policy files: the root first, then the policies it references.
        #[arg(long = "policy", value_name = "FILE", num_args = 1.., required = true)]
        policies: Vec<PathBuf>,
        /// The request file: an XACML 3.0 XML request, or a SOAP 1.2 closed question (Mitz
        /// XACMLAuthzDecisionQuery), which is answered with the SOAP answer.
        #[arg(long, value_name = "FILE")]
        request: PathBuf,
        /// For a closed question: the consent data (NDJSON of FHIR Consent, as `akkoord gen`
        /// writes). Without it the consent index is empty.
        #[arg(long, value_name = "FILE")]
        consents: Option<PathBuf>,
        /// For a closed question: the consent catalogue.
        #[arg(
            long,
            value_name = "FILE",
            default_value = "policies/mitz-catalogue.json"
        )]
        catalogue: PathBuf,
        /// Evaluate at this moment (seconds since the Unix epoch) instead of now.
        #[arg(long, value_name = "UNIX_SECONDS")]
        at: Option<i64>,
        #[command(flatten)]
        xml: XmlOptions,
    },
    /// Validate policy files (loaded together, so references between them resolve) and print
    /// every error as file:line:column: message.
    Check {
        /// Policy files; the first is the root.
        #[arg(value_name = "FILE", required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        xml: XmlOptions,
    },
    /// Write a synthetic national consent data set (NDJSON, one FHIR R4 Consent per line),
    /// deterministic from the seed. Progress goes to stderr every million lines.
    Gen {
        /// Number of citizens (about two records each).
        #[arg(long, value_name = "N")]
        citizens: u64,
        /// Seed of the data set: the same seed and size give the same file.
        #[arg(long, value_name = "S", default_value_t = 1)]
        seed: u64,
        /// Output file (default: stdout).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// The consent catalogue.
        #[arg(
            long,
            value_name = "FILE",
            default_value = "policies/mitz-catalogue.json"
        )]
        catalogue: PathBuf,
    },
    /// Load every consent and the active policies from the store into a fresh index, as a node
    /// does at start, and report the rate and memory (then exit).
    Load {
        #[command(flatten)]
        store: StoreOptions,
        /// Id of the root policy document of the active set.
        #[arg(long, value_name = "ID", default_value = crate::pap::DEFAULT_ROOT_POLICY_ID)]
        root_policy: String,
    },
    /// Run a PDP node: the HTTP API (decisions, consent registration, PAP, health, metrics)
    /// over the store, kept in sync by the loader. Prints `akkoord listening on http://ADDR`
    /// once listening; stops on SIGINT/SIGTERM after the requests in flight.
    Serve {
        #[command(flatten)]
        store: StoreOptions,
        /// Id of the root policy document of the active set.
        #[arg(long, value_name = "ID", default_value = crate::pap::DEFAULT_ROOT_POLICY_ID)]
        root_policy: String,
        /// Address to listen on; port 0 picks a free port (see the printed address).
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
        listen: String,
        /// This node's name in the store's loader-progress table and the logs (default:
        /// hostname-pid).
        #[arg(long, value_name = "NAME")]
        node: Option<String>,
        /// Poll the change log at least every N milliseconds (default: 100 for SQLite, 1000
        /// for PostgreSQL, which also wakes on NOTIFY).
        #[arg(long, value_name = "N")]
        poll_ms: Option<u64>,
        /// Largest request body accepted, in bytes (larger ones get 413).
        #[arg(long, value_name = "BYTES", default_value_t = crate::http::DEFAULT_MAX_BODY)]
        max_body: usize,
        /// Register the demo consents (fixtures/consents/demo.ndjson) when the store holds no
        /// consents.
        #[arg(long)]
        demo: bool,
        /// Closed-question message shapes to keep (each client form's later questions are read
        /// by comparing bytes instead of parsing; see the README). 0 parses every question in
        /// full.
        #[arg(long, value_name = "N", default_value_t = pdp_core::protocol::shape::DEFAULT_CAPACITY)]
        shape_capacity: usize,
    },
    /// Import consents (NDJSON of FHIR R4 Consent, as `akkoord gen` writes) into the store:
    /// streamed, idempotent and resumable.
    ///
    /// Running a file again changes nothing; an interrupted import (killed, store outage)
    /// resumes after the last committed batch when run again. Lines that are not usable
    /// Consents are reported with their line number and skipped, and all of them are written
    /// to FILE.rejected.txt. Exit status 0 when the import got to the end of the file (even
    /// with rejected lines), 1 when it could not.
    Import {
        #[command(flatten)]
        store: StoreOptions,
        /// The NDJSON file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Records per store transaction.
        #[arg(long, value_name = "N", default_value_t = crate::import::DEFAULT_BATCH_SIZE,
              value_parser = clap::value_parser!(usize))]
        batch_size: usize,
        /// Author recorded in the change log (default: import:FILE_NAME).
        #[arg(long, value_name = "NAME")]
        author: Option<String>,
        /// No progress bar or progress lines on stderr (the final report is still printed).
        #[arg(long)]
        no_progress: bool,
        /// Parser threads (default: the number of cores).
        #[arg(long, value_name = "N")]
        threads: Option<usize>,
        /// Where rejected lines are appended (default: FILE.rejected.txt).
        #[arg(long, value_name = "FILE")]
        rejected: Option<PathBuf>,
        /// At most this many lines per second (pauses after each batch), to spare a store
        /// that serves production while a large file goes in. Default: as fast as it goes.
        #[arg(long, value_name = "LINES_PER_SECOND",
              value_parser = clap::value_parser!(u64).range(1..))]
        max_rate: Option<u64>,
    },
}

/// Where the store and the catalogue are: shared by the subcommands that use a store.
#[derive(Debug, clap::Args)]
pub struct StoreOptions {
    /// The store: `postgres://USER:PASSWORD@HOST:PORT/DB`, `sqlite:PATH` or a path (default:
    /// DATABASE_URL, else the SQLite file akkoord.db).
    #[arg(long = "store", value_name = "URL")]
    pub url: Option<String>,
    /// The consent catalogue.
    #[arg(
        long,
        value_name = "FILE",
        default_value = "policies/mitz-catalogue.json"
    )]
    pub catalogue: PathBuf,
}

impl StoreOptions {
    fn url(&self) -> crate::store::StoreUrl {
        crate::store::StoreUrl::from_config(self.url.as_deref())
    }
}

/// Options of the XML loader shared by the subcommands.
#[derive(Debug, clap::Args)]
pub struct XmlOptions {
    /// Maximum element nesting depth of every XML document.
    #[arg(long, value_name = "N", default_value_t = XmlLimits::default().max_depth,
          value_parser = clap::value_parser!(usize))]
    pub max_depth: usize,
}

impl XmlOptions {
    fn limits(&self) -> XmlLimits {
        XmlLimits {
            max_depth: self.max_depth,
            ..XmlLimits::default()
        }
    }
}

/// Runs a parsed command line and returns the process exit status.
pub fn run(cli: Cli) -> ExitCode {
    let outcome = match cli.command {
        Command::Eval {
            policies,
            request,
            consents,
            catalogue,
            at,
            xml,
        } => {
            let time = at.map_or_else(now, |secs| RequestTime {
                unix_secs: secs,
                nanos: 0,
            });
            eval(
                &policies,
                &request,
                consents.as_deref(),
                &catalogue,
                time,
                &xml.limits(),
            )
        }
        Command::Check { files, xml } => check(&files, &xml.limits()),
        Command::Gen {
            citizens,
            seed,
            out,
            catalogue,
        } => crate::gen::run(citizens, seed, out.as_deref(), &catalogue).map_err(Failure::one),
        Command::Load { store, root_policy } => {
            crate::load_cmd::run(&store.url(), &store.catalogue, &root_policy).map_err(Failure::one)
        }
        Command::Serve {
            listen,
            store,
            root_policy,
            node,
            poll_ms,
            max_body,
            demo,
            shape_capacity,
        } => {
            init_logging();
            crate::serve::run(crate::serve::ServeConfig {
                listen,
                store: store.url(),
                catalogue: store.catalogue,
                root_policy,
                node: node.unwrap_or_else(crate::serve::default_node_name),
                poll_interval: poll_ms.map(std::time::Duration::from_millis),
                max_body,
                demo,
                shape_capacity,
            })
            .map_err(Failure::one)
        }
        Command::Import {
            file,
            store,
            batch_size,
            author,
            no_progress,
            threads,
            rejected,
            max_rate,
        } => import(crate::import::ImportOptions {
            store: store.url(),
            file,
            batch_size,
            catalogue: store.catalogue,
            author,
            progress: !no_progress,
            threads,
            rejected,
            max_rate,
        }),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(messages)) => {
            let stderr = std::io::stderr();
            let mut stderr = stderr.lock();
            for message in messages {
                let _ = writeln!(stderr, "{message}");
            }
            ExitCode::from(EXIT_INVALID_INPUT)
        }
    }
}

/// Invalid input: the messages to print on stderr, one a line.
struct Failure(Vec<String>);

impl Failure {
    fn one(message: String) -> Self {
        Failure(vec![message])
    }
}

/// `akkoord import`: the report on stdout; a stop (store gone, unreadable file) prints the
/// report so far and the reason, and exits with 1.
fn import(opts: crate::import::ImportOptions) -> Result<(), Failure> {
    let store = opts.store.redacted();
    match crate::import::run(&opts) {
        Ok(report) => {
            let mut text = report.render(&opts.file, &store);
            if report.rejected > 0 {
                text.push_str(&format!(
                    "import finished with {} rejected lines (exit status 0: every other line is \
                     imported)\n",
                    report.rejected
                ));
            }
            write_stdout(&text)
        }
        Err((report, message)) => {
            if let Some(report) = report {
                write_stdout(&report.render(&opts.file, &store))?;
            }
            Err(Failure::one(message))
        }
    }
}

fn eval(
    policy_paths: &[PathBuf],
    request_path: &Path,
    consents: Option<&Path>,
    catalogue: &Path,
    time: RequestTime,
    limits: &XmlLimits,
) -> Result<(), Failure> {
    let policies = read_policies(policy_paths)?;
    let request_bytes = read_file(request_path, "request")?;
    if crate::closed_question::is_soap_envelope(&request_bytes) {
        let policies: Vec<(String, String)> =
            policies.into_iter().map(|p| (p.name, p.text)).collect();
        let name = request_path.display().to_string();
        let output = crate::closed_question::answer(&crate::closed_question::ClosedQuestionInput {
            policies: &policies,
            question: &request_bytes,
            question_name: &name,
            catalogue,
            consents,
            limits,
            time,
        })
        .map_err(Failure)?;
        write_stdout(&output.soap)?;
        return match output.fault {
            None => Ok(()),
            Some(message) => Err(Failure::one(message)),
        };
    }
    // The request is parsed before the (costlier) compile step, so a broken request is reported
    // quickly and independently of the policies.
    let request = parse_request(&request_bytes, limits)
        .map_err(|e| Failure::one(format!("{}:{e}", request_path.display())))?;
    let pdp = compile(&policies, limits)?;
    let response = pdp.evaluate(&request, time);
    let mut out = String::with_capacity(1024);
    write_response(&response, &mut out);
    write_stdout(&out)
}

fn write_stdout(out: &str) -> Result<(), Failure> {
    let stdout = std::io::stdout();
    let mut stdout = stdout.lock();
    stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| Failure::one(format!("akkoord: cannot write the response: {e}")))
}

fn check(paths: &[PathBuf], limits: &XmlLimits) -> Result<(), Failure> {
    let policies = read_policies(paths)?;
    let pdp = compile(&policies, limits)?;
    let n = policies.len();
    let noun = if n == 1 { "policy" } else { "policies" };
    let mut report = format!("{n} {noun} OK\n");
    // Tell policy authors when their tree decides by table lookup (see pdp_core::xacml::tree):
    // a change that loses it (a target, a non-membership condition) costs decision time.
    if let Some(outcomes) = pdp.tree_table_outcomes() {
        report.push_str(&format!(
            "the policy tree compiles to one decision table of {outcomes} outcomes\n"
        ));
    }
    std::io::stdout()
        .lock()
        .write_all(report.as_bytes())
        .map_err(|e| Failure::one(format!("akkoord: cannot write to stdout: {e}")))
}

/// A policy file read into memory: its display name and text.
struct PolicyFile {
    name: String,
    text: String,
}

fn read_policies(paths: &[PathBuf]) -> Result<Vec<PolicyFile>, Failure> {
    let mut files = Vec::with_capacity(paths.len());
    let mut errors = Vec::new();
    for path in paths {
        let name = path.display().to_string();
        let bytes = match read_file(path, "policy") {
            Ok(bytes) => bytes,
            Err(Failure(mut messages)) => {
                errors.append(&mut messages);
                continue;
            }
        };
        match pdp_core::xacml::xml::doc::as_utf8(&bytes) {
            Ok(text) => files.push(PolicyFile {
                name,
                text: text.to_string(),
            }),
            Err(e) => errors.push(format!("{name}:{}: {e}", e.position)),
        }
    }
    if errors.is_empty() {
        Ok(files)
    } else {
        Err(Failure(errors))
    }
}

fn read_file(path: &Path, what: &str) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| {
        Failure::one(format!(
            "akkoord: cannot read {what} file {}: {e}",
            path.display()
        ))
    })
}

fn compile(policies: &[PolicyFile], limits: &XmlLimits) -> Result<Pdp, Failure> {
    let sources: Vec<PolicySource<'_>> = policies
        .iter()
        .map(|p| PolicySource {
            name: &p.name,
            text: &p.text,
        })
        .collect();
    let options = CompileOptions {
        xml_limits: *limits,
        ..CompileOptions::default()
    };
    Pdp::compile(&sources, &options)
        .map_err(|errors| Failure(errors.iter().map(ToString::to_string).collect()))
}

/// Logs to stderr at level info unless `RUST_LOG` says otherwise.
fn init_logging() {
    let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .try_init();
}

/// The current system time as the engine's request time (the core never reads a clock).
pub(crate) fn now() -> RequestTime {
    RequestTime::from(SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn eval_takes_several_policies() {
        let cli = Cli::try_parse_from([
            "akkoord",
            "eval",
            "--policy",
            "a.xml",
            "b.xml",
            "--request",
            "r.xml",
        ])
        .unwrap();
        match cli.command {
            Command::Eval {
                policies,
                request,
                xml,
                consents,
                catalogue,
                at,
            } => {
                assert_eq!(consents, None);
                assert_eq!(catalogue, PathBuf::from("policies/mitz-catalogue.json"));
                assert_eq!(at, None);
                assert_eq!(policies, [PathBuf::from("a.xml"), PathBuf::from("b.xml")]);
                assert_eq!(request, PathBuf::from("r.xml"));
                assert_eq!(xml.max_depth, XmlLimits::default().max_depth);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn max_depth_is_read() {
        let cli = Cli::try_parse_from(["akkoord", "check", "--max-depth", "7", "p.xml"]).unwrap();
        match cli.command {
            Command::Check { files, xml } => {
                assert_eq!(files, [PathBuf::from("p.xml")]);
                assert_eq!(xml.limits().max_depth, 7);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn now_is_after_2020() {
        assert!(now().unix_secs > 1_577_836_800);
    }
}
