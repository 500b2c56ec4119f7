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

/// mimalloc rather than glibc's malloc: a run allocates and frees many small objects (JSON,
/// steps, the embedded host's requests); malloc and free were a sixth of the embedded
/// default's CPU samples under `perf` (README "Performance").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
        args: RunArgs,
    },
    /// Run every scenario for a certification: like `run`, but --tags and --expected are
    /// refused, a profile whose MUST scenarios this run cannot all check (no import hook, no
    /// fault injection) is refused before anything runs, and the result is marked as a
    /// certification in every report.
    Certify {
        #[command(flatten)]
        args: RunArgs,
        /// Sign a certification bundle with this private key (`ecmacert keygen`); needs --out.
        #[arg(long, value_name = "KEY", requires = "out")]
        key: Option<PathBuf>,
        /// Write the certification bundle (a tar archive: reports, configuration, signed
        /// manifest) here; needs --key.
        #[arg(long, value_name = "BUNDLE", requires = "key")]
        out: Option<PathBuf>,
    },
    /// Write a new Ed25519 key pair for signing certification bundles: PREFIX.key (private,
    /// mode 0600) and PREFIX.pub. Refuses to overwrite.
    Keygen {
        /// The files' path without extension.
        #[arg(long, value_name = "PREFIX")]
        out: PathBuf,
    },
    /// Check a certification bundle: its signature with the public key, every file's digest,
    /// that the certification passed, that it ran this suite, and that every MUST scenario of
    /// its profiles passed in both dialects. Exits 0 when all hold, 1 naming the first that does
    /// not, 2 when the bundle or key cannot be read.
    Verify {
        /// The bundle (`ecmacert certify --out`).
        bundle: PathBuf,
        /// The signer's public key (PREFIX.pub).
        #[arg(long, value_name = "PUB")]
        key: PathBuf,
    },
    /// Time Entra's provisioning cycle for many generated users through the host — matching
    /// query (miss), create, matching query (hit), PATCH, disable, delete — with requests/s and
    /// p50/p95/p99/max latency per step, then read every object back from the target. With
    /// --direct, the same steps straight against the target in alternating rounds, and the
    /// ratio host ÷ direct per step. Exits 0 when every request succeeded and every object
    /// read back right, 1 otherwise, 2 when the configuration cannot be used.
    Load {
        /// The run configuration (`ecmacert run --config`): the host, its target, the profile.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// The profile (default: the configuration's first).
        #[arg(long, value_name = "NAME")]
        profile: Option<String>,
        /// Users per round (and per side with --direct); 0 with --seed for the start-up
        /// figures alone.
        #[arg(long, value_name = "N", default_value_t = 1000)]
        users: usize,
        /// Seed N objects straight into the target first (the probe, --concurrency
        /// connections), then start the host (host.command) and time its first import until
        /// Test Connection answers, its resident memory (ready, peak), and a re-import
        /// (host.import) with matching queries sent all along (p99, max). The seeded objects are
        /// removed at the end.
        #[arg(long, value_name = "N")]
        seed: Option<usize>,
        /// Clients at once.
        #[arg(long, value_name = "C", default_value_t = 8)]
        concurrency: usize,
        /// The phases, comma-separated, of match, create, patch, disable, delete (default:
        /// every phase the profile's deprovisioning flows allow).
        #[arg(long, value_name = "LIST", value_delimiter = ',')]
        phases: Vec<String>,
        /// The PATCH dialect.
        #[arg(long, value_enum, default_value = "entra-default")]
        dialect: OneDialect,
        /// Also carry the steps out straight against the target (ldap3 / sqlx), interleaved
        /// with the host's in rounds, and print host ÷ direct per step.
        #[arg(long)]
        direct: bool,
        /// Rounds, each with fresh users (default: 5 with --direct, else 1).
        #[arg(long, value_name = "R")]
        rounds: Option<usize>,
        /// Seconds after which no request is started (the result then fails).
        #[arg(long, value_name = "SECONDS", default_value_t = 600)]
        time_limit: u64,
        /// Write the figures as JSON here.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Provision one Entra user on demand, as the provisioning service would with an
    /// attribute-mapping file (Entra's own mapping types, expressions, "apply only during object
    /// creation", matching precedence, scoping filters), and print the trace: scoping clause by
    /// clause, each mapping's value with every expression call's result, the matching queries
    /// and answers, the create or update (only the changed attributes) and its answer, and the
    /// target's object read by the probe. Exits 0 when the host provisioned the user as sent (or
    /// had nothing to change, or the user is out of scope), 1 when it did not, 2 when the
    /// configuration, mapping or user cannot be used.
    Provision {
        /// The run configuration (`ecmacert run --config`): the host, its target, the profile.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// The profile (default: the configuration's first).
        #[arg(long, value_name = "NAME")]
        profile: Option<String>,
        /// The attribute mappings and scoping filters (TOML; examples/mappings/).
        #[arg(long, value_name = "FILE")]
        mapping: PathBuf,
        /// The Entra user: a JSON object of Entra attributes (examples/users/).
        #[arg(long, value_name = "FILE")]
        user: PathBuf,
        /// Stop before the first write: scoping, mappings and matching queries only.
        #[arg(long)]
        dry_run: bool,
        /// The PATCH dialect of an update.
        #[arg(long, value_enum, default_value = "entra-default")]
        dialect: OneDialect,
        /// Seed of Guid() and RandomString(), so that a trace repeats.
        #[arg(long, value_name = "N", default_value_t = 1)]
        seed: u64,
        /// Also write the trace as JSON here.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Run Entra's provisioning cycles over a set of users through the host with an
    /// attribute-mapping file: the initial cycle (every user: scoping, mappings, matching
    /// queries in precedence order, create or update of only the changed attributes), then
    /// incremental ones (only users new, changed, gone — deleted — or in escrow; a provisioned
    /// user out of scope or soft-deleted is disabled). Prints per cycle the counts Entra's
    /// provisioning log would show (created, updated, disabled, deleted, skipped, failed), the
    /// requests sent, the objects read back by the probe, the escrow and the quarantine. With
    /// no --config, the embedded default (the reference host on its mock directory, profile
    /// openldap-disable-flag). Exits 0 when every user was provisioned as sent, 1 when one
    /// failed or the job is quarantined, 2 when the configuration, mapping or users cannot be
    /// used.
    Cycle {
        /// The run configuration (`ecmacert run --config`); without it, the embedded default.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// The profile (default: the configuration's first; embedded: openldap-disable-flag).
        #[arg(long, value_name = "NAME")]
        profile: Option<String>,
        /// The attribute mappings and scoping filters (TOML; examples/mappings/).
        #[arg(long, value_name = "FILE")]
        mapping: PathBuf,
        /// A JSON array of Entra users, one cycle per --users, in order.
        #[arg(long = "users", value_name = "FILE", conflicts_with = "generate")]
        users: Vec<PathBuf>,
        /// Generate N users (from --seed) for the first cycle.
        #[arg(long, value_name = "N")]
        generate: Option<usize>,
        /// Then a second cycle with K generated users changed (surname and displayName).
        #[arg(long, value_name = "K", default_value_t = 0, requires = "generate")]
        change: usize,
        /// … K soft-deleted (IsSoftDeleted true: disabled).
        #[arg(long, value_name = "K", default_value_t = 0, requires = "generate")]
        soft_delete: usize,
        /// … K removed from the set (deleted in Entra: DELETE).
        #[arg(long, value_name = "K", default_value_t = 0, requires = "generate")]
        remove: usize,
        /// The job's state: read first when the file exists, written after each cycle, so a
        /// later invocation runs an incremental cycle.
        #[arg(long, value_name = "FILE")]
        state: Option<PathBuf>,
        /// What happens to a provisioned user who leaves the scope.
        #[arg(long, value_enum, default_value = "disable")]
        out_of_scope: OutOfScopeArg,
        /// The PATCH dialect.
        #[arg(long, value_enum, default_value = "entra-default")]
        dialect: OneDialect,
        /// Seed of the generated users, Guid() and RandomString().
        #[arg(long, value_name = "N", default_value_t = 1)]
        seed: u64,
        /// Also write the summary as JSON here.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// List the scenarios and profiles a run would use, without contacting anything.
    List {
        #[command(flatten)]
        selection: Selection,
        /// Which PATCH dialect(s).
        #[arg(long, value_enum, default_value = "both")]
        dialect: DialectArg,
    },
    /// Every requirement of the catalogue with the scenarios that check it and, per profile,
    /// whether one of them runs there (what a run provides — import and restart hooks, fault
    /// injection, another connector — counted as available); ends with `MUST covered: N/M`. Exits 1 when a MUST is checked under none of
    /// the profiles.
    Requirements {
        /// A profile to look at (repeatable); default: every shipped profile.
        #[arg(long = "profile", value_name = "NAME")]
        profiles: Vec<String>,
        /// `text` or `json`.
        #[arg(long, value_enum, default_value = "text")]
        format: FormatArg,
    },
    /// Run the suite on the embedded default against deliberately defective hosts (the
    /// reference host with one behaviour changed each) and print the kill matrix. Exits 1 when
    /// a mutant survives, or when a scenario kills no mutant and is not listed with a reason in
    /// features/selftest-exempt.toml.
    #[cfg(feature = "embedded")]
    Selftest {
        /// Only this mutant (repeatable); the scenarios are then not judged.
        #[arg(long = "mutant", value_name = "NAME")]
        mutants: Vec<String>,
        /// List the mutants and exit.
        #[arg(long)]
        list: bool,
        /// Mutants run at once (each with its own mocks and host).
        #[arg(long, value_name = "N", default_value_t = 2)]
        jobs: usize,
        /// The dialect(s) each mutant runs in; a mutant whose defect is one dialect's always
        /// runs in that one. `entra-default` halves the time (what CI runs).
        #[arg(long, value_enum, default_value = "both")]
        dialect: DialectArg,
        /// Write the matrix as JSON here.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// Write each mutant's whole report (the run's JSON report) into this directory as
        /// `<mutant>.json`.
        #[arg(long, value_name = "DIR")]
        reports: Option<PathBuf>,
    },
    /// Work with reports a run wrote (`--json`).
    Report {
        #[command(subcommand)]
        command: ReportCommand,
    },
    /// Run the mock LDAP server on its own, for aiming a host at a directory that misbehaves on
    /// demand or answers like AD LDS.
    #[cfg(feature = "embedded")]
    MockLdap {
        /// Where to listen.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:3890")]
        listen: std::net::SocketAddr,
        /// `openldap` or `adlds`.
        #[arg(long, value_name = "FLAVOUR", default_value = "openldap")]
        flavour: String,
        /// The naming context; its entry is created.
        #[arg(long, value_name = "DN", default_value = "dc=contoso,dc=lab")]
        base: String,
        /// The administrator's DN (default: cn=admin,<base>).
        #[arg(long, value_name = "DN")]
        admin_dn: Option<String>,
        /// The environment variable holding the administrator's password.
        #[arg(long, value_name = "VARIABLE", default_value = "LDAP_BIND_PASSWORD")]
        password_env: String,
        /// A fault to inject (repeatable), e.g. "op=add;fail=68",
        /// "op=modify;dn=uid=alice;fail=19:sn too long;times=always", "drop;times=3",
        /// "op=delete;delay=4". Parts: op=, dn= (a DN substring), as= (the bound DN),
        /// times=once|always|N, and one action: fail=CODE or fail=CODE:message,
        /// delay=SECONDS, or drop.
        #[arg(long = "fault", value_name = "RULE")]
        faults: Vec<String>,
    },
}

#[derive(Subcommand)]
enum ReportCommand {
    /// Two runs side by side (before and after an agent upgrade): every case whose outcome
    /// changed, regressions first (a case that ran before and does not now is one), then the
    /// cases with the same outcome for another reason (run ids, generated names, ports and
    /// numbers normalised away). Exits 1 when a case regressed, 0 otherwise, 2 when a report
    /// cannot be read.
    Diff {
        /// The report before (`ecmacert run --json`).
        old: PathBuf,
        /// The report after.
        new: PathBuf,
        /// Also write the listing as Markdown here.
        #[arg(long, value_name = "FILE")]
        markdown: Option<PathBuf>,
        /// Also write the listing as a self-contained HTML page here.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
    },
    /// Render a saved report (`--json`) as the self-contained HTML page `run --html` writes.
    Html {
        /// The report.
        report: PathBuf,
        /// Where the page goes.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Join the --json reports of every shard of a run (`run --shard i/n`) into the report of
    /// the whole run, print its summary and exit as the whole run would (0 or 1). Exits 2 when a
    /// shard is missing or given twice, or the shards ran different suites or profiles.
    Merge {
        /// The shards' reports, in any order.
        #[arg(required = true)]
        shards: Vec<PathBuf>,
        /// Where the merged report goes (JSON).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Also write the merged JUnit report here.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Also write the merged Markdown summary here.
        #[arg(long, value_name = "FILE")]
        markdown: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
struct RunArgs {
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
    /// Write a Markdown summary here, short enough for a pull-request comment: the verdict,
    /// the counts, the failures grouped by cause.
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
    /// Write the HTML report here: one self-contained page (no network fetch) with the verdict,
    /// a requirement × profile matrix, filters, and every case's evidence.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Scenarios in flight at once per profile (the embedded default: per core, up to one
    /// core per profile, in one budget its profiles share).
    #[arg(long, value_name = "N", default_value_t = 8)]
    concurrency: usize,
    /// No progress bar: one plain line per profile × dialect as it finishes, on standard error
    /// (what a run that is not on a terminal does anyway).
    #[arg(long)]
    no_progress: bool,
    /// Run only shard i of n (1-based, e.g. 2/3): every profile's scenarios are dealt out in
    /// suite order, both dialects of a scenario in the same shard; `ecmacert report merge`
    /// joins the shards' --json reports into the whole run's.
    #[arg(long, value_name = "I/N")]
    shard: Option<reports::shard::Shard>,
    /// Fail the run when a SHOULD does not hold (warnings become failures; MAY stays a
    /// warning).
    #[arg(long)]
    strict: bool,
    /// Known failures of this host, with reasons (TOML: `[[expected]]` with scenario, profile,
    /// dialect, reason). Listed failures no longer fail the run; a listed case that passes
    /// does, so the list only shrinks.
    #[arg(long, value_name = "FILE")]
    expected: Option<PathBuf>,
    /// Where the run writes what it keeps besides reports (the started host's output); default:
    /// a fresh directory under the system's temporary directory, named in the summary.
    #[arg(long, value_name = "DIR")]
    output_dir: Option<PathBuf>,
    /// Start the run's target in a container first: container:openldap, container:389ds,
    /// container:postgres or container:mariadb. It takes the place of the configuration's
    /// `[target]` (published on target.url's port, its administrator given target.bind_dn or the
    /// URL's user and target.bind_password) and is removed at the end. Needs --config, an
    /// ecmacert built with `--features containers`, and a Docker engine.
    #[arg(long, value_name = "container:KIND")]
    target: Option<harness::container::TargetOverride>,
}

#[derive(clap::Args)]
struct Selection {
    /// The run configuration (see examples/ecmacert-reference-openldap.toml). Without it: the
    /// embedded default, the reference host on mock directories in this process.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// A profile to run (repeatable); default: the configuration's.
    #[arg(long = "profile", value_name = "NAME")]
    profiles: Vec<String>,
    /// A profile of your own, in the shipped profiles' TOML format (repeatable): added to the
    /// suite and run. Needs --config.
    #[arg(long = "profile-file", value_name = "FILE")]
    profile_files: Vec<PathBuf>,
    /// Only scenarios matching this tag expression, e.g. "@must and not @ldap".
    #[arg(long, value_name = "EXPR")]
    tags: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    /// A block per requirement and a summary line.
    Text,
    /// The same as one JSON document.
    Json,
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

/// One PATCH dialect.
#[derive(Clone, Copy, ValueEnum)]
enum OneDialect {
    /// `Add`/`Replace`, "False", one operation per attribute.
    EntraDefault,
    /// The aadOptscim062020 flag: lower-case ops, booleans, path-less replace.
    EntraScim2020,
}

/// What a job does with a provisioned user who leaves the scope.
#[derive(Clone, Copy, ValueEnum)]
enum OutOfScopeArg {
    /// PATCH active false (Entra's default).
    Disable,
    /// DELETE.
    Delete,
    /// Nothing ("Skip out of scope deletions").
    Skip,
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
                // The mocks' protocol library warns of every control it does not parse (the
                // reference host's Post-Read on each add); the mocks ignore them, as a
                // directory ignores a non-critical control it does not support.
                .unwrap_or_else(|_| {
                    tracing_subscriber::EnvFilter::new("warn,ldap3_proto::control=error")
                }),
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

/// What a command works on: the configuration (with its directory) if one was given, the
/// suite with the vendor's profiles added, and the profiles to run (`--profile`, then those
/// of `--profile-file`).
type Prepared = (Option<(Config, PathBuf)>, Suite, Vec<String>);

fn prepare(selection: &Selection) -> anyhow::Result<Prepared> {
    let mut suite = Suite::embedded()?;
    let mut profiles = selection.profiles.clone();
    let Some(path) = &selection.config else {
        if !selection.profile_files.is_empty() {
            return Err(harness::config::ConfigError::invalid(
                "--profile-file",
                "the embedded default runs only its own profiles; give --config for a host of yours",
            )
            .into());
        }
        return Ok((None, suite, profiles));
    };
    let config = Config::load(path)?;
    let base_dir = path.parent().map(PathBuf::from).unwrap_or_default();
    if let Some(dir) = &config.profiles_dir {
        suite.add_profiles_dir(&base_dir.join(dir))?;
    }
    for file in &selection.profile_files {
        profiles.push(suite.add_profile_file(file)?);
    }
    Ok((Some((config, base_dir)), suite, profiles))
}

/// A report written by `ecmacert run --json`; the error names the file and what is wrong.
fn read_report(path: &std::path::Path) -> anyhow::Result<reports::Report> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "{} is not an ecmacert report (ecmacert run --json): {e}",
            path.display()
        )
    })
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Report {
            command:
                ReportCommand::Diff {
                    old,
                    new,
                    markdown,
                    html,
                },
        } => {
            let (old, new) = (read_report(&old)?, read_report(&new)?);
            let diff = reports::diff::diff(&old, &new);
            if let Some(path) = html {
                write(&path, &diff.html())?;
            }
            emit(&diff.text());
            if let Some(path) = markdown {
                write(&path, &diff.markdown())?;
            }
            Ok(u8::from(diff.regressed()))
        }
        Command::Report {
            command: ReportCommand::Html { report, out },
        } => {
            let report = read_report(&report)?;
            write(&out, &reports::html::render(&report))?;
            Ok(0)
        }
        Command::Report {
            command:
                ReportCommand::Merge {
                    shards,
                    out,
                    junit,
                    markdown,
                },
        } => {
            let reports = shards
                .iter()
                .map(|p| read_report(p))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let merged =
                reports::shard::merge(reports).map_err(|e| anyhow::anyhow!("report merge: {e}"))?;
            emit(&reports::terminal::render(&merged));
            write(&out, &serde_json::to_string_pretty(&merged)?)?;
            if let Some(path) = junit {
                write(&path, &reports::junit::render(&merged))?;
            }
            if let Some(path) = markdown {
                write(&path, &reports::markdown::render(&merged))?;
            }
            Ok(merged.exit_code())
        }
        Command::Requirements { profiles, format } => {
            let suite = Suite::embedded()?;
            let coverage = harness::coverage::Coverage::of(&suite, &profiles)
                .map_err(|e| harness::config::ConfigError::invalid("--profile", e))?;
            match format {
                FormatArg::Text => emit(&coverage.text()),
                FormatArg::Json => println!("{}", serde_json::to_string_pretty(&coverage)?),
            }
            Ok(coverage.exit_code())
        }
        Command::Provision {
            config,
            profile,
            mapping,
            user,
            dry_run,
            dialect,
            seed,
            json,
        } => {
            let mut suite = Suite::embedded()?;
            let loaded = Config::load(&config)?;
            let base_dir = config.parent().map(PathBuf::from).unwrap_or_default();
            if let Some(dir) = &loaded.profiles_dir {
                suite.add_profiles_dir(&base_dir.join(dir))?;
            }
            let options = harness::provision::ProvisionOptions {
                profile,
                mapping,
                user,
                dry_run,
                dialect: match dialect {
                    OneDialect::EntraDefault => Dialect::EntraDefault,
                    OneDialect::EntraScim2020 => Dialect::EntraScim2020,
                },
                seed,
            };
            let runtime = tokio::runtime::Runtime::new()?;
            let trace = runtime.block_on(harness::provision::provision(
                &suite, &loaded, &base_dir, &options,
            ))?;
            print!("{}", harness::provision::render(&trace));
            if let Some(path) = json {
                std::fs::write(&path, serde_json::to_string_pretty(&trace)?)
                    .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
            }
            Ok(u8::from(!trace.passed))
        }
        Command::Cycle {
            config,
            profile,
            mapping,
            users,
            generate,
            change,
            soft_delete,
            remove,
            state,
            out_of_scope,
            dialect,
            seed,
            json,
        } => {
            use entra_provisioning::cycle::{self as job, Evolution, OutOfScope};
            use harness::cycle::UserSet;
            let mut cycles: Vec<UserSet> = users.into_iter().map(UserSet::File).collect();
            if let Some(n) = generate {
                let first = job::generate(n, seed);
                let evolution = Evolution {
                    changed: change,
                    soft_deleted: soft_delete,
                    removed: remove,
                };
                let second = (evolution != Evolution::default())
                    .then(|| job::evolve(&first, evolution, seed))
                    .transpose()
                    .map_err(|e| harness::config::ConfigError::invalid("--generate", e))?;
                cycles.push(UserSet::Given {
                    name: format!("{n} generated users"),
                    users: first,
                });
                if let Some((users, _)) = second {
                    cycles.push(UserSet::Given {
                        name: format!(
                            "{change} changed, {soft_delete} soft-deleted, {remove} removed"
                        ),
                        users,
                    });
                }
            }
            let options = harness::cycle::CycleOptions {
                profile: profile.clone(),
                mapping,
                cycles,
                state,
                dialect: match dialect {
                    OneDialect::EntraDefault => Dialect::EntraDefault,
                    OneDialect::EntraScim2020 => Dialect::EntraScim2020,
                },
                seed,
                out_of_scope: match out_of_scope {
                    OutOfScopeArg::Disable => OutOfScope::Disable,
                    OutOfScopeArg::Delete => OutOfScope::Delete,
                    OutOfScopeArg::Skip => OutOfScope::Skip,
                },
            };
            let mut suite = Suite::embedded()?;
            let runtime = tokio::runtime::Runtime::new()?;
            let report = match config {
                Some(config) => {
                    let loaded = Config::load(&config)?;
                    let base_dir = config.parent().map(PathBuf::from).unwrap_or_default();
                    if let Some(dir) = &loaded.profiles_dir {
                        suite.add_profiles_dir(&base_dir.join(dir))?;
                    }
                    runtime.block_on(harness::cycle::cycle(&suite, &loaded, &base_dir, &options))?
                }
                #[cfg(not(feature = "embedded"))]
                None => return Err(no_embedded_default()),
                #[cfg(feature = "embedded")]
                None => {
                    if options.state.is_some() {
                        return Err(harness::config::ConfigError::invalid(
                            "--state",
                            "the embedded default's directory lives only as long as one invocation: \
                             keep a job state with --config and a target of your own",
                        )
                        .into());
                    }
                    let profile = profile.unwrap_or_else(|| "openldap-disable-flag".into());
                    let options = harness::cycle::CycleOptions {
                        profile: Some(profile.clone()),
                        ..options
                    };
                    runtime.block_on(harness::embedded::with_profile(
                        &suite,
                        &profile,
                        |app| app,
                        async |config, base| {
                            harness::cycle::cycle(&suite, config, base, &options).await
                        },
                    ))??
                }
            };
            print!("{}", harness::cycle::render(&report));
            if let Some(path) = json {
                std::fs::write(&path, serde_json::to_string_pretty(&report)?)
                    .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
            }
            Ok(u8::from(!report.passed))
        }
        Command::Load {
            config,
            profile,
            users,
            concurrency,
            phases,
            dialect,
            direct,
            rounds,
            time_limit,
            json,
            seed,
        } => {
            let phases = phases
                .iter()
                .map(|p| {
                    harness::load::Phase::named(p.trim()).ok_or_else(|| {
                        harness::config::ConfigError::invalid(
                            "--phases",
                            format!("{p:?} is not a phase (match, create, patch, disable, delete)"),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let mut suite = Suite::embedded()?;
            let loaded = Config::load(&config)?;
            let base_dir = config.parent().map(PathBuf::from).unwrap_or_default();
            if let Some(dir) = &loaded.profiles_dir {
                suite.add_profiles_dir(&base_dir.join(dir))?;
            }
            let options = harness::load::LoadOptions {
                profile,
                users,
                concurrency,
                phases,
                dialect: match dialect {
                    OneDialect::EntraDefault => Dialect::EntraDefault,
                    OneDialect::EntraScim2020 => Dialect::EntraScim2020,
                },
                direct,
                rounds: rounds.unwrap_or(if direct { 5 } else { 1 }),
                time_limit: std::time::Duration::from_secs(time_limit),
                seed,
            };
            // One thread for the load's clients, which share the machine's cores with the
            // host and the target: their work per request is small (about 30 µs of CPU for a
            // matching query) and they mostly wait on the host; a second thread measured no
            // better and only adds wake-ups between threads.
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let report =
                runtime.block_on(harness::load::run(&suite, &loaded, &base_dir, &options))?;
            emit(&report.text());
            if let Some(path) = json {
                write(&path, &serde_json::to_string_pretty(&report)?)?;
            }
            Ok(report.exit_code())
        }
        Command::List { selection, dialect } => {
            let (config, suite, profiles) = prepare(&selection)?;
            let options = RunOptions {
                profiles,
                dialects: dialect.dialects(),
                tags: selection.tags,
                concurrency: 1,
                ..RunOptions::default()
            };
            match config {
                Some((config, _)) => {
                    emit(&runner::describe_plan(&suite, &config, &options)?);
                }
                None => emit(&describe_embedded(&suite, &options)?),
            }
            Ok(0)
        }
        Command::Run { args } => run_suite(args, false),
        #[cfg(feature = "embedded")]
        Command::Selftest {
            mutants,
            list,
            jobs,
            dialect,
            json,
            reports,
        } => {
            use harness::selftest;
            if list {
                for m in selftest::mutants() {
                    println!("{:<34} {}", m.name, m.behaviour);
                }
                return Ok(0);
            }
            if let Some(dir) = &reports {
                std::fs::create_dir_all(dir).map_err(|e| {
                    anyhow::anyhow!("--reports: cannot create {}: {e}", dir.display())
                })?;
            }
            let suite = Suite::embedded()?;
            let options = RunOptions {
                dialects: dialect.dialects(),
                ..RunOptions::default()
            };
            let exemptions = selftest::Exemptions::shipped().map_err(|e| anyhow::anyhow!(e))?;
            let runtime = tokio::runtime::Runtime::new()?;
            let matrix = runtime.block_on(selftest::run(
                &suite,
                &options,
                &mutants,
                jobs,
                reports.as_deref(),
                &exemptions,
                |row| {
                    eprintln!(
                        "{} {} ({} scenario(s), {:.1} s)",
                        if row.killed { "killed  " } else { "SURVIVED" },
                        row.mutant,
                        row.killed_by.len(),
                        row.seconds
                    );
                },
            ))?;
            emit(&matrix.text());
            if let Some(path) = json {
                write(&path, &serde_json::to_string_pretty(&matrix)?)?;
            }
            Ok(matrix.exit_code())
        }
        Command::Certify { args, key, out } => {
            let config = args.selection.config.clone();
            let (code, report, suite) = run_suite_report(args, true)?;
            if let (Some(key), Some(out)) = (key, out) {
                let manifest =
                    harness::bundle::write(&out, &report, &suite, config.as_deref(), &key)?;
                println!(
                    "bundle: {} ({} files, verdict {}, signed)",
                    out.display(),
                    manifest.files.len() + 2,
                    manifest.verdict
                );
            }
            Ok(code)
        }
        Command::Keygen { out } => {
            let (key, public) = harness::bundle::keygen(&out)?;
            println!(
                "private key: {} (mode 0600; keep it)
public key: {} (give it to whoever verifies)",
                key.display(),
                public.display()
            );
            Ok(0)
        }
        Command::Verify { bundle, key } => {
            let suite = Suite::embedded()?;
            match harness::bundle::verify(&bundle, &key, &suite)? {
                Ok(m) => {
                    if m.host.contains("embedded default") {
                        println!(
                            "note: this bundle certifies ecmacert's own reference host (the \
                             embedded default), not a vendor's host"
                        );
                    }
                    println!(
                        "VERIFIED: {} · run {} · {} · ecmacert {} · {} · profiles {}",
                        bundle.display(),
                        m.run_id,
                        m.host,
                        m.ecmacert,
                        m.created,
                        m.profiles.join(", ")
                    );
                    Ok(0)
                }
                Err(why) => {
                    println!("NOT VERIFIED: {}: {why}", bundle.display());
                    Ok(1)
                }
            }
        }
        #[cfg(feature = "embedded")]
        Command::MockLdap {
            listen,
            flavour,
            base,
            admin_dn,
            password_env,
            faults,
        } => {
            let faults = faults
                .iter()
                .map(|f| {
                    f.parse::<mock_targets::ldap::FaultRule>()
                        .map(|rule| (f.clone(), rule))
                        .map_err(|e| anyhow::anyhow!("--fault: {e}"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let flavour: mock_targets::ldap::Flavour = flavour
                .parse()
                .map_err(|e: String| anyhow::anyhow!("--flavour: {e}"))?;
            let password = std::env::var(&password_env).map_err(|_| {
                anyhow::anyhow!("--password-env: environment variable {password_env} is not set")
            })?;
            let admin = admin_dn.unwrap_or_else(|| format!("cn=admin,{base}"));
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(async {
                let config = mock_targets::ldap::MockConfig {
                    listen,
                    ..mock_targets::ldap::MockConfig::new(flavour, &base, &admin, &password)
                };
                let mock = mock_targets::ldap::MockLdap::start(config)
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
                mock.seed_naming_context()
                    .map_err(|e| anyhow::anyhow!("{base}: {}", e.message))?;
                for (text, rule) in faults {
                    println!("fault: {text}");
                    mock.inject(rule);
                }
                println!(
                    "mock LDAP ({flavour:?}) on {}; base {base}; bind as {admin} with the password \
                     in {password_env}; Ctrl-C stops it",
                    mock.url()
                );
                use std::io::Write as _;
                let _ = std::io::stdout().flush();
                let _ = tokio::signal::ctrl_c().await;
                Ok::<_, anyhow::Error>(0)
            })
        }
    }
}

fn run_suite(args: RunArgs, certify: bool) -> anyhow::Result<u8> {
    Ok(run_suite_report(args, certify)?.0)
}

/// Runs the suite, prints and writes the reports; returns the exit code, the report and the
/// suite it ran.
fn run_suite_report(args: RunArgs, certify: bool) -> anyhow::Result<(u8, reports::Report, Suite)> {
    let RunArgs {
        selection,
        dialect,
        junit,
        json,
        markdown,
        html,
        concurrency,
        no_progress,
        shard,
        strict,
        expected,
        output_dir,
        target,
    } = args;
    let (config, suite, profiles) = prepare(&selection)?;
    let expected = match expected {
        Some(path) => Some(harness::expected::ExpectedFailures::load(&path, &suite)?),
        None => None,
    };
    let options = RunOptions {
        profiles,
        dialects: dialect.dialects(),
        tags: selection.tags,
        concurrency,
        strict,
        expected,
        certify,
        output_dir,
        shard,
        progress: Some(progress_sink(no_progress)),
        ..RunOptions::default()
    };
    let runtime = tokio::runtime::Runtime::new()?;
    let report = match config {
        Some((config, base_dir)) => {
            let container = match target {
                Some(harness::container::TargetOverride(kind)) => Some(runtime.block_on(
                    start_container(kind, &config, &base_dir, &suite, &options.profiles),
                )?),
                None => None,
            };
            let report = runtime.block_on(runner::run(&suite, &config, &base_dir, &options));
            let started = container.as_ref().map(|c| c.description.clone());
            if let Some(container) = container
                && let Err(e) = runtime.block_on(container.remove())
            {
                eprintln!("ecmacert: {e}");
            }
            let mut report = report?;
            for facts in &mut report.host_facts {
                if let Some(c) = &mut facts.configuration {
                    c.target.started_container.clone_from(&started);
                }
            }
            report
        }
        None if target.is_some() => {
            return Err(harness::config::ConfigError::invalid(
                "--target",
                "the container takes the place of a run configuration's [target]; give --config too",
            )
            .into());
        }
        None => run_embedded(&runtime, &suite, &options)?,
    };
    // The progress bar goes before the summary is printed.
    drop(options);
    emit(&reports::terminal::render(&report));
    if let Some(path) = junit {
        write(&path, &reports::junit::render(&report))?;
    }
    if let Some(path) = json {
        write(&path, &serde_json::to_string_pretty(&report)?)?;
    }
    if let Some(path) = markdown {
        write(&path, &reports::markdown::render(&report))?;
    }
    if let Some(path) = html {
        write(&path, &reports::html::render(&report))?;
    }
    Ok((report.exit_code(), report, suite))
}

/// `--target container:KIND`: starts the container for the configuration's `[target]`, with
/// the setup scripts of the run's profiles (the configuration's when none is named).
async fn start_container(
    kind: harness::container::ContainerKind,
    config: &Config,
    base_dir: &std::path::Path,
    suite: &Suite,
    profiles: &[String],
) -> anyhow::Result<harness::container::RunningTarget> {
    let names = if profiles.is_empty() {
        config.profile_names()
    } else {
        profiles.to_vec()
    };
    let mut scripts: Vec<(String, String)> = Vec::new();
    for name in names.iter().filter_map(|n| suite.profiles.get(n)) {
        for script in name.sql.iter().flat_map(|sql| &sql.setup) {
            if !scripts.iter().any(|(s, _)| s == script)
                && let Some(text) = suite.scripts.get(script)
            {
                scripts.push((script.clone(), text.clone()));
            }
        }
    }
    Ok(harness::container::start_for_run(kind, &config.target, base_dir, &scripts).await?)
}

#[cfg(feature = "embedded")]
fn run_embedded(
    runtime: &tokio::runtime::Runtime,
    suite: &Suite,
    options: &RunOptions,
) -> anyhow::Result<reports::Report> {
    Ok(runtime.block_on(harness::embedded::run_embedded(suite, options))?)
}

#[cfg(feature = "embedded")]
fn describe_embedded(suite: &Suite, options: &RunOptions) -> anyhow::Result<String> {
    Ok(harness::embedded::describe(suite, options)?)
}

#[cfg(not(feature = "embedded"))]
fn run_embedded(
    _: &tokio::runtime::Runtime,
    _: &Suite,
    _: &RunOptions,
) -> anyhow::Result<reports::Report> {
    Err(no_embedded_default())
}

#[cfg(not(feature = "embedded"))]
fn describe_embedded(_: &Suite, _: &RunOptions) -> anyhow::Result<String> {
    Err(no_embedded_default())
}

#[cfg(not(feature = "embedded"))]
fn no_embedded_default() -> anyhow::Error {
    anyhow::anyhow!(
        "--config: this ecmacert was built without the embedded default (feature `embedded`); give a run configuration"
    )
}

/// A progress bar on standard error when it is a terminal (cases done / total, how many did
/// not pass), plain lines per profile × dialect otherwise or with `--no-progress`.
fn progress_sink(no_progress: bool) -> runner::ProgressSink {
    use std::io::IsTerminal as _;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Bar {
        bar: indicatif::ProgressBar,
        not_passed: AtomicUsize,
    }
    impl runner::Progress for Bar {
        fn planned(&self, n: usize) {
            self.bar.inc_length(n as u64);
        }
        fn finished(&self, passed: bool) {
            if !passed {
                let n = self.not_passed.fetch_add(1, Ordering::Relaxed) + 1;
                self.bar.set_message(format!("{n} not passed"));
            }
            self.bar.inc(1);
        }
        fn run_finished(&self, profile: &str, dialect: &str, counts: &str) {
            self.bar.println(format!("{profile} · {dialect}: {counts}"));
        }
    }
    impl Drop for Bar {
        fn drop(&mut self) {
            self.bar.finish_and_clear();
        }
    }
    struct Lines;
    impl runner::Progress for Lines {
        fn planned(&self, _: usize) {}
        fn finished(&self, _: bool) {}
        fn run_finished(&self, profile: &str, dialect: &str, counts: &str) {
            eprintln!("{profile} · {dialect}: {counts}");
        }
    }
    if no_progress || !std::io::stderr().is_terminal() {
        return runner::ProgressSink(Arc::new(Lines));
    }
    let bar = indicatif::ProgressBar::new(0);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{elapsed:>4} [{bar:40}] {pos}/{len} cases {msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    runner::ProgressSink(Arc::new(Bar {
        bar,
        not_passed: AtomicUsize::new(0),
    }))
}

/// Prints `text` on standard output; a closed pipe (`ecmacert … | head`) ends the printing,
/// not the command, so files still get written and the exit code stays the run's.
fn emit(text: &str) {
    use std::io::Write as _;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

fn write(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))
}
