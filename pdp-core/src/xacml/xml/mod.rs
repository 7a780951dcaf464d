//! The XML syntax of XACML 3.0 (core schema `wd-17`): safe document loading, policies,
//! requests and responses.

pub mod doc;
pub mod policy;
pub mod request;
pub mod response;
pub(crate) mod scan;
pub mod stream;
#[cfg(test)]
mod test_bytes;
