//! Builds the web dashboard (`dashboard/`: TypeScript bundled by Vite) into `OUT_DIR` and writes
//! `OUT_DIR/dashboard_files.rs`, the list of its files (path, content type, bytes through
//! `include_bytes!`) that `src/serve/dashboard.rs` embeds in the binary.
//!
//! Cargo runs this again only when the dashboard's sources, `index.html`, `package.json`,
//! `package-lock.json`, the Vite or TypeScript configuration, or `GREENKUBE_DASHBOARD` change.
//! `npm ci` runs only when `node_modules` is missing or was installed from another lockfile.
//! Nothing is written into the source tree but `dashboard/node_modules`.
//!
//! `GREENKUBE_DASHBOARD=skip` builds without the dashboard (no Node.js needed): `/` then
//! answers a short page saying so.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a build script talks to cargo on stdout and to people on stderr"
)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Output};

/// What the build depends on, relative to `dashboard/`.
const INPUTS: [&str; 7] = [
    "src",
    "public",
    "index.html",
    "package.json",
    "package-lock.json",
    "vite.config.ts",
    "tsconfig.json",
];

/// A copy of the lockfile `node_modules` was installed from.
const STAMP: &str = "node_modules/.greenkube-package-lock.json";

fn main() -> ExitCode {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
    let dashboard = manifest.join("dashboard");
    let listing = out.join("dashboard_files.rs");
    println!("cargo::rerun-if-env-changed=GREENKUBE_DASHBOARD");
    for input in INPUTS {
        println!("cargo::rerun-if-changed=dashboard/{input}");
    }
    if std::env::var_os("GREENKUBE_DASHBOARD").is_some_and(|v| v == "skip") {
        return write(&listing, &generate(None));
    }
    match build(&dashboard, &out.join("dashboard")) {
        Ok(files) => write(&listing, &generate(Some(&files))),
        Err(message) => {
            for line in message.lines() {
                println!("cargo::error={line}");
            }
            ExitCode::FAILURE
        }
    }
}

fn write(path: &Path, text: &str) -> ExitCode {
    // Rewritten only when it changes, so that the crate is not recompiled for nothing.
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return ExitCode::SUCCESS;
    }
    match std::fs::write(path, text) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            println!("cargo::error=cannot write {}: {e}", path.display());
            ExitCode::FAILURE
        }
    }
}

/// `npm ci` if needed, then `npm run build` into `dist`; the files built.
fn build(dashboard: &Path, dist: &Path) -> Result<Vec<(String, PathBuf)>, String> {
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    match Command::new(npm).arg("--version").output() {
        Ok(output) if output.status.success() => {}
        _ => {
            return Err(format!(
                "building the web dashboard needs Node.js 20.19 or later with npm, and `{npm}` \
                 was not found on PATH.\nInstall them (https://nodejs.org/en/download, or the \
                 nodejs and npm packages of your distribution if they are that recent), or build \
                 without the dashboard with GREENKUBE_DASHBOARD=skip (`greenkube serve` then \
                 answers `/` with a page saying so; the API is unchanged)."
            ));
        }
    }
    // Two builds at once (another target directory, an editor's) must not run npm ci in the
    // same folder together: they take turns on a lock named after the folder.
    let _turn = take_turn(dashboard)?;
    let lock = std::fs::read(dashboard.join("package-lock.json"))
        .map_err(|e| format!("cannot read dashboard/package-lock.json: {e}"))?;
    let installed = std::fs::read(dashboard.join(STAMP)).ok();
    if installed.as_deref() != Some(lock.as_slice()) {
        run(
            Command::new(npm)
                .args(["ci", "--include=dev", "--no-audit", "--no-fund"])
                .args(["--loglevel=error"])
                .current_dir(dashboard),
            "npm ci (in greenkube-cli/dashboard)",
        )?;
        std::fs::write(dashboard.join(STAMP), &lock)
            .map_err(|e| format!("cannot write dashboard/{STAMP}: {e}"))?;
    }
    run(
        Command::new(npm)
            .args(["run", "build", "--silent"])
            .env("GREENKUBE_DASHBOARD_OUT", dist)
            .current_dir(dashboard),
        "npm run build (in greenkube-cli/dashboard)",
    )?;
    let mut files = Vec::new();
    collect(dist, dist, &mut files)?;
    files.sort();
    if !files.iter().any(|(path, _)| path == "/index.html") {
        return Err(format!(
            "the dashboard's build has no index.html in {}",
            dist.display()
        ));
    }
    Ok(files)
}

/// An exclusive lock on a file of the temporary folder named after `dashboard`, held until
/// dropped.
fn take_turn(dashboard: &Path) -> Result<std::fs::File, String> {
    use std::hash::{Hash as _, Hasher as _};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    dashboard.hash(&mut hasher);
    let path = std::env::temp_dir().join(format!(
        "greenkube-dashboard-build-{:016x}.lock",
        hasher.finish()
    ));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("cannot open the build lock {}: {e}", path.display()))?;
    file.lock()
        .map_err(|e| format!("cannot take the build lock {}: {e}", path.display()))?;
    Ok(file)
}

fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let output: Output = command
        .output()
        .map_err(|e| format!("{what} could not start: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    // Its output is shown to the person building (not on stdout: cargo reads that).
    eprintln!("{}", String::from_utf8_lossy(&output.stdout));
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    Err(format!(
        "{what} failed ({}); its output is above",
        output.status
    ))
}

/// Every file under `dir`, as (URL path, absolute path).
fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
            .path();
        if path.is_dir() {
            collect(root, &path, files)?;
        } else {
            let relative = path
                .strip_prefix(root)
                .map_err(|e| e.to_string())?
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            files.push((format!("/{relative}"), path));
        }
    }
    Ok(())
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map_or("", |(_, ext)| ext) {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The Rust source of the list (`files` is `None` when built without the dashboard).
fn generate(files: Option<&[(String, PathBuf)]>) -> String {
    let mut text =
        String::from("// Generated by greenkube-cli/build.rs: the dashboard's files.\n\n");
    let built = files.is_some();
    let _ = writeln!(
        text,
        "/// Whether the dashboard was built (not with `GREENKUBE_DASHBOARD=skip`).\n\
         pub(crate) const BUILT: bool = {built};\n"
    );
    text.push_str("/// Every file of the dashboard's build, sorted by path.\npub(crate) static FILES: &[Asset] = &[\n");
    for (path, file) in files.unwrap_or_default() {
        let _ = writeln!(
            text,
            "    Asset {{ path: {path:?}, content_type: {:?}, bytes: include_bytes!({:?}) }},",
            content_type(path),
            file.display().to_string(),
        );
    }
    text.push_str("];\n");
    text
}
