//! Command-line arguments and dispatch.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::demo;

#[derive(Debug, Parser)]
#[command(name = "certwiz", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs the demo HTTPS server process (used by `certwiz demo`).
    #[command(name = "__demo-server", hide = true)]
    DemoServer(demo::server::ServerArgs),

    /// Restarts the demo HTTPS server process (used by `certwiz demo`).
    #[command(name = "__demo-restart", hide = true)]
    DemoRestart(demo::restart::RestartArgs),
}

/// Parses the command line and runs the chosen command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::DemoServer(args) => demo::server::run(args),
        Command::DemoRestart(args) => demo::restart::run(args),
    }
}
