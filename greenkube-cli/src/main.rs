//! The `greenkube` binary.

fn main() -> std::process::ExitCode {
    greenkube_cli::main()
}
