use std::process::ExitCode;

// Tens of thousands of small JSON maps are built and freed per run; mimalloc does that faster
// and with less fragmentation than glibc malloc across tokio's threads (see bench/results.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // No transparent huge pages: the allocator's arenas would be faulted in 2 MiB at a time,
    // each zeroed whole, which cost a 5,000-node run more system time than all its parsing
    // (bench/results.md). Best effort: an old kernel refusing it changes nothing else.
    let _ = nix::sys::prctl::set_thp_disable(true);
    // rustls: the ring provider, installed explicitly (no aws-lc).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let code = gpu_preflight::cli::main();
    ExitCode::from(u8::try_from(code).unwrap_or(2))
}
