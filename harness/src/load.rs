//! `ecmacert load`: how fast a host carries out Entra's provisioning cycle for many users, and
//! how that compares with its target's own speed.
//!
//! For N generated users the provisioning service plays the cycle of an initial provisioning
//! run, one step after another, with C clients at once: the matching query that finds nobody,
//! the create, the matching query that finds the user, a PATCH of one attribute, the disable
//! (`active` false) and the delete. Every request is timed by the client that sent it, into an
//! HDR histogram (microseconds, 3 significant digits). After each write step the probe reads
//! every object back from the target, so a fast host that loses writes does not look good.
//!
//! With `direct`, the same steps are carried out by the probe straight against the target, at
//! the same concurrency, one connection per client: an LDAP search, add, modify and delete;
//! a SQL `SELECT`, `INSERT`, `UPDATE` and `DELETE`. Host and direct runs alternate in rounds
//! (host first in odd rounds, direct first in even ones), and the figure is, per step, the
//! median over the rounds of host requests/s ÷ direct operations/s. A host's matching query is
//! answered from its connector space (ECMA2Host's cache), the direct one by the target.
//!
//! Bounded: at most `users` per round and side, and a time limit after which no request is
//! started (the result then fails). Objects left in the target are deleted through the probe
//! at the end of each round.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use ecma_vocab::FlowAction;
use hdrhistogram::Histogram;
use indexmap::IndexMap;
use scim_proto::Dialect;
use serde::Serialize;
use serde_json::Value;

use crate::config::Config;
use crate::probe::{Probe, ProbeError};
use crate::profile::Profile;
use crate::provisioning::{Auth, Change, KeptConnection, ProvisioningService, entra};
use crate::runner::RunError;
use crate::suite::Suite;

/// A phase the caller can ask for (`--phases`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// The matching query: before the create (it finds nobody) and after (it finds the user).
    Match,
    /// `POST /Users`.
    Create,
    /// `PATCH` of one attribute.
    Patch,
    /// `PATCH` of `active` to false.
    Disable,
    /// `DELETE /Users/{id}`.
    Delete,
}

impl Phase {
    /// Every phase, in the cycle's order.
    pub const ALL: [Phase; 5] = [
        Phase::Match,
        Phase::Create,
        Phase::Patch,
        Phase::Disable,
        Phase::Delete,
    ];

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Match => "match",
            Phase::Create => "create",
            Phase::Patch => "patch",
            Phase::Disable => "disable",
            Phase::Delete => "delete",
        }
    }

    /// The phase called `name`.
    pub fn named(name: &str) -> Option<Phase> {
        Phase::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// One timed step of the cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// The matching query before the create: no user.
    MatchMiss,
    /// The create.
    Create,
    /// The matching query after the create: one user.
    MatchHit,
    /// The update.
    Patch,
    /// The disable.
    Disable,
    /// The delete.
    Delete,
}

impl Step {
    /// Its name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Step::MatchMiss => "match (miss)",
            Step::Create => "create",
            Step::MatchHit => "match (hit)",
            Step::Patch => "patch",
            Step::Disable => "disable",
            Step::Delete => "delete",
        }
    }

    fn writes(self) -> bool {
        !matches!(self, Step::MatchMiss | Step::MatchHit)
    }
}

/// Who carries the steps out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Side {
    /// The host under test, through SCIM as Entra sends it.
    Host,
    /// The probe, straight against the target.
    Direct,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Host => "host",
            Side::Direct => "direct",
        }
    }
}

/// What `ecmacert load` was asked.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// The profile (default: the configuration's first).
    pub profile: Option<String>,
    /// Users per round and side.
    pub users: usize,
    /// Clients at once.
    pub concurrency: usize,
    /// The phases (default: all those the profile's flows allow).
    pub phases: Vec<Phase>,
    /// The PATCH dialect.
    pub dialect: Dialect,
    /// Also run the steps straight against the target, interleaved.
    pub direct: bool,
    /// Rounds (each with fresh users).
    pub rounds: usize,
    /// No request is started after this much time from the start.
    pub time_limit: Duration,
    /// Seed this many objects straight into the target first, then time the host's start-up
    /// import, its memory, and a re-import under matching queries (needs `host.command`).
    pub seed: Option<usize>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            profile: None,
            users: 1000,
            concurrency: 8,
            phases: Vec::new(),
            dialect: Dialect::EntraDefault,
            direct: false,
            rounds: 1,
            time_limit: Duration::from_secs(600),
            seed: None,
        }
    }
}

/// The figures of one step by one side in one round.
#[derive(Clone, Debug, Serialize)]
pub struct StepFigures {
    /// The step.
    pub step: Step,
    /// Who carried it out.
    pub side: Side,
    /// Requests sent (or target operations carried out).
    pub requests: u64,
    /// Wall-clock time of the step, in seconds.
    pub seconds: f64,
    /// `requests / seconds`.
    pub per_second: f64,
    /// Latency percentiles and maximum, in milliseconds, as each client timed its requests.
    pub p50_ms: f64,
    /// 95th percentile, ms.
    pub p95_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Slowest, ms.
    pub max_ms: f64,
    /// Failed requests by what happened: an HTTP status (`"409"`), `"no answer: …"` with why,
    /// or what was wrong with the answer (`"201 without an id"`).
    pub errors: BTreeMap<String, u64>,
}

/// One round: every step by each side.
#[derive(Clone, Debug, Serialize)]
pub struct Round {
    /// 1-based.
    pub number: usize,
    /// The order the sides ran in.
    pub order: Vec<Side>,
    /// The figures, in the order they were taken.
    pub steps: Vec<StepFigures>,
}

/// Host ÷ direct for one step, over the rounds.
#[derive(Clone, Debug, Serialize)]
pub struct Ratio {
    /// The step.
    pub step: Step,
    /// Median of the host's requests/s over the rounds.
    pub host_per_second: f64,
    /// Median of the direct operations/s over the rounds.
    pub direct_per_second: f64,
    /// Median of the per-round ratios host ÷ direct.
    pub median: f64,
    /// Smallest per-round ratio.
    pub min: f64,
    /// Largest per-round ratio.
    pub max: f64,
}

/// What the probe found after one write step of the host.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Verification {
    /// The round.
    pub round: usize,
    /// The step.
    pub step: Option<Step>,
    /// Objects read back (those the host acknowledged).
    pub checked: u64,
    /// Acknowledged but not in the target (or, after a step that deletes, still there).
    pub missing: u64,
    /// In the target without the value the step wrote.
    pub wrong: u64,
    /// The first few, as `DN: what`.
    pub examples: Vec<String>,
}

/// The result of `ecmacert load`.
#[derive(Clone, Debug, Serialize)]
pub struct LoadReport {
    /// The host's SCIM base URL.
    pub host: String,
    /// The profile.
    pub profile: String,
    /// The PATCH dialect.
    pub dialect: String,
    /// Users per round and side.
    pub users: usize,
    /// Clients at once.
    pub concurrency: usize,
    /// The rounds.
    pub rounds: Vec<Round>,
    /// Host ÷ direct per step (with `direct`).
    pub ratios: Vec<Ratio>,
    /// The probe's reading after every write step of the host.
    pub verifications: Vec<Verification>,
    /// With `--seed`: the start-up import of a large target and a re-import under queries.
    pub seed: Option<SeedFigures>,
    /// Why the result fails, besides errors and verifications: the time limit, a probe error.
    pub problems: Vec<String>,
    /// What was not measured, and why.
    pub notes: Vec<String>,
}

/// What `--seed` measured.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SeedFigures {
    /// Objects seeded straight into the target (by the probe, `concurrency` connections).
    pub entries: usize,
    /// Seconds the seeding took.
    pub seed_seconds: f64,
    /// From starting `host.command` until Test Connection answered 200 (the first import
    /// done), in seconds; polled every 100 ms.
    pub ready_seconds: f64,
    /// The host's resident memory once ready (its process group's `VmRSS`), MiB.
    pub ready_rss_mib: f64,
    /// Its peak resident memory by then (`VmHWM`), MiB.
    pub import_peak_rss_mib: f64,
    /// The re-import (`host.import`) with matching queries sent all along.
    pub reimport: Option<Reimport>,
}

/// A re-import under matching queries.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Reimport {
    /// Seconds the import hook took.
    pub seconds: f64,
    /// Matching queries answered meanwhile (each for a seeded user: one result expected).
    pub queries: u64,
    /// Their 99th percentile, ms.
    pub p99_ms: f64,
    /// The slowest, ms.
    pub max_ms: f64,
    /// Failed queries by what happened.
    pub errors: BTreeMap<String, u64>,
    /// The host's peak resident memory (`VmHWM`) after the re-import, MiB.
    pub peak_rss_mib: f64,
}

impl LoadReport {
    /// Whether every request succeeded, every object read back right, and nothing stopped it.
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
            && self
                .seed
                .as_ref()
                .and_then(|s| s.reimport.as_ref())
                .is_none_or(|r| r.errors.is_empty())
            && self
                .rounds
                .iter()
                .flat_map(|r| &r.steps)
                .all(|s| s.errors.is_empty())
            && self
                .verifications
                .iter()
                .all(|v| v.missing == 0 && v.wrong == 0)
    }

    /// 0 when [`passed`](Self::passed), 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        u8::from(!self.passed())
    }

    /// The figures as text: one table per round, the ratios, the verifications, the verdict.
    pub fn text(&self) -> String {
        let mut out = format!(
            "ecmacert load: {} users × {} round(s), {} clients, profile {}, dialect {}\nhost {}\n",
            self.users,
            self.rounds.len(),
            self.concurrency,
            self.profile,
            self.dialect,
            self.host
        );
        for round in &self.rounds {
            let order: Vec<&str> = round.order.iter().map(|s| s.name()).collect();
            out.push_str(&format!(
                "\nround {} ({})\n{:<8} {:<13} {:>8} {:>10} {:>9} {:>9} {:>9} {:>9}  errors\n",
                round.number,
                order.join(" then "),
                "side",
                "step",
                "requests",
                "per s",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "max ms"
            ));
            for s in &round.steps {
                let errors = if s.errors.is_empty() {
                    "-".to_owned()
                } else {
                    s.errors
                        .iter()
                        .map(|(k, v)| format!("{k}: {v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                out.push_str(&format!(
                    "{:<8} {:<13} {:>8} {:>10.0} {:>9.2} {:>9.2} {:>9.2} {:>9.2}  {errors}\n",
                    s.side.name(),
                    s.step.name(),
                    s.requests,
                    s.per_second,
                    s.p50_ms,
                    s.p95_ms,
                    s.p99_ms,
                    s.max_ms
                ));
            }
        }
        if !self.ratios.is_empty() {
            out.push_str(&format!(
                "\nhost ÷ direct over {} round(s) (median, min–max)\n",
                self.rounds.len()
            ));
            for r in &self.ratios {
                out.push_str(&format!(
                    "{:<13} host {:>8.0}/s  direct {:>8.0}/s  ratio {:.2} ({:.2}–{:.2})\n",
                    r.step.name(),
                    r.host_per_second,
                    r.direct_per_second,
                    r.median,
                    r.min,
                    r.max
                ));
            }
        }
        if let Some(seed) = &self.seed {
            out.push_str(&format!(
                "\nseeded {} objects in {:.1} s; host ready (first import done) {:.2} s after its start, RSS {:.0} MiB, peak {:.0} MiB\n",
                seed.entries,
                seed.seed_seconds,
                seed.ready_seconds,
                seed.ready_rss_mib,
                seed.import_peak_rss_mib
            ));
            if let Some(r) = &seed.reimport {
                out.push_str(&format!(
                    "re-import {:.2} s: {} matching queries meanwhile, p99 {:.2} ms, max {:.2} ms, errors {}; peak RSS {:.0} MiB\n",
                    r.seconds,
                    r.queries,
                    r.p99_ms,
                    r.max_ms,
                    if r.errors.is_empty() {
                        "-".to_owned()
                    } else {
                        format!("{:?}", r.errors)
                    },
                    r.peak_rss_mib
                ));
            }
        }
        out.push('\n');
        for n in &self.notes {
            out.push_str(&format!("note: {n}\n"));
        }
        for v in &self.verifications {
            let step = v.step.map_or("?", Step::name);
            if v.missing == 0 && v.wrong == 0 {
                out.push_str(&format!(
                    "verified round {} {step}: {} objects read back from the target\n",
                    v.round, v.checked
                ));
            } else {
                out.push_str(&format!(
                    "FAILED round {} {step}: of {} objects the host acknowledged, {} not as written in the target and {} with a wrong value; {}\n",
                    v.round,
                    v.checked,
                    v.missing,
                    v.wrong,
                    v.examples.join("; ")
                ));
            }
        }
        for p in &self.problems {
            out.push_str(&format!("FAILED: {p}\n"));
        }
        out.push_str(if self.passed() {
            "load: passed (every request answered, every object read back)\n"
        } else {
            "load: failed\n"
        });
        out
    }
}

/// One generated user.
#[derive(Debug)]
struct LoadUser {
    /// The unique name (`{name}` in the profile's templates).
    name: String,
    /// `{number}` in the profile's templates.
    number: u64,
    dn: String,
    /// The matching attribute's value.
    matching: String,
    /// The create's target attributes (`-dn-` and `objectClass` included for LDAP).
    attributes: IndexMap<String, Value>,
    /// The id the host returned.
    id: OnceLock<String>,
    /// The outcome of the last step: [`NOT_RUN`], [`ACKNOWLEDGED`], [`FAILED`] or (while a
    /// step runs) [`PENDING`].
    state: AtomicU8,
}

/// Not reached by the last step (or no step yet).
const NOT_RUN: u8 = 0;
/// The last step succeeded for the user.
const ACKNOWLEDGED: u8 = 1;
/// The last step failed for the user; it is carried no further.
const FAILED: u8 = 2;
/// Carried into the running step, not reached yet.
const PENDING: u8 = 3;

/// Everything one side's run of the steps needs.
struct Cycle {
    profile: Profile,
    users: Vec<LoadUser>,
    matching_target: String,
    patch: (String, String),
    dialect: Dialect,
    service: ProvisioningService,
    deadline: Instant,
    /// An empty histogram of the right bounds, cloned by every client.
    histogram: Histogram<u64>,
}

/// What the probe must find after a step that ends a user in the target.
#[derive(Clone, Debug)]
enum Expect {
    Present,
    Gone,
    Value(String, String),
}

/// Runs `ecmacert load` against the configured host. `Err` for a configuration that cannot be
/// used (exit code 2); a host that fails gives a report that did not pass.
pub async fn run(
    suite: &Suite,
    config: &Config,
    base_dir: &Path,
    options: &LoadOptions,
) -> Result<LoadReport, RunError> {
    let invalid = |key: &str, reason: String| -> RunError {
        crate::config::ConfigError::invalid(key, reason).into()
    };
    if options.concurrency == 0 || options.rounds == 0 || options.seed == Some(0) {
        return Err(invalid(
            "--concurrency/--rounds/--seed",
            "each must be at least 1".into(),
        ));
    }
    if options.users == 0 && options.seed.is_none() {
        return Err(invalid(
            "--users",
            "0 users and no --seed: nothing to measure".into(),
        ));
    }
    let profile = crate::runner::one_profile(suite, config, options.profile.as_deref())?;
    let profile_name = profile.name.clone();
    let phases = phases(&profile, &options.phases).map_err(|e| invalid("--phases", e))?;
    let (service, token) = crate::runner::client(config, base_dir)?;
    let password = crate::runner::target_password(config, base_dir)?;
    let secrets: Vec<_> = std::iter::once(token).chain(password.clone()).collect();
    let redact = |e: &dyn std::fmt::Display| crate::checks::redact(&e.to_string(), &secrets);
    if options.seed.is_some() && config.host.command.is_none() {
        return Err(invalid(
            "--seed",
            "needs host.command: what it times is the host's start and first import".into(),
        ));
    }
    let setup = |e: ProbeError| RunError::Setup(redact(&e));
    let probe = Probe::connect(
        &config.target,
        password.as_ref(),
        base_dir,
        profile.sql.as_ref(),
    )
    .await
    .map_err(setup)?;
    probe.ensure_container().await.map_err(setup)?;
    let probe = Arc::new(probe);
    let clients = |n: usize| {
        let password = password.clone();
        let profile = profile.clone();
        async move {
            let mut clients = Vec::with_capacity(n);
            for _ in 0..n {
                clients.push(Arc::new(
                    Probe::connect(
                        &config.target,
                        password.as_ref(),
                        base_dir,
                        profile.sql.as_ref(),
                    )
                    .await?,
                ));
            }
            Ok::<_, ProbeError>(clients)
        }
    };
    let mut context = Context {
        probe,
        tag: crate::runner::run_id()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(6)
            .collect(),
        deadline: Instant::now() + options.time_limit,
        // Microseconds, 1 µs to 10 minutes, 3 significant digits.
        histogram: Histogram::<u64>::new_with_bounds(1, 600_000_000, 3)
            .map_err(|e| RunError::Setup(format!("the latency histogram: {e}")))?,
        number: 50_000_000u64 + u64::from(std::process::id() % 1000) * 1_000_000,
        live: Vec::new(),
    };
    let mut report = LoadReport {
        host: service.base().to_owned(),
        profile: profile.name.clone(),
        dialect: options.dialect.to_string(),
        users: options.users,
        concurrency: options.concurrency,
        rounds: Vec::new(),
        ratios: Vec::new(),
        verifications: Vec::new(),
        seed: None,
        problems: Vec::new(),
        notes: Vec::new(),
    };
    let interrupted = "interrupted (Ctrl-C): the figures are incomplete";
    // The seeded objects, straight into the target before the host starts.
    let seeded = options.seed.map(|n| {
        Arc::new(Cycle {
            matching_target: matching_target(&profile),
            patch: patched(&profile).unwrap_or_default(),
            histogram: context.histogram.clone(),
            profile: profile.clone(),
            users: make_users(
                &profile,
                config,
                &format!("sd{}", context.tag),
                n,
                &mut context.number,
            ),
            dialect: options.dialect,
            service: service.clone(),
            deadline: context.deadline,
        })
    });
    if let Some(cycle) = &seeded {
        let seeding = async {
            let writers = clients(options.concurrency).await?;
            Ok::<_, ProbeError>(
                drive(
                    cycle,
                    Side::Direct,
                    Step::Create,
                    options.concurrency,
                    &writers,
                    &mut Vec::new(),
                )
                .await,
            )
        };
        let outcome = tokio::select! {
            r = seeding => Some(r),
            _ = tokio::signal::ctrl_c() => None,
        };
        match outcome {
            Some(Ok(figures)) => {
                if !figures.errors.is_empty() {
                    report.problems.push(format!(
                        "seeding the target failed for some objects: {:?}",
                        figures.errors
                    ));
                }
                report.seed = Some(SeedFigures {
                    entries: cycle.users.len(),
                    seed_seconds: figures.seconds,
                    ..SeedFigures::default()
                });
            }
            Some(Err(e)) => {
                clean(&context.probe, cycle, options.concurrency).await;
                return Err(setup(e));
            }
            None => {
                clean(&context.probe, cycle, options.concurrency).await;
                report.problems.push(interrupted.into());
                redact_all(&mut report, &redact);
                return Ok(report);
            }
        }
    }
    let started = Instant::now();
    let host = match crate::runner::start_managed_host(
        config,
        base_dir,
        &service,
        suite,
        &profile_name,
        &secrets,
        "load",
    )
    .await
    {
        Ok(host) => host,
        Err(e) => {
            if let Some(cycle) = &seeded {
                clean(&context.probe, cycle, options.concurrency).await;
            }
            return Err(RunError::Preflight(redact(&e)));
        }
    };
    let ready = started.elapsed();
    let work = async {
        if let (Some(cycle), Some(host), Some(seed)) = (&seeded, &host, &mut report.seed) {
            seed.ready_seconds = ready.as_secs_f64();
            let pid = host.pid().await;
            let memory = pid.and_then(group_memory).unwrap_or_default();
            (seed.ready_rss_mib, seed.import_peak_rss_mib) = (memory.0, memory.1);
            match &config.host.import {
                Some(
                    hook @ (crate::config::ImportHook::Http { .. }
                    | crate::config::ImportHook::Command { .. }),
                ) => {
                    let mut reimport =
                        reimport_under_queries(cycle, &service, hook, options.concurrency).await;
                    reimport.peak_rss_mib = pid.and_then(group_memory).unwrap_or_default().1;
                    seed.reimport = Some(reimport);
                }
                _ => report.notes.push(
                    "the configuration has no host.import hook to call: the re-import under queries was not measured".into(),
                ),
            }
        }
        if options.users > 0 {
            run_rounds(
                config,
                options,
                &profile,
                &phases,
                &service,
                &mut context,
                &mut report,
                &clients,
            )
            .await
        } else {
            Ok(())
        }
    };
    let outcome = tokio::select! {
        r = work => Some(r),
        _ = tokio::signal::ctrl_c() => None,
    };
    if let Some(host) = host {
        host.stop().await;
    }
    let unfinished = match outcome {
        Some(Ok(())) => None,
        Some(Err(e)) => Some(format!("the target could not be reached directly: {e}")),
        None => Some(interrupted.to_owned()),
    };
    if let Some(problem) = unfinished {
        report.problems.push(problem);
        for cycle in std::mem::take(&mut context.live) {
            clean(&context.probe, &cycle, options.concurrency).await;
        }
    }
    if let Some(cycle) = &seeded {
        clean(&context.probe, cycle, options.concurrency).await;
    }
    redact_all(&mut report, &redact);
    Ok(report)
}

/// Every text of `report` that came from the host or the target (failure keys, examples,
/// problems, notes) with the run's secrets redacted.
fn redact_all(report: &mut LoadReport, redact: &dyn Fn(&dyn std::fmt::Display) -> String) {
    let keys = |errors: &mut BTreeMap<String, u64>| {
        *errors = std::mem::take(errors)
            .into_iter()
            .map(|(k, v)| (redact(&k), v))
            .collect();
    };
    for step in report.rounds.iter_mut().flat_map(|r| &mut r.steps) {
        keys(&mut step.errors);
    }
    if let Some(r) = report.seed.as_mut().and_then(|s| s.reimport.as_mut()) {
        keys(&mut r.errors);
    }
    for v in &mut report.verifications {
        for e in &mut v.examples {
            *e = redact(e);
        }
    }
    for text in report.problems.iter_mut().chain(&mut report.notes) {
        *text = redact(text);
    }
}

/// What every side's run shares.
struct Context {
    probe: Arc<Probe>,
    /// Marks this load's users' names.
    tag: String,
    deadline: Instant,
    histogram: Histogram<u64>,
    /// The next `{number}`.
    number: u64,
    /// The rounds' users that may be in the target, for the clean-up of a run cut short.
    live: Vec<Arc<Cycle>>,
}

fn matching_target(profile: &Profile) -> String {
    profile
        .attribute(&profile.matching_attribute)
        .map(|a| a.target.clone())
        .unwrap_or_default()
}

/// The resident memory of the process group `pgid` (the host and whatever its command
/// started): the sums of `VmRSS` and `VmHWM` (peak) over its processes, in MiB, from `/proc`.
/// `None` when no process of the group can be read.
fn group_memory(pgid: u32) -> Option<(f64, f64)> {
    let mut found = false;
    let (mut rss, mut hwm) = (0u64, 0u64);
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let path = entry.path();
        let Ok(stat) = std::fs::read_to_string(path.join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid pgrp …`: comm may hold spaces and parentheses.
        let group = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(2))
            .and_then(|g| g.parse::<u32>().ok());
        if group != Some(pgid) {
            continue;
        }
        let Ok(status) = std::fs::read_to_string(path.join("status")) else {
            continue;
        };
        let kib = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        found = true;
        rss += kib("VmRSS:");
        hwm += kib("VmHWM:");
    }
    found.then(|| (rss as f64 / 1024.0, hwm as f64 / 1024.0))
}

/// Calls the import hook and, until it returns, sends matching queries for the seeded users
/// with `concurrency` clients.
async fn reimport_under_queries(
    cycle: &Arc<Cycle>,
    service: &ProvisioningService,
    hook: &crate::config::ImportHook,
    concurrency: usize,
) -> Reimport {
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let next = Arc::new(AtomicUsize::new(0));
    // Only users the seeding wrote: the others would count as the host's misses.
    let seeded: Arc<Vec<usize>> = Arc::new(
        (0..cycle.users.len())
            .filter(|i| cycle.users[*i].state.load(Ordering::Relaxed) == ACKNOWLEDGED)
            .collect(),
    );
    let mut lanes: Vec<KeptConnection> = (0..concurrency)
        .map(|_| service.kept_connection())
        .collect();
    warm_up(cycle, &mut lanes).await;
    let mut workers = Vec::new();
    for mut lane in lanes {
        let (cycle, done, next, seeded) =
            (cycle.clone(), done.clone(), next.clone(), seeded.clone());
        workers.push(tokio::spawn(async move {
            let mut histogram = cycle.histogram.clone();
            let mut errors: BTreeMap<String, u64> = BTreeMap::new();
            let n = seeded.len();
            while n > 0 && !done.load(Ordering::Relaxed) && Instant::now() < cycle.deadline {
                // Spread over the space, not in creation order.
                let i = seeded[next.fetch_add(1, Ordering::Relaxed).wrapping_mul(7919) % n];
                let t0 = Instant::now();
                let outcome = through_host(&cycle, &mut lane, Step::MatchHit, i).await;
                let micros = t0.elapsed().as_micros().min(u128::from(u64::MAX)) as u64;
                let _ = histogram.record(micros.max(1));
                if let Err(what) = outcome {
                    *errors.entry(what).or_default() += 1;
                }
            }
            (histogram, errors)
        }));
    }
    let started = Instant::now();
    let limit = cycle
        .deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_secs(1));
    let answer = call_hook(service, hook, limit).await;
    let seconds = started.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    let mut histogram = cycle.histogram.clone();
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    if let Err(e) = answer {
        errors.insert(format!("the import hook failed: {e}"), 1);
    }
    for w in workers {
        if let Ok((h, e)) = w.await {
            let _ = histogram.add(&h);
            for (k, v) in e {
                *errors.entry(k).or_default() += v;
            }
        }
    }
    Reimport {
        seconds,
        queries: histogram.len(),
        p99_ms: histogram.value_at_quantile(0.99) as f64 / 1000.0,
        max_ms: histogram.max() as f64 / 1000.0,
        errors,
        peak_rss_mib: 0.0,
    }
}

/// Calls the import hook ([`crate::world::call_hook`]), giving up after `limit` (the run's
/// time limit); `Err` says how it failed.
async fn call_hook(
    service: &ProvisioningService,
    hook: &crate::config::ImportHook,
    limit: Duration,
) -> Result<(), String> {
    use crate::world::ImportAnswer;
    match crate::world::call_hook(service, hook, "host.import", Some(limit)).await? {
        ImportAnswer::Http(x) if x.status.is_some_and(|s| (200..300).contains(&s)) => Ok(()),
        ImportAnswer::Http(x) => Err(crate::checks::got(&x)),
        ImportAnswer::Command { status, .. } if status.success() => Ok(()),
        ImportAnswer::Command { program, status } => Err(format!("{program} exited with {status}")),
        ImportAnswer::Waited => Ok(()),
    }
}

/// The phases to run: those asked (in the cycle's order), or all the profile's flows allow.
fn phases(profile: &Profile, asked: &[Phase]) -> Result<Vec<Phase>, String> {
    let disable_deletes = profile.deprovisioning.disable_flow == FlowAction::Delete;
    let can_patch = patched(profile).is_some();
    if asked.is_empty() {
        // A disable that deletes leaves nothing for Entra to delete.
        return Ok(Phase::ALL
            .into_iter()
            .filter(|p| !(disable_deletes && *p == Phase::Delete))
            .filter(|p| can_patch || *p != Phase::Patch)
            .collect());
    }
    if !can_patch && asked.contains(&Phase::Patch) {
        return Err(format!(
            "profile {} gives no attribute an `update` value: there is nothing to PATCH",
            profile.name
        ));
    }
    let mut phases = asked.to_vec();
    phases.sort();
    phases.dedup();
    if disable_deletes && phases.contains(&Phase::Disable) && phases.contains(&Phase::Delete) {
        return Err(format!(
            "profile {}'s disable flow deletes the user, so there is nothing left to delete: ask for disable or delete, not both",
            profile.name
        ));
    }
    if !phases.contains(&Phase::Create)
        && phases
            .iter()
            .any(|p| matches!(p, Phase::Patch | Phase::Disable | Phase::Delete))
    {
        return Err("patch, disable and delete need create (the users must exist)".into());
    }
    Ok(phases)
}

fn steps_of(phases: &[Phase]) -> Vec<Step> {
    let mut steps = Vec::new();
    for phase in phases {
        match phase {
            Phase::Match => steps.push(Step::MatchMiss),
            Phase::Create => {
                steps.push(Step::Create);
                if phases.contains(&Phase::Match) {
                    steps.push(Step::MatchHit);
                }
            }
            Phase::Patch => steps.push(Step::Patch),
            Phase::Disable => steps.push(Step::Disable),
            Phase::Delete => steps.push(Step::Delete),
        }
    }
    steps
}

#[allow(clippy::too_many_arguments)]
async fn run_rounds<F, Fut>(
    config: &Config,
    options: &LoadOptions,
    profile: &Profile,
    phases: &[Phase],
    service: &ProvisioningService,
    context: &mut Context,
    report: &mut LoadReport,
    clients: &F,
) -> Result<(), ProbeError>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<Vec<Arc<Probe>>, ProbeError>>,
{
    let steps = steps_of(phases);
    let (probe, tag, deadline) = (context.probe.clone(), context.tag.clone(), context.deadline);
    for round in 1..=options.rounds {
        let order = if !options.direct {
            vec![Side::Host]
        } else if round % 2 == 1 {
            vec![Side::Host, Side::Direct]
        } else {
            vec![Side::Direct, Side::Host]
        };
        let mut figures = Vec::new();
        for side in &order {
            let letter = if *side == Side::Host { 'h' } else { 'd' };
            let users = make_users(
                profile,
                config,
                &format!("ld{tag}{round}{letter}"),
                options.users,
                &mut context.number,
            );
            let cycle = Arc::new(Cycle {
                matching_target: matching_target(profile),
                patch: patched(profile).unwrap_or_default(),
                histogram: context.histogram.clone(),
                profile: profile.clone(),
                users,
                dialect: options.dialect,
                service: service.clone(),
                deadline,
            });
            context.live.push(cycle.clone());
            let mut lanes = Vec::new();
            let clients = match side {
                Side::Host => {
                    lanes = (0..options.concurrency)
                        .map(|_| service.kept_connection())
                        .collect();
                    warm_up(&cycle, &mut lanes).await;
                    Vec::new()
                }
                Side::Direct => clients(options.concurrency).await?,
            };
            for step in &steps {
                let f = drive(
                    &cycle,
                    *side,
                    *step,
                    options.concurrency,
                    &clients,
                    &mut lanes,
                )
                .await;
                figures.push(f);
                if *side == Side::Host && step.writes() {
                    let expect = expectation(profile, *step, &cycle);
                    report.verifications.push(
                        verify(&probe, &cycle, round, *step, &expect, options.concurrency).await,
                    );
                }
                if Instant::now() > deadline {
                    break;
                }
            }
            // Whatever is left goes, through the probe.
            clean(&probe, &cycle, options.concurrency).await;
            context.live.retain(|c| !Arc::ptr_eq(c, &cycle));
            if Instant::now() > deadline {
                report.problems.push(format!(
                    "the time limit ({} s) ran out in round {round}: the figures are incomplete",
                    options.time_limit.as_secs()
                ));
                break;
            }
        }
        report.rounds.push(Round {
            number: round,
            order,
            steps: figures,
        });
        if !report.problems.is_empty() {
            break;
        }
    }
    if options.direct {
        report.ratios = ratios(&report.rounds, &steps);
    }
    Ok(())
}

/// The users of one side's run: names `{prefix}-{i}` made into DNs and create bodies as the
/// suite's scenarios make them.
fn make_users(
    profile: &Profile,
    config: &Config,
    prefix: &str,
    n: usize,
    number: &mut u64,
) -> Vec<LoadUser> {
    let container = &config.target.container;
    (0..n)
        .map(|i| {
            *number += 1;
            let name = format!("{prefix}-{i}");
            let dn = crate::world::dn_of(profile, &name, container);
            let attributes = crate::world::create_attributes(profile, &name, &dn, *number);
            let matching = profile
                .attribute(&profile.matching_attribute)
                .and_then(|a| attributes.get(&a.target))
                .map(crate::world::text)
                .unwrap_or_else(|| name.clone());
            LoadUser {
                name,
                number: *number,
                dn,
                matching,
                attributes,
                id: OnceLock::new(),
                state: AtomicU8::new(NOT_RUN),
            }
        })
        .collect()
}

/// The attribute the PATCH step changes, and the new value of user `{name}`'s template:
/// `surname`'s update value (every profile has one).
fn patched(profile: &Profile) -> Option<(String, String)> {
    let attribute = profile
        .attribute("surname")
        .filter(|a| a.update.is_some())
        .or_else(|| {
            profile
                .attributes
                .values()
                .find(|a| a.update.is_some() && !a.write_only)
        });
    attribute.map(|a| (a.target.clone(), a.update.clone().unwrap_or_default()))
}

fn patch_value(cycle: &Cycle, i: usize) -> String {
    let user = &cycle.users[i];
    crate::world::expand_template(&cycle.patch.1, &user.name, user.number)
}

/// What the target must hold after `step`, by the profile's flows.
fn expectation(profile: &Profile, step: Step, cycle: &Cycle) -> Expect {
    let flow = |f: &FlowAction| match f {
        FlowAction::Delete => Expect::Gone,
        FlowAction::None => Expect::Present,
        FlowAction::SetAttribute { attribute, value } => Expect::Value(
            attribute.clone(),
            if *value { "TRUE" } else { "FALSE" }.to_owned(),
        ),
    };
    match step {
        Step::Disable => flow(&profile.deprovisioning.disable_flow),
        Step::Delete => flow(&profile.deprovisioning.delete_flow),
        Step::Patch => Expect::Value(cycle.patch.0.clone(), String::new()),
        _ => Expect::Present,
    }
}

/// Carries out `step` for every user of `cycle` with `concurrency` clients.
async fn drive(
    cycle: &Arc<Cycle>,
    side: Side,
    step: Step,
    concurrency: usize,
    clients: &[Arc<Probe>],
    lanes: &mut Vec<KeptConnection>,
) -> StepFigures {
    // Users carried into this step are marked pending; those the step does not reach (the
    // time limit) end up not acknowledged, so the verification looks only at what this step
    // did.
    let carried = step != Step::MatchMiss && step != Step::Create;
    if carried {
        for user in &cycle.users {
            let _ = user.state.compare_exchange(
                ACKNOWLEDGED,
                PENDING,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
    }
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::with_capacity(concurrency);
    // The host side's clients are moved into their workers and come back with their figures.
    let mut kept = std::mem::take(lanes).into_iter();
    for w in 0..concurrency {
        let cycle = cycle.clone();
        let next = next.clone();
        let client = clients.get(w).cloned();
        let mut lane = match side {
            Side::Host => Some(
                kept.next()
                    .unwrap_or_else(|| cycle.service.kept_connection()),
            ),
            Side::Direct => None,
        };
        workers.push(tokio::spawn(async move {
            let mut histogram = cycle.histogram.clone();
            let mut errors: BTreeMap<String, u64> = BTreeMap::new();
            let mut count = 0u64;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= cycle.users.len() || Instant::now() > cycle.deadline {
                    break;
                }
                let user = &cycle.users[i];
                // A user whose create failed is not carried further.
                if carried && user.state.load(Ordering::Relaxed) != PENDING {
                    continue;
                }
                let t0 = Instant::now();
                let outcome = match (&client, &mut lane) {
                    (_, Some(lane)) => through_host(&cycle, lane, step, i).await,
                    (Some(probe), None) => direct(&cycle, probe, step, i).await,
                    (None, None) => Err("no client".to_owned()),
                };
                let micros = t0.elapsed().as_micros().min(u128::from(u64::MAX)) as u64;
                let _ = histogram.record(micros.max(1));
                count += 1;
                match outcome {
                    Ok(()) => {
                        if step != Step::MatchMiss {
                            user.state.store(ACKNOWLEDGED, Ordering::Relaxed);
                        }
                    }
                    Err(what) => {
                        user.state.store(FAILED, Ordering::Relaxed);
                        *errors.entry(what).or_default() += 1;
                    }
                }
            }
            (histogram, errors, count, lane)
        }));
    }
    let mut histogram = cycle.histogram.clone();
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    let mut requests = 0;
    for w in workers {
        match w.await {
            Ok((h, e, n, lane)) => {
                lanes.extend(lane);
                let _ = histogram.add(&h);
                for (k, v) in e {
                    *errors.entry(k).or_default() += v;
                }
                requests += n;
            }
            Err(e) => *errors.entry(format!("client failed: {e}")).or_default() += 1,
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    if carried {
        for user in &cycle.users {
            let _ =
                user.state
                    .compare_exchange(PENDING, NOT_RUN, Ordering::Relaxed, Ordering::Relaxed);
        }
    }
    let ms = |q: f64| histogram.value_at_quantile(q) as f64 / 1000.0;
    StepFigures {
        step,
        side,
        requests,
        seconds,
        per_second: if seconds > 0.0 {
            requests as f64 / seconds
        } else {
            0.0
        },
        p50_ms: ms(0.5),
        p95_ms: ms(0.95),
        p99_ms: ms(0.99),
        max_ms: histogram.max() as f64 / 1000.0,
        errors,
    }
}

/// Opens the host side's `concurrency` connections (TLS handshakes included) with as many
/// matching queries at once for a user nobody has, untimed and unchecked: the direct side's
/// clients connect and bind before their first timed operation too, and a handshake is not a
/// request. Without it the first request of each client carried its handshake into the maximum.
/// On a fresh host the warm-up query is also the first `eq` on the matching attribute, so a
/// host that indexes on first use (the reference host) pays that scan untimed too.
async fn warm_up(cycle: &Cycle, lanes: &mut [KeptConnection]) {
    let request = entra::filter(
        &entra::urn_of(&cycle.matching_target),
        "ecmacert-load-warm-up",
    );
    let sends = lanes
        .iter_mut()
        .map(|lane| lane.send(&request, &Auth::Token));
    futures_util::future::join_all(sends).await;
}

/// One request of `step` for user `i`, as Entra sends it. `Err` names what went wrong.
async fn through_host(
    cycle: &Cycle,
    lane: &mut KeptConnection,
    step: Step,
    i: usize,
) -> Result<(), String> {
    let user = &cycle.users[i];
    let id = || user.id.get().cloned().unwrap_or_default();
    let request = match step {
        Step::MatchMiss | Step::MatchHit => {
            entra::filter(&entra::urn_of(&cycle.matching_target), &user.matching)
        }
        Step::Create => entra::create(&user.attributes),
        Step::Patch => entra::update(
            cycle.dialect,
            &id(),
            &[Change {
                attribute: cycle.patch.0.clone(),
                value: Value::String(patch_value(cycle, i)),
                had_value: true,
            }],
        ),
        Step::Disable => entra::set_active(cycle.dialect, &id(), false),
        Step::Delete => entra::delete(&id()),
    };
    let (status, body) = lane
        .send(&request, &Auth::Token)
        .await
        .map_err(|e| format!("no answer: {e}"))?;
    let ok = match step {
        Step::Create => status == 201,
        Step::MatchMiss | Step::MatchHit => status == 200,
        Step::Patch | Step::Disable => status == 200 || status == 204,
        Step::Delete => status == 204,
    };
    if !ok {
        return Err(status.to_string());
    }
    // Only the create's and the queries' answers are read.
    let body: Value = match step {
        Step::Create | Step::MatchMiss | Step::MatchHit => {
            serde_json::from_slice(&body).unwrap_or(Value::Null)
        }
        _ => Value::Null,
    };
    match step {
        Step::Create => match body.get("id").and_then(Value::as_str) {
            Some(id) if !id.is_empty() => {
                let _ = user.id.set(id.to_owned());
                Ok(())
            }
            _ => Err("201 without an id".into()),
        },
        Step::MatchMiss | Step::MatchHit => {
            let found = body.get("totalResults").and_then(Value::as_u64);
            let want = u64::from(step == Step::MatchHit);
            if found != Some(want) {
                return Err(format!("200 with totalResults {found:?}, not {want}"));
            }
            // A seeded user has no id of the host's yet: any one result will do.
            if step == Step::MatchHit && user.id.get().is_some() {
                let returned = body
                    .pointer("/Resources/0/id")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if returned != id() {
                    return Err("200 with another user's id".into());
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The same step straight against the target, by `probe` (one client's own connection).
async fn direct(cycle: &Cycle, probe: &Probe, step: Step, i: usize) -> Result<(), String> {
    let user = &cycle.users[i];
    let err = |e: ProbeError| e.0;
    match step {
        Step::MatchMiss | Step::MatchHit => {
            let found = probe
                .matches(&cycle.matching_target, &user.matching)
                .await
                .map_err(err)?;
            let want = usize::from(step == Step::MatchHit);
            if found != want {
                return Err(format!("{found} found, not {want}"));
            }
            Ok(())
        }
        Step::Create => {
            let attributes: Vec<(String, Vec<String>)> = user
                .attributes
                .iter()
                .filter(|(k, _)| *k != "-dn-")
                .map(|(k, v)| {
                    let values = match v {
                        Value::Array(a) => a.iter().map(crate::world::text).collect(),
                        v => vec![crate::world::text(v)],
                    };
                    (k.clone(), values)
                })
                .collect();
            probe.add(&user.dn, &attributes).await.map_err(err)
        }
        Step::Patch => probe
            .replace(&user.dn, &cycle.patch.0, &[patch_value(cycle, i)])
            .await
            .map_err(err),
        Step::Disable | Step::Delete => {
            let flow = if step == Step::Disable {
                &cycle.profile.deprovisioning.disable_flow
            } else {
                &cycle.profile.deprovisioning.delete_flow
            };
            match flow {
                FlowAction::Delete => probe.delete(&user.dn).await.map_err(err),
                FlowAction::None => Ok(()),
                FlowAction::SetAttribute { attribute, value } => probe
                    .replace(
                        &user.dn,
                        attribute,
                        &[if *value { "TRUE" } else { "FALSE" }.to_owned()],
                    )
                    .await
                    .map_err(err),
            }
        }
    }
}

/// Reads back every user the host acknowledged in `step`.
async fn verify(
    probe: &Arc<Probe>,
    cycle: &Arc<Cycle>,
    round: usize,
    step: Step,
    expect: &Expect,
    concurrency: usize,
) -> Verification {
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (probe, cycle, next, expect) =
            (probe.clone(), cycle.clone(), next.clone(), expect.clone());
        workers.push(tokio::spawn(async move {
            let mut v = Verification::default();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(user) = cycle.users.get(i) else {
                    break;
                };
                if user.state.load(Ordering::Relaxed) != ACKNOWLEDGED {
                    continue;
                }
                v.checked += 1;
                let note = |v: &mut Verification, what: String| {
                    if v.examples.len() < 3 {
                        v.examples.push(format!("{}: {what}", user.dn));
                    }
                };
                let entry = match probe.entry(&user.dn).await {
                    Ok(e) => e,
                    Err(e) => {
                        v.missing += 1;
                        note(&mut v, format!("cannot be read: {}", e.0));
                        continue;
                    }
                };
                match (&expect, entry) {
                    (Expect::Gone, None) => {}
                    (Expect::Gone, Some(_)) => {
                        v.missing += 1;
                        note(&mut v, "still in the target".into());
                    }
                    (_, None) => {
                        v.missing += 1;
                        note(&mut v, "not in the target".into());
                    }
                    (Expect::Present, Some(e)) => {
                        let held = e.values(&cycle.matching_target);
                        if !held.iter().any(|h| h.eq_ignore_ascii_case(&user.matching)) {
                            v.wrong += 1;
                            note(&mut v, format!("{} is {held:?}", cycle.matching_target));
                        }
                    }
                    (Expect::Value(attribute, value), Some(e)) => {
                        let want = if value.is_empty() {
                            patch_value(&cycle, i)
                        } else {
                            value.clone()
                        };
                        let held = e.values(attribute);
                        let same = |h: &String| {
                            h.eq_ignore_ascii_case(&want)
                                || (want == "TRUE" && h == "1")
                                || (want == "FALSE" && h == "0")
                        };
                        if !held.iter().any(same) {
                            v.wrong += 1;
                            note(&mut v, format!("{attribute} is {held:?}, not {want:?}"));
                        }
                    }
                }
            }
            v
        }));
    }
    let mut total = Verification {
        round,
        step: Some(step),
        ..Verification::default()
    };
    for w in workers {
        if let Ok(v) = w.await {
            total.checked += v.checked;
            total.missing += v.missing;
            total.wrong += v.wrong;
            for e in v.examples {
                if total.examples.len() < 3 {
                    total.examples.push(e);
                }
            }
        }
    }
    total
}

/// Deletes every user of `cycle` from the target through the probe (one that is not there is
/// not an error).
async fn clean(probe: &Arc<Probe>, cycle: &Arc<Cycle>, concurrency: usize) {
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (probe, cycle, next) = (probe.clone(), cycle.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(user) = cycle.users.get(i) else {
                    break;
                };
                if let Err(e) = probe.delete(&user.dn).await {
                    tracing::warn!(dn = %user.dn, error = %e, "a load user could not be removed");
                }
            }
        }));
    }
    for w in workers {
        let _ = w.await;
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// Host ÷ direct per step: the median of the rounds' ratios, and their spread.
fn ratios(rounds: &[Round], steps: &[Step]) -> Vec<Ratio> {
    let mut out = Vec::new();
    for step in steps {
        let mut host = Vec::new();
        let mut direct = Vec::new();
        let mut per_round = Vec::new();
        for round in rounds {
            let rate = |side: Side| {
                round
                    .steps
                    .iter()
                    .find(|s| s.step == *step && s.side == side)
                    .map(|s| s.per_second)
            };
            if let (Some(h), Some(d)) = (rate(Side::Host), rate(Side::Direct)) {
                host.push(h);
                direct.push(d);
                if d > 0.0 {
                    per_round.push(h / d);
                }
            }
        }
        if per_round.is_empty() {
            continue;
        }
        let min = per_round.iter().copied().fold(f64::INFINITY, f64::min);
        let max = per_round.iter().copied().fold(0.0, f64::max);
        out.push(Ratio {
            step: *step,
            host_per_second: median(&mut host),
            direct_per_second: median(&mut direct),
            median: median(&mut per_round),
            min,
            max,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&mut [0.5, 0.9, 0.7]), 0.7);
    }

    #[test]
    fn a_disable_that_deletes_leaves_the_delete_phase_out() {
        let suite = Suite::embedded().unwrap();
        let deletes = &suite.profiles["openldap-inetorgperson"];
        assert_eq!(
            phases(deletes, &[]).unwrap(),
            [Phase::Match, Phase::Create, Phase::Patch, Phase::Disable]
        );
        let err = phases(deletes, &[Phase::Disable, Phase::Delete, Phase::Create]).unwrap_err();
        assert!(err.contains("nothing left to delete"), "{err}");
        let flag = &suite.profiles["openldap-disable-flag"];
        assert_eq!(phases(flag, &[]).unwrap(), Phase::ALL);
        assert!(phases(flag, &[Phase::Patch]).is_err());
        // A profile that gives no attribute an update value has nothing to PATCH.
        let mut fixed = flag.clone();
        for a in fixed.attributes.values_mut() {
            a.update = None;
        }
        assert_eq!(
            phases(&fixed, &[]).unwrap(),
            [Phase::Match, Phase::Create, Phase::Disable, Phase::Delete]
        );
        let err = phases(&fixed, &[Phase::Create, Phase::Patch]).unwrap_err();
        assert!(err.contains("nothing to PATCH"), "{err}");
        assert_eq!(
            steps_of(&[Phase::Match, Phase::Create, Phase::Delete]),
            [Step::MatchMiss, Step::Create, Step::MatchHit, Step::Delete]
        );
    }

    #[test]
    fn every_text_from_the_host_or_the_target_is_redacted() {
        let secret = "s3cr3t-token-value";
        let mut errors = BTreeMap::new();
        errors.insert(format!("401 Bearer {secret}"), 2);
        let mut report = LoadReport {
            host: "https://h".into(),
            profile: "p".into(),
            dialect: "d".into(),
            users: 1,
            concurrency: 1,
            rounds: vec![Round {
                number: 1,
                order: vec![Side::Host],
                steps: vec![StepFigures {
                    step: Step::Create,
                    side: Side::Host,
                    requests: 2,
                    seconds: 1.0,
                    per_second: 2.0,
                    p50_ms: 0.0,
                    p95_ms: 0.0,
                    p99_ms: 0.0,
                    max_ms: 0.0,
                    errors: errors.clone(),
                }],
            }],
            ratios: Vec::new(),
            verifications: vec![Verification {
                examples: vec![format!("cn=x: cannot be read: bind with {secret}")],
                ..Verification::default()
            }],
            seed: Some(SeedFigures {
                reimport: Some(Reimport {
                    errors,
                    ..Reimport::default()
                }),
                ..SeedFigures::default()
            }),
            problems: vec![format!("the hook said {secret}")],
            notes: vec![format!("note {secret}")],
        };
        let secrets = [ecma_vocab::Secret::new(secret)];
        let redact = |e: &dyn std::fmt::Display| crate::checks::redact(&e.to_string(), &secrets);
        redact_all(&mut report, &redact);
        let json = serde_json::to_string(&report).unwrap();
        assert!(!json.contains(secret), "{json}");
        assert!(!report.text().contains(secret));
        assert!(json.contains("401 Bearer"), "{json}");
    }

    #[test]
    fn ratios_are_host_over_direct_per_round() {
        let figures = |step, side, per_second| StepFigures {
            step,
            side,
            requests: 1,
            seconds: 1.0,
            per_second,
            p50_ms: 0.0,
            p95_ms: 0.0,
            p99_ms: 0.0,
            max_ms: 0.0,
            errors: BTreeMap::new(),
        };
        let rounds: Vec<Round> = [(800.0, 1000.0), (450.0, 500.0), (700.0, 1000.0)]
            .iter()
            .enumerate()
            .map(|(n, (h, d))| Round {
                number: n + 1,
                order: vec![Side::Host, Side::Direct],
                steps: vec![
                    figures(Step::Create, Side::Host, *h),
                    figures(Step::Create, Side::Direct, *d),
                ],
            })
            .collect();
        let r = &ratios(&rounds, &[Step::Create, Step::Patch])[..];
        assert_eq!(r.len(), 1, "{r:?}");
        assert!((r[0].median - 0.8).abs() < 1e-9, "{r:?}");
        assert!((r[0].min - 0.7).abs() < 1e-9 && (r[0].max - 0.9).abs() < 1e-9);
        assert_eq!(r[0].direct_per_second, 1000.0);
    }
}
