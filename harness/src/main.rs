//! `ecmacert`: run the conformance suite against an ECMA host.
//!
//! Exit codes: 0 when every MUST scenario passed, 1 when any failed, 2 for usage and
//! configuration errors (the message names the key).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use harness::config::Config;
use harness::runner::{self, RunOptions};
use harness::suite::Suite;
use scim_proto::Dialect;

/// The conformance suite for ECMA hosts: plays the Entra provisioning service and reads the
/// target back.
#[derive(Parser)]
#[command(name = "ecmacert", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the suite.
    Run {
        #[command(flatten)]
        selection: Selection,
        /// Which PATCH dialect(s) the provisioning service speaks.
        #[arg(long, value_enum, default_value = "both")]
        dialect: DialectArg,
        /// Write a JUnit report here (one testcase per scenario × profile × dialect).
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Write the whole report as JSON here.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// Scenarios in flight at once.
        #[arg(long, value_name = "N", default_value_t = 8)]
        concurrency: usize,
    },
    /// List the scenarios and profiles a run would use, without contacting anything.
    List {
        #[command(flatten)]
        selection: Selection,
        /// Which PATCH dialect(s).
        #[arg(long, value_enum, default_value = "both")]
        dialect: DialectArg,
    },
}

#[derive(clap::Args)]
struct Selection {
    /// The run configuration (see examples/ecmacert-reference-openldap.toml).
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// A profile to run (repeatable); default: the configuration's.
    #[arg(long = "profile", value_name = "NAME")]
    profiles: Vec<String>,
    /// Only scenarios matching this tag expression, e.g. "@must and not @ldap".
    #[arg(long, value_name = "EXPR")]
    tags: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum DialectArg {
    /// `Add`/`Replace`, "False", one operation per attribute.
    EntraDefault,
    /// The aadOptscim062020 flag: lower-case ops, booleans, path-less replace.
    EntraScim2020,
    /// Each scenario in both.
    Both,
}

impl DialectArg {
    fn dialects(self) -> Vec<Dialect> {
        match self {
            DialectArg::EntraDefault => vec![Dialect::EntraDefault],
            DialectArg::EntraScim2020 => vec![Dialect::EntraScim2020],
            DialectArg::Both => Dialect::ALL.to_vec(),
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("ecmacert: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn load(path: &std::path::Path) -> anyhow::Result<(Config, PathBuf, Suite)> {
    let config = Config::load(path)?;
    let base_dir = path.parent().map(PathBuf::from).unwrap_or_default();
    let suite = Suite::embedded()?;
    Ok((config, base_dir, suite))
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::List { selection, dialect } => {
            let (config, _, suite) = load(&selection.config)?;
            let options = RunOptions {
                profiles: selection.profiles,
                dialects: dialect.dialects(),
                tags: selection.tags,
                concurrency: 1,
            };
            print!("{}", runner::describe_plan(&suite, &config, &options)?);
            Ok(0)
        }
        Command::Run {
            selection,
            dialect,
            junit,
            json,
            concurrency,
        } => {
            let (config, base_dir, suite) = load(&selection.config)?;
            let options = RunOptions {
                profiles: selection.profiles,
                dialects: dialect.dialects(),
                tags: selection.tags,
                concurrency,
            };
            let runtime = tokio::runtime::Runtime::new()?;
            let report = runtime.block_on(runner::run(&suite, &config, &base_dir, &options))?;
            print!("{}", reports::terminal::render(&report));
            if let Some(path) = junit {
                write(&path, &reports::junit::render(&report))?;
            }
            if let Some(path) = json {
                write(&path, &serde_json::to_string_pretty(&report)?)?;
            }
            Ok(report.exit_code())
        }
    }
}

fn write(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))
}
