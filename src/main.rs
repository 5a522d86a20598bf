use std::process::ExitCode;

fn main() -> ExitCode {
    // rustls: the ring provider, installed explicitly (no aws-lc).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let code = gpu_preflight::cli::main();
    ExitCode::from(u8::try_from(code).unwrap_or(2))
}
