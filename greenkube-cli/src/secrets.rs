//! Secrets never shown in `--help`: clap prints an argument's environment value
//! (`[env: GREENKUBE_STORE=postgres://user:PASSWORD@...]`) and its default (a configuration
//! file's values become defaults). [`hide`] hides both for every argument that holds a secret
//! by nature (tokens, keys, passwords), and for any other whose environment value or default is
//! a URL carrying credentials (what [`greenkube_adapters::store::redact`] would mask).

use clap::Command;

/// Whether an argument holds a secret whatever its value.
fn secret_by_name(id: &str) -> bool {
    let id = id.to_ascii_lowercase();
    ["token", "key", "password", "secret"]
        .iter()
        .any(|word| id.contains(word))
}

/// Whether a value would be masked in a message: credentials in a URL.
fn carries_credentials(value: &str) -> bool {
    greenkube_adapters::store::redact(value) != value
}

/// `command` and all its subcommands, with secret environment values and defaults hidden.
pub(crate) fn hide(command: Command) -> Command {
    let names: Vec<String> = command
        .get_subcommands()
        .map(|sub| sub.get_name().to_string())
        .collect();
    let mut command = command.mut_args(|arg| {
        let by_name = secret_by_name(arg.get_id().as_str());
        let env_secret = arg
            .get_env()
            .and_then(std::env::var_os)
            .is_some_and(|value| carries_credentials(&value.to_string_lossy()));
        let default_secret = arg
            .get_default_values()
            .iter()
            .any(|value| carries_credentials(&value.to_string_lossy()));
        let arg = if by_name || env_secret {
            arg.hide_env_values(true)
        } else {
            arg
        };
        if by_name || default_secret {
            arg.hide_default_value(true)
        } else {
            arg
        }
    });
    for name in names {
        command = command.mut_subcommand(name, hide);
    }
    command
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_credentials() {
        assert!(secret_by_name("api_key"));
        assert!(secret_by_name("electricity_maps_token"));
        assert!(!secret_by_name("store"));
        assert!(carries_credentials("postgres://gk:pw@db/greenkube"));
        assert!(carries_credentials("http://elastic:pw@es:9200"));
        assert!(!carries_credentials("sqlite://greenkube.db"));
        assert!(!carries_credentials("http://prometheus:9090"));
    }
}
