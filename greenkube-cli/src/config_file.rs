//! The configuration file: defaults for any flag, read before the command line is parsed.
//!
//! A TOML file named by `--config FILE` or `GREENKUBE_CONFIG`. Top-level keys are flag names
//! (`prometheus-url` or `prometheus_url`) and apply to every command that has that flag; a table
//! named after a command (`[collect]`, `[report]`) applies to that command only and wins over the
//! top level. Values are strings, numbers or booleans. Precedence: a flag on the command line,
//! then its environment variable, then the file, then the built-in default. An unknown key or
//! command is an error naming it, so a typo never goes unnoticed.
//!
//! ```toml
//! store = "postgres://greenkube:secret@db:5432/greenkube"
//! [collect]
//! prometheus-url = "http://prometheus-server.monitoring:9090"
//! step = "5m"
//! keep-raw = "14d"
//! no-kubernetes = false
//! ```

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The environment variable naming the configuration file.
pub(crate) const CONFIG_ENV: &str = "GREENKUBE_CONFIG";

/// A configuration file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("the configuration file {path} is not valid TOML: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message (with line and column).
        message: String,
    },
    /// A key names no flag, or a table no command, or a value is not a string, number or boolean.
    #[error("the configuration file {path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the key.
        message: String,
    },
}

/// The file named by `--config FILE` / `--config=FILE` in `args`, else by `GREENKUBE_CONFIG`.
pub(crate) fn path_from(args: &[OsString]) -> Option<PathBuf> {
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        let text = a.to_string_lossy();
        if text == "--" {
            break;
        }
        if text == "--config" {
            return it.next().map(PathBuf::from);
        }
        if let Some(path) = text.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    std::env::var_os(CONFIG_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

fn scalar(path: &Path, key: &str, value: &toml::Value) -> Result<String, ConfigError> {
    match value {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(i) => Ok(i.to_string()),
        toml::Value::Float(f) => Ok(f.to_string()),
        toml::Value::Boolean(b) => Ok(b.to_string()),
        other => Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            message: format!(
                "`{key}` must be a string, a number or a boolean, not a {}",
                other.type_str()
            ),
        }),
    }
}

fn arg_id(key: &str) -> String {
    key.trim().replace('-', "_")
}

/// Reads the file and makes its values the defaults of the matching flags of `command`.
pub(crate) fn apply(command: clap::Command, path: &Path) -> Result<clap::Command, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    apply_text(command, path, &text)
}

pub(crate) fn apply_text(
    mut command: clap::Command,
    path: &Path,
    text: &str,
) -> Result<clap::Command, ConfigError> {
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    let commands: BTreeMap<String, Vec<String>> = command
        .get_subcommands()
        .map(|c| {
            (
                c.get_name().to_string(),
                c.get_arguments().map(|a| a.get_id().to_string()).collect(),
            )
        })
        .collect();
    // The global flags (`--currency`, `--log-level`, ...) are the top-level command's; the file
    // cannot name itself.
    let global: Vec<String> = command
        .get_arguments()
        .map(|a| a.get_id().to_string())
        .filter(|id| !matches!(id.as_str(), "config" | "help" | "version"))
        .collect();
    let mut global_defaults: Vec<(String, String)> = Vec::new();
    let invalid = |message: String| ConfigError::Invalid {
        path: path.to_path_buf(),
        message,
    };
    // (command, arg id) -> value; per-command tables win over the top level.
    let mut defaults: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut per_command: Vec<(String, String, String)> = Vec::new();
    for (key, value) in &table {
        if let toml::Value::Table(inner) = value {
            let Some(args) = commands.get(key) else {
                return Err(invalid(format!("[{key}] names no greenkube command")));
            };
            for (k, v) in inner {
                let id = arg_id(k);
                if !args.contains(&id) {
                    return Err(invalid(format!(
                        "`greenkube {key}` has no flag --{}",
                        id.replace('_', "-")
                    )));
                }
                per_command.push((key.clone(), id, scalar(path, k, v)?));
            }
            continue;
        }
        let id = arg_id(key);
        let value = scalar(path, key, value)?;
        let mut used = false;
        if global.contains(&id) {
            global_defaults.push((id.clone(), value.clone()));
            used = true;
        }
        for (name, args) in &commands {
            if args.contains(&id) {
                defaults.insert((name.clone(), id.clone()), value.clone());
                used = true;
            }
        }
        if !used {
            return Err(invalid(format!(
                "no greenkube command has a flag --{}",
                id.replace('_', "-")
            )));
        }
    }
    for (name, id, value) in per_command {
        defaults.insert((name, id), value);
    }
    for (id, value) in global_defaults {
        command = command.mut_arg(id, |a| a.default_value(value));
    }
    for ((name, id), value) in defaults {
        command = command.mut_subcommand(name, |sub| sub.mut_arg(id, |a| a.default_value(value)));
    }
    Ok(command)
}

/// Where an invalid value came from, when it is not on the command line but in the
/// configuration file at `path`: clap names the flag and the value, not the file the value was
/// written in.
pub(crate) fn origin_of_invalid(
    err: &clap::Error,
    argv: &[std::ffi::OsString],
    path: &Path,
) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if !matches!(
        err.kind(),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation
    ) {
        return None;
    }
    let Some(ContextValue::String(value)) = err.get(ContextKind::InvalidValue) else {
        return None;
    };
    let on_command_line = argv
        .iter()
        .skip(1)
        .any(|a| a.to_string_lossy().contains(value.as_str()));
    let in_file = std::fs::read_to_string(path).is_ok_and(|text| text.contains(value.as_str()));
    (!on_command_line && in_file).then(|| {
        format!(
            "the value `{value}` comes from the configuration file {}",
            path.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, FromArgMatches};

    use super::*;
    use crate::args::{Cli, Command};

    fn parse(text: &str, argv: &[&str]) -> Result<Cli, String> {
        let cmd = apply_text(Cli::command().version("0"), Path::new("gk.toml"), text)
            .map_err(|e| e.to_string())?;
        let matches = cmd.try_get_matches_from(argv).map_err(|e| e.to_string())?;
        Cli::from_arg_matches(&matches).map_err(|e| e.to_string())
    }

    #[test]
    fn file_values_are_defaults_that_flags_override() {
        let text = "store = \"sqlite://file.db\"\n[maintain]\nkeep-raw = \"3d\"\n";
        let cli = parse(text, &["greenkube", "maintain"]).expect("parses");
        let Command::Maintain(args) = cli.command else {
            panic!("maintain");
        };
        assert_eq!(args.store.store, "sqlite://file.db");
        assert_eq!(args.retention.keep_raw, chrono::Duration::days(3));
        let cli = parse(
            text,
            &["greenkube", "maintain", "--store", "sqlite://flag.db"],
        )
        .unwrap();
        let Command::Maintain(args) = cli.command else {
            panic!("maintain");
        };
        assert_eq!(args.store.store, "sqlite://flag.db");
    }

    #[test]
    fn typos_are_errors_naming_the_key() {
        let err = parse("prometheus-ulr = \"x\"\n", &["greenkube", "maintain"]).unwrap_err();
        assert!(err.contains("--prometheus-ulr"), "{err}");
        let err = parse("[colect]\nstep = \"5m\"\n", &["greenkube", "maintain"]).unwrap_err();
        assert!(err.contains("[colect]"), "{err}");
        let err = parse("[maintain]\nstep = \"5m\"\n", &["greenkube", "maintain"]).unwrap_err();
        assert!(err.contains("has no flag --step"), "{err}");
        let err = parse("store = [1]\n", &["greenkube", "maintain"]).unwrap_err();
        assert!(err.contains("`store` must be a string"), "{err}");
        let err = parse("store = \n", &["greenkube", "maintain"]).unwrap_err();
        assert!(err.contains("not valid TOML"), "{err}");
    }

    #[test]
    fn the_kubernetes_example_configuration_is_valid() {
        let manifest = include_str!("../../examples/kubernetes/greenkube-collect.yaml");
        let lines: Vec<&str> = manifest
            .lines()
            .skip_while(|l| !l.contains("greenkube.toml: |"))
            .skip(1)
            .take_while(|l| l.starts_with("    "))
            .map(|l| &l[4..])
            .collect();
        let toml = lines.join("\n");
        assert!(toml.contains("[collect]"), "{toml}");
        let cli = parse(&toml, &["greenkube", "maintain"]).expect("the example parses");
        let Command::Maintain(args) = cli.command else {
            panic!("maintain");
        };
        assert_eq!(args.store.store, "sqlite:///var/lib/greenkube/greenkube.db");
    }

    #[test]
    fn the_path_comes_from_the_flag() {
        let args: Vec<OsString> = ["greenkube", "report", "--config", "a.toml"]
            .iter()
            .map(OsString::from)
            .collect();
        assert_eq!(path_from(&args), Some(PathBuf::from("a.toml")));
        let args: Vec<OsString> = ["greenkube", "--config=b.toml"]
            .iter()
            .map(OsString::from)
            .collect();
        assert_eq!(path_from(&args), Some(PathBuf::from("b.toml")));
    }
}
