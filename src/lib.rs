//! certwiz: walks the "renewed certificate, browser still shows the old one" flowchart.

rust_i18n::i18n!("src/locales", fallback = "en");

pub mod action;
pub mod certs;
pub mod cli;
pub mod demo;
pub mod logs;
pub mod pki;
pub mod probe;
pub mod process;
pub mod flow;
pub mod i18n;
