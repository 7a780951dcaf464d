//! Wire protocols around XACML: the SOAP 1.2 / SAML 2.0 profile envelope of the Mitz closed
//! question, with HL7v3 `II` and `CV` attribute values (the data types themselves are engine
//! extension types in `xacml::hl7`, usable by any policy), and the message shapes that let a
//! client's later questions be read without parsing them again (`shape`).

pub mod shape;
pub mod soap;
