//! The `greenkube` command line: argument parsing, wiring and commands. Domain logic lives in
//! `greenkube-core`; this crate only reads input, calls the core and prints.

mod args;
mod clock;
mod commands;
mod config_file;
mod exit;
mod logging;
mod printer;
mod progress;
mod secrets;
#[cfg(feature = "collect")]
mod serve;
mod store;
mod time_arg;

/// Entry points for the fuzz targets (`fuzz/`, feature `fuzzing`): the command line's own
/// parsers of text it does not control. Not an API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    use clap::{CommandFactory as _, FromArgMatches as _};

    /// A configuration file's text applied to the command line, then a command parsed with it
    /// (as `greenkube --config FILE report` does).
    pub fn config_file(text: &str) {
        let command = crate::args::Cli::command().version("0");
        let path = std::path::Path::new("fuzz.toml");
        if let Ok(command) = crate::config_file::apply_text(command, path, text) {
            for argv in [
                ["greenkube", "report"].as_slice(),
                &["greenkube", "maintain"],
                &["greenkube", "collect", "--once"],
            ] {
                if let Ok(matches) = command.clone().try_get_matches_from(argv) {
                    let _ = crate::args::Cli::from_arg_matches(&matches);
                }
            }
        }
    }

    /// A query string of the HTTP API, as every read endpoint parses it.
    #[cfg(feature = "collect")]
    pub fn serve_query(query: &str) {
        let _ = crate::serve::fuzz_params(query);
    }
}

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

pub use args::{Cli, Command};

/// The long `--version` text: version, methodologies and reference-data version.
pub fn long_version() -> String {
    let methodologies: Vec<String> = greenkube_core::Methodology::ALL
        .iter()
        .map(|m| {
            let default = if *m == greenkube_core::Methodology::default() {
                " (default)"
            } else {
                ""
            };
            format!("{} {}{default}", m.name(), m.version())
        })
        .collect();
    let data = greenkube_core::ReferenceData::try_embedded()
        .map_or_else(|e| format!("unavailable: {e}"), |d| d.version().to_string());
    format!(
        "{}\nmethodologies: {}\nreference data: {data}",
        greenkube_core::VERSION,
        methodologies.join(", ")
    )
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let mut command = Cli::command()
        .version(greenkube_core::VERSION)
        .long_version(long_version());
    let config = config_file::path_from(&argv);
    if let Some(path) = &config {
        command = match config_file::apply(command, path) {
            Ok(command) => command,
            Err(err) => {
                printer::error(&anyhow::Error::new(err));
                return ExitCode::from(2);
            }
        };
    }
    let matches = match secrets::hide(command).try_get_matches_from(&argv) {
        Ok(matches) => matches,
        Err(err) => {
            let origin = config
                .as_deref()
                .and_then(|path| config_file::origin_of_invalid(&err, &argv, path));
            let _ = err.print();
            if let Some(note) = origin {
                printer::note(&note);
            }
            return ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(2));
        }
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(err) => err.exit(),
    };
    let rust_log = std::env::var("RUST_LOG").ok();
    let level = cli.log_level.adjusted(cli.verbose, cli.quiet);
    match logging::filter(level, rust_log.as_deref()) {
        Ok(filter) => logging::init(filter, cli.log_format),
        Err(message) => {
            printer::error(&anyhow::anyhow!(message));
            return ExitCode::from(2);
        }
    }
    let json_logs = cli.log_format == logging::LogFormat::Json;
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            printer::error(&err);
            if json_logs {
                tracing::error!(error = %printer::chain_text(&err), "greenkube stopped on an error");
            }
            exit::of_error(&err)
        }
    }
}
