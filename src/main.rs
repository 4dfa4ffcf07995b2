use std::process::ExitCode;

fn main() -> ExitCode {
    certwiz::cli::main()
}
