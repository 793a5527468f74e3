//! The `greenkube` binary.

/// mimalloc rather than glibc's malloc: the engine and the recommender allocate many small,
/// short-lived values (pod rows, restricted windows) on several threads, where glibc spent a
/// quarter of the time (see benches/README.md, "Recommender with many findings").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    greenkube_cli::main()
}
