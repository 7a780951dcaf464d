//! `akkoord`: Akkoord's command line (and, later, its service).
//!
//! Subcommands: `eval` evaluates a request against policies offline, `check` validates policies.
//! See `akkoord --help`.

mod cli;
mod closed_question;
mod gen;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    cli::run(cli::Cli::parse())
}
