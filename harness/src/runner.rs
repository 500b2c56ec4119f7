//! Running the suite: for every profile × dialect, the applicable scenarios go through cucumber
//! with the run's context; every scenario ends up in the report with an outcome, including the
//! ones that did not apply and the ones `--tags` left out. A scenario that should have run and
//! produced no result is reported as blocked, and every profile × dialect carries the list of
//! scenarios it planned, so a run can never pass by leaving tests out.
//!
//! How a scenario's outcome follows from what happened (the catalogue decides levels):
//! - a step failed in a `Given` (setup: "has created user …") → **blocked**, with the cause;
//! - any other step failed → **failed** in a MUST scenario, **warned** in a SHOULD or MAY one —
//!   unless a named check of a MUST requirement failed (a leaked secret, a password in an
//!   answer, an error that is no SCIM Error): that fails any scenario;
//! - every step held but a SHOULD or MAY check did not → **warned**;
//! - `--strict` turns SHOULD-level warnings into failures (MAY stays a warning);
//! - an expected-failures list ([`crate::expected`]) then turns listed failures into expected
//!   failures and listed passes into unexpected passes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use cucumber::tag::Ext as _;
use cucumber::{Cucumber, Event, WriterExt as _, event, parser, runner};
use futures_util::FutureExt as _;
use gherkin::tagexpr::TagOperation;
use reports::{Case, Detail, Outcome, ProfileRun, Report};
use scim_proto::Dialect;

use crate::capability::Capability;
use crate::config::{Config, ConfigError, ImportHook};
use crate::differential::{Blur, Naming, Observed};
use crate::expected::ExpectedFailures;
use crate::probe::{Match, Probe};
use crate::provisioning::{Auth, ProvisioningService, entra};
use crate::steps::{self, StepFailure};
use crate::suite::{ScenarioMeta, Suite, feature_file};
use crate::world::{EcmaWorld, RunContext, Turns};

/// Where a run tells its progress as it goes: the terminal's progress bar, or plain lines.
/// Called from the run's tasks; implementations keep it cheap and never block.
pub trait Progress: Send + Sync {
    /// `n` more cases will run (a profile's dialects start together, profiles one after
    /// another, or all at once on the embedded default, so the total grows).
    fn planned(&self, n: usize);
    /// A case finished; `passed` when every step of it held.
    fn finished(&self, passed: bool);
    /// A profile × dialect finished: `counts` is its counts line (`139 passed, 26 not
    /// applicable`). A profile's dialects are told together, once both have finished.
    fn run_finished(&self, profile: &str, dialect: &str, counts: &str);
}

/// A shared [`Progress`] in [`RunOptions`].
#[derive(Clone)]
pub struct ProgressSink(pub Arc<dyn Progress>);

impl std::fmt::Debug for ProgressSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProgressSink")
    }
}

/// What `ecmacert run` was asked to do.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Profiles to run (empty: the configuration's).
    pub profiles: Vec<String>,
    /// Dialects to run.
    pub dialects: Vec<Dialect>,
    /// A tag expression (`@must and not @ldap`).
    pub tags: Option<String>,
    /// Scenarios in flight at once: in each dialect's run, and in all of them together unless
    /// `shared_slots` sets the budget.
    pub concurrency: usize,
    /// The id that marks everything the run creates; `None`: a fresh one. The embedded default
    /// gives its concurrent profiles one id, so that the report names one run.
    pub run_id: Option<String>,
    /// `--strict`: SHOULD-level warnings fail the run.
    pub strict: bool,
    /// `--expected FILE`, loaded.
    pub expected: Option<ExpectedFailures>,
    /// A certification run (`ecmacert certify`): refuses tags, expected failures, and profiles
    /// whose MUST scenarios the run cannot all check.
    pub certify: bool,
    /// Where the run writes the started host's output (`host.command`); `None`: a fresh
    /// directory under the system's temporary directory.
    pub output_dir: Option<std::path::PathBuf>,
    /// The number of the run's first scenario (names are `<name>-<run id>-<number>`): the
    /// embedded default gives each of its concurrent profiles its own range, so that no two
    /// objects of one run share a name even in one directory.
    pub first_scenario: u64,
    /// `--shard i/n`: only this shard's scenarios of each profile ([`reports::shard`]).
    pub shard: Option<reports::shard::Shard>,
    /// Where progress goes as the run goes; `None`: nowhere.
    pub progress: Option<ProgressSink>,
    /// A budget of scenarios in flight shared with runs on other targets in this process (the
    /// embedded default's profiles, the selftest's mutants); `None`: the run's own, of
    /// `concurrency`. [`crate::embedded::run_embedded`] makes one when none is given.
    pub shared_slots: Option<crate::world::Slots>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            profiles: Vec::new(),
            dialects: Dialect::ALL.to_vec(),
            tags: None,
            concurrency: 8,
            run_id: None,
            strict: false,
            expected: None,
            certify: false,
            output_dir: None,
            first_scenario: 1,
            shard: None,
            progress: None,
            shared_slots: None,
        }
    }
}

/// A run that could not start: a configuration mistake (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The shipped suite does not load (a build defect).
    #[error("the suite does not load: {0}")]
    Suite(String),
    /// The embedded default could not set itself up (a port, a temporary directory).
    #[error("the embedded default could not start: {0}")]
    Setup(String),
    /// A certification cannot be run as asked.
    #[error("certify: {0}")]
    Certify(String),
    /// Nothing answers SCIM at the configured URL (exit code 2: the configuration, not the
    /// host, is the likelier culprit).
    #[error("{0}")]
    Preflight(String),
}

/// Why the run's setup failed.
enum SetupFailure {
    /// Every scenario is blocked with this reason (exit code 1).
    Blocked(String),
    /// The run stops (exit code 2).
    Preflight(String),
}

impl From<String> for SetupFailure {
    fn from(reason: String) -> Self {
        SetupFailure::Blocked(reason)
    }
}

/// What the run needs, resolved from the configuration: secrets read, clients built.
struct Resolved {
    service: ProvisioningService,
    /// The standby host's client (`host.standby`): the same token, trust and timeout.
    standby: Option<ProvisioningService>,
    token: ecma_vocab::Secret,
    profiles: Vec<String>,
    tags: Option<TagOperation>,
}

fn resolve(
    suite: &Suite,
    config: &Config,
    base_dir: &Path,
    options: &RunOptions,
) -> Result<Resolved, RunError> {
    let names = if options.profiles.is_empty() {
        config.profile_names()
    } else {
        options.profiles.clone()
    };
    if names.is_empty() {
        return Err(ConfigError::invalid(
            "profile",
            "no profile given (profile = \"…\" or --profile NAME)",
        )
        .into());
    }
    for name in &names {
        let Some(profile) = suite.profiles.get(name) else {
            let known: Vec<&str> = suite.profiles.keys().map(String::as_str).collect();
            return Err(ConfigError::invalid(
                "profile",
                format!("unknown profile {name:?} (known: {})", known.join(", ")),
            )
            .into());
        };
        same_kind(profile, config)?;
    }
    let tags = match &options.tags {
        Some(expr) => Some(expr.parse::<TagOperation>().map_err(|e| {
            ConfigError::invalid("--tags", format!("{expr:?} is not a tag expression: {e}"))
        })?),
        None => None,
    };
    let (service, token) = client(config, base_dir)?;
    let standby = match &config.host.standby {
        None => None,
        Some(standby) => Some(
            service
                .at_base(standby.scim_base(&config.host.connector))
                .map_err(|e| ConfigError::invalid("host.standby", e.to_string()))?,
        ),
    };
    Ok(Resolved {
        service,
        standby,
        token,
        profiles: names,
        tags,
    })
}

/// The profile a single-profile command (`load`, `provision`) works with: `name`, or the
/// configuration's first; it must be for the configured target's kind.
pub fn one_profile(
    suite: &Suite,
    config: &Config,
    name: Option<&str>,
) -> Result<crate::profile::Profile, RunError> {
    let name = match name {
        Some(p) => p.to_owned(),
        None => config
            .profile_names()
            .into_iter()
            .next()
            .ok_or_else(|| ConfigError::invalid("profile", "no profile given"))?,
    };
    let profile =
        suite.profiles.get(&name).cloned().ok_or_else(|| {
            ConfigError::invalid("--profile", format!("unknown profile {name:?}"))
        })?;
    same_kind(&profile, config)?;
    Ok(profile)
}

/// A profile is for one kind of target: refuses it for the configured target of another.
fn same_kind(profile: &crate::profile::Profile, config: &Config) -> Result<(), RunError> {
    if profile.kind != config.target.kind {
        return Err(ConfigError::invalid(
            "profile",
            format!(
                "profile {:?} is for {} targets; target.kind is {:?}",
                profile.name, profile.kind, config.target.kind
            ),
        )
        .into());
    }
    Ok(())
}

/// The probe's bind password (`target.bind_password`), when the target has one.
pub fn target_password(
    config: &Config,
    base_dir: &Path,
) -> Result<Option<ecma_vocab::Secret>, RunError> {
    config
        .target
        .bind_password
        .as_ref()
        .map(|source| {
            source
                .resolve(base_dir)
                .map_err(|e| ConfigError::invalid("target.bind_password", e.to_string()).into())
        })
        .transpose()
}

/// Starts the host under test when `host.command` is set (its log in the system's temporary
/// directory, named after `what` and the run id) and waits until Test Connection answers.
/// `Err` is the reason, secrets redacted.
pub async fn start_managed_host(
    config: &Config,
    base_dir: &Path,
    service: &ProvisioningService,
    suite: &Suite,
    profile: &str,
    secrets: &[ecma_vocab::Secret],
    what: &str,
) -> Result<Option<crate::host::ManagedHost>, String> {
    let Some(command) = &config.host.command else {
        return Ok(None);
    };
    let log = std::env::temp_dir().join(format!("ecmacert-{what}-{}.log", run_id()));
    crate::host::ManagedHost::start(
        command,
        base_dir,
        &log,
        service,
        suite,
        profile,
        Duration::from_secs(config.host.ready_timeout_seconds),
        secrets,
    )
    .await
    .map(Some)
}

/// The provisioning service's client for the configured host (token read, trust set up), and
/// the token, to redact.
pub fn client(
    config: &Config,
    base_dir: &Path,
) -> Result<(ProvisioningService, ecma_vocab::Secret), RunError> {
    let token = config
        .host
        .token
        .resolve(base_dir)
        .map_err(|e| ConfigError::invalid("host.token", e.to_string()))?;
    let ca = config
        .host
        .ca_certificate
        .as_ref()
        .map(|p| base_dir.join(p));
    let mut service = ProvisioningService::new(
        config.scim_base(),
        token.clone(),
        ca.as_deref(),
        Duration::from_secs(config.host.request_timeout_seconds),
    )
    .map_err(|e| ConfigError::invalid("host", e.to_string()))?;
    if config.host.insecure_tls {
        service = service
            .without_verification()
            .map_err(|e| ConfigError::invalid("host.insecure_tls", e.to_string()))?;
    }
    Ok((service, token))
}

/// Why a planned scenario does not run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skip {
    /// Not applicable or filtered out.
    pub outcome: Outcome,
    /// Why.
    pub reason: String,
    /// What the run lacked, when the scenario binds the host but could not be checked.
    pub not_checked: Option<String>,
}

/// One scenario of a plan, and why it does not run (if it does not).
pub type Planned = (ScenarioMeta, Option<Skip>);

/// Which scenarios are listed, and why some do not run.
pub fn plan(
    suite: &Suite,
    profile: &str,
    tags: Option<&TagOperation>,
    run_provides: &BTreeSet<Capability>,
) -> Vec<Planned> {
    let Some(p) = suite.profiles.get(profile) else {
        return Vec::new();
    };
    suite
        .scenarios
        .iter()
        .map(|s| {
            let skip = if let Some(why) = s.not_applicable(p, run_provides) {
                Some(Skip {
                    outcome: Outcome::NotApplicable,
                    reason: why.reason,
                    not_checked: why.not_checked,
                })
            } else if tags.is_some_and(|t| !t.eval(s.tags.iter())) {
                Some(Skip {
                    outcome: Outcome::FilteredOut,
                    reason: "left out by --tags".to_owned(),
                    not_checked: None,
                })
            } else {
                None
            };
            (s.clone(), skip)
        })
        .collect()
}

/// The shard's part of a profile's plan: every scenario when `shard` is `None`.
pub fn shard_of(planned: Vec<Planned>, shard: Option<reports::shard::Shard>) -> Vec<Planned> {
    match shard {
        None => planned,
        Some(shard) => planned
            .into_iter()
            .enumerate()
            .filter(|(position, _)| shard.takes(*position))
            .map(|(_, p)| p)
            .collect(),
    }
}

/// What the configuration lets the run do beyond talking to the host (an import hook).
pub fn configured_capabilities(config: &Config) -> BTreeSet<Capability> {
    let mut caps = BTreeSet::new();
    match &config.host.import {
        None => {}
        Some(ImportHook::Wait { .. }) => {
            caps.insert(Capability::ImportHook);
        }
        Some(_) => {
            caps.insert(Capability::ImportHook);
            caps.insert(Capability::ImportAnswer);
        }
    }
    if config.host.restart.is_some() {
        caps.insert(Capability::HostRestart);
    }
    if config.host.standby.is_some() && config.host.command.is_some() {
        caps.insert(Capability::Standby);
    }
    if !config
        .target
        .url
        .to_ascii_lowercase()
        .starts_with("sqlite:")
    {
        caps.insert(Capability::NetworkedTarget);
    }
    if config.target.kind == "ldap" {
        caps.insert(Capability::OperationFaults);
    }
    if config.target.fault_proxy.is_some() {
        caps.insert(Capability::ConnectionFaults);
        if config.target.kind == "ldap" {
            caps.insert(Capability::FaultInjection);
        }
    }
    if config.host.scim_url.is_none() {
        caps.insert(Capability::ConnectorUrl);
        if config.host.other_connector.is_some() {
            caps.insert(Capability::OtherConnector);
        }
    }
    caps
}

/// A certification's preconditions: no selection, no expected failures, and every MUST
/// scenario of every profile checkable by this run. `Err` says what stands in the way.
pub fn certification_preconditions(
    suite: &Suite,
    profiles: &[String],
    options: &RunOptions,
    run_provides: &BTreeSet<Capability>,
) -> Result<(), RunError> {
    if !options.certify {
        return Ok(());
    }
    if options.tags.is_some() {
        return Err(RunError::Certify(
            "--tags is not allowed: a certification runs every scenario".into(),
        ));
    }
    if options.expected.is_some() {
        return Err(RunError::Certify(
            "--expected is not allowed: a certification accepts no known failures".into(),
        ));
    }
    if options.shard.is_some() {
        return Err(RunError::Certify(
            "--shard is not allowed: a certification is one whole run".into(),
        ));
    }
    if Dialect::ALL.iter().any(|d| !options.dialects.contains(d)) {
        return Err(RunError::Certify(
            "--dialect must be both: Entra sends either, so a certification checks both".into(),
        ));
    }
    let mut unchecked = Vec::new();
    for profile in profiles {
        for (s, skip) in plan(suite, profile, None, run_provides) {
            if let Some(Skip {
                not_checked: Some(why),
                ..
            }) = skip
                && s.level == reports::Level::Must
            {
                unchecked.push(format!(
                    "{profile}: {} {:?} [{}] ({why})",
                    s.key(),
                    s.name,
                    s.requirements.join(" ")
                ));
            }
        }
    }
    if unchecked.is_empty() {
        Ok(())
    } else {
        Err(RunError::Certify(format!(
            "{} MUST scenario(s) cannot be checked by this run, so nothing can be certified:\n  {}",
            unchecked.len(),
            unchecked.join("\n  ")
        )))
    }
}

/// What every run does once its cases are in: mark the mode, apply expected failures.
pub fn finish(report: &mut Report, options: &RunOptions) {
    report.strict = options.strict;
    report.certification = options.certify;
    if let Some(expected) = &options.expected {
        expected.apply(report);
    }
}

/// Runs the suite against the configured host. `Err` only for configuration mistakes; every
/// failure of the host or target is an outcome in the report.
pub async fn run(
    suite: &Suite,
    config: &Config,
    base_dir: &Path,
    options: &RunOptions,
) -> Result<Report, RunError> {
    run_with(suite, config, base_dir, options, None).await
}

/// [`run`], with a fault switch on the target (in-process mocks only), which makes the
/// `fault-injection` scenarios applicable.
pub async fn run_with(
    suite: &Suite,
    config: &Config,
    base_dir: &Path,
    options: &RunOptions,
    faults: Option<Arc<dyn crate::faults::ControlledTarget>>,
) -> Result<Report, RunError> {
    let started = Instant::now();
    let resolved = resolve(suite, config, base_dir, options)?;
    let dialect_exempt = crate::differential::shipped_exemptions().map_err(RunError::Suite)?;
    let run_id = options.run_id.clone().unwrap_or_else(run_id);
    let mut extra = configured_capabilities(config);
    // The fault proxy starts before the host: a host started by the run imports through it.
    let faults = match faults {
        Some(f) => Some(f),
        None => crate::fault_proxy::start(&config.target)
            .await
            .map_err(RunError::Config)?,
    };
    if let Some(f) = &faults {
        extra.insert(Capability::ConnectionFaults);
        if f.aims_at_operations() {
            extra.insert(Capability::FaultInjection);
            // A switch that aims at operations plays them on this target (the embedded
            // default's HR REST API, which is no directory).
            extra.insert(Capability::OperationFaults);
        }
    }
    certification_preconditions(suite, &resolved.profiles, options, &extra)?;
    if options.certify && config.host.insecure_tls {
        return Err(RunError::Certify(
            "host.insecure_tls is not allowed: a certification verifies the host's certificate \
             as Entra does"
                .into(),
        ));
    }
    let mut report = Report {
        suite_version: env!("CARGO_PKG_VERSION").to_owned(),
        run_id: run_id.clone(),
        host: resolved.service.base().to_owned(),
        duration_ms: 0,
        runs: Vec::new(),
        leftovers: Vec::new(),
        strict: false,
        certification: false,
        plaintext: config.plaintext(),
        expected_failures: None,
        host_log: None,
        notes: Vec::new(),
        dialects_compared: None,
        schema_version: reports::SCHEMA_VERSION,
        suite_files: suite.digests.clone(),
        host_facts: vec![reports::HostFacts {
            scim_base: resolved.service.base().to_owned(),
            configuration: Some(config.summary(&resolved.profiles)),
            ..reports::HostFacts::default()
        }],
        shard: options.shard,
    };
    // Setup that every scenario needs; if it fails, every scenario that would have run is
    // blocked with the reason — unless nothing answers SCIM at all, which stops the run.
    let mut active_host: Option<Arc<crate::host::ManagedHost>> = None;
    let mut standby_host: Option<crate::host::ManagedHost> = None;
    let mut standby: Option<Arc<crate::world::Standby>> = None;
    let mut secrets = vec![resolved.token.clone()];
    if config.host.insecure_tls {
        report.notes.push(
            "WARNING: the host's certificate was not verified (host.insecure_tls); Entra verifies \
             it, and so does the scenario that connects as Entra does (ECMA-AUTH-005/006)"
                .into(),
        );
    }
    if !crate::checks::detectable(&resolved.token) {
        report.notes.push(
            "host.token is under 4 characters, only digits or a word hosts use in their own \
             messages, so answers cannot be searched for it (ECMA-ERR-008 does not cover it); \
             it is still redacted from every report"
                .into(),
        );
    }
    let setup: Result<Arc<Probe>, SetupFailure> = async {
        let password = match &config.target.bind_password {
            Some(source) => {
                let password = source
                    .resolve(base_dir)
                    .map_err(|e| format!("target.bind_password: {e}"))?;
                if !crate::checks::detectable(&password) {
                    report.notes.push(
                        "target.bind_password is under 4 characters, only digits or a word hosts \
                         use in their own messages, so answers cannot be searched for it \
                         (ECMA-ERR-008 does not cover it); it is still redacted from every report"
                            .into(),
                    );
                }
                secrets.push(password.clone());
                Some(password)
            }
            None => None,
        };
        if let Some(command) = &config.host.command {
            let dir = options
                .output_dir
                .clone()
                .unwrap_or_else(|| std::env::temp_dir().join(format!("ecmacert-{run_id}")));
            let log = dir.join("host.log");
            report.host_log = Some(log.display().to_string());
            let ready = Duration::from_secs(config.host.ready_timeout_seconds);
            let active = Arc::new(
                crate::host::ManagedHost::start(
                    command,
                    base_dir,
                    &log,
                    &resolved.service,
                    suite,
                    &resolved.profiles[0],
                    ready,
                    &secrets,
                )
                .await?,
            );
            active_host = Some(active.clone());
            if let (Some(config), Some(service)) = (&config.host.standby, &resolved.standby) {
                if let Some(command) = &config.command {
                    standby_host = Some(
                        crate::host::ManagedHost::start(
                            command,
                            base_dir,
                            &dir.join("standby.log"),
                            service,
                            suite,
                            &resolved.profiles[0],
                            ready,
                            &secrets,
                        )
                        .await
                        .map_err(|e| format!("the standby host (host.standby.command): {e}"))?,
                    );
                }
                standby = Some(Arc::new(crate::world::Standby {
                    service: service.clone(),
                    import: config.import.clone(),
                    active,
                }));
            }
        }
        preflight(&resolved.service, suite, &resolved.profiles[0])
            .await
            .map_err(|e| SetupFailure::Preflight(crate::checks::redact(&e, &secrets)))?;
        let facts = host_facts(&resolved.service).await;
        let configuration = report.host_facts.pop().and_then(|f| f.configuration);
        report.host_facts = vec![reports::HostFacts {
            configuration,
            ..facts
        }];
        let sql = resolved
            .profiles
            .iter()
            .filter_map(|p| suite.profiles.get(p))
            .find_map(|p| p.sql.as_ref());
        let probe = Probe::connect(&config.target, password.as_ref(), base_dir, sql)
            .await
            .map_err(|e| e.to_string())?;
        probe.ensure_container().await.map_err(|e| e.to_string())?;
        Ok(Arc::new(probe))
    }
    .await;
    let setup = match setup {
        Ok(probe) => {
            if probe.version_attributes().is_empty() {
                report.notes.push(
                    "the target's rows have no version the probe can read (the profile names no \
                     row_version column), so a host that rewrites a row with the values it had \
                     is not seen; \"unchanged\" compares values only"
                        .into(),
                );
            }
            Ok(probe)
        }
        Err(SetupFailure::Blocked(reason)) => Err(crate::checks::redact(&reason, &secrets)),
        Err(SetupFailure::Preflight(reason)) => {
            for host in active_host
                .iter()
                .map(|h| h.as_ref())
                .chain(standby_host.iter())
            {
                host.stop().await;
            }
            return Err(RunError::Preflight(reason));
        }
    };
    let levels = Arc::new(suite.levels());
    let scripts = Arc::new(suite.scripts.clone());
    let corpora = Arc::new(suite.corpora.clone());
    let scenarios = Arc::new(AtomicU64::new(options.first_scenario));
    let numbers = Arc::new(AtomicU64::new(
        20_000 + u64::from(std::process::id() % 1000) * 100,
    ));
    let mut compared = reports::DialectComparison::default();
    // The dialects of a profile run side by side, sharing the scenarios in flight; a scenario
    // that must run alone waits for, and holds back, both ([`Turns`]).
    let turns = Arc::new(match &options.shared_slots {
        Some(slots) => Turns::sharing(slots),
        None => Turns::new(options.concurrency),
    });
    // Each run's scenarios go on a thread of their own ([`on_own_thread`]), which needs the
    // suite for as long as it runs.
    let whole = Arc::new(suite.clone());
    for profile_name in &resolved.profiles {
        let first_run = report.runs.len();
        let planned = shard_of(
            plan(suite, profile_name, resolved.tags.as_ref(), &extra),
            options.shard,
        );
        let profile = suite
            .profiles
            .get(profile_name)
            .cloned()
            .ok_or_else(|| RunError::Suite(format!("profile {profile_name} vanished")))?;
        let runs = options.dialects.iter().map(|dialect| {
            if let Some(p) = &options.progress {
                p.0.planned(planned.iter().filter(|(_, skip)| skip.is_none()).count());
            }
            let (planned, profile, turns) = (&planned, profile.clone(), turns.clone());
            let (setup, config, resolved, run_id) = (&setup, &config, &resolved, &run_id);
            let (scenarios, numbers, secrets) = (&scenarios, &numbers, &secrets);
            let (levels, faults, standby) = (&levels, &faults, &standby);
            let (scripts, corpora, whole) = (&scripts, &corpora, &whole);
            async move {
                match setup {
                    Err(reason) => (blocked_cases(planned, reason), BTreeMap::new(), Vec::new()),
                    Ok(probe) => {
                        let ctx = Arc::new(RunContext {
                            profile,
                            dialect: *dialect,
                            service: resolved.service.clone(),
                            probe: probe.clone(),
                            run_id: run_id.clone(),
                            container: config.target.container.clone(),
                            generated_attributes: config.target.generated_attributes.clone(),
                            import: config.host.import.clone(),
                            restart: config.host.restart.clone(),
                            ready_timeout: Duration::from_secs(config.host.ready_timeout_seconds),
                            other_connector: config.host.other_connector.clone(),
                            scenarios: scenarios.clone(),
                            numbers: numbers.clone(),
                            secrets: secrets.clone(),
                            levels: levels.clone(),
                            faults: faults.clone(),
                            standby: standby.clone(),
                            scripts: scripts.clone(),
                            corpora: corpora.clone(),
                            turns,
                        });
                        let name = format!("{}·{}", ctx.profile.name, dialect.name());
                        let (suite, mine, options) =
                            (whole.clone(), planned.clone(), options.clone());
                        let run =
                            move || async move { run_cucumber(&suite, &mine, ctx, &options).await };
                        match on_own_thread(name, run).await {
                            Ok(done) => done,
                            Err(reason) => {
                                (stopped_cases(planned, &reason), BTreeMap::new(), Vec::new())
                            }
                        }
                    }
                }
            }
        });
        let results = futures_util::future::join_all(runs).await;
        quiet_step_failures();
        let mut states = Vec::new();
        for (dialect, (cases, observed, unread)) in options.dialects.iter().zip(results) {
            report.runs.push(ProfileRun {
                profile: profile_name.clone(),
                dialect: dialect.name().to_owned(),
                cases,
                planned: planned
                    .iter()
                    .filter(|(_, skip)| skip.is_none())
                    .map(|(s, _)| s.key())
                    .collect(),
            });
            if let (Some(p), Some(run)) = (&options.progress, report.runs.last()) {
                p.0.run_finished(&run.profile, &run.dialect, &run.counts().line());
            }
            states.push(observed);
            compared.unread.extend(
                unread
                    .into_iter()
                    .map(|u| format!("{profile_name} · {}: {u}", dialect.name())),
            );
        }
        // ECMA-UPDATE-014: what passed in both dialects must have left the same state.
        let c = crate::differential::apply(&mut report.runs[first_run..], &states, &dialect_exempt);
        compared.scenarios += c.scenarios;
        compared.with_objects += c.with_objects;
    }
    if options.dialects.len() > 1 && setup.is_ok() {
        report.dialects_compared = Some(compared);
    }
    if let Ok(probe) = &setup {
        report.leftovers = leftovers(probe, suite, &resolved.profiles, &run_id).await;
    }
    for host in active_host
        .iter()
        .map(|h| h.as_ref())
        .chain(standby_host.iter())
    {
        host.stop().await;
    }
    report.duration_ms = started.elapsed().as_millis() as u64;
    finish(&mut report, options);
    redact_report(&mut report, &secrets);
    Ok(report)
}

/// Every free-text field of the report with every secret redacted: the last line of defence,
/// after the evidence was redacted as it came in. Fields with fixed values (outcomes, levels,
/// requirement IDs) are left alone, so a secret that reads like one cannot garble them.
fn redact_report(report: &mut Report, secrets: &[ecma_vocab::Secret]) {
    let r = |s: &mut String| *s = crate::checks::redact(s, secrets);
    r(&mut report.host);
    report.host_log.iter_mut().for_each(r);
    report.notes.iter_mut().for_each(r);
    report.leftovers.iter_mut().for_each(r);
    if let Some(c) = &mut report.dialects_compared {
        c.unread.iter_mut().for_each(r);
    }
    for facts in &mut report.host_facts {
        r(&mut facts.scim_base);
        facts.unanswered.iter_mut().for_each(r);
        if let Some(doc) = &mut facts.service_provider_config {
            redact_json(doc, secrets);
        }
        facts.schemas = std::mem::take(&mut facts.schemas)
            .into_iter()
            .map(|(mut id, mut names)| {
                r(&mut id);
                names.iter_mut().for_each(r);
                (id, names)
            })
            .collect();
        if let Some(c) = &mut facts.configuration {
            // Nothing here comes from the host, and secrets appear by source only; redacted
            // all the same, in case a path or a variable name is itself a secret's value.
            for s in [
                &mut c.transport,
                &mut c.token,
                &mut c.target.url,
                &mut c.target.password,
            ] {
                r(s);
            }
            for s in c
                .host_command
                .iter_mut()
                .chain(&mut c.import)
                .chain(&mut c.restart)
            {
                r(s);
            }
        }
    }
    for case in report.runs.iter_mut().flat_map(|run| run.cases.iter_mut()) {
        if let Some(t) = &mut case.target {
            for state in t.before.iter_mut().chain(t.after.iter_mut()) {
                state
                    .values_mut()
                    .flat_map(|attributes| attributes.values_mut())
                    .flatten()
                    .for_each(r);
            }
        }
        let Some(d) = &mut case.detail else { continue };
        d.step.iter_mut().for_each(r);
        r(&mut d.message);
        d.warnings.iter_mut().for_each(r);
        for x in &mut d.exchanges {
            r(&mut x.url);
            x.request_body.iter_mut().for_each(r);
            x.response_body.iter_mut().for_each(r);
            x.error.iter_mut().for_each(r);
            for (_, v) in x
                .request_headers
                .iter_mut()
                .chain(x.response_headers.iter_mut())
            {
                r(v);
            }
        }
    }
}

/// Every string in `value` with every secret redacted.
fn redact_json(value: &mut serde_json::Value, secrets: &[ecma_vocab::Secret]) {
    match value {
        serde_json::Value::String(s) => *s = crate::checks::redact(s, secrets),
        serde_json::Value::Array(a) => a.iter_mut().for_each(|v| redact_json(v, secrets)),
        serde_json::Value::Object(m) => m.values_mut().for_each(|v| redact_json(v, secrets)),
        _ => {}
    }
}

/// Whether an answer looks like SCIM: a JSON body whose `schemas` names a SCIM URN.
fn speaks_scim(x: &reports::Exchange) -> bool {
    crate::checks::json(x).is_some_and(|b| {
        b["schemas"].as_array().is_some_and(|a| {
            a.iter().any(|s| {
                s.as_str()
                    .is_some_and(|s| s.starts_with("urn:ietf:params:scim:"))
            })
        })
    })
}

/// Before any scenario: one Test Connection and one `/Schemas` read. When neither gets a SCIM
/// answer other than 404 (an HTML page, 404 on every path, a TLS or connection failure), the
/// URL is wrong rather than the host, and hundreds of identical failures would hide that.
/// `Err` is one message naming both answers and what to check.
pub async fn preflight(
    service: &ProvisioningService,
    suite: &Suite,
    profile: &str,
) -> Result<(), String> {
    let test = service
        .send(&readiness_request(suite, profile), &Auth::Token)
        .await;
    let schemas = service.send(&entra::schemas(), &Auth::Token).await;
    let answered = |x: &reports::Exchange| x.status.is_some_and(|s| s != 404) && speaks_scim(x);
    if answered(&test) || answered(&schemas) {
        return Ok(());
    }
    let shape = |x: &reports::Exchange| {
        let ct = x
            .response_headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| format!(", {v}"))
            .unwrap_or_default();
        format!("{}{ct}", crate::checks::got(x))
    };
    Err(format!(
        "nothing answers SCIM at {}: Test Connection (GET /Users?filter=…) → {}; GET /Schemas → {}. \
         Check host.base_url and host.connector (or host.scim_url), that the host is running, \
         and host.ca_certificate if TLS failed",
        service.base(),
        shape(&test),
        shape(&schemas)
    ))
}

/// What the host says of itself: `GET /ServiceProviderConfig` and `GET /Schemas` with the
/// connector's token, for the report ([`reports::HostFacts`]).
pub async fn host_facts(service: &ProvisioningService) -> reports::HostFacts {
    let mut facts = reports::HostFacts {
        scim_base: service.base().to_owned(),
        ..reports::HostFacts::default()
    };
    let spc = service
        .send(&entra::get_path("/ServiceProviderConfig"), &Auth::Token)
        .await;
    match (spc.status, crate::checks::json(&spc)) {
        (Some(200), Some(doc)) => facts.service_provider_config = Some(doc),
        _ => facts.unanswered.push(spc.summary()),
    }
    let schemas = service.send(&entra::schemas(), &Auth::Token).await;
    match (schemas.status, crate::checks::json(&schemas)) {
        (Some(200), Some(doc)) => {
            let resources = doc["Resources"].as_array().cloned().unwrap_or_default();
            for schema in resources {
                let id = schema["id"].as_str().unwrap_or("(no id)").to_owned();
                let mut names = Vec::new();
                for a in schema["attributes"].as_array().into_iter().flatten() {
                    let name = a["name"].as_str().unwrap_or("").to_owned();
                    for sub in a["subAttributes"].as_array().into_iter().flatten() {
                        names.push(format!("{name}.{}", sub["name"].as_str().unwrap_or("")));
                    }
                    names.push(name);
                }
                names.sort();
                facts.schemas.insert(id, names);
            }
        }
        _ => facts.unanswered.push(schemas.summary()),
    }
    facts
}

fn blocked_cases(planned: &[Planned], reason: &str) -> Vec<Case> {
    stopped_cases(planned, &format!("setup failed: {reason}"))
}

/// Every case of `planned` blocked with `message`; those the plan skips stay skipped.
fn stopped_cases(planned: &[Planned], message: &str) -> Vec<Case> {
    planned
        .iter()
        .map(|(s, skip)| match skip {
            Some(skip) => skipped_case(s, skip),
            None => case(
                s,
                Outcome::Blocked,
                Some(Detail {
                    message: message.to_owned(),
                    ..Detail::default()
                }),
                0,
            ),
        })
        .collect()
}

fn skipped_case(s: &ScenarioMeta, skip: &Skip) -> Case {
    let mut c = case(
        s,
        skip.outcome,
        Some(Detail {
            message: skip.reason.clone(),
            ..Detail::default()
        }),
        0,
    );
    c.not_checked = skip.not_checked.clone();
    c
}

/// The report's case for scenario `s`: what happened, why, and how long it took.
pub(crate) fn case(
    s: &ScenarioMeta,
    outcome: Outcome,
    detail: Option<Detail>,
    duration_ms: u64,
) -> Case {
    Case {
        feature: s.feature.clone(),
        scenario: s.name.clone(),
        line: s.line,
        level: s.level,
        requirements: s.requirements.clone(),
        tags: s.tags.clone(),
        outcome,
        duration_ms,
        detail,
        not_checked: None,
        target: None,
    }
}

/// A short id that marks everything this run creates.
pub fn run_id() -> String {
    let u = uuid::Uuid::new_v4().simple().to_string();
    format!("r{}", &u[..6])
}

/// Runs one of the suite's scripts (by path under `features/`) on the run's SQL target.
async fn restore(run: &RunContext, script: &str) -> Result<(), String> {
    let text = run
        .scripts
        .get(script)
        .ok_or_else(|| format!("{script} is not one of the suite's scripts"))?;
    let probe = run.probe.sql().map_err(|e| e.to_string())?;
    probe
        .run_script(script, text)
        .await
        .map_err(|e| e.to_string())
}

/// What happened to one scenario, gathered from the writer (the failing step) and the after
/// hook (the world's evidence and warnings).
#[derive(Default)]
struct Outcomes {
    failed_step: Option<String>,
    message: Option<String>,
    /// The failure happened while setting the scenario up (a `Given` step, a hook, a step
    /// without a definition): the scenario could not test anything.
    in_setup: bool,
    /// The requirement of the named check that failed, if one did.
    requirement: Option<&'static str>,
    finished: bool,
    warnings: Vec<(reports::Level, String)>,
    exchanges: Vec<reports::Exchange>,
    started: Option<Instant>,
    duration_ms: u64,
    /// The state the scenario left its objects in, normalised, when it passed and the run
    /// compares dialects ([`crate::differential`]).
    state: Option<Result<crate::probe::Snapshot, String>>,
    /// Its objects before and after, for the report.
    target: Option<reports::TargetEvidence>,
}

type Key = (String, usize);
type Collector = Arc<Mutex<HashMap<Key, Outcomes>>>;

fn key(feature: &gherkin::Feature, scenario: &gherkin::Scenario) -> Key {
    (feature_file(feature), scenario.position.line)
}

fn with<T>(collector: &Collector, k: Key, f: impl FnOnce(&mut Outcomes) -> T) -> T {
    let mut map = collector.lock().unwrap_or_else(|p| p.into_inner());
    f(map.entry(k).or_default())
}

/// Feeds the embedded features to cucumber.
struct Embedded(Vec<gherkin::Feature>);

impl cucumber::Parser<()> for Embedded {
    type Cli = cucumber::cli::Empty;
    type Output = futures_util::stream::Iter<std::vec::IntoIter<parser::Result<gherkin::Feature>>>;

    fn parse(self, _input: (), _cli: Self::Cli) -> Self::Output {
        futures_util::stream::iter(self.0.into_iter().map(Ok).collect::<Vec<_>>())
    }
}

/// Records failing steps by scenario.
struct Recorder(Collector);

impl cucumber::Writer<EcmaWorld> for Recorder {
    type Cli = cucumber::cli::Empty;

    async fn handle_event(
        &mut self,
        event: parser::Result<Event<event::Cucumber<EcmaWorld>>>,
        _cli: &Self::Cli,
    ) {
        let Ok(event) = event else { return };
        let event::Cucumber::Feature(feature, ev) = event.value else {
            return;
        };
        let (scenario, ev) = match ev {
            event::Feature::Scenario(s, ev) => (s, ev.event),
            event::Feature::Rule(_, event::Rule::Scenario(s, ev)) => (s, ev.event),
            _ => return,
        };
        let k = key(&feature, &scenario);
        let (step, step_event) = match ev {
            event::Scenario::Step(step, e) | event::Scenario::Background(step, e) => (step, e),
            event::Scenario::Hook(_, event::Hook::Failed(_, info)) => {
                let message = panic_message(&info);
                with(&self.0, k, |o| {
                    if o.message.is_none() {
                        o.message = Some(format!("a hook failed: {message}"));
                        o.in_setup = true;
                    }
                });
                return;
            }
            _ => return,
        };
        let text = format!("{}{}", step.keyword, step.value);
        match step_event {
            event::Step::Failed(_, _, _, error) => {
                let (message, requirement) = match error {
                    event::StepError::Panic(info) => {
                        (panic_message(&info), panic_requirement(&info))
                    }
                    other => (other.to_string(), None),
                };
                let setup = step.ty == gherkin::StepType::Given;
                with(&self.0, k, |o| {
                    if o.failed_step.is_none() {
                        o.failed_step = Some(text);
                        o.message = Some(if setup {
                            format!("setup failed, so the scenario checked nothing: {message}")
                        } else {
                            message
                        });
                        o.in_setup = setup;
                        o.requirement = requirement;
                    }
                });
            }
            event::Step::Skipped => with(&self.0, k, |o| {
                if o.failed_step.is_none() {
                    o.failed_step = Some(text.clone());
                    o.message = Some(format!("no step definition matches {text:?}"));
                    o.in_setup = true;
                }
            }),
            _ => {}
        }
    }
}

/// The failed check's requirement, when a named check failed the step.
fn panic_requirement(info: &event::Info) -> Option<&'static str> {
    info.downcast_ref::<StepFailure>()
        .and_then(|f| f.0.requirement)
}

fn panic_message(info: &event::Info) -> String {
    if let Some(f) = info.downcast_ref::<StepFailure>() {
        f.0.message.clone()
    } else if let Some(s) = info.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = info.downcast_ref::<&str>() {
        (*s).to_owned()
    } else {
        "the step panicked".to_owned()
    }
}

/// Keeps the unwinds that report failed steps off stderr; real panics still print.
///
/// Installed again after runs that overlap (the dialects of a profile, the embedded default's
/// profiles): each cucumber run puts an empty hook in place while it runs and, when it ends,
/// the hook it found, which may be another run's empty one; every later panic would then print
/// nothing, an assertion's message included.
pub(crate) fn quiet_step_failures() {
    type Hook = Arc<dyn Fn(&std::panic::PanicHookInfo<'_>) + Send + Sync>;
    static QUIET: OnceLock<Hook> = OnceLock::new();
    let quiet = QUIET
        .get_or_init(|| {
            let previous = std::panic::take_hook();
            Arc::new(move |info| {
                if info.payload().downcast_ref::<StepFailure>().is_none() {
                    previous(info);
                }
            })
        })
        .clone();
    std::panic::set_hook(Box::new(move |info| quiet(info)));
}

/// A thread's stack for a run's scenarios: the steps' futures are deep, and a debug build's
/// frames are large (8 MiB, the main thread's on Linux).
const RUN_STACK_BYTES: usize = 8 << 20;

/// Awaits `run()` polled on a thread of its own (named `name`) on this runtime
/// ([`tokio::runtime::Handle::block_on`]: what it spawns goes to the runtime's workers), without
/// blocking this task. Why: cucumber's scenarios are not `Send` (its hooks are local futures),
/// so the scenarios of a run all run on the thread that polls it, and the embedded default's 20
/// runs (10 profiles × 2 dialects) shared one thread: it was busy all the time while the other
/// core was mostly idle, and the scenarios waited for it. `Err` says why `run` gave no result:
/// the thread could not start, or the harness panicked on it (outside a step, whose panics
/// cucumber catches): then every case of the run is blocked with the panic's message, never
/// passed.
async fn on_own_thread<T, Fut>(
    name: String,
    run: impl FnOnce() -> Fut + Send + 'static,
) -> Result<T, String>
where
    T: Send + 'static,
    Fut: Future<Output = T>,
{
    let handle = tokio::runtime::Handle::current();
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name(name.clone())
        .stack_size(RUN_STACK_BYTES)
        .spawn(move || {
            let ran =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handle.block_on(run())));
            let _ = tx.send(ran.map_err(|panic| {
                panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|m| (*m).to_owned()))
                    .unwrap_or_else(|| "a panic without a message".into())
            }));
        })
        .map_err(|e| format!("the run {name} could not have a thread: {e}"))?;
    match rx.await {
        Ok(Ok(done)) => Ok(done),
        Ok(Err(panic)) => Err(format!("the harness stopped the run {name}: {panic}")),
        Err(_) => Err(format!("the harness stopped the run {name}")),
    }
}

async fn run_cucumber(
    suite: &Suite,
    planned: &[Planned],
    ctx: Arc<RunContext>,
    options: &RunOptions,
) -> (Vec<Case>, BTreeMap<String, Observed>, Vec<String>) {
    let concurrency = options.concurrency;
    quiet_step_failures();
    let selected: BTreeSet<Key> = planned
        .iter()
        .filter(|(_, skip)| skip.is_none())
        .map(|(s, _)| (s.feature.clone(), s.line))
        .collect();
    let collector: Collector = Arc::new(Mutex::new(HashMap::new()));
    if !selected.is_empty() {
        let before_ctx = ctx.clone();
        let before_collector = collector.clone();
        let after_collector = collector.clone();
        let before_run: Arc<str> = format!("{}·{}", ctx.profile.name, ctx.dialect.name()).into();
        let after_run = before_run.clone();
        // The dialect differential needs every passed scenario's end state; with one dialect
        // there is nothing to compare it with.
        let compare_dialects = options.dialects.len() > 1;
        let progress = options.progress.clone();
        let runner = runner::Basic::default()
            .steps(steps::collection())
            .max_concurrent_scenarios(Some(concurrency.max(1)))
            .before(move |feature, rule, scenario, world| {
                // cucumber's own test for a scenario that runs alone (`runner::Basic`'s default
                // `which_scenario`), applied across the dialects that share the target.
                let tags = || {
                    scenario
                        .tags
                        .iter()
                        .chain(rule.iter().flat_map(|r| &r.tags))
                        .chain(&feature.tags)
                };
                let alone = tags().any(|t| t == "serial");
                let quiet = tags().any(|t| t == "no-import-beside");
                let ctx = before_ctx.clone();
                let collector = before_collector.clone();
                let k = key(feature, scenario);
                let (name, run) = (scenario.name.clone(), before_run.clone());
                async move {
                    let asked = Instant::now();
                    world.turn = Some(ctx.turns.take(alone, quiet).await);
                    // What the run's time goes to: RUST_LOG=harness::runner=debug gives each
                    // scenario's wait for its turn here, and how long it then took below.
                    tracing::debug!(
                        run = %run,
                        scenario = %name,
                        alone,
                        quiet,
                        waited_ms = asked.elapsed().as_millis() as u64,
                        "a scenario has its turn"
                    );
                    world.begin(ctx);
                    with(&collector, k, |o| o.started = Some(Instant::now()));
                }
                .boxed_local()
            })
            .after(move |feature, _rule, scenario, finished, world| {
                let collector = after_collector.clone();
                let (name, run) = (scenario.name.clone(), after_run.clone());
                let k = key(feature, scenario);
                let passed = matches!(finished, event::ScenarioFinished::StepPassed);
                let progress = progress.clone();
                // A fault scenario that failed before its last step would leave its faults in
                // place for every later scenario: they go here (its own only; others' scenarios
                // may be running beside it).
                let faulted = scenario
                    .tags
                    .iter()
                    .any(|t| t == "requires:fault-injection" || t == "requires:connection-faults");
                // A failover scenario stops the active host: it is started again here,
                // whatever the outcome, before the next scenario needs it.
                let failed_over = scenario.tags.iter().any(|t| t == "requires:standby");
                // So would a restart scenario (@serial too) that stopped before the host was
                // back: later scenarios wait for it here rather than meet its first import.
                let restarted =
                    !passed && scenario.tags.iter().any(|t| t == "requires:host-restart");
                async move {
                    let mut turn = None;
                    let (warnings, exchanges, cleanup, state, target) = match world {
                        Some(w) => {
                            // Its cleanup loads the machine: with a slot, also for a scenario
                            // that ended while it had lent its own (`Turn::lend_slot`).
                            w.retake_slot().await;
                            turn = w.turn.take();
                            // What a scenario changed in the target's setup goes back first,
                            // whatever the outcome: later scenarios need the run's target.
                            if faulted
                                && let Some(run) = &w.run
                                && let Some(faults) = &run.faults
                            {
                                faults.clear(&w.fault_scope());
                            }
                            if restarted && w.run.is_some() {
                                let _ = w.wait_until_started().await;
                            }
                            if failed_over
                                && let Some(run) = &w.run
                                && let Some(standby) = &run.standby
                                && let Err(e) = standby.active.ensure_running().await
                            {
                                w.evidence.warnings.push((
                                    reports::Level::Must,
                                    format!("the active host could not be started again: {e}"),
                                ));
                            }
                            if let Some(run) = &w.run {
                                for script in std::mem::take(&mut w.target.restore) {
                                    if let Err(e) = restore(run, &script).await {
                                        w.evidence.warnings.push((
                                            reports::Level::Must,
                                            format!("the target could not be put back: {e}"),
                                        ));
                                    }
                                }
                            }
                            let (state, target) = end_state(w, passed && compare_dialects).await;
                            let dns: Vec<String> =
                                w.scim.users.values().map(|u| u.dn.clone()).collect();
                            (
                                std::mem::take(&mut w.evidence.warnings),
                                std::mem::take(&mut w.evidence.exchanges),
                                passed.then(|| (w.run.clone(), dns)),
                                state,
                                target,
                            )
                        }
                        None => (Vec::new(), Vec::new(), None, None, None),
                    };
                    // A passed scenario removes what it made; a failed one leaves it as evidence.
                    if let Some((Some(run), dns)) = cleanup {
                        for dn in dns {
                            let _ = run.probe.delete(&dn).await;
                        }
                    }
                    with(&collector, k, |o| {
                        o.finished = true;
                        o.warnings = warnings;
                        o.exchanges = exchanges;
                        o.state = state;
                        o.target = target;
                        o.duration_ms = o.started.map_or(0, |s| s.elapsed().as_millis() as u64);
                    });
                    if let Some(p) = &progress {
                        p.0.finished(passed);
                    }
                    // The target is handed on only once this scenario's cleanup is done.
                    if let Some(turn) = turn {
                        tracing::debug!(
                            run = %run,
                            scenario = %name,
                            took_ms = turn.held().as_millis() as u64,
                            "a scenario gives its turn back"
                        );
                    }
                }
                .boxed_local()
            });
        let filter_set = selected.clone();
        Cucumber::<EcmaWorld, _, (), _, _, cucumber::cli::Empty>::custom(
            Embedded(suite.features.clone()),
            runner,
            Recorder(collector.clone()).normalized(),
        )
        .with_default_cli()
        .filter_run((), move |feature, _rule, scenario| {
            filter_set.contains(&key(feature, scenario))
        })
        .await;
    }
    let mut results = collector.lock().unwrap_or_else(|p| p.into_inner());
    let mut states = BTreeMap::new();
    let mut unread = Vec::new();
    let cases = planned
        .iter()
        .map(|(s, skip)| {
            if let Some(skip) = skip {
                return skipped_case(s, skip);
            }
            let Some(mut o) = results.remove(&(s.feature.clone(), s.line)) else {
                return case(
                    s,
                    Outcome::Blocked,
                    Some(Detail {
                        message: "the scenario should have run and did not".into(),
                        ..Detail::default()
                    }),
                    0,
                );
            };
            let check_level = o.requirement.and_then(|r| suite.level(r));
            let outcome = outcome_of(s.level, check_level, &o, options.strict);
            match o.state.take() {
                Some(Ok(state)) => {
                    let exchanges = o.exchanges.clone();
                    states.insert(s.key(), Observed { state, exchanges });
                }
                Some(Err(e)) => unread.push(format!("{}: {e}", s.key())),
                None => {}
            }
            // Every case that ran keeps its evidence, a passed one too: a pass for the wrong
            // reason shows in its exchanges and target state.
            let detail = Some(Detail {
                step: o.failed_step,
                message: o.message.unwrap_or_default(),
                warnings: o.warnings.into_iter().map(|(_, w)| w).collect(),
                exchanges: o.exchanges,
            });
            let mut c = case(s, outcome, detail, o.duration_ms);
            c.target = o.target;
            c
        })
        .collect();
    (cases, states, unread)
}

/// The scenario's objects before and after for the report (write-only values blurred), and
/// when `compare`, the state it left them in normalised for the dialect differential, or why
/// the probe could not read it (the harness's trouble, not the host's: the report lists it,
/// the scenario's outcome stays). Nothing for a world not bound to a run.
async fn end_state(
    w: &mut EcmaWorld,
    compare: bool,
) -> (
    Option<Result<crate::probe::Snapshot, String>>,
    Option<reports::TargetEvidence>,
) {
    let Some(run) = w.run.clone() else {
        return (None, None);
    };
    let after = w.snapshot().await;
    let write_only: Vec<String> = run
        .profile
        .attributes
        .values()
        .filter(|a| a.write_only)
        .map(|a| a.target.to_ascii_lowercase())
        .collect();
    let blur = |mut s: crate::probe::Snapshot| {
        for attributes in s.values_mut() {
            for (a, values) in attributes.iter_mut() {
                if write_only.contains(a) {
                    *values = vec!["<write-only>".to_owned()];
                }
            }
        }
        s
    };
    let target = reports::TargetEvidence {
        before: w.target.first_before.take().map(blur),
        after: after.as_ref().ok().cloned().map(blur),
    };
    if !compare {
        return (None, Some(target));
    }
    let state = match after {
        Ok(snapshot) => {
            let naming = Naming {
                suffix: w.suffix.clone(),
                users: w
                    .scim
                    .users
                    .values()
                    .map(|u| (u.logical.clone(), u.number))
                    .collect(),
            };
            let blur = Blur::for_profile(
                &run.profile,
                &run.probe.version_attributes(),
                &run.generated_attributes,
            );
            Ok(crate::differential::normalise(snapshot, &naming, &blur))
        }
        Err(e) => Err(e.message),
    };
    (Some(state), Some(target))
}

/// A scenario's outcome from its level, the level of the named check that failed (if one
/// did) and what happened to it (see the module's doc).
fn outcome_of(
    level: reports::Level,
    check_level: Option<reports::Level>,
    o: &Outcomes,
    strict: bool,
) -> Outcome {
    use reports::Level;
    let outcome = match (&o.message, o.finished) {
        (Some(_), _) if o.in_setup => Outcome::Blocked,
        (Some(_), _) if level == Level::Must || check_level == Some(Level::Must) => Outcome::Failed,
        (Some(_), _) => Outcome::Warned,
        (None, false) => Outcome::Blocked,
        (None, true) if o.warnings.is_empty() => Outcome::Passed,
        (None, true) => Outcome::Warned,
    };
    let should_missed = (o.message.is_some() && level == Level::Should)
        || o.warnings.iter().any(|(l, _)| *l == Level::Should);
    if strict && outcome == Outcome::Warned && should_missed {
        Outcome::Failed
    } else {
        outcome
    }
}

/// Objects that carry this run's id and are still there.
async fn leftovers(probe: &Probe, suite: &Suite, profiles: &[String], run_id: &str) -> Vec<String> {
    let mut namings: Vec<String> = profiles
        .iter()
        .filter_map(|p| suite.profiles.get(p))
        .map(|p| p.naming_attribute().to_owned())
        .collect();
    namings.push("ou".into());
    namings.sort();
    namings.dedup();
    let marker = format!("-{run_id}-");
    probe
        .find(&namings, Match::Contains(&marker))
        .await
        .map(|found| found.into_iter().map(|e| e.dn).collect())
        .unwrap_or_default()
}

/// The test-connection request a readiness check sends.
pub fn readiness_request(suite: &Suite, profile: &str) -> crate::provisioning::Request {
    let attribute = suite
        .profiles
        .get(profile)
        .and_then(|p| p.attribute(&p.matching_attribute).map(|a| a.target.clone()))
        .unwrap_or_else(|| "PLACEHOLDER".into());
    entra::test_connection(&attribute)
}

/// Sends one test-connection query: `Ok` on 200.
pub async fn probe_host(
    service: &ProvisioningService,
    suite: &Suite,
    profile: &str,
) -> Result<(), String> {
    let x = service
        .send(&readiness_request(suite, profile), &Auth::Token)
        .await;
    match x.status {
        Some(200) => Ok(()),
        _ => Err(crate::checks::got(&x)),
    }
}

/// What `ecmacert list` prints: every scenario per profile and dialect, and whether it would
/// run. Touches nothing.
pub fn describe_plan(
    suite: &Suite,
    config: &Config,
    options: &RunOptions,
) -> Result<String, RunError> {
    let names = if options.profiles.is_empty() {
        config.profile_names()
    } else {
        options.profiles.clone()
    };
    let tags = match &options.tags {
        Some(expr) => Some(expr.parse::<TagOperation>().map_err(|e| {
            ConfigError::invalid("--tags", format!("{expr:?} is not a tag expression: {e}"))
        })?),
        None => None,
    };
    let extra = configured_capabilities(config);
    let mut out = String::new();
    let mut totals: BTreeMap<&str, usize> = BTreeMap::new();
    for name in &names {
        let profile = suite
            .profiles
            .get(name)
            .ok_or_else(|| ConfigError::invalid("profile", format!("unknown profile {name:?}")))?;
        out.push_str(&format!(
            "profile {} ({}): {}\n",
            profile.name, profile.kind, profile.description
        ));
        out.push_str(&format!(
            "  capabilities: {}\n",
            profile
                .capabilities()
                .into_iter()
                .chain(extra.iter().copied())
                .map(Capability::name)
                .collect::<Vec<_>>()
                .join(", ")
        ));
        for dialect in &options.dialects {
            out.push_str(&format!("  dialect {}\n", dialect.name()));
            for (s, skip) in plan(suite, name, tags.as_ref(), &extra) {
                let (mark, why) = match &skip {
                    None => ("run ", String::new()),
                    Some(skip) => (
                        match (skip.outcome, &skip.not_checked) {
                            (Outcome::NotApplicable, Some(_)) => "not checked",
                            (Outcome::NotApplicable, None) => "n/a ",
                            _ => "skip",
                        },
                        format!("  ({})", skip.reason),
                    ),
                };
                *totals
                    .entry(if skip.is_none() { "run" } else { "not run" })
                    .or_default() += 1;
                out.push_str(&format!(
                    "    {mark} {}:{} {} [{} {}]{why}\n",
                    s.feature,
                    s.line,
                    s.name,
                    s.level.name(),
                    s.requirements.join(" ")
                ));
            }
        }
    }
    out.push_str(&format!(
        "{} scenario × profile × dialect cases would run, {} would not; nothing was contacted\n",
        totals.get("run").copied().unwrap_or(0),
        totals.get("not run").copied().unwrap_or(0)
    ));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn a_run_on_its_own_thread_gives_its_result_or_its_panic() {
        let here = std::thread::current().id();
        let there = on_own_thread("answers".into(), move || async move {
            // What it spawns runs on the runtime: the timer is driven there.
            tokio::time::sleep(Duration::from_millis(10)).await;
            std::thread::current().id()
        })
        .await;
        assert!(matches!(there, Ok(id) if id != here));
        let panicked: Result<(), String> =
            on_own_thread("panics".into(), || async { panic!("a probe gave up") }).await;
        assert_eq!(
            panicked,
            Err("the harness stopped the run panics: a probe gave up".into())
        );
    }

    #[test]
    fn a_database_behind_the_tcp_proxy_makes_the_operation_faults_not_applicable_not_unchecked() {
        // What a run on PostgreSQL with every hook and the TCP fault proxy provides: the
        // faults of one operation cannot be played there, so certify must not be refused
        // for them; on a directory behind the LDAP proxy they run.
        let suite = Suite::embedded().unwrap();
        let mut caps: BTreeSet<Capability> = [
            Capability::ImportHook,
            Capability::ImportAnswer,
            Capability::HostRestart,
            Capability::ConnectionFaults,
            Capability::NetworkedTarget,
            Capability::ConnectorUrl,
            Capability::OtherConnector,
        ]
        .into();
        let faults = |profile: &str, caps: &BTreeSet<Capability>| -> Vec<Option<Skip>> {
            plan(&suite, profile, None, caps)
                .into_iter()
                .filter(|(s, _)| s.feature == "robustness/faults.feature")
                .map(|(_, skip)| skip)
                .collect()
        };
        let on_postgres = faults("postgres-table", &caps);
        assert!(!on_postgres.is_empty());
        for skip in &on_postgres {
            let skip = skip.as_ref().unwrap();
            assert_eq!(skip.not_checked, None, "{}", skip.reason);
        }
        caps.insert(Capability::OperationFaults);
        caps.insert(Capability::FaultInjection);
        assert!(
            faults("openldap-inetorgperson", &caps)
                .iter()
                .any(Option::is_none)
        );
    }

    /// The known number of scenarios each shipped profile runs when the run provides
    /// everything (an import hook, fault injection), per dialect. A change to the suite that
    /// adds or removes applicable scenarios must change this table too, so that none goes
    /// missing unnoticed.
    #[test]
    fn every_shipped_profile_plans_a_known_number_of_scenarios() {
        let suite = Suite::embedded().unwrap();
        let everything: BTreeSet<Capability> = [
            Capability::ImportHook,
            Capability::ImportAnswer,
            Capability::HostRestart,
            Capability::FaultInjection,
            Capability::ConnectionFaults,
            Capability::Standby,
            Capability::NetworkedTarget,
            Capability::OperationFaults,
            Capability::ConnectorUrl,
            Capability::OtherConnector,
        ]
        .into();
        let counts: Vec<(String, usize)> = suite
            .profiles
            .keys()
            .map(|p| {
                let n = plan(&suite, p, None, &everything)
                    .iter()
                    .filter(|(_, skip)| skip.is_none())
                    .count();
                (p.clone(), n)
            })
            .collect();
        let known: Vec<(String, usize)> = KNOWN_COUNTS
            .iter()
            .map(|(p, n)| ((*p).to_owned(), *n))
            .collect();
        assert_eq!(
            counts, known,
            "update KNOWN_COUNTS after checking the change"
        );
    }

    /// `host.import = { wait_seconds = N }`: the import scenarios run, waiting for the host's
    /// autosync, except the one that must see a failed import (ECMA-IMPORT-012); zero seconds
    /// and a waiting restart are refused by key.
    #[test]
    fn an_import_hook_that_waits_runs_every_import_scenario_but_the_one_that_needs_an_answer() {
        let text = |import: &str, restart: &str| {
            format!(
                "profile = \"postgres-procedures\"\n[host]\nbase_url = \"https://localhost:8585\"\n\
                 connector = \"SQL\"\ntoken = {{ env = \"T\" }}\nimport = {import}\n{restart}\n\
                 [target]\nkind = \"sql\"\nurl = \"postgres://127.0.0.1/x\"\n"
            )
        };
        let parse = |t: String| toml::from_str::<Config>(&t).unwrap();
        let waiting = parse(text("{ wait_seconds = 330 }", ""));
        waiting.validate().unwrap();
        let caps = configured_capabilities(&waiting);
        assert!(caps.contains(&Capability::ImportHook));
        assert!(!caps.contains(&Capability::ImportAnswer));
        let suite = Suite::embedded().unwrap();
        let left_out = |caps: &BTreeSet<Capability>| -> BTreeSet<String> {
            plan(&suite, "postgres-procedures", None, caps)
                .into_iter()
                .filter(|(_, skip)| skip.is_some())
                .map(|(s, _)| s.name)
                .collect()
        };
        let mut answering = caps.clone();
        answering.insert(Capability::ImportAnswer);
        let skipped: Vec<String> = left_out(&caps)
            .difference(&left_out(&answering))
            .cloned()
            .collect();
        assert_eq!(
            skipped,
            [
                "A read procedure that ignores its page bounds stops the import, and the connector space is kept"
            ],
            "only the scenario that must see the failed import is left out"
        );
        let asking = parse(text("{ method = \"POST\", path = \"/cache/import\" }", ""));
        assert!(configured_capabilities(&asking).contains(&Capability::ImportAnswer));
        for (import, restart, key) in [
            ("{ wait_seconds = 0 }", "", "host.import.wait_seconds"),
            ("{ command = [] }", "", "host.import.command"),
            (
                "{ wait_seconds = 5 }",
                "restart = { wait_seconds = 5 }",
                "host.restart",
            ),
        ] {
            let e = parse(text(import, restart)).validate().unwrap_err();
            assert!(e.to_string().contains(key), "{e}");
        }
    }

    const KNOWN_COUNTS: &[(&str, usize)] = &[
        ("389ds-inetorgperson", 154),
        ("adlds-user", 153),
        ("mariadb-procedures", 151),
        ("mariadb-table", 149),
        ("mariadb-types", 148),
        ("openldap-disable-flag", 154),
        ("openldap-flows", 142),
        ("openldap-inetorgperson", 154),
        ("openldap-posix", 154),
        ("postgres-procedures", 151),
        ("postgres-table", 149),
        ("postgres-types", 148),
        ("rest-hr", 150),
        ("scim-target", 150),
        ("script-sqlite", 150),
        ("sqlite-flows", 136),
        ("sqlite-table", 150),
    ];
}
