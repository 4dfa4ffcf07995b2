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
pub mod engine;
pub mod findings;
pub mod panel;
pub mod variables;
pub mod checks;
pub mod progress;
pub mod answers;
pub mod exit;
pub mod prompt;
pub mod report;
pub mod run;
pub mod style;
pub mod transcript;
pub mod commands;
pub mod help;
pub mod interrupt;
pub mod builtin;
pub mod docker;
pub mod nginx;
