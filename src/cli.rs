//! Command-line arguments, and dispatch to the commands.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::commands;
use crate::demo;
use crate::i18n::Lang;
use crate::style::ColorChoice;

#[derive(Debug, Parser)]
#[command(name = "certwiz", version, about, long_about = None)]
pub struct Cli {
    #[arg(long, global = true, value_enum)]
    pub lang: Option<Lang>,

    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Diagnose(DiagnoseArgs),
    #[command(subcommand)]
    Flows(FlowsCommand),
    Demo(DemoArgs),
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    Man,

    /// Runs the demo HTTPS server process (used by `certwiz demo`).
    #[command(name = "__demo-server", hide = true)]
    DemoServer(demo::server::ServerArgs),

    /// Restarts the demo HTTPS server process (used by `certwiz demo`).
    #[command(name = "__demo-restart", hide = true)]
    DemoRestart(demo::restart::RestartArgs),
}

/// Options shared by `diagnose` and `demo`: how questions are answered and how the report is shown.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    #[arg(long, value_name = "FILE")]
    pub answers: Option<PathBuf>,

    #[arg(long, short = 'y')]
    pub yes: bool,

    #[arg(long)]
    pub non_interactive: bool,

    #[arg(long)]
    pub json: bool,

    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,

    #[arg(long)]
    pub redact: bool,

    #[arg(long, value_name = "FILE")]
    pub record_answers: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct DiagnoseArgs {
    #[arg(default_value = "panel")]
    pub flow: String,

    #[arg(long, value_name = "PATH", conflicts_with = "flow")]
    pub flow_file: Option<PathBuf>,

    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub set: Vec<String>,

    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,

    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FlowFormat {
    Text,
    Mermaid,
}

#[derive(Debug, Subcommand)]
pub enum FlowsCommand {
    List,
    Show {
        name: String,
        #[arg(long, value_enum, default_value_t = FlowFormat::Text)]
        format: FlowFormat,
    },
    Validate {
        path: PathBuf,
    },
}

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub run: RunArgs,
}

/// Picks the language before clap parses, so that `--help` and parse errors are translated too.
fn early_lang() -> Lang {
    let args: Vec<String> = std::env::args().collect();
    for (index, arg) in args.iter().enumerate() {
        let value = match arg.strip_prefix("--lang=") {
            Some(value) => Some(value.to_string()),
            None if arg == "--lang" => args.get(index + 1).cloned(),
            None => None,
        };
        if let Some(lang) = value.and_then(|value| Lang::from_str(&value, true).ok()) {
            return lang;
        }
    }
    Lang::from_env()
}

/// Parses the command line and runs the chosen command.
pub fn main() -> ExitCode {
    early_lang().apply();
    let command = crate::help::localize(Cli::command());
    let cli = match command.try_get_matches().and_then(|matches| Cli::from_arg_matches(&matches)) {
        Ok(cli) => cli,
        Err(error) => error.exit(),
    };
    if let Some(lang) = cli.lang {
        lang.apply();
    }

    let styles = crate::style::Styles::decide(cli.color);
    let code = match cli.command {
        Command::Diagnose(args) => commands::diagnose(&args, styles),
        Command::Flows(command) => commands::flows(&command, styles),
        Command::Demo(args) => demo::scenario::run(&args, styles),
        Command::Completions { shell } => commands::completions(shell),
        Command::Man => commands::man(),
        Command::DemoServer(args) => return demo::server::run(args),
        Command::DemoRestart(args) => return demo::restart::run(args),
    };
    ExitCode::from(code)
}
