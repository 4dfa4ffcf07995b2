//! `--help` in the user's language: every about and argument text comes from the message catalog.

use clap::{Arg, ArgAction, Command};
use rust_i18n::t;

/// Replaces the about, argument help and headings of `command` and its subcommands with catalog texts.
pub fn localize(command: Command) -> Command {
    localize_at(command, "")
}

fn localize_at(mut command: Command, path: &str) -> Command {
    let key_path = if path.is_empty() { "certwiz".to_string() } else { path.to_string() };

    if !command.is_hide_set() {
        let about_key = format!("cli.{key_path}.about");
        command = command
            .about(t!(&about_key).into_owned())
            .help_template(t!("cli.template").into_owned())
            .subcommand_help_heading(t!("cli.heading.commands").into_owned())
            .disable_help_flag(true)
            .disable_help_subcommand(true)
            .arg(
                Arg::new("help")
                    .short('h')
                    .long("help")
                    .action(ArgAction::Help)
                    .global(true)
                    .help_heading(t!("cli.heading.options").into_owned())
                    .help(t!("cli.arg.help").into_owned()),
            );
        if path.is_empty() {
            command = command.disable_version_flag(true).arg(
                Arg::new("version")
                    .short('V')
                    .long("version")
                    .action(ArgAction::Version)
                    .help_heading(t!("cli.heading.options").into_owned())
                    .help(t!("cli.arg.version").into_owned()),
            );
        }
        if let Some(after) = after_help(&key_path) {
            command = command.after_help(after);
        }

        let ids: Vec<String> = command.get_arguments().map(|arg| arg.get_id().to_string()).collect();
        for id in ids {
            if id == "help" || id == "version" {
                continue;
            }
            let key = format!("cli.{key_path}.{id}");
            command = command.mut_arg(&id, |arg| {
                let heading = if arg.is_positional() { t!("cli.heading.arguments") } else { t!("cli.heading.options") };
                arg.help(t!(&key).into_owned()).help_heading(heading.into_owned())
            });
        }
    }

    let names: Vec<String> = command.get_subcommands().map(|sub| sub.get_name().to_string()).collect();
    for name in names {
        let child = if path.is_empty() { name.clone() } else { format!("{path}.{name}") };
        command = command.mut_subcommand(&name, |sub| localize_at(sub, &child));
    }
    command
}

fn after_help(key_path: &str) -> Option<String> {
    match key_path {
        "certwiz" | "diagnose" | "demo" => {
            let key = format!("cli.{key_path}.after_help");
            Some(t!(&key).into_owned())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::CommandFactory;

    /// Collects every catalog key `localize` looks up, for the visible commands.
    fn keys(command: &Command, path: &str, out: &mut Vec<String>) {
        if command.is_hide_set() {
            return;
        }
        let key_path = if path.is_empty() { "certwiz".to_string() } else { path.to_string() };
        out.push(format!("cli.{key_path}.about"));
        for arg in command.get_arguments() {
            if arg.get_id() != "help" && arg.get_id() != "version" {
                out.push(format!("cli.{key_path}.{}", arg.get_id()));
            }
        }
        for sub in command.get_subcommands() {
            let child = if path.is_empty() { sub.get_name().to_string() } else { format!("{path}.{}", sub.get_name()) };
            keys(sub, &child, out);
        }
    }

    #[test]
    fn every_argument_has_help_in_both_languages() {
        let mut all = Vec::new();
        keys(&Cli::command(), "", &mut all);
        assert!(all.len() > 15, "{all:?}");
        for key in all {
            for locale in ["en", "zh-CN"] {
                let text = t!(&key, locale = locale);
                assert_ne!(text, key, "missing {locale} help text {key}");
            }
        }
    }

    #[test]
    fn localized_command_is_consistent() {
        localize(Cli::command()).debug_assert();
    }
}
