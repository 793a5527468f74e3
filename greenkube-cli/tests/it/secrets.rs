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

/// Every error path that involves a secret (a store URL's password, a source URL's
/// credentials or token, the Electricity Maps token, the API key, a kubeconfig's token) fails
/// clearly, saying where, and prints none of them.
#[test]
fn errors_never_print_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let sqlite = format!("sqlite://{}", path("gk.db"));
    std::fs::write(
        path("kubeconfig"),
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\n\
         users:\n- name: u\n  user:\n    token: PLANTED-KUBE-TOKEN\n    password: PLANTED-KUBE-PW\n\
         contexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n",
    )
    .unwrap();
    std::fs::write(
        path("broken-kubeconfig"),
        "apiVersion: v1\nusers: [{name: u, user: {token: PLANTED-BROKEN\n",
    )
    .unwrap();
    std::fs::write(
        path("greenkube.toml"),
        "store = \"postgres://gk:PLANTED-CONFIG-PW@127.0.0.1:1/greenkube\"\n\
         electricity-maps-token = \"PLANTED-CONFIG-TOKEN\"\n",
    )
    .unwrap();
    // A port that is taken, so `serve` cannot listen.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = taken.local_addr().unwrap().to_string();
    let sources = [
        "--prometheus-url",
        "http://u:PLANTED-PROM-PW@127.0.0.1:1/?token=PLANTED-PROM-TOKEN",
        "--opencost-url",
        "http://u:PLANTED-OC-PW@127.0.0.1:1",
        "--boavizta-url",
        "http://u:PLANTED-BOA-PW@127.0.0.1:1",
        "--electricity-maps-url",
        "http://u:PLANTED-EM-PW@127.0.0.1:1/?auth-token=PLANTED-EM-QUERY",
        "--electricity-maps-token",
        "PLANTED-EM-TOKEN",
        "--source-timeout",
        "1",
    ];
    let with_sources = |head: &[&str]| -> Vec<String> {
        head.iter()
            .chain(&sources)
            .map(|s| (*s).to_owned())
            .collect()
    };
    let owned = |args: &[&str]| -> Vec<String> { args.iter().map(|s| (*s).to_owned()).collect() };
    let cases: Vec<Vec<String>> = vec![
        owned(&[
            "report",
            "--since",
            "1d",
            "--store",
            "postgres://gk:PLANTED-PG-PW@127.0.0.1:1/gk",
        ]),
        owned(&[
            "report",
            "--since",
            "1d",
            "--store",
            "postgres://gk@127.0.0.1:1/gk?password=PLANTED-PG-Q",
        ]),
        owned(&[
            "report",
            "--since",
            "1d",
            "--store",
            "http://elastic:PLANTED-ES-PW@127.0.0.1:1",
        ]),
        owned(&[
            "migrate",
            "--store",
            "postgres://gk:PLANTED-BAD-URL@[broken",
        ]),
        owned(&[
            "migrate",
            "--store",
            "postgres://gk:PLANTED-BAD-PORT@db:port/gk",
        ]),
        owned(&[
            "estimate",
            "--snapshot",
            "../examples/snapshots/cluster.json",
            "--store",
            "postgres://gk:PLANTED-EST@127.0.0.1:1/gk",
        ]),
        owned(&[
            "recommend",
            "--since",
            "1d",
            "--store",
            "http://elastic:PLANTED-REC@127.0.0.1:1",
        ]),
        with_sources(&[
            "collect",
            "--once",
            "--since",
            "10m",
            "--no-kubernetes",
            "--store",
            &sqlite,
        ]),
        with_sources(&[
            "collect",
            "--once",
            "--since",
            "10m",
            "--store",
            "postgres://gk:PLANTED-COLLECT@127.0.0.1:1/gk",
        ]),
        owned(&[
            "collect",
            "--once",
            "--since",
            "10m",
            "--store",
            &sqlite,
            "--kubeconfig",
            &path("kubeconfig"),
            "--source-timeout",
            "1",
        ]),
        owned(&[
            "collect",
            "--once",
            "--since",
            "10m",
            "--store",
            &sqlite,
            "--kubeconfig",
            &path("broken-kubeconfig"),
        ]),
        with_sources(&[
            "serve",
            "--store",
            &sqlite,
            "--listen",
            &listen,
            "--api-key",
            "PLANTED-API-KEY",
            "--no-kubernetes",
        ]),
        owned(&[
            "--config",
            &path("greenkube.toml"),
            "report",
            "--since",
            "1d",
        ]),
        owned(&[
            "--config",
            &path("greenkube.toml"),
            "collect",
            "--once",
            "--since",
            "10m",
            "--no-kubernetes",
        ]),
        // Without queries in the URLs, so the collection reaches the sources (all unreachable).
        owned(&[
            "collect",
            "--once",
            "--since",
            "10m",
            "--no-kubernetes",
            "--store",
            &sqlite,
            "--prometheus-url",
            "http://u:PLANTED-PROM-PW@127.0.0.1:1",
            "--opencost-url",
            "http://u:PLANTED-OC-PW@127.0.0.1:1",
            "--boavizta-url",
            "http://u:PLANTED-BOA-PW@127.0.0.1:1",
            "--electricity-maps-url",
            "http://u:PLANTED-EM-PW@127.0.0.1:1",
            "--electricity-maps-token",
            "PLANTED-EM-TOKEN",
            "--source-timeout",
            "1",
        ]),
    ];
    let manifest = env!("CARGO_MANIFEST_DIR");
    for args in &cases {
        let out = std::process::Command::cargo_bin("greenkube")
            .unwrap()
            .current_dir(manifest)
            .env_remove("GREENKUBE_CONFIG")
            .env_remove("GREENKUBE_STORE")
            .env_remove("KUBECONFIG")
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let shown = format!("{}{stderr}", String::from_utf8_lossy(&out.stdout));
        assert!(!out.status.success(), "{args:?} should fail:\n{shown}");
        assert!(stderr.contains("error"), "{args:?} says why:\n{shown}");
        assert!(!shown.contains("panicked"), "{args:?}:\n{shown}");
        assert!(
            !shown.contains("PLANTED"),
            "`greenkube {}` prints a secret:\n{shown}",
            args.join(" ")
        );
    }
    drop(taken);
}
