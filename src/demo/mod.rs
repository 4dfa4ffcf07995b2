//! The built-in demo scenario: a real HTTPS child process serving an expired certificate.

pub mod restart;
pub mod server;
pub mod scenario;
