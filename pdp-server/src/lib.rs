//! Akkoord's service and command line: everything that touches the outside world (files, the
//! durable store, the network). The engine itself is `pdp-core`, which does no I/O.
//!
//! - [`cli`]: the `akkoord` subcommands.
//! - [`import`]: `akkoord import`, the bulk consent migration into the store.
//! - [`store`]: the durable store behind one trait, SQLite (embedded default) and PostgreSQL.
//! - [`http`]: the HTTP front (`akkoord serve`): decisions, registration, PAP, health, metrics.
//! - [`serve`]: starting a node: seed the store, start the loader and the server.

pub mod cli;
pub mod closed_question;
pub mod gen;
pub mod http;
pub mod import;
pub mod live;
pub mod load_cmd;
pub mod loader;
pub mod pap;
pub mod serve;
pub mod store;
