//! The `diagnose`, `flows`, `completions` and `man` commands: load inputs, run, print, write
//! the report files, pick the exit code.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, TryLockError};
use std::time::{Duration, Instant};

use clap::CommandFactory;
use rust_i18n::t;

use crate::answers::Answers;
use crate::checks::{self, LiveChecks};
use crate::cli::{Cli, DiagnoseArgs, FlowFormat, FlowsCommand, RunArgs};
use crate::exit;
use crate::flow::{self, Flow, Step};
use crate::i18n::Lang;
use crate::interrupt::Signal;
use crate::panel;
use crate::prompt::{Prompter, TerminalPrompter};
use crate::report::filter::{FilteredWriter, RedactingPrompter};
use crate::report::output::{self, OutputError, Outputs, ReportFile};
use crate::report::redact::{self, Redactor, SharedRedactor};
use crate::report::snapshot::Subscription;
use crate::report::{Outcome, Report};
use crate::run::{Ended, Session, Settings};
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
    // Errors echo values from the command line, so `--redact` applies to them as well.
    let fail = |message: &str| {
        let mut redactor = args.run.redact.then(Redactor::for_this_machine);
        let message = match redactor.as_mut() {
            Some(redactor) => redactor.redact(message),
            None => redact::scrub_private_keys(message),
        };
        invalid_input(styles, &message)
    };

    let flow = match load_flow(args) {
        Ok(flow) => flow,
        Err(message) => return fail(&message),
    };

    let mut overrides = Vec::new();
    for text in &args.set {
        match parse_assignment(text) {
            Ok(pair) => overrides.push(pair),
            Err(error) => return fail(&error.to_string()),
        }
    }
    if !args.root.is_dir() {
        return fail(&t!("cli.root_missing", path = args.root.display()));
    }
    let install = panel::detect(&args.root);
    let facts = panel::facts(&args.root, install.as_ref());
    let variables = match Variables::resolve(&flow, &facts, &overrides) {
        Ok(variables) => variables,
        Err(error) => return fail(&error.to_string()),
    };
    execute(&flow, &variables, &args.run, styles)
}

/// Runs `flow` with `variables`, prints the outcome and writes the requested files; shared by
/// `diagnose` and `demo`.
pub fn execute(flow: &Flow, variables: &Variables, run: &RunArgs, styles: Styles) -> u8 {
    let redactor: Option<SharedRedactor> = run.redact.then(|| {
        let mut redactor = Redactor::for_this_machine();
        redactor.learn_variables(variables.iter());
        // Ids of states, choices and findings must stay readable even before the report names them.
        redactor.learn_flow(flow);
        Arc::new(Mutex::new(redactor))
    });
    let fail = |message: &str| invalid_input(styles, &filter_message(redactor.as_ref(), message));

    if let Err(error) = checks::validate_variables(flow, variables) {
        return fail(&error.to_string());
    }
    let answers = match &run.answers {
        Some(path) => match Answers::load(path, flow) {
            Ok(answers) => answers,
            Err(error) => return fail(&error.to_string()),
        },
        None => Answers::default(),
    };
    let outputs = match plan_outputs(run, flow, redactor.clone()) {
        Ok(outputs) => outputs,
        Err(error) => return fail(&error.to_string()),
    };

    let lang = Lang::current();
    let terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let interactive = terminal && !run.non_interactive;
    let mut checks = match LiveChecks::new() {
        Ok(checks) => checks,
        Err(error) => return fail(&error.to_string()),
    };
    let mut terminal_prompter = TerminalPrompter::new(styles, t!("run.select_help").into_owned());
    let mut redacting_prompter;
    let prompter: Option<&mut dyn Prompter> = match (interactive, &redactor) {
        (false, _) => None,
        (true, Some(redactor)) => {
            redacting_prompter = RedactingPrompter::new(&mut terminal_prompter, Arc::clone(redactor));
            Some(&mut redacting_prompter)
        }
        (true, None) => Some(&mut terminal_prompter),
    };
    let stderr = FilteredWriter::new(std::io::stderr(), redactor.clone());
    let mut transcript = Transcript::new(styles, lang, Box::new(stderr));

    crate::interrupt::install();
    let closing = Arc::new(Closing::new(outputs, run, styles));
    let (subscription, hook) = watch_run(&closing);
    let session = Session {
        flow,
        variables: variables.clone(),
        checks: &mut checks,
        prompter,
        settings: Settings { answers, assume_yes: run.yes, spinner: std::io::stderr().is_terminal() },
        transcript: &mut transcript,
    };
    let result = session.run();
    drop(subscription);
    drop(transcript);

    // The hook stays registered until the result is out, so a signal in between still
    // prints it. Once the result is out, the hook does nothing.
    let code = match result {
        Ok(ended) => finish(ended, &closing),
        Err(error) => fail(&error.to_string()),
    };
    crate::interrupt::remove(hook);
    code
}

/// Prints the outcome, writes the requested files and returns the exit code. When a signal or
/// Ctrl-C ended the run, exits with the signal's exit code instead.
fn finish(ended: Ended, closing: &Closing) -> u8 {
    let mut report = ended.report;
    if ended.interrupted {
        closing.mark_interrupted(&mut report);
    } else if crate::interrupt::interrupted() {
        // A signal during the last state ends the run normally, but it is still an
        // interruption. The end state's verdict is kept, because its check ran.
        report.interrupted = true;
        if report.next_step.is_empty() {
            report.next_step = closing.rerun_next_step();
        }
    }

    let code = closing.emit(&report);
    if report.interrupted || crate::interrupt::interrupted() {
        crate::interrupt::exit_interrupted();
    }
    // `emit` returns `None` only after the signal hook emitted, and then the exit above ran.
    code.unwrap_or(exit::PROBLEM)
}

/// Follows the run so that a signal can still print the result and write the files: keeps
/// the latest published report and registers a hook that emits it. Returns the subscription
/// and the hook id.
fn watch_run(closing: &Arc<Closing>) -> (Subscription, u64) {
    let latest: Arc<Mutex<Option<Report>>> = Arc::new(Mutex::new(None));
    let subscription = follow_run(Arc::clone(&latest), closing.outputs.redactor.clone());
    let closing = Arc::clone(closing);
    let hook = crate::interrupt::on_interrupt(move || closing.emit_partial(&latest));
    (subscription, hook)
}

/// Maximum time that the signal hook waits for the main thread to finish printing the result
/// and writing the files of a run that ended just before the signal.
const EMIT_WAIT: Duration = Duration::from_secs(5);

/// Prints the result and writes the files of a run, once: from the finished run, or from the
/// last published report when a signal ends the run first.
struct Closing {
    outputs: Outputs,
    json: bool,
    styles: Styles,
    /// Path that a rerun can pass to `--answers`: the `--record-answers` file, else the
    /// `--answers` file.
    resume_answers: Option<PathBuf>,
    /// Flag set once the result is out. The lock also keeps a second emitter waiting until the
    /// first has printed and written everything.
    emitted: Mutex<bool>,
}

impl Closing {
    fn new(outputs: Outputs, run: &RunArgs, styles: Styles) -> Closing {
        let resume_answers = run.record_answers.clone().or_else(|| run.answers.clone());
        Closing { outputs, json: run.json, styles, resume_answers, emitted: Mutex::new(false) }
    }

    /// Prints `report` and writes the files, unless that already happened. Returns the exit
    /// code, or `None` when the result was already out.
    fn emit(&self, report: &Report) -> Option<u8> {
        let mut emitted = self.emitted.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        self.emit_once(&mut emitted, report)
    }

    fn emit_once(&self, emitted: &mut bool, report: &Report) -> Option<u8> {
        if *emitted {
            return None;
        }
        *emitted = true;

        let shareable = self.outputs.shareable(report);
        print_result(&shareable, self.json, self.styles);
        match self.outputs.write_files(&shareable) {
            Ok(()) => {
                announce_files(&self.outputs);
                Some(shareable.outcome.exit_code())
            }
            Err(error) => {
                let message = filter_message(self.outputs.redactor.as_ref(), &error.to_string());
                print_stderr(&format!("{} {message}", self.styles.bad(&t!("cli.error_prefix"))));
                Some(exit::INVALID_INPUT)
            }
        }
    }

    /// Emits the last published report as the result of a run that a signal ended. The signal
    /// thread runs this as a hook.
    fn emit_partial(&self, latest: &Mutex<Option<Report>>) {
        // The main thread may be emitting the finished run. The exit waits until it has written
        // the files, but at most EMIT_WAIT, because a stalled stdout could block it forever.
        let deadline = Instant::now() + EMIT_WAIT;
        let mut emitted = loop {
            match self.emitted.try_lock() {
                Ok(guard) => break guard,
                Err(TryLockError::Poisoned(poisoned)) => break poisoned.into_inner(),
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
                Err(TryLockError::WouldBlock) => return,
            }
        };
        if *emitted {
            return;
        }

        let snapshot = latest.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone();
        // Without a snapshot the signal came before the first state: the report is empty.
        let mut report = snapshot.unwrap_or_else(|| Report::new(&self.outputs.flow.id, Lang::current()));
        self.mark_interrupted(&mut report);
        // NOTE: a stdout that accepts no more bytes (a stopped pipe reader, a terminal paused
        // with Ctrl-S) blocks this print, and with it the exit and the later cleanup hooks.
        let _ = self.emit_once(&mut emitted, &report);
    }

    /// Marks `report` as ended by the signal that arrived, or by Ctrl-C at a prompt.
    fn mark_interrupted(&self, report: &mut Report) {
        let signal = crate::interrupt::received().unwrap_or(Signal::Interrupt);
        report.interrupted = true;
        report.outcome = Outcome::Aborted;
        report.verdict = match signal {
            Signal::Interrupt => t!("run.interrupted"),
            other => t!("interrupt.verdict", signal = other.name()),
        }
        .into_owned();
        report.next_step = self.rerun_next_step();
    }

    /// Returns the next step after an interrupted run: run again, and pass `--answers` when
    /// the run recorded or read an answers file.
    fn rerun_next_step(&self) -> String {
        match &self.resume_answers {
            Some(path) => t!("interrupt.next_step_answers", path = path.display()).into_owned(),
            None => t!("report.partial_next_step").into_owned(),
        }
    }
}

/// Checks `--report` and `--record-answers` before anything runs, so a typo costs no diagnosis.
fn plan_outputs(run: &RunArgs, flow: &Flow, redactor: Option<SharedRedactor>) -> Result<Outputs, OutputError> {
    let report_file = run.report.as_deref().map(ReportFile::parse).transpose()?;
    if let Some(path) = &run.record_answers {
        output::check_answers_path(path)?;
    }
    Ok(Outputs { report_file, answers_file: run.record_answers.clone(), redactor, flow: flow.clone() })
}

/// Keeps the latest state of the report for the Ctrl-C hook, and teaches the redactor the
/// names the run finds (certificate SANs) before the transcript prints them.
fn follow_run(latest: Arc<Mutex<Option<Report>>>, redactor: Option<SharedRedactor>) -> Subscription {
    Subscription::start(move |report| {
        if let Some(redactor) = &redactor {
            redact::lock(redactor).learn_report(report);
        }
        *latest.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(report.clone());
    })
}

/// Tells on stderr where the files went.
fn announce_files(outputs: &Outputs) {
    let redactor = outputs.redactor.as_ref();
    if let Some(file) = &outputs.report_file {
        print_stderr(&filter_message(redactor, &t!("report.written", path = file.path.display())));
    }
    if let Some(path) = &outputs.answers_file {
        print_stderr(&filter_message(redactor, &t!("report.answers_written", path = path.display())));
    }
}

/// Prints a line on stderr. Unlike `eprintln!`, does not panic when the terminal is gone, which
/// is the usual state after SIGHUP.
fn print_stderr(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Removes private keys from a message for the terminal, and redacts it when asked.
fn filter_message(redactor: Option<&SharedRedactor>, message: &str) -> String {
    match redactor {
        Some(redactor) => redact::lock(redactor).redact(message),
        None => redact::scrub_private_keys(message),
    }
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
        let verdict = t!("report.summary.verdict", heading = styles.heading(&t!("summary.verdict")), outcome = outcome, verdict = &report.verdict);
        let next_step = t!("report.summary.line", heading = styles.heading(&t!("summary.next_step")), text = &report.next_step);
        let path = t!("report.summary.line", heading = styles.heading(&t!("summary.path")), text = report.path.join(" → "));
        writeln!(stdout, "\n{verdict}\n{next_step}\n{path}")
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
            // A name with a path separator or a .toml extension is a flow file of the user's own.
            let is_file = name.contains('/') || name.ends_with(".toml");
            let loaded = if is_file { Some(Flow::load(std::path::Path::new(name))) } else { flow::embedded(name) };
            let flow = match loaded {
                Some(Ok(flow)) => flow,
                Some(Err(errors)) => return invalid_input(styles, &errors.to_string()),
                None => {
                    let known: Vec<&str> = flow::embedded_names().collect();
                    return invalid_input(styles, &t!("cli.unknown_flow_show", name = name, known = known.join(", ")));
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

/// Prints a completion script for `shell`, with the help texts in the user's language.
pub fn completions(shell: clap_complete::Shell) -> u8 {
    let mut command = crate::help::localize(without_hidden_commands(Cli::command()));
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "certwiz", &mut script);
    write_stdout(&script)
}

/// Returns `command` without its hidden subcommands (the demo's helper processes), which
/// clap_complete would otherwise offer.
fn without_hidden_commands(command: clap::Command) -> clap::Command {
    let mut visible = clap::Command::new(command.get_name().to_string());
    if let Some(version) = command.get_version() {
        visible = visible.version(version.to_string());
    }
    for arg in command.get_arguments() {
        visible = visible.arg(arg.clone());
    }
    for subcommand in command.get_subcommands().filter(|subcommand| !subcommand.is_hide_set()) {
        visible = visible.subcommand(subcommand.clone());
    }
    visible
}

/// Prints the man page as roff, with the texts in the user's language.
pub fn man() -> u8 {
    let command = crate::help::localize(Cli::command());
    let mut page = Vec::new();
    if let Err(error) = clap_mangen::Man::new(command).render(&mut page) {
        eprintln!("{} {error}", t!("cli.error_prefix"));
        return exit::PROBLEM;
    }
    write_stdout(&page)
}

/// Writes generated text to stdout; a closed pipe (`| head`) is not an error.
fn write_stdout(bytes: &[u8]) -> u8 {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(bytes).and_then(|()| stdout.flush());
    exit::OK
}
