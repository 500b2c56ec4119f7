//! `ecma-host --config FILE` serves; `ecma-host gen-cert --host NAME --out DIR` writes a
//! self-signed certificate. Exit codes: 0 after a clean shutdown, 1 when serving fails, 2 for
//! usage and configuration errors.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use reference_host::config::Config;
use reference_host::{Host, cert, serve};

/// A reference ECMA host: the ECMA2Host SCIM surface over LDAP targets.
#[derive(Parser)]
#[command(name = "ecma-host", version, args_conflicts_with_subcommands = true)]
struct Cli {
    /// The configuration file (see examples/ecma-host-openldap.toml).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Write a self-signed certificate (SAN = host name, two years) and its key.
    GenCert {
        /// The host name the certificate is for (Entra's tenant URL uses it).
        #[arg(long, value_name = "NAME")]
        host: String,
        /// The directory to write ecma-host.crt and ecma-host.key into.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}

/// mimalloc rather than glibc's malloc: a request allocates and frees many small objects, and a
/// connector space holds millions; measured with `scripts/load` (README "Performance").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // One crypto provider for the whole process (ring; see the workspace Cargo.toml), so that
    // no dependency has to guess.
    let _ = rustls::crypto::ring::default_provider().install_default();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match (cli.command, cli.config) {
        (Some(Command::GenCert { host, out }), _) => match cert::generate(&host, &out) {
            Ok((c, k)) => {
                println!("wrote {} and {}", c.display(), k.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("ecma-host: {e}");
                ExitCode::from(2)
            }
        },
        (None, Some(path)) => run(path),
        (None, None) => {
            eprintln!("ecma-host: give --config FILE to serve, or gen-cert (see --help)");
            ExitCode::from(2)
        }
    }
}

fn run(path: PathBuf) -> ExitCode {
    let config = match Config::load(&path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("ecma-host: {e}");
            return ExitCode::from(2);
        }
    };
    let base_dir = path.parent().map(PathBuf::from).unwrap_or_default();
    let listen = config.server.listen;
    // One thread: the current-thread runtime, whose tasks wake each other without a thread
    // switch (server.worker_threads).
    let mut builder = match config.server.worker_threads {
        1 => tokio::runtime::Builder::new_current_thread(),
        n => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(n);
            b
        }
    };
    let runtime = match builder.enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ecma-host: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    // Connectors may set up I/O resources (a SQL connection pool) when they are built.
    let _entered = runtime.enter();
    let host = match Host::new(config, &base_dir) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("ecma-host: {e}");
            return ExitCode::from(2);
        }
    };
    // A configuration the target contradicts (a column that cannot carry its declared type)
    // is refused now, not at every import.
    if let Err(e) = runtime.block_on(host.check_targets(std::time::Duration::from_secs(10))) {
        eprintln!("ecma-host: {e}");
        return ExitCode::from(2);
    }
    let listener = match std::net::TcpListener::bind(listen) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("ecma-host: cannot listen on {listen}: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(serve(host, &base_dir, listener, shutdown_signal()));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ecma-host: {e}");
            ExitCode::from(1)
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
