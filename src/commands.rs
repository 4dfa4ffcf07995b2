//! The `diagnose` and `flows` commands: load inputs, run, print, pick the exit code.

use std::io::{IsTerminal, Write};

use rust_i18n::t;

use crate::answers::Answers;
use crate::checks::{self, LiveChecks};
use crate::cli::{DiagnoseArgs, FlowFormat, FlowsCommand, RunArgs};
use crate::exit;
use crate::flow::{self, Flow, Step};
use crate::i18n::Lang;
use crate::panel;
use crate::prompt::TerminalPrompter;
use crate::report::Report;
use crate::run::{Session, Settings};
use crate::style::Styles;
use crate::transcript::Transcript;
use crate::variables::{parse_assignment, Variables};

/// Prints an error for invalid input and returns exit code 2.
pub fn invalid_input(styles: Styles, message: &str) -> u8 {
    eprintln!("{} {message}", styles.bad(&t!("cli.error_prefix")));
    exit::INVALID_INPUT
}

/// Loads the flow named on the command line, from `--flow-file` or the embedded ones.
fn load_flow(args: &DiagnoseArgs) -> Result<Flow, String> {
    if let Some(path) = &args.flow_file {
        return Flow::load(path).map_err(|errors| errors.to_string());
    }
    match flow::embedded(&args.flow) {
        Some(result) => result.map_err(|errors| errors.to_string()),
        None => {
            let known: Vec<&str> = flow::embedded_names().collect();
            Err(t!("cli.unknown_flow", name = &args.flow, known = known.join(", ")).into_owned())
        }
    }
}

pub fn diagnose(args: &DiagnoseArgs, styles: Styles) -> u8 {
    let flow = match load_flow(args) {
        Ok(flow) => flow,
        Err(message) => return invalid_input(styles, &message),
    };

    let mut overrides = Vec::new();
    for text in &args.set {
        match parse_assignment(text) {
            Ok(pair) => overrides.push(pair),
            Err(error) => return invalid_input(styles, &error.to_string()),
        }
    }
    if !args.root.is_dir() {
        return invalid_input(styles, &t!("cli.root_missing", path = args.root.display()));
    }
    let install = panel::detect(&args.root);
    let facts = panel::facts(&args.root, install.as_ref());
    let variables = match Variables::resolve(&flow, &facts, &overrides) {
        Ok(variables) => variables,
        Err(error) => return invalid_input(styles, &error.to_string()),
    };
    execute(&flow, &variables, &args.run, styles)
}

/// Runs `flow` with `variables` and prints the outcome; shared by `diagnose` and `demo`.
pub fn execute(flow: &Flow, variables: &Variables, run: &RunArgs, styles: Styles) -> u8 {
    if let Err(error) = checks::validate_variables(flow, variables) {
        return invalid_input(styles, &error.to_string());
    }
    let answers = match &run.answers {
        Some(path) => match Answers::load(path, flow) {
            Ok(answers) => answers,
            Err(error) => return invalid_input(styles, &error.to_string()),
        },
        None => Answers::default(),
    };

    let lang = Lang::current();
    let terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let interactive = terminal && !run.non_interactive;
    let mut checks = match LiveChecks::new() {
        Ok(checks) => checks,
        Err(error) => return invalid_input(styles, &error.to_string()),
    };
    let mut prompter = TerminalPrompter::new(styles, t!("run.select_help").into_owned());
    let mut transcript = Transcript::new(styles, lang, Box::new(std::io::stderr()));

    crate::interrupt::install();
    let session = Session {
        flow,
        variables: variables.clone(),
        checks: &mut checks,
        prompter: if interactive { Some(&mut prompter) } else { None },
        settings: Settings { answers, assume_yes: run.yes, spinner: std::io::stderr().is_terminal() },
        transcript: &mut transcript,
    };
    let ended = match session.run() {
        Ok(ended) => ended,
        Err(error) => return invalid_input(styles, &error.to_string()),
    };

    print_result(&ended.report, run.json, styles);
    if ended.interrupted {
        crate::interrupt::exit_interrupted();
    }
    ended.report.outcome.exit_code()
}

/// Prints the JSON report, or the verdict for people, on stdout.
fn print_result(report: &Report, json: bool, styles: Styles) {
    let mut stdout = std::io::stdout().lock();
    // A closed stdout (e.g. `| head`) must not turn a finished diagnosis into a panic.
    let _ = if json {
        writeln!(stdout, "{}", report.to_json())
    } else {
        let key = format!("outcome.{}", report.outcome.name());
        let outcome = t!(&key);
        let outcome = match report.outcome {
            crate::report::Outcome::Healthy | crate::report::Outcome::Resolved => styles.good(&outcome),
            _ => styles.bad(&outcome),
        };
        writeln!(
            stdout,
            "\n{} {outcome}: {}\n{} {}\n{} {}",
            styles.heading(&t!("summary.verdict")),
            report.verdict,
            styles.heading(&t!("summary.next_step")),
            report.next_step,
            styles.heading(&t!("summary.path")),
            report.path.join(" → "),
        )
    };
}

pub fn flows(command: &FlowsCommand, styles: Styles) -> u8 {
    let lang = Lang::current();
    match command {
        FlowsCommand::List => {
            for name in flow::embedded_names() {
                match flow::embedded(name) {
                    Some(Ok(flow)) => println!("{name}\t{}", flow.title.get(lang)),
                    _ => println!("{name}"),
                }
            }
            exit::OK
        }
        FlowsCommand::Show { name, format } => {
            let flow = match flow::embedded(name) {
                Some(Ok(flow)) => flow,
                Some(Err(errors)) => return invalid_input(styles, &errors.to_string()),
                None => {
                    let known: Vec<&str> = flow::embedded_names().collect();
                    return invalid_input(styles, &t!("cli.unknown_flow", name = name, known = known.join(", ")));
                }
            };
            match format {
                FlowFormat::Mermaid => print!("{}", flow::mermaid::render(&flow, lang, &[])),
                FlowFormat::Text => print!("{}", describe(&flow, lang)),
            }
            exit::OK
        }
        FlowsCommand::Validate { path } => match Flow::load(path) {
            Ok(flow) => {
                println!("{}", t!("cli.flow_valid", path = path.display(), id = flow.id, states = flow.states.len()));
                exit::OK
            }
            Err(errors) => invalid_input(styles, &errors.to_string()),
        },
    }
}

/// Lists states, their transitions and the variables, for `flows show`.
fn describe(flow: &Flow, lang: Lang) -> String {
    let mut out = format!("{} ({})\n\n", flow.title.get(lang), flow.id);
    for state in &flow.states {
        out.push_str(&format!("{}  [{}]  {}\n", state.id, kind_name(&state.step), state.title.get(lang)));
        match &state.step {
            Step::Check { next, .. } | Step::Action { next, .. } => {
                for (outcome, to) in next {
                    out.push_str(&format!("    {outcome} → {}\n", flow.states[*to].id));
                }
            }
            Step::Question { choices, .. } => {
                for choice in choices {
                    out.push_str(&format!("    {} ({}) → {}\n", choice.id, choice.text.get(lang), flow.states[choice.next].id));
                }
            }
            Step::End { outcome, .. } => out.push_str(&format!("    {}\n", serde_json::to_string(outcome).unwrap_or_default())),
        }
    }
    out.push_str(&format!("\n{}\n", t!("cli.variables_heading")));
    for (name, variable) in &flow.variables {
        out.push_str(&format!("    {name} = {:?}\n        {}\n", variable.default, variable.help.get(lang)));
    }
    out
}

fn kind_name(step: &Step) -> &'static str {
    match step {
        Step::Check { check, .. } => check.name(),
        Step::Question { .. } => "question",
        Step::Action { .. } => "action",
        Step::End { .. } => "end",
    }
}
