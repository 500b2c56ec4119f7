//! `ecmacert cycle`: Microsoft Entra's provisioning cycles over a set of users, through a host,
//! with an attribute-mapping file, and the counts Entra's provisioning log would show.
//!
//! The first cycle of a job is the initial cycle: every user of the set is evaluated (scoping,
//! mappings) and, in scope, matched in precedence order, then created or updated with only the
//! attributes that differ (never those applied only on create). Each later cycle is
//! incremental: only users new or changed since the last, users gone from the set (deleted in
//! Entra: `DELETE`), and users whose last export failed (escrow) are processed. A provisioned
//! user who leaves the scope or is soft-deleted is disabled (`PATCH active false`), or deleted
//! when the job says so. Every create and update is read back from the target by the probe and
//! compared with what was sent; every delete is checked gone. The job's state (what Entra keeps
//! between cycles: each user as last seen, its object, its escrow) can be kept in a file so
//! that a later invocation runs an incremental cycle against a real target.
//!
//! The rules are `entra_provisioning::cycle`'s; this module sends the requests and reads the
//! target. What it does not do: the 40-minute schedule (cycles run back to back), Entra's
//! parallelism (users are processed one after another, so the log's order is the set's), and
//! a disable is checked by its answer only (what the target holds afterwards is the host's
//! deprovisioning flow, which the suite checks per profile).

use std::path::{Path, PathBuf};

use entra_provisioning::cycle::{
    Decision, JobState, LogCounts, OutOfScope, Outcome, Quarantine, SourceUser, Standing,
    users_from_json,
};
use entra_provisioning::mapping::user_from_json;
use serde::Serialize;
use serde_json::Value as Json;

use crate::config::{Config, ConfigError};
use crate::probe::{Match, Probe};
use crate::provision::{Export, Session, Trace, export_user, prepare, read_mappings};
use crate::provisioning::{Auth, entra};
use crate::runner::RunError;
use crate::suite::Suite;
use scim_proto::Dialect;

/// One cycle's users: a file, or a set made by the caller (generated users).
#[derive(Clone, Debug)]
pub enum UserSet {
    /// A JSON array of Entra users (`entra_provisioning::cycle::users_from_json`).
    File(PathBuf),
    /// Users given directly, with a name for the output.
    Given {
        /// What the output calls the set.
        name: String,
        /// The users.
        users: Vec<Json>,
    },
}

/// What `ecmacert cycle` is asked to do.
#[derive(Clone, Debug)]
pub struct CycleOptions {
    /// The profile (default: the configuration's first).
    pub profile: Option<String>,
    /// The attribute-mapping file.
    pub mapping: PathBuf,
    /// One set per cycle, run in order: the first is the initial cycle unless `state` holds
    /// an earlier one.
    pub cycles: Vec<UserSet>,
    /// The job's state: read before the first cycle when the file exists, written after each.
    pub state: Option<PathBuf>,
    /// The PATCH dialect.
    pub dialect: Dialect,
    /// Seed of Guid and RandomString (each user's evaluation adds its position).
    pub seed: u64,
    /// What happens to a provisioned user who leaves the scope.
    pub out_of_scope: OutOfScope,
}

/// Requests by kind, as counted in a cycle.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Requests {
    /// Matching queries (`GET /Users?filter=…`).
    pub matching_queries: u64,
    /// Creates (`POST /Users`).
    pub creates: u64,
    /// Updates, disables included (`PATCH /Users/{id}`).
    pub patches: u64,
    /// Deletes (`DELETE /Users/{id}`).
    pub deletes: u64,
}

/// One user that failed, with why (redacted).
#[derive(Clone, Debug, Serialize)]
pub struct Failure {
    /// The user's id in the set.
    pub user: String,
    /// What went wrong.
    pub problem: String,
}

/// One cycle's summary.
#[derive(Clone, Debug, Serialize)]
pub struct CycleSummary {
    /// 1 for the job's first cycle.
    pub number: u32,
    /// `initial` or `incremental`.
    pub kind: &'static str,
    /// Where the users came from.
    pub set: String,
    /// Users in the set.
    pub users: usize,
    /// Users the cycle processed (gone ones included).
    pub processed: usize,
    /// The provisioning log's counts.
    pub log: LogCounts,
    /// The requests sent.
    pub requests: Requests,
    /// Objects the probe read back as sent (creates and updates) or found gone (deletes).
    pub verified: u64,
    /// Users that failed.
    pub failures: Vec<Failure>,
    /// Users in escrow after the cycle.
    pub escrow: u64,
    /// The job's quarantine after the cycle.
    pub quarantine: Option<Quarantine>,
    /// Wall-clock time, seconds.
    pub seconds: f64,
}

/// What `ecmacert cycle` found.
#[derive(Clone, Debug, Serialize)]
pub struct CycleReport {
    /// The profile.
    pub profile: String,
    /// Each cycle.
    pub cycles: Vec<CycleSummary>,
    /// No user failed and the job is not quarantined.
    pub passed: bool,
}

fn invalid(key: &str, reason: String) -> RunError {
    ConfigError::invalid(key, reason).into()
}

/// Runs `ecmacert cycle`. `Err` for what cannot be used (exit code 2): the mapping, a user
/// set or the state file unreadable, the host or target unreachable.
pub async fn cycle(
    suite: &Suite,
    config: &Config,
    base_dir: &Path,
    options: &CycleOptions,
) -> Result<CycleReport, RunError> {
    let mappings = read_mappings(&options.mapping)?;
    let mut sets = Vec::new();
    for set in &options.cycles {
        sets.push(read_set(set)?);
    }
    if sets.is_empty() {
        return Err(invalid(
            "--users",
            "no users: give --users FILE (once per cycle) or --generate N".into(),
        ));
    }
    let mut state = match &options.state {
        Some(path) if path.exists() => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| invalid("--state", format!("cannot read {}: {e}", path.display())))?;
            serde_json::from_str::<JobState>(&text).map_err(|e| {
                invalid(
                    "--state",
                    format!("{} is not a job state: {e}", path.display()),
                )
            })?
        }
        _ => JobState::default(),
    };
    let profile = crate::runner::one_profile(suite, config, options.profile.as_deref())?;
    let session = Session::open(suite, config, base_dir, &profile.name, "cycle").await?;
    let mut report = CycleReport {
        profile: profile.name.clone(),
        cycles: Vec::new(),
        passed: true,
    };
    let mut result = Ok(());
    for (name, users) in sets {
        let summary = one_cycle(&session, &mappings, &mut state, &name, &users, options).await;
        report.passed &= summary.log.failed == 0 && summary.quarantine.is_none();
        report.cycles.push(summary);
        if let Some(path) = &options.state {
            let text = serde_json::to_string_pretty(&state).unwrap_or_default();
            if let Err(e) = std::fs::write(path, text) {
                result = Err(RunError::Setup(format!(
                    "cannot write the job state to {}: {e}",
                    path.display()
                )));
                break;
            }
        }
    }
    session.close().await;
    result.map(|()| report)
}

fn read_set(set: &UserSet) -> Result<(String, Vec<SourceUser>), RunError> {
    match set {
        UserSet::File(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| invalid("--users", format!("cannot read {}: {e}", path.display())))?;
            let json: Json = serde_json::from_str(&text)
                .map_err(|e| invalid("--users", format!("{} is not JSON: {e}", path.display())))?;
            let users = users_from_json(&json)
                .map_err(|e| invalid("--users", format!("{}: {e}", path.display())))?;
            Ok((path.display().to_string(), users))
        }
        UserSet::Given { name, users } => {
            let users = users_from_json(&Json::Array(users.clone()))
                .map_err(|e| invalid("--users", format!("{name}: {e}")))?;
            Ok((name.clone(), users))
        }
    }
}

async fn one_cycle(
    session: &Session,
    mappings: &entra_provisioning::mapping::Mappings,
    state: &mut JobState,
    name: &str,
    users: &[SourceUser],
    options: &CycleOptions,
) -> CycleSummary {
    let started = std::time::Instant::now();
    let kind = if state.cycles == 0 {
        "initial"
    } else {
        "incremental"
    };
    let selected = state.select(users);
    let mut log = LogCounts::default();
    let mut requests = Requests::default();
    let mut failures = Vec::new();
    let mut verified = 0;
    let mut events = 0;
    let mut unauthorized = 0;
    for (i, sel) in selected.iter().enumerate() {
        let standing = state.users.get(&sel.id).map(|s| s.standing);
        let (outcome, object) = match sel.user {
            Some(u) => {
                let user = match user_from_json(&u.json) {
                    Ok(user) => user,
                    Err(e) => {
                        let outcome = Outcome::Failed(e);
                        record(state, &mut log, &mut failures, sel, &outcome, None);
                        continue;
                    }
                };
                match prepare(
                    mappings,
                    &user,
                    u.id.clone(),
                    options.seed.wrapping_add(i as u64),
                ) {
                    Err(e) => (Outcome::Failed(e), None),
                    Ok((mut trace, mapped)) => {
                        match state.decide(sel, mapped.is_some(), options.out_of_scope) {
                            Decision::Provision => {
                                let how = Export {
                                    dialect: options.dialect,
                                    dry_run: false,
                                    external_id: u
                                        .json
                                        .get("id")
                                        .and_then(Json::as_str)
                                        .map(str::to_owned),
                                    enable: standing == Some(Standing::Disabled),
                                };
                                let mapped = mapped.unwrap_or_default();
                                export_user(session, &mapped, &how, &mut trace).await;
                                events += 1;
                                count_requests(&trace, &mut requests);
                                unauthorized += u64::from(refused(&trace));
                                let outcome = outcome_of(&trace);
                                if matches!(outcome, Outcome::Created(_) | Outcome::Updated(_)) {
                                    verified += 1;
                                }
                                (outcome, trace.target.map(|t| t.dn))
                            }
                            Decision::Disable(id) => {
                                events += 1;
                                requests.patches += 1;
                                (disable(session, &id, options.dialect).await, None)
                            }
                            Decision::Delete(id) => {
                                events += 1;
                                requests.deletes += 1;
                                let object =
                                    state.users.get(&sel.id).and_then(|s| s.object.clone());
                                let outcome = delete(session, &id, object.as_deref()).await;
                                verified += u64::from(outcome == Outcome::Deleted);
                                (outcome, None)
                            }
                            Decision::Skip(reason) => (Outcome::Skipped(reason.into()), None),
                        }
                    }
                }
            }
            None => match state.decide(sel, false, options.out_of_scope) {
                Decision::Delete(id) => {
                    events += 1;
                    requests.deletes += 1;
                    let object = state.users.get(&sel.id).and_then(|s| s.object.clone());
                    let outcome = delete(session, &id, object.as_deref()).await;
                    verified += u64::from(outcome == Outcome::Deleted);
                    (outcome, None)
                }
                Decision::Skip(reason) => (Outcome::Skipped(reason.into()), None),
                other => (
                    Outcome::Failed(format!("no rule for a user gone from the set: {other:?}")),
                    None,
                ),
            },
        };
        record(state, &mut log, &mut failures, sel, &outcome, object);
    }
    let all_refused = events > 0 && unauthorized == events;
    state.assess(events, log.failed, all_refused);
    CycleSummary {
        number: state.cycles,
        kind,
        set: name.to_owned(),
        users: users.len(),
        processed: selected.len(),
        log,
        requests,
        verified,
        failures,
        escrow: state.escrowed(),
        quarantine: state.quarantine.clone(),
        seconds: started.elapsed().as_secs_f64(),
    }
}

fn record(
    state: &mut JobState,
    log: &mut LogCounts,
    failures: &mut Vec<Failure>,
    sel: &entra_provisioning::cycle::Selected<'_>,
    outcome: &Outcome,
    object: Option<String>,
) {
    log.count(outcome);
    if let Outcome::Failed(problem) = outcome {
        failures.push(Failure {
            user: sel.id.clone(),
            problem: problem.clone(),
        });
    }
    state.record(&sel.id, sel.user, outcome);
    if let (Some(object), Some(s)) = (object, state.users.get_mut(&sel.id)) {
        s.object = Some(object);
    }
}

fn count_requests(trace: &Trace, requests: &mut Requests) {
    requests.matching_queries += trace.matching.len() as u64;
    for sent in trace.export.iter().filter(|s| s.status.is_some()) {
        match sent.request.split(' ').next() {
            Some("POST") => requests.creates += 1,
            Some("PATCH") => requests.patches += 1,
            Some("DELETE") => requests.deletes += 1,
            _ => {}
        }
    }
}

/// Whether the host refused the user's first request as unauthorized.
fn refused(trace: &Trace) -> bool {
    trace
        .matching
        .first()
        .is_some_and(|s| matches!(s.status, Some(401 | 403)))
}

/// The log's outcome of a provisioned user's trace.
fn outcome_of(trace: &Trace) -> Outcome {
    if !trace.passed {
        return Outcome::Failed(format!("{}: {}", trace.outcome, trace.problems.join("; ")));
    }
    let found = trace.matching.iter().find_map(|m| m.found.clone());
    let answered = trace
        .export
        .iter()
        .filter_map(|s| s.answer.as_deref())
        .filter_map(|a| serde_json::from_str::<Json>(a).ok())
        .find_map(|a| a.get("id").and_then(Json::as_str).map(str::to_owned));
    let id = answered.or(found).unwrap_or_default();
    match trace.outcome.as_str() {
        "created" => Outcome::Created(id),
        "updated" => Outcome::Updated(id),
        "no change" => Outcome::NoChange(id),
        other => Outcome::Skipped(other.to_owned()),
    }
}

async fn disable(session: &Session, id: &str, dialect: Dialect) -> Outcome {
    let x = session
        .service
        .send(&entra::set_active(dialect, id, false), &Auth::Token)
        .await;
    match x.status {
        Some(200 | 204) => Outcome::Disabled,
        status => Outcome::Failed(crate::checks::redact(
            &format!(
                "the disable answered {}: {}",
                status.map_or_else(|| "nothing".into(), |s| s.to_string()),
                short(x.response_body.as_deref().or(x.error.as_deref()))
            ),
            &session.secrets,
        )),
    }
}

/// At most 300 characters of an answer, for a failure's message.
fn short(answer: Option<&str>) -> String {
    answer.unwrap_or_default().chars().take(300).collect()
}

/// `DELETE /Users/{id}`, then the probe must not find the object (`object`: its DN in an LDAP
/// directory; in a SQL table it is found by `id`, the anchor's value).
async fn delete(session: &Session, id: &str, object: Option<&str>) -> Outcome {
    let x = session.service.send(&entra::delete(id), &Auth::Token).await;
    if !matches!(x.status, Some(200 | 204)) {
        return Outcome::Failed(crate::checks::redact(
            &format!(
                "the delete answered {}: {}",
                x.status.map_or_else(|| "nothing".into(), |s| s.to_string()),
                short(x.response_body.as_deref().or(x.error.as_deref()))
            ),
            &session.secrets,
        ));
    }
    let still = match (&session.probe, object) {
        (Probe::Ldap(_), Some(dn)) => session.probe.entry(dn).await.map(|e| e.is_some()),
        (Probe::Ldap(_), None) if id.contains('=') => {
            session.probe.entry(id).await.map(|e| e.is_some())
        }
        (Probe::Ldap(_), None) => Ok(false),
        (Probe::Sql(_), _) => session
            .probe
            .find(&[], Match::Is(id))
            .await
            .map(|e| !e.is_empty()),
    };
    match still {
        Ok(false) => Outcome::Deleted,
        Ok(true) => Outcome::Failed(format!(
            "the delete was acknowledged but the target still holds {}",
            object.unwrap_or(id)
        )),
        Err(e) => Outcome::Failed(crate::checks::redact(
            &format!("the target could not be read after the delete: {e}"),
            &session.secrets,
        )),
    }
}

/// The report as the terminal shows it.
pub fn render(report: &CycleReport) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(out, "profile: {}", report.profile);
    for c in &report.cycles {
        let rate = if c.seconds > 0.0 {
            c.processed as f64 / c.seconds
        } else {
            0.0
        };
        let _ = writeln!(
            out,
            "cycle {} ({}, {}): {} users in the set, {} processed in {:.2} s ({rate:.0} users/s)",
            c.number, c.kind, c.set, c.users, c.processed, c.seconds
        );
        let l = &c.log;
        let _ = writeln!(
            out,
            "  log: created {} · updated {} · disabled {} · deleted {} · skipped {} · failed {}",
            l.created, l.updated, l.disabled, l.deleted, l.skipped, l.failed
        );
        if !l.skipped_by_reason.is_empty() {
            let reasons: Vec<String> = l
                .skipped_by_reason
                .iter()
                .map(|(r, n)| format!("{r}: {n}"))
                .collect();
            let _ = writeln!(out, "  skipped: {}", reasons.join(" · "));
        }
        let r = &c.requests;
        let _ = writeln!(
            out,
            "  requests: GET /Users?filter {} · POST /Users {} · PATCH /Users/{{id}} {} · DELETE /Users/{{id}} {}",
            r.matching_queries, r.creates, r.patches, r.deletes
        );
        let _ = writeln!(
            out,
            "  target: {} objects read back by the probe as sent (or gone after a delete)",
            c.verified
        );
        let _ = writeln!(
            out,
            "  escrow: {} · quarantine: {}",
            c.escrow,
            c.quarantine
                .as_ref()
                .map_or("none".into(), |q| format!("{} ({})", q.reason, q.details))
        );
        for f in c.failures.iter().take(10) {
            let _ = writeln!(out, "  failed: {} — {}", f.user, f.problem);
        }
        if c.failures.len() > 10 {
            let _ = writeln!(out, "  … and {} more failures", c.failures.len() - 10);
        }
    }
    let _ = writeln!(
        out,
        "{}",
        if report.passed {
            "passed: every user provisioned as sent"
        } else {
            "FAILED: see the failures above"
        }
    );
    out
}
