//! Shared test support: real `akkoord serve` processes and a cuttable TCP path.
pub mod node;
pub mod proxy;
pub mod state;
