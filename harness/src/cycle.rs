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

use ecma_vocab::FlowAction;
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
    /// Reads by id of users provisioned before (`GET /Users/{id}`).
    pub reads: u64,
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
    /// Objects the probe read back as sent (creates, updates) or as the profile's
    /// deprovisioning flow leaves them (disables, deletes).
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
    match &state.profile {
        Some(p) if *p != profile.name => {
            return Err(invalid(
                "--state",
                format!(
                    "the job state is of profile {p}, not {}: start a new state for another job",
                    profile.name
                ),
            ));
        }
        _ => state.profile = Some(profile.name.clone()),
    }
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
    let mut tally = Tally::default();
    for (i, sel) in selected.iter().enumerate() {
        let (outcome, object, acknowledged) =
            process(session, mappings, state, sel, i, options, &mut tally).await;
        tally.log.count(&outcome);
        if let Outcome::Failed(problem) = &outcome {
            tally.failures.push(Failure {
                user: sel.id.clone(),
                problem: problem.clone(),
            });
        }
        state.record(&sel.id, sel.user, &outcome);
        if let Some(s) = state.users.get_mut(&sel.id) {
            if let Some(object) = object {
                s.object = Some(object);
            }
            // A write the host acknowledged before the user failed (a create whose object
            // then differed): Entra knows the id, so a later disable or delete reaches it.
            if let (Some(id), None) = (acknowledged, &s.target_id) {
                s.target_id = Some(id);
                s.standing = Standing::Active;
            }
        }
    }
    let all_refused = tally.events > 0 && tally.unauthorized == tally.events;
    state.assess(tally.events, tally.log.failed, all_refused);
    CycleSummary {
        number: state.cycles,
        kind,
        set: name.to_owned(),
        users: users.len(),
        processed: selected.len(),
        log: tally.log,
        requests: tally.requests,
        verified: tally.verified,
        failures: tally.failures,
        escrow: state.escrowed(),
        quarantine: state.quarantine.clone(),
        seconds: started.elapsed().as_secs_f64(),
    }
}

/// A cycle's running counts.
#[derive(Default)]
struct Tally {
    log: LogCounts,
    requests: Requests,
    failures: Vec<Failure>,
    verified: u64,
    /// Users the cycle tried to export (or failed before it could): the quarantine's events.
    events: u64,
    /// Users whose requests were refused as unauthorized.
    unauthorized: u64,
}

/// One selected user: what came of it, where its object is (an LDAP DN), and the id of an
/// object the host acknowledged making.
async fn process(
    session: &Session,
    mappings: &entra_provisioning::mapping::Mappings,
    state: &JobState,
    sel: &entra_provisioning::cycle::Selected<'_>,
    position: usize,
    options: &CycleOptions,
    tally: &mut Tally,
) -> (Outcome, Option<String>, Option<String>) {
    let known = state.users.get(&sel.id);
    let object = known.and_then(|s| s.object.clone());
    let standing = known.map(|s| s.standing);
    // Gone from the set or soft-deleted: deprovisioned whatever the mappings make of the user.
    let early = match sel.user {
        None => Some(state.decide(sel, false, options.out_of_scope)),
        Some(u) if u.soft_deleted() => Some(state.decide(sel, true, options.out_of_scope)),
        Some(_) => None,
    };
    let decision = match early {
        Some(d) => d,
        None => {
            let Some(u) = sel.user else {
                return (Outcome::Failed("no user".into()), None, None);
            };
            let user = match user_from_json(&u.json) {
                Ok(user) => user,
                Err(e) => {
                    tally.events += 1;
                    return (Outcome::Failed(e), None, None);
                }
            };
            let seed = options.seed.wrapping_add(position as u64);
            let (mut trace, mapped) = match prepare(mappings, &user, u.id.clone(), seed) {
                Ok(p) => p,
                Err(e) => {
                    tally.events += 1;
                    return (Outcome::Failed(e), None, None);
                }
            };
            match (
                state.decide(sel, mapped.is_some(), options.out_of_scope),
                mapped,
            ) {
                (Decision::Provision, Some(mapped)) => {
                    let how = Export {
                        dialect: options.dialect,
                        dry_run: false,
                        external_id: u.json.get("id").and_then(Json::as_str).map(str::to_owned),
                        enable: standing == Some(Standing::Disabled),
                        known_id: known
                            .filter(|s| matches!(s.standing, Standing::Active | Standing::Disabled))
                            .and_then(|s| s.target_id.clone()),
                    };
                    export_user(session, &mapped, &how, &mut trace).await;
                    tally.events += 1;
                    count_requests(&trace, &mut tally.requests);
                    tally.unauthorized += u64::from(refused(&trace));
                    let acknowledged = acknowledged_create(&trace);
                    let mut outcome = outcome_of(&trace);
                    let object = trace.target.as_ref().map(|t| t.dn.clone());
                    // Re-enabled: the disable flow's mark must be gone.
                    if how.enable
                        && let Outcome::Updated(id) | Outcome::NoChange(id) = &outcome
                        && let Err(e) =
                            check_flow(session, Flow::Enable, id, object.as_deref()).await
                    {
                        outcome = Outcome::Failed(e);
                    }
                    if matches!(outcome, Outcome::Created(_) | Outcome::Updated(_)) {
                        tally.verified += 1;
                    }
                    return (outcome, object, acknowledged);
                }
                (d, _) => d,
            }
        }
    };
    match decision {
        Decision::Provision => (
            Outcome::Failed("in scope but nothing mapped".into()),
            None,
            None,
        ),
        Decision::Disable(id) => {
            tally.events += 1;
            tally.requests.patches += 1;
            let x = session
                .service
                .send(
                    &entra::set_active(options.dialect, &id, false),
                    &Auth::Token,
                )
                .await;
            tally.unauthorized += u64::from(matches!(x.status, Some(401 | 403)));
            if !matches!(x.status, Some(200 | 204)) {
                return (answered(session, "disable", &x), None, None);
            }
            match check_flow(session, Flow::Disable, &id, object.as_deref()).await {
                Ok(()) => {
                    tally.verified += 1;
                    (Outcome::Disabled, None, None)
                }
                Err(e) => (Outcome::Failed(e), None, None),
            }
        }
        Decision::Delete(id) => {
            tally.events += 1;
            tally.requests.deletes += 1;
            let x = session
                .service
                .send(&entra::delete(&id), &Auth::Token)
                .await;
            tally.unauthorized += u64::from(matches!(x.status, Some(401 | 403)));
            let flow = match x.status {
                Some(200 | 204) => Flow::Delete,
                // Gone already (a disable flow that deletes): fine if the target agrees.
                Some(404) => Flow::Gone,
                _ => return (answered(session, "delete", &x), None, None),
            };
            match check_flow(session, flow, &id, object.as_deref()).await {
                Ok(()) => {
                    tally.verified += 1;
                    (Outcome::Deleted, None, None)
                }
                Err(e) => (Outcome::Failed(e), None, None),
            }
        }
        Decision::Skip(reason) => (Outcome::Skipped(reason.into()), None, None),
    }
}

/// The failure of a disable or delete the host did not answer with success, redacted, then
/// cut to 300 characters (in that order: a cut secret would escape redaction).
fn answered(session: &Session, what: &str, x: &reports::Exchange) -> Outcome {
    let text = crate::checks::redact(
        &format!(
            "the {what} answered {}: {}",
            x.status.map_or_else(|| "nothing".into(), |s| s.to_string()),
            x.response_body
                .as_deref()
                .or(x.error.as_deref())
                .unwrap_or_default()
        ),
        &session.secrets,
    );
    Outcome::Failed(text.chars().take(400).collect())
}

/// What the target must show afterwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    /// After a disable: the profile's disable flow.
    Disable,
    /// After a re-enable: the disable flow's mark undone.
    Enable,
    /// After a delete: the profile's delete flow.
    Delete,
    /// After a delete answered 404: nothing there.
    Gone,
}

/// Checks the target after a deprovisioning step against the profile's flow ("delete": the
/// object is gone; "none": it is there; set_attribute: it is there with the attribute set, or
/// cleared after a re-enable).
async fn check_flow(
    session: &Session,
    flow: Flow,
    id: &str,
    object: Option<&str>,
) -> Result<(), String> {
    let action = match flow {
        Flow::Disable | Flow::Enable => &session.deprovisioning.disable_flow,
        Flow::Delete => &session.deprovisioning.delete_flow,
        Flow::Gone => &FlowAction::Delete,
    };
    let entry = locate(session, id, object).await?;
    let what = match flow {
        Flow::Disable => "the disable",
        Flow::Enable => "the re-enable",
        Flow::Delete => "the delete",
        Flow::Gone => "a delete answered 404",
    };
    let at = object.unwrap_or(id);
    match (action, entry, flow) {
        (FlowAction::Delete, _, Flow::Enable) | (FlowAction::None, Some(_), _) => Ok(()),
        (FlowAction::Delete, None, _) => Ok(()),
        (FlowAction::Delete, Some(_), _) => Err(format!(
            "after {what} the target still holds {at} (the profile's flow deletes)"
        )),
        (_, None, _) => Err(format!(
            "after {what} the target no longer holds {at} (the profile's flow keeps it)"
        )),
        (FlowAction::SetAttribute { attribute, value }, Some(e), _) => {
            let want = if flow == Flow::Enable {
                !*value
            } else {
                *value
            };
            let stored = e.values(attribute);
            let (text, number) = if want { ("TRUE", "1") } else { ("FALSE", "0") };
            // Cleared on a re-enable may also mean the attribute is gone.
            let holds = (stored.len() == 1
                && (stored[0].eq_ignore_ascii_case(text) || stored[0] == number))
                || (flow == Flow::Enable && stored.is_empty());
            if holds {
                Ok(())
            } else {
                Err(format!(
                    "after {what} {at} has {attribute} = {stored:?}, the profile's flow sets {text}"
                ))
            }
        }
    }
}

/// The object a user's id designates, read by the probe: by its DN in an LDAP directory (the
/// one last read, or the id when it is a DN), by the anchor's value in a SQL table.
async fn locate(
    session: &Session,
    id: &str,
    object: Option<&str>,
) -> Result<Option<crate::probe::Entry>, String> {
    let read = match (&session.probe, object) {
        (Probe::Ldap(_), Some(dn)) => session.probe.entry(dn).await,
        (Probe::Ldap(_), None) if id.contains('=') => session.probe.entry(id).await,
        (Probe::Ldap(_), None) => {
            return Err(format!(
                "the object of {id} was never read, so the target cannot be checked"
            ));
        }
        (Probe::Sql(_), _) => session
            .probe
            .find(&[], Match::Is(id))
            .await
            .map(|e| e.into_iter().next()),
    };
    read.map_err(|e| {
        crate::checks::redact(
            &format!("the target could not be read: {e}"),
            &session.secrets,
        )
    })
}

fn count_requests(trace: &Trace, requests: &mut Requests) {
    for sent in &trace.matching {
        if sent.request.contains("?filter") {
            requests.matching_queries += 1;
        } else {
            requests.reads += 1;
        }
    }
    for sent in trace.export.iter().filter(|s| s.status.is_some()) {
        match sent.request.split(' ').next() {
            Some("POST") => requests.creates += 1,
            Some("PATCH") => requests.patches += 1,
            Some("DELETE") => requests.deletes += 1,
            _ => {}
        }
    }
}

/// Whether the host refused the user's requests as unauthorized.
fn refused(trace: &Trace) -> bool {
    trace
        .matching
        .iter()
        .chain(&trace.export)
        .any(|s| matches!(s.status, Some(401 | 403)))
}

/// The id of a create the host answered 201 with an id.
fn acknowledged_create(trace: &Trace) -> Option<String> {
    trace
        .export
        .iter()
        .filter(|s| s.request.starts_with("POST") && s.status == Some(201))
        .filter_map(|s| s.answer.as_deref())
        .filter_map(|a| serde_json::from_str::<Json>(a).ok())
        .find_map(|a| a.get("id").and_then(Json::as_str).map(str::to_owned))
        .filter(|id| !id.is_empty())
}

/// The log's outcome of a provisioned user's trace.
fn outcome_of(trace: &Trace) -> Outcome {
    if !trace.passed {
        return Outcome::Failed(format!("{}: {}", trace.outcome, trace.problems.join("; ")));
    }
    let found = trace.matching.iter().find_map(|m| m.found.clone());
    let id = acknowledged_create(trace).or(found).unwrap_or_default();
    match trace.outcome.as_str() {
        "created" => Outcome::Created(id),
        "updated" => Outcome::Updated(id),
        "no change" => Outcome::NoChange(id),
        other => Outcome::Skipped(other.to_owned()),
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
            "  requests: GET /Users?filter {} · GET /Users/{{id}} {} · POST /Users {} · PATCH /Users/{{id}} {} · DELETE /Users/{{id}} {}",
            r.matching_queries, r.reads, r.creates, r.patches, r.deletes
        );
        let _ = writeln!(
            out,
            "  target: {} objects read back by the probe as the requests and the profile's deprovisioning flows say",
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
