//! placeholder
#[derive(Clone, Debug)]
pub struct X500Name;
#[derive(Clone, Debug)]
pub struct Rfc822Name;
#[derive(Clone, Debug)]
pub struct IpAddress;
#[derive(Clone, Debug)]
pub struct DnsName;
