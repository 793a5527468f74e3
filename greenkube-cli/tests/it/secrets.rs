//! No secret is printed by `--help`: not from the environment, not from a configuration file.

use assert_cmd::cargo::CommandCargoExt;

/// Every subcommand `greenkube --help` lists.
fn subcommands() -> Vec<String> {
    let out = std::process::Command::cargo_bin("greenkube")
        .unwrap()
        .arg("--help")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let listed = text
        .split("Commands:")
        .nth(1)
        .expect("a Commands: section")
        .split("\n\n")
        .next()
        .unwrap_or("");
    listed
        .lines()
        // A command's line is indented by two spaces; its description's continuations by more.
        .filter(|line| line.starts_with("  ") && !line.starts_with("   "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

#[test]
fn help_never_prints_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("greenkube.toml");
    std::fs::write(
        &config,
        "store = \"postgres://gk:PLANTED-CONFIG-PW@db/greenkube\"\n\
         electricity-maps-token = \"PLANTED-CONFIG-TOKEN\"\n\
         prometheus-url = \"http://scraper:PLANTED-CONFIG-URL@prometheus:9090\"\n",
    )
    .unwrap();
    let commands = subcommands();
    assert!(commands.len() >= 10, "{commands:?}");
    for with_config in [false, true] {
        for command in &commands {
            let mut cmd = std::process::Command::cargo_bin("greenkube").unwrap();
            cmd.env(
                "GREENKUBE_STORE",
                "postgres://gk:PLANTED-ENV-PW@db/greenkube",
            )
            .env("GREENKUBE_API_KEY", "PLANTED-ENV-KEY")
            .env("GREENKUBE_ELECTRICITY_MAPS_TOKEN", "PLANTED-ENV-TOKEN")
            .env(
                "GREENKUBE_OPENCOST_URL",
                "http://u:PLANTED-ENV-URL@opencost:9003",
            )
            .env_remove("GREENKUBE_CONFIG");
            if with_config {
                cmd.arg("--config").arg(&config);
            }
            let out = cmd.args([command.as_str(), "--help"]).output().unwrap();
            assert!(out.status.success(), "{command} --help failed");
            let shown = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                !shown.contains("PLANTED"),
                "`greenkube {command} --help` (config: {with_config}) prints a secret:\n{shown}"
            );
            // What is not secret is still shown.
            if command == "report" {
                assert!(shown.contains("GREENKUBE_STORE"), "{shown}");
            }
        }
    }
}

#[test]
fn an_invalid_value_from_the_configuration_file_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("greenkube.toml");
    std::fs::write(&config, "[maintain]\nkeep-raw = \"seven days\"\n").unwrap();
    let out = std::process::Command::cargo_bin("greenkube")
        .unwrap()
        .current_dir(dir.path())
        .env_remove("GREENKUBE_CONFIG")
        .env_remove("GREENKUBE_STORE")
        .args(["--config", config.to_str().unwrap(), "maintain"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("seven days"), "{stderr}");
    assert!(
        stderr.contains(config.to_str().unwrap()),
        "names the file: {stderr}"
    );
    // The same value on the command line is the command line's: no note.
    let out = std::process::Command::cargo_bin("greenkube")
        .unwrap()
        .current_dir(dir.path())
        .env_remove("GREENKUBE_CONFIG")
        .args(["maintain", "--keep-raw", "eight days"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("configuration file"), "{stderr}");
}
