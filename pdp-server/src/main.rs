//! `akkoord`: Akkoord's command line and service. See `akkoord --help` and the library docs of
//! `pdp_server`.

use std::process::ExitCode;

use clap::Parser;
use pdp_server::cli;

fn main() -> ExitCode {
    cli::run(cli::Cli::parse())
}
