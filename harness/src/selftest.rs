//! `ecmacert selftest`: the suite run against deliberately defective hosts, to show that each
//! of its checks can fail.
//!
//! Every mutant is the reference host of the embedded default with one behaviour changed, by a
//! layer around its router (the host's own code is untouched, so the mutant is exactly "a
//! correct host but for this"). The suite runs once against the unchanged host (the baseline,
//! which must pass), then once per mutant; a mutant is **killed** when at least one scenario
//! *fails* or *warns* under it — a scenario merely blocked by its setup does not count, since
//! its own checks then proved nothing. A scenario **kills** the mutants under which it failed or
//! warned.
//!
//! The verdict (exit code): 0 when every mutant is killed and every scenario of the suite kills
//! at least one mutant or is listed in `features/selftest-exempt.toml` with the reason it cannot
//! be mutated here (for instance, it runs only on PostgreSQL or MariaDB, where the SQL tests of
//! `harness/tests/it/sql.rs` mutate it); 1 otherwise. An exemption for a scenario that does kill
//! a mutant, or for one the suite does not have, is an error too, so the list only shrinks.
//!
//! Written here rather than with a mutation-testing tool (cargo-mutants): those mutate our own
//! source and ask whether *our unit tests* notice; the question here is whether *the suite*
//! notices a host that breaks an ECMA promise, and the promises are behaviours, not lines.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{LazyLock, Mutex, PoisonError};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, Method, Request, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt as _;
use reports::Outcome;
use serde::Serialize;
use serde_json::{Value, json};
use tower::ServiceExt as _;
use url::form_urlencoded;

use crate::runner::{RunError, RunOptions};
use crate::suite::Suite;

/// One defective host: the reference host's router passed through `apply`.
pub struct Mutant {
    /// A short kebab-case name, unique.
    pub name: &'static str,
    /// The defect, as a host's behaviour.
    pub behaviour: &'static str,
    /// Builds the defective router from the correct one.
    pub apply: fn(Router) -> Router,
    /// The dialects the mutant runs in whatever the selftest was asked for: the one a
    /// dialect-dependent defect shows in, or both for a defect only the dialect differential
    /// (ECMA-UPDATE-014) sees.
    pub dialects: Option<&'static [scim_proto::Dialect]>,
    /// A defect of the host itself (its TLS), on top of `apply`.
    pub host: crate::embedded::HostDefect,
}

impl std::fmt::Debug for Mutant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mutant").field("name", &self.name).finish()
    }
}

pub use crate::suite::{Exemption, Exemptions};

/// What one mutant did to the suite.
#[derive(Debug, Clone, Serialize)]
pub struct MutantRow {
    /// The mutant's name.
    pub mutant: String,
    /// Its defect.
    pub behaviour: String,
    /// True when a scenario failed or warned under it.
    pub killed: bool,
    /// The scenarios that failed or warned (`feature: scenario`), each once.
    pub killed_by: Vec<String>,
    /// The profiles under which one of them failed or warned, sorted: a mutant of the host's
    /// SCIM layer is caught under every profile whose scenarios reach the defect, whatever the
    /// connector kind.
    pub killed_under: Vec<String>,
    /// Cases (scenario × profile × dialect) that failed, warned, or were blocked.
    pub failed_cases: usize,
    /// Seconds the run took.
    pub seconds: f64,
    /// The first failure's scenario and the first line of its message: what a reader checks
    /// to see that the mutant was killed for the right reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_failure: Option<String>,
}

/// What one scenario did across the mutants.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioRow {
    /// The feature file.
    pub feature: String,
    /// The scenario's name.
    pub scenario: String,
    /// True when it ran under at least one embedded profile (false: not applicable there).
    pub ran: bool,
    /// The mutants it killed.
    pub kills: Vec<String>,
    /// The reason it is exempt, if listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exempt: Option<String>,
}

/// The kill matrix and the verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Matrix {
    /// One row per mutant, in the order they ran.
    pub mutants: Vec<MutantRow>,
    /// One row per scenario of the suite.
    pub scenarios: Vec<ScenarioRow>,
    /// Problems with the exemption list (an entry for a scenario that kills, or that the
    /// suite does not have).
    pub exemption_errors: Vec<String>,
}

impl Matrix {
    /// Mutants no scenario killed.
    pub fn survivors(&self) -> Vec<&MutantRow> {
        self.mutants.iter().filter(|m| !m.killed).collect()
    }

    /// Scenarios that kill nothing and are not exempt.
    pub fn idle(&self) -> Vec<&ScenarioRow> {
        self.scenarios
            .iter()
            .filter(|s| s.kills.is_empty() && s.exempt.is_none())
            .collect()
    }

    /// 0 when every mutant is killed, every scenario kills or is exempt, and the list is
    /// clean; 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        u8::from(
            !self.survivors().is_empty()
                || !self.idle().is_empty()
                || !self.exemption_errors.is_empty(),
        )
    }

    /// The matrix for a terminal: a line per mutant with the scenarios that killed it, then the
    /// scenarios that kill nothing, then the summary.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for m in &self.mutants {
            let verdict = if m.killed { "killed  " } else { "SURVIVED" };
            out.push_str(&format!(
                "{verdict} {:<34} {:>3} scenario(s), {:.1} s — {}\n",
                m.mutant,
                m.killed_by.len(),
                m.seconds,
                m.behaviour
            ));
            if let Some(first) = &m.first_failure {
                out.push_str(&format!("           first: {first}\n"));
            }
        }
        let idle = self.idle();
        if !idle.is_empty() {
            out.push_str("\nScenarios that kill no mutant and are not exempt:\n");
            for s in &idle {
                let why = if s.ran {
                    ""
                } else {
                    " (not applicable on the embedded profiles)"
                };
                out.push_str(&format!("  {}: {}{why}\n", s.feature, s.scenario));
            }
        }
        for e in &self.exemption_errors {
            out.push_str(&format!("selftest-exempt.toml: {e}\n"));
        }
        let killed = self.mutants.iter().filter(|m| m.killed).count();
        let mut per_profile: BTreeMap<&str, usize> = Default::default();
        for m in &self.mutants {
            for p in &m.killed_under {
                *per_profile.entry(p.as_str()).or_default() += 1;
            }
        }
        if !per_profile.is_empty() {
            out.push_str("\nmutants killed under each profile:");
            for (p, n) in &per_profile {
                out.push_str(&format!(" {p} {n}/{};", self.mutants.len()));
            }
            out.push('\n');
        }
        let killing = self
            .scenarios
            .iter()
            .filter(|s| !s.kills.is_empty())
            .count();
        let exempt = self.scenarios.iter().filter(|s| s.exempt.is_some()).count();
        out.push_str(&format!(
            "\nmutants killed: {killed}/{}; scenarios that kill: {killing}/{}, exempt with a reason: {exempt}, idle: {}\n",
            self.mutants.len(),
            self.scenarios.len(),
            idle.len()
        ));
        out
    }
}

/// Runs the baseline and every mutant (or those named in `only`), `jobs` mutants at once, on
/// the embedded default and builds the matrix; with `reports_dir`, each mutant's whole report
/// is written there as `<mutant>.json` (the evidence behind its row). `progress` is called after each run with the row. Errors: the baseline
/// does not pass (the mutants would prove nothing), a name in `only` is unknown, or a run
/// could not start.
pub async fn run(
    suite: &Suite,
    options: &RunOptions,
    only: &[String],
    jobs: usize,
    reports_dir: Option<&std::path::Path>,
    exemptions: &Exemptions,
    mut progress: impl FnMut(&MutantRow),
) -> Result<Matrix, RunError> {
    let all = mutants();
    if let Some(unknown) = only.iter().find(|n| !all.iter().any(|m| m.name == *n)) {
        return Err(crate::config::ConfigError::invalid(
            "--mutant",
            format!(
                "no mutant is named {unknown:?}; they are: {}",
                all.iter().map(|m| m.name).collect::<Vec<_>>().join(", ")
            ),
        )
        .into());
    }
    let chosen: Vec<&Mutant> = all
        .iter()
        .filter(|m| only.is_empty() || only.iter().any(|n| n == m.name))
        .collect();
    // One budget of scenarios in flight for the baseline and every mutant running at once:
    // `jobs` embedded runs, each with a budget of its own, would queue for the CPU, and a
    // mutant "killed" by a 503 of an overloaded host would prove nothing.
    let shared = RunOptions {
        shared_slots: Some(crate::embedded::per_core(options.concurrency, usize::MAX)),
        ..options.clone()
    };
    let options = &shared;
    let baseline = crate::embedded::run_embedded(suite, options).await?;
    if !baseline.passed() || baseline.counts().warned > 0 {
        return Err(RunError::Setup(format!(
            "the unchanged reference host does not pass cleanly, so no mutant would prove anything:\n{}",
            reports::terminal::render(&baseline)
        )));
    }
    // Every scenario of the suite, as the baseline reports it (not applicable ones included).
    let mut scenarios: BTreeMap<(String, String), (bool, BTreeSet<String>)> = BTreeMap::new();
    for case in baseline.runs.iter().flat_map(|r| &r.cases) {
        let entry = scenarios
            .entry((case.feature.clone(), case.scenario.clone()))
            .or_default();
        entry.0 |= case.outcome.ran();
    }
    // Mutants run `jobs` at a time: each has its own mocks, host and port, and the state a
    // mutant keeps is keyed by the host it serves, so runs never see each other's.
    let runs = futures_util::stream::iter(chosen.into_iter().enumerate().map(
        |(i, mutant)| async move {
            let started = std::time::Instant::now();
            let options = match mutant.dialects {
                Some(d) => RunOptions {
                    dialects: d.to_vec(),
                    ..options.clone()
                },
                None => options.clone(),
            };
            let report =
                crate::embedded::run_embedded_defective(suite, &options, mutant.apply, mutant.host)
                    .await?;
            let mut killed_by = BTreeSet::new();
            let mut killed_under = BTreeSet::new();
            let mut keys = Vec::new();
            let mut failed_cases = 0;
            let mut first_failure = None;
            for (profile, case) in report
                .runs
                .iter()
                .flat_map(|r| r.cases.iter().map(move |c| (&r.profile, c)))
            {
                if matches!(
                    case.outcome,
                    Outcome::Failed | Outcome::Warned | Outcome::Blocked
                ) {
                    failed_cases += 1;
                }
                if matches!(case.outcome, Outcome::Failed | Outcome::Warned) {
                    if first_failure.is_none() {
                        let line = case
                            .detail
                            .as_ref()
                            .and_then(|d| d.message.lines().next())
                            .unwrap_or("");
                        first_failure = Some(format!("{}: {line}", case.scenario));
                    }
                    killed_by.insert(format!("{}: {}", case.feature, case.scenario));
                    killed_under.insert(profile.clone());
                    keys.push((case.feature.clone(), case.scenario.clone()));
                }
            }
            let row = MutantRow {
                mutant: mutant.name.to_owned(),
                behaviour: mutant.behaviour.to_owned(),
                killed: !killed_by.is_empty(),
                killed_by: killed_by.into_iter().collect(),
                killed_under: killed_under.into_iter().collect(),
                failed_cases,
                seconds: started.elapsed().as_secs_f64(),
                first_failure,
            };
            if let Some(dir) = reports_dir {
                let path = dir.join(format!("{}.json", mutant.name));
                let text = serde_json::to_string_pretty(&report)
                    .map_err(|e| RunError::Setup(e.to_string()))?;
                std::fs::write(&path, text).map_err(|e| {
                    RunError::Setup(format!("cannot write {}: {e}", path.display()))
                })?;
            }
            Ok::<_, RunError>((i, row, keys))
        },
    ))
    .buffer_unordered(jobs.max(1));
    futures_util::pin_mut!(runs);
    let mut rows = Vec::new();
    while let Some(done) = runs.next().await {
        let (i, row, keys) = done?;
        for key in keys {
            if let Some(entry) = scenarios.get_mut(&key) {
                entry.1.insert(row.mutant.clone());
            }
        }
        progress(&row);
        rows.push((i, row));
    }
    rows.sort_by_key(|(i, _)| *i);
    let rows: Vec<MutantRow> = rows.into_iter().map(|(_, r)| r).collect();
    let mut exemption_errors = Vec::new();
    let mut scenario_rows = Vec::new();
    for ((feature, scenario), (ran, kills)) in scenarios {
        let exempt = exemptions
            .exempt
            .iter()
            .find(|e| e.feature == feature && e.scenario == scenario);
        if exempt.is_some() && !kills.is_empty() && only.is_empty() {
            exemption_errors.push(format!(
                "{feature}: {scenario:?} is exempt, but kills {}: remove the entry",
                kills.iter().cloned().collect::<Vec<_>>().join(", ")
            ));
        }
        scenario_rows.push(ScenarioRow {
            feature,
            scenario,
            ran,
            kills: kills.into_iter().collect(),
            exempt: exempt.map(|e| e.reason.clone()),
        });
    }
    for e in &exemptions.exempt {
        if !scenario_rows
            .iter()
            .any(|s| s.feature == e.feature && s.scenario == e.scenario)
        {
            exemption_errors.push(format!(
                "{}: {:?} is exempt, but the suite has no such scenario",
                e.feature, e.scenario
            ));
        }
    }
    if !only.is_empty() {
        // A partial run judges only the mutants it ran.
        for s in &mut scenario_rows {
            if s.kills.is_empty() && s.exempt.is_none() {
                s.exempt = Some("not judged: only some mutants ran (--mutant)".into());
            }
        }
    }
    Ok(Matrix {
        mutants: rows,
        scenarios: scenario_rows,
        exemption_errors,
    })
}

// ---------------------------------------------------------------------------------------------
// Helpers the mutants share.

const EXTENSION: &str = scim_proto::urn::ECMA2HOST_USER;

fn path(request: &Request<Body>) -> String {
    request.uri().path().to_owned()
}

fn is_create(request: &Request<Body>) -> bool {
    request.method() == Method::POST && path(request).trim_end_matches('/').ends_with("/Users")
}

fn is_query(request: &Request<Body>) -> bool {
    request.method() == Method::GET && path(request).trim_end_matches('/').ends_with("/Users")
}

fn is_user(request: &Request<Body>) -> bool {
    path(request).contains("/Users/")
}

async fn bytes(body: Body) -> Bytes {
    axum::body::to_bytes(body, 64 * 1024 * 1024)
        .await
        .unwrap_or_default()
}

/// The request with its JSON body edited by `edit` (left as it was when it is not JSON).
async fn edit_request(request: Request<Body>, edit: impl FnOnce(&mut Value)) -> Request<Body> {
    let (mut parts, body) = request.into_parts();
    let raw = bytes(body).await;
    let raw = match serde_json::from_slice::<Value>(&raw) {
        Ok(mut value) => {
            edit(&mut value);
            Bytes::from(value.to_string())
        }
        Err(_) => raw,
    };
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(raw.len()));
    Request::from_parts(parts, Body::from(raw))
}

/// The request's JSON body, and the request rebuilt to be sent on.
async fn read_request(request: Request<Body>) -> (Request<Body>, Option<Value>) {
    let (parts, body) = request.into_parts();
    let raw = bytes(body).await;
    let value = serde_json::from_slice(&raw).ok();
    (Request::from_parts(parts, Body::from(raw)), value)
}

/// A copy of `like` (method, URI, headers, extensions) with `body` as its JSON body.
fn request_like(
    like: &axum::http::request::Parts,
    method: Method,
    body: Option<&Value>,
) -> Request<Body> {
    let raw = body.map(|b| b.to_string()).unwrap_or_default();
    let length = raw.len();
    let mut request = Request::new(Body::from(raw));
    *request.method_mut() = method;
    *request.uri_mut() = like.uri.clone();
    *request.headers_mut() = like.headers.clone();
    request
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    *request.extensions_mut() = like.extensions.clone();
    request
}

/// The response with its JSON body edited by `edit` (left as it was when it is not JSON).
async fn edit_response(response: Response, edit: impl FnOnce(&mut Value)) -> Response {
    let (mut parts, body) = response.into_parts();
    let raw = bytes(body).await;
    let raw = match serde_json::from_slice::<Value>(&raw) {
        Ok(mut value) => {
            edit(&mut value);
            Bytes::from(value.to_string())
        }
        Err(_) => raw,
    };
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(raw.len()));
    Response::from_parts(parts, Body::from(raw))
}

/// 200 with an empty ListResponse: "nobody matches".
fn empty_list() -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/scim+json")],
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": 0,
            "itemsPerPage": 0,
            "startIndex": 1,
            "Resources": [],
        })
        .to_string(),
    )
        .into_response()
}

fn scim_error(status: StatusCode, scim_type: Option<&str>, detail: &str) -> Response {
    let mut body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": status.as_u16().to_string(),
        "detail": detail,
    });
    if let Some(t) = scim_type {
        body["scimType"] = json!(t);
    }
    (
        status,
        [(header::CONTENT_TYPE, "application/scim+json")],
        body.to_string(),
    )
        .into_response()
}

fn made_up_user(id: &str) -> Response {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": id,
        "meta": {"resourceType": "User"},
    });
    (
        StatusCode::CREATED,
        [(header::CONTENT_TYPE, "application/scim+json")],
        body.to_string(),
    )
        .into_response()
}

/// Every member of every object in `value` (recursively), as (key, value) to edit.
fn each_member(value: &mut Value, f: &mut impl FnMut(&str, &mut Value)) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                f(k, v);
                each_member(v, f);
            }
        }
        Value::Array(items) => {
            for v in items {
                each_member(v, f);
            }
        }
        _ => {}
    }
}

/// The last segment of an attribute name or path (`urn:…:User:sn` → `sn`).
fn leaf(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

/// Removes, in every object of `value`, the members `drop` selects.
fn drop_members(value: &mut Value, drop: &impl Fn(&str, &Value) -> bool) {
    match value {
        Value::Object(map) => {
            map.retain(|k, v| !drop(k, v));
            for v in map.values_mut() {
                drop_members(v, drop);
            }
        }
        Value::Array(items) => {
            for v in items {
                drop_members(v, drop);
            }
        }
        _ => {}
    }
}

/// The PATCH operations of a body, whatever the case of the member name.
fn operations(body: &mut Value) -> Option<&mut Vec<Value>> {
    let map = body.as_object_mut()?;
    let key = map
        .keys()
        .find(|k| k.eq_ignore_ascii_case("Operations"))?
        .clone();
    map.get_mut(&key)?.as_array_mut()
}

/// True for an operation (either dialect) that sets `active` to `want`.
fn sets_active(op: &Value, want: bool) -> bool {
    let truthy = |v: &Value| match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => s
            .parse::<bool>()
            .ok()
            .or(match s.to_ascii_lowercase().as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            }),
        _ => None,
    };
    let path = op.get("path").and_then(Value::as_str).unwrap_or("");
    if path.eq_ignore_ascii_case("active") {
        return op.get("value").and_then(truthy) == Some(want);
    }
    op.get("value")
        .and_then(Value::as_object)
        .and_then(|m| m.iter().find(|(k, _)| k.eq_ignore_ascii_case("active")))
        .and_then(|(_, v)| truthy(v))
        == Some(want)
}

/// Removes `active` (set to `want`) from a PATCH body's operations; true when one was removed.
fn remove_active(body: &mut Value, want: bool) -> bool {
    let Some(ops) = operations(body) else {
        return false;
    };
    let before = ops.len();
    let mut touched = false;
    for op in ops.iter_mut() {
        if sets_active(op, want)
            && let Some(map) = op.get_mut("value").and_then(Value::as_object_mut)
        {
            map.retain(|k, _| !k.eq_ignore_ascii_case("active"));
            touched = true;
        }
    }
    ops.retain(|op| {
        let path = op.get("path").and_then(Value::as_str).unwrap_or("");
        let unsets = path.eq_ignore_ascii_case("active") && sets_active(op, want);
        let emptied = op
            .get("value")
            .and_then(Value::as_object)
            .is_some_and(|m| m.is_empty() && path.is_empty());
        !(unsets || emptied)
    });
    touched || ops.len() != before
}

/// The query's `filter` parameter, decoded.
fn filter_of(request: &Request<Body>) -> Option<String> {
    let query = request.uri().query()?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k.eq_ignore_ascii_case("filter"))
        .map(|(_, v)| v.into_owned())
}

/// The request with its query rebuilt by `edit` on the decoded pairs.
fn edit_query(
    mut request: Request<Body>,
    edit: impl FnOnce(&mut Vec<(String, String)>),
) -> Request<Body> {
    let uri = request.uri().clone();
    let mut pairs: Vec<(String, String)> = uri
        .query()
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    edit(&mut pairs);
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter())
        .finish();
    let rebuilt = if query.is_empty() {
        uri.path().to_owned()
    } else {
        format!("{}?{query}", uri.path())
    };
    if let Ok(new) = rebuilt.parse() {
        set_uri(&mut request, new);
    }
    request
}

/// Points the request at `uri`, the `OriginalUri` the host may read included.
fn set_uri(request: &mut Request<Body>, uri: axum::http::Uri) {
    request
        .extensions_mut()
        .insert(axum::extract::OriginalUri(uri.clone()));
    *request.uri_mut() = uri;
}

/// The host and port a request was sent to: the key of the state a mutant keeps, so that
/// mutants running at once never share it.
fn host_of(request: &Request<Body>) -> String {
    request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| request.uri().authority().map(|a| a.to_string()))
        .unwrap_or_default()
}

/// The host, port and connector (`/ecma2host_X`) a request was sent to: each connector has a
/// token of its own.
fn connector_of(request: &Request<Body>) -> String {
    let connector = request
        .uri()
        .path()
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    format!("{}/{connector}", host_of(request))
}

fn bearer(request: &Request<Body>) -> Option<String> {
    request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The last `Authorization` header the host accepted (for the mutants that skip auth).
static ACCEPTED: Mutex<BTreeMap<String, String>> = Mutex::new(BTreeMap::new());

/// Answers the stale-reads mutant keeps, by URI (cleared before each mutant runs).
static STALE: LazyLock<Mutex<BTreeMap<String, (StatusCode, Bytes)>>> =
    LazyLock::new(|| Mutex::new(BTreeMap::new()));

async fn remember_accepted(request: Request<Body>, next: Next) -> Response {
    let auth = bearer(&request);
    let host = connector_of(&request);
    let response = next.run(request).await;
    if response.status() != StatusCode::UNAUTHORIZED
        && let Some(auth) = auth
    {
        ACCEPTED
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(host, auth);
    }
    response
}

fn skip_auth(mut request: Request<Body>, methods: &[Method]) -> Request<Body> {
    if methods.contains(request.method())
        && let Some(good) = ACCEPTED
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&connector_of(&request))
            .cloned()
        && bearer(&request).as_deref() != Some(good.as_str())
        && let Ok(v) = HeaderValue::from_str(&good)
    {
        request.headers_mut().insert(header::AUTHORIZATION, v);
    }
    request
}

// ---------------------------------------------------------------------------------------------
// The mutants' middleware.

async fn create_without_writing(request: Request<Body>, next: Next) -> Response {
    if !is_create(&request) {
        return next.run(request).await;
    }
    made_up_user(&format!("ghost-{}", uuid::Uuid::new_v4().simple()))
}

async fn patch_ignored(request: Request<Body>, next: Next) -> Response {
    if request.method() == Method::PATCH {
        return StatusCode::NO_CONTENT.into_response();
    }
    next.run(request).await
}

async fn delete_ignored(request: Request<Body>, next: Next) -> Response {
    if request.method() == Method::DELETE {
        return StatusCode::NO_CONTENT.into_response();
    }
    next.run(request).await
}

async fn id_not_the_anchor(request: Request<Body>, next: Next) -> Response {
    let create = is_create(&request);
    let response = next.run(request).await;
    if !create || response.status() != StatusCode::CREATED {
        return response;
    }
    edit_response(response, |v| {
        if let Some(id) = v.get("id").and_then(Value::as_str) {
            v["id"] = json!(format!("{id}-0"));
        }
    })
    .await
}

async fn active_ignored(request: Request<Body>, next: Next) -> Response {
    if request.method() != Method::PATCH {
        return next.run(request).await;
    }
    let request = edit_request(request, |v| {
        remove_active(v, false);
        remove_active(v, true);
    })
    .await;
    next.run(request).await
}

async fn enable_ignored(request: Request<Body>, next: Next) -> Response {
    if request.method() != Method::PATCH {
        return next.run(request).await;
    }
    let request = edit_request(request, |v| {
        remove_active(v, true);
    })
    .await;
    next.run(request).await
}

async fn false_string_as_true(request: Request<Body>, next: Next) -> Response {
    if request.method() != Method::PATCH && !is_create(&request) {
        return next.run(request).await;
    }
    let request = edit_request(request, |v| {
        each_member(v, &mut |_, value| {
            if value
                .as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case("false"))
            {
                *value = json!("True");
            }
        });
    })
    .await;
    next.run(request).await
}

async fn boolean_active_ignored(request: Request<Body>, next: Next) -> Response {
    if request.method() != Method::PATCH {
        return next.run(request).await;
    }
    let request = edit_request(request, |v| {
        if let Some(ops) = operations(v) {
            ops.retain(|op| {
                !(op.get("path")
                    .and_then(Value::as_str)
                    .is_some_and(|p| p.eq_ignore_ascii_case("active"))
                    && op.get("value").is_some_and(Value::is_boolean))
            });
            for op in ops.iter_mut() {
                if let Some(map) = op.get_mut("value").and_then(Value::as_object_mut) {
                    map.retain(|k, v| !(k.eq_ignore_ascii_case("active") && v.is_boolean()));
                }
            }
        }
    })
    .await;
    next.run(request).await
}

/// A path-less lower-case `replace` (the aadOptscim062020 form) on an LDAP connector (every
/// connector but those named SQL…) also writes the superclass `person` into objectClass: every
/// check a scenario makes of what it sent still holds; only the dialect differential sees the
/// entry differ.
async fn pathless_replace_adds_superclass(request: Request<Body>, next: Next) -> Response {
    let sql = request
        .uri()
        .path()
        .to_ascii_lowercase()
        .contains("ecma2host_sql");
    if request.method() != Method::PATCH || sql {
        return next.run(request).await;
    }
    let request = edit_request(request, |v| {
        let Some(ops) = operations(v) else { return };
        let pathless = ops.iter().any(|op| {
            op.get("op").and_then(Value::as_str) == Some("replace")
                && op.get("path").is_none()
                && op.get("value").is_some_and(Value::is_object)
        });
        if pathless {
            ops.push(json!({
                "op": "add",
                "path": format!("{}:objectClass", scim_proto::urn::ECMA2HOST_USER),
                "value": ["person"],
            }));
        }
    })
    .await;
    next.run(request).await
}

async fn inactive_create_ignored(request: Request<Body>, next: Next) -> Response {
    if !is_create(&request) {
        return next.run(request).await;
    }
    let request = edit_request(request, |v| {
        drop_members(v, &|k, _| k.eq_ignore_ascii_case("active"));
    })
    .await;
    next.run(request).await
}

async fn empty_filter_is_404(request: Request<Body>, next: Next) -> Response {
    let query = is_query(&request);
    let response = next.run(request).await;
    if !query || response.status() != StatusCode::OK {
        return response;
    }
    let (parts, body) = response.into_parts();
    let raw = bytes(body).await;
    let empty = serde_json::from_slice::<Value>(&raw)
        .ok()
        .and_then(|v| v.get("totalResults").and_then(Value::as_u64))
        == Some(0);
    if empty {
        return scim_error(StatusCode::NOT_FOUND, None, "no such user");
    }
    Response::from_parts(parts, Body::from(raw))
}

async fn dn_rewritten(request: Request<Body>, next: Next) -> Response {
    if !is_create(&request) {
        return next.run(request).await;
    }
    let request = edit_request(request, |v| {
        each_member(v, &mut |k, value| {
            if leaf(k).eq_ignore_ascii_case("-dn-")
                && let Some(dn) = value.as_str()
                && let Some((rdn, rest)) = dn.split_once(',')
            {
                *value = json!(format!("{rdn}0,{rest}"));
            }
        });
    })
    .await;
    next.run(request).await
}

async fn attribute_dropped(request: Request<Body>, next: Next) -> Response {
    if !is_create(&request) {
        return next.run(request).await;
    }
    let request = edit_request(request, |v| {
        drop_members(v, &|k, _| leaf(k).eq_ignore_ascii_case("displayName"));
    })
    .await;
    next.run(request).await
}

async fn values_truncated(request: Request<Body>, next: Next) -> Response {
    if !is_create(&request) && request.method() != Method::PATCH {
        return next.run(request).await;
    }
    let request = edit_request(request, |v| {
        each_member(v, &mut |k, value| {
            let keep = leaf(k).eq_ignore_ascii_case("-dn-")
                || k.eq_ignore_ascii_case("schemas")
                || k.eq_ignore_ascii_case("path")
                || k.eq_ignore_ascii_case("op");
            if !keep
                && let Some(s) = value.as_str()
                && s.chars().count() > 12
            {
                *value = json!(s.chars().take(12).collect::<String>());
            }
        });
    })
    .await;
    next.run(request).await
}

/// Takes a body of any size, and stores values over 1 KiB clipped to 1 KiB.
async fn oversized_clipped(request: Request<Body>, next: Next) -> Response {
    if !is_create(&request) {
        return next.run(request).await;
    }
    let request = edit_request(request, |v| {
        each_member(v, &mut |_, value| {
            if let Some(s) = value.as_str()
                && s.len() > 1024
            {
                *value = json!(s.chars().take(1024).collect::<String>());
            }
        });
    })
    .await;
    next.run(request).await
}

async fn non_ascii_replaced(request: Request<Body>, next: Next) -> Response {
    if !is_create(&request) && request.method() != Method::PATCH {
        return next.run(request).await;
    }
    let request = edit_request(request, |v| {
        each_member(v, &mut |k, value| {
            if !leaf(k).eq_ignore_ascii_case("-dn-")
                && let Some(s) = value.as_str()
                && !s.is_ascii()
            {
                *value = json!(
                    s.chars()
                        .map(|c| if c.is_ascii() { c } else { '?' })
                        .collect::<String>()
                );
            }
        });
    })
    .await;
    next.run(request).await
}

async fn partial_write_before_error(
    State(inner): State<Router>,
    request: Request<Body>,
    next: Next,
) -> Response {
    if request.method() != Method::PATCH {
        return next.run(request).await;
    }
    let (request, body) = read_request(request).await;
    let Some(mut body) = body else {
        return next.run(request).await;
    };
    let count = operations(&mut body).map_or(0, |ops| ops.len());
    if count < 2 {
        return next.run(request).await;
    }
    let (parts, rest) = request.into_parts();
    let mut first = body.clone();
    if let Some(ops) = operations(&mut first) {
        ops.truncate(1);
    }
    let _ = inner
        .clone()
        .oneshot(request_like(&parts, Method::PATCH, Some(&first)))
        .await;
    next.run(Request::from_parts(parts, rest)).await
}

/// Keeps the user of a create that failed after its add (the initial password refused): the
/// same create, without its password members, is sent again behind the error answer.
async fn half_made_create_kept(
    State(inner): State<Router>,
    request: Request<Body>,
    next: Next,
) -> Response {
    if !is_create(&request) {
        return next.run(request).await;
    }
    let (request, body) = read_request(request).await;
    let Some(mut without) = body else {
        return next.run(request).await;
    };
    if !strip_passwords(&mut without) {
        return next.run(request).await;
    }
    let (parts, rest) = request.into_parts();
    let again = request_like(&parts, Method::POST, Some(&without));
    let response = next.run(Request::from_parts(parts, rest)).await;
    if !response.status().is_success() {
        let _ = inner.oneshot(again).await;
    }
    response
}

/// Removes every member whose name holds "password" (any case, any depth); true when one was.
fn strip_passwords(value: &mut Value) -> bool {
    let Value::Object(members) = value else {
        return false;
    };
    let before = members.len();
    members.retain(|k, _| !k.to_ascii_lowercase().contains("password"));
    let mut removed = members.len() != before;
    for v in members.values_mut() {
        removed |= strip_passwords(v);
    }
    removed
}

async fn noop_patch_rewrites(
    State(inner): State<Router>,
    request: Request<Body>,
    next: Next,
) -> Response {
    if request.method() != Method::PATCH {
        return next.run(request).await;
    }
    let (request, body) = read_request(request).await;
    let Some(body) = body else {
        return next.run(request).await;
    };
    let mut changed = body.clone();
    if let Some(ops) = operations(&mut changed) {
        for op in ops.iter_mut() {
            each_member(op, &mut |k, value| {
                if !k.eq_ignore_ascii_case("op")
                    && !k.eq_ignore_ascii_case("path")
                    && !leaf(k).eq_ignore_ascii_case("active")
                    && let Some(s) = value.as_str()
                    && !s.is_empty()
                {
                    *value = json!(format!("{s}~"));
                }
            });
        }
    }
    let (parts, rest) = request.into_parts();
    let _ = inner
        .clone()
        .oneshot(request_like(&parts, Method::PATCH, Some(&changed)))
        .await;
    next.run(Request::from_parts(parts, rest)).await
}

async fn disable_deletes(
    State(inner): State<Router>,
    request: Request<Body>,
    next: Next,
) -> Response {
    if request.method() != Method::PATCH {
        return next.run(request).await;
    }
    let (request, body) = read_request(request).await;
    let disables = body
        .clone()
        .as_mut()
        .and_then(operations)
        .is_some_and(|ops| ops.iter().any(|op| sets_active(op, false)));
    if !disables {
        return next.run(request).await;
    }
    let (parts, _) = request.into_parts();
    inner
        .oneshot(request_like(&parts, Method::DELETE, None))
        .await
        .unwrap_or_else(|never| match never {})
}

async fn delete_writes(
    State(inner): State<Router>,
    request: Request<Body>,
    next: Next,
) -> Response {
    if request.method() != Method::DELETE {
        return next.run(request).await;
    }
    let (parts, _) = request.into_parts();
    let mark = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": format!("{EXTENSION}:displayName"), "value": "deleted"}],
    });
    let _ = inner
        .oneshot(request_like(&parts, Method::PATCH, Some(&mark)))
        .await;
    StatusCode::NO_CONTENT.into_response()
}

async fn stale_reads(request: Request<Body>, next: Next) -> Response {
    if request.method() != Method::GET || !path(&request).contains("/Users") {
        return next.run(request).await;
    }
    let key = format!("{}{}", host_of(&request), request.uri());
    if let Some((status, raw)) = STALE
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(&key)
        .cloned()
    {
        return (
            status,
            [(header::CONTENT_TYPE, "application/scim+json")],
            raw,
        )
            .into_response();
    }
    let response = next.run(request).await;
    let (parts, body) = response.into_parts();
    let raw = bytes(body).await;
    if parts.status == StatusCode::OK {
        STALE
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, (parts.status, raw.clone()));
    }
    Response::from_parts(parts, Body::from(raw))
}

async fn token_echoed(request: Request<Body>, next: Next) -> Response {
    let token = bearer(&request)
        .unwrap_or_default()
        .trim_start_matches("Bearer ")
        .to_owned();
    let response = next.run(request).await;
    if response.status().is_success() {
        return response;
    }
    scim_error(
        response.status(),
        None,
        &format!("request with token {token} failed"),
    )
}

async fn duplicate_is_500(request: Request<Body>, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status() == StatusCode::CONFLICT {
        return scim_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
            "the directory said no",
        );
    }
    response
}

async fn duplicate_is_201(request: Request<Body>, next: Next) -> Response {
    let create = is_create(&request);
    let response = next.run(request).await;
    if create && response.status() == StatusCode::CONFLICT {
        return made_up_user(&format!("dup-{}", uuid::Uuid::new_v4().simple()));
    }
    response
}

async fn conflict_is_400(request: Request<Body>, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status() == StatusCode::CONFLICT {
        return scim_error(StatusCode::BAD_REQUEST, Some("invalidValue"), "not allowed");
    }
    response
}

async fn total_results_wrong(request: Request<Body>, next: Next) -> Response {
    let query = is_query(&request);
    let response = next.run(request).await;
    if !query || response.status() != StatusCode::OK {
        return response;
    }
    edit_response(response, |v| {
        if let Some(n) = v.get("totalResults").and_then(Value::as_u64) {
            v["totalResults"] = json!(n + 1);
        }
    })
    .await
}

async fn auth_skipped_on_reads(request: Request<Body>, next: Next) -> Response {
    let request = skip_auth(request, &[Method::GET]);
    remember_accepted(request, next).await
}

async fn auth_skipped_on_writes(request: Request<Body>, next: Next) -> Response {
    let request = skip_auth(
        request,
        &[Method::POST, Method::PATCH, Method::PUT, Method::DELETE],
    );
    remember_accepted(request, next).await
}

async fn password_returned(request: Request<Body>, next: Next) -> Response {
    let read = request.method() == Method::GET && is_user(&request);
    let response = next.run(request).await;
    if !read || response.status() != StatusCode::OK {
        return response;
    }
    edit_response(response, |v| {
        v["password"] = json!("Secret-From-The-Directory-1");
    })
    .await
}

async fn schema_attribute_missing(request: Request<Body>, next: Next) -> Response {
    let schemas = path(&request).contains("/Schemas");
    let response = next.run(request).await;
    if !schemas || response.status() != StatusCode::OK {
        return response;
    }
    edit_response(response, |v| {
        let mut drop_last = |schema: &mut Value| {
            if schema
                .get("id")
                .and_then(Value::as_str)
                .is_some_and(|id| id.eq_ignore_ascii_case(EXTENSION))
                && let Some(attrs) = schema.get_mut("attributes").and_then(Value::as_array_mut)
            {
                attrs.pop();
            }
        };
        if let Some(list) = v.get_mut("Resources").and_then(Value::as_array_mut) {
            list.iter_mut().for_each(&mut drop_last);
        } else {
            drop_last(v);
        }
    })
    .await
}

async fn unknown_id_500(request: Request<Body>, next: Next) -> Response {
    let read = request.method() == Method::GET && is_user(&request);
    let response = next.run(request).await;
    if read && response.status() == StatusCode::NOT_FOUND {
        return scim_error(StatusCode::INTERNAL_SERVER_ERROR, None, "lookup failed");
    }
    response
}

async fn strict_slashes(request: Request<Body>, next: Next) -> Response {
    let p = path(&request);
    if (p.len() > 1 && p.ends_with('/')) || p.contains("//") {
        return scim_error(StatusCode::NOT_FOUND, None, "no such endpoint");
    }
    next.run(request).await
}

async fn bad_body_is_500(request: Request<Body>, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status() == StatusCode::BAD_REQUEST {
        return scim_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
            "could not handle it",
        );
    }
    response
}

/// Decodes `%2F`, `%5C` and `%2E` in the path and resolves the dot segments that makes, as a
/// host that decodes before it routes does: `/Users/..%2FSchemas` becomes `/Schemas`.
async fn encoded_slashes_decoded(mut request: Request<Body>, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let lower = path.to_ascii_lowercase();
    if !["%2f", "%5c", "%2e"].iter().any(|e| lower.contains(e)) {
        return next.run(request).await;
    }
    let mut decoded = String::new();
    let mut rest = path.as_str();
    while let Some(at) = rest.find('%') {
        decoded.push_str(&rest[..at]);
        let escape = rest.get(at..at + 3).unwrap_or(&rest[at..]);
        match escape.to_ascii_lowercase().as_str() {
            "%2f" | "%5c" => decoded.push('/'),
            "%2e" => decoded.push('.'),
            _ => decoded.push_str(escape),
        }
        rest = &rest[at + escape.len()..];
    }
    decoded.push_str(rest);
    let mut segments: Vec<&str> = Vec::new();
    for segment in decoded.split('/') {
        match segment {
            ".." => {
                segments.pop();
            }
            "." => {}
            s => segments.push(s),
        }
    }
    let mut target = segments.join("/");
    if !target.starts_with('/') {
        target.insert(0, '/');
    }
    if let Some(q) = request.uri().query() {
        target = format!("{target}?{q}");
    }
    if let Ok(uri) = target.parse() {
        *request.uri_mut() = uri;
    }
    next.run(request).await
}

async fn refused_patch_is_204(request: Request<Body>, next: Next) -> Response {
    let patch = request.method() == Method::PATCH;
    let response = next.run(request).await;
    if patch && response.status().is_client_error() {
        return StatusCode::NO_CONTENT.into_response();
    }
    response
}

async fn and_second_clause_ignored(request: Request<Body>, next: Next) -> Response {
    let Some(filter) = filter_of(&request) else {
        return next.run(request).await;
    };
    let lower = filter.to_ascii_lowercase();
    let Some(at) = lower.find(" and ") else {
        return next.run(request).await;
    };
    let first = filter[..at].to_owned();
    let request = edit_query(request, |pairs| {
        for (k, v) in pairs.iter_mut() {
            if k.eq_ignore_ascii_case("filter") {
                v.clone_from(&first);
            }
        }
    });
    next.run(request).await
}

async fn qualified_filter_refused(request: Request<Body>, next: Next) -> Response {
    if filter_of(&request).is_some_and(|f| f.to_ascii_lowercase().starts_with("urn:")) {
        return scim_error(
            StatusCode::BAD_REQUEST,
            Some("invalidFilter"),
            "unknown attribute",
        );
    }
    next.run(request).await
}

async fn projection_ignored(request: Request<Body>, next: Next) -> Response {
    let request = edit_query(request, |pairs| {
        pairs.retain(|(k, _)| {
            !k.eq_ignore_ascii_case("attributes") && !k.eq_ignore_ascii_case("excludedAttributes")
        });
    });
    next.run(request).await
}

async fn null_written_as_string(request: Request<Body>, next: Next) -> Response {
    if request.method() != Method::PATCH {
        return next.run(request).await;
    }
    let request = edit_request(request, |v| {
        if let Some(ops) = operations(v) {
            for op in ops.iter_mut() {
                each_member(op, &mut |_, value| {
                    if value.is_null() {
                        *value = json!("null");
                    }
                });
            }
        }
    })
    .await;
    next.run(request).await
}

async fn empty_string_refused(request: Request<Body>, next: Next) -> Response {
    if request.method() != Method::PATCH {
        return next.run(request).await;
    }
    let (request, body) = read_request(request).await;
    let mut empty = false;
    if let Some(mut body) = body {
        each_member(&mut body, &mut |_, v| empty |= v.as_str() == Some(""));
    }
    if empty {
        return scim_error(StatusCode::BAD_REQUEST, Some("invalidValue"), "empty value");
    }
    next.run(request).await
}

async fn member_names_case_sensitive(request: Request<Body>, next: Next) -> Response {
    if !is_create(&request) {
        return next.run(request).await;
    }
    let request = edit_request(request, |v| {
        drop_members(v, &|k, _| {
            let lower = k.to_ascii_lowercase();
            lower.starts_with(&EXTENSION.to_ascii_lowercase()) && !k.starts_with(EXTENSION)
        });
    })
    .await;
    next.run(request).await
}

async fn always_active(request: Request<Body>, next: Next) -> Response {
    let response = next.run(request).await;
    if !response.status().is_success() {
        return response;
    }
    edit_response(response, |v| {
        if v.get("id").is_some() {
            v["active"] = json!(true);
        }
        if let Some(list) = v.get_mut("Resources").and_then(Value::as_array_mut) {
            for r in list {
                r["active"] = json!(true);
            }
        }
    })
    .await
}

async fn no_location(request: Request<Body>, next: Next) -> Response {
    let mut response = next.run(request).await;
    response.headers_mut().remove(header::LOCATION);
    response
}

async fn case_blind_connector(mut request: Request<Body>, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    if let Some(rest) = path.strip_prefix("/ecma2host_")
        && let Some((name, tail)) = rest.split_once('/')
        && let Some(known) = crate::embedded::connectors()
            .into_iter()
            .find(|c| c.eq_ignore_ascii_case(name))
    {
        let query = request
            .uri()
            .query()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        if let Ok(uri) = format!("/ecma2host_{known}/{tail}{query}").parse() {
            set_uri(&mut request, uri);
        }
    }
    next.run(request).await
}

async fn takes_client_id(request: Request<Body>, next: Next) -> Response {
    if !is_create(&request) {
        return next.run(request).await;
    }
    let (request, body) = read_request(request).await;
    let claimed = body
        .as_ref()
        .and_then(|b| b.get("id"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let response = next.run(request).await;
    match claimed {
        Some(id) if response.status() == StatusCode::CREATED => {
            edit_response(response, |v| v["id"] = json!(id)).await
        }
        _ => response,
    }
}

async fn swallow_failed_creates(request: Request<Body>, next: Next) -> Response {
    let create = is_create(&request);
    let response = next.run(request).await;
    if !create || response.status().is_success() {
        return response;
    }
    made_up_user(&format!("swallowed-{}", uuid::Uuid::new_v4().simple()))
}

async fn generic_error_details(request: Request<Body>, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status().is_success() {
        return response;
    }
    scim_error(
        response.status(),
        Some("invalidValue"),
        "The request could not be completed.",
    )
}

/// Answers a create for a user named `prompt-…` (the latency scenario's) a second after Entra
/// has given up on it.
async fn slow_cycle(request: Request<Body>, next: Next) -> Response {
    let (request, body) = read_request(request).await;
    let slow = is_create(&request) && body.is_some_and(|b| b.to_string().contains("prompt-"));
    let response = next.run(request).await;
    if slow {
        tokio::time::sleep(std::time::Duration::from_millis(
            crate::checks::ENTRA_ANSWER_LIMIT_MS + 1000,
        ))
        .await;
    }
    response
}

async fn slow_failed_deletes(request: Request<Body>, next: Next) -> Response {
    let delete = request.method() == Method::DELETE;
    let response = next.run(request).await;
    if delete && response.status().is_server_error() {
        tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    }
    response
}

/// While its first import runs, answers queries with an empty list instead of 503.
async fn empty_while_importing(request: Request<Body>, next: Next) -> Response {
    let query = is_query(&request);
    let response = next.run(request).await;
    if !query || response.status() != StatusCode::SERVICE_UNAVAILABLE {
        return response;
    }
    empty_list()
}

/// Comes back from a restart with the connector space it had, without reading the target.
async fn restart_without_import(request: Request<Body>, next: Next) -> Response {
    if request.method() == Method::POST && path(&request).ends_with("/cache/restart") {
        return StatusCode::ACCEPTED.into_response();
    }
    next.run(request).await
}

async fn import_ignored(request: Request<Body>, next: Next) -> Response {
    if request.method() == Method::POST && path(&request).ends_with("/cache/import") {
        return StatusCode::OK.into_response();
    }
    next.run(request).await
}

async fn exact_byte_matching(request: Request<Body>, next: Next) -> Response {
    let wanted = filter_of(&request).and_then(|f| {
        let (_, value) = f.split_once(" eq ")?;
        if value.to_ascii_lowercase().contains(" and ") {
            return None;
        }
        serde_json::from_str::<String>(value.trim()).ok()
    });
    let response = next.run(request).await;
    let Some(wanted) = wanted else {
        return response;
    };
    if response.status() != StatusCode::OK {
        return response;
    }
    edit_response(response, |v| {
        if let Some(list) = v.get_mut("Resources").and_then(Value::as_array_mut) {
            list.retain_mut(|r| {
                let mut found = false;
                each_member(r, &mut |_, value| {
                    found |= value.as_str() == Some(wanted.as_str())
                });
                found
            });
            let n = list.len();
            v["totalResults"] = json!(n);
        }
    })
    .await
}

async fn upper_case_operator_refused(request: Request<Body>, next: Next) -> Response {
    if filter_of(&request).is_some_and(|f| f.contains(" EQ ") || f.contains(" AND ")) {
        return scim_error(
            StatusCode::BAD_REQUEST,
            Some("invalidFilter"),
            "unknown operator",
        );
    }
    next.run(request).await
}

async fn unsupported_operator_unfiltered(request: Request<Body>, next: Next) -> Response {
    let unsupported = filter_of(&request).is_some_and(|f| {
        let lower = format!(" {} ", f.to_ascii_lowercase());
        [
            " co ", " sw ", " ew ", " pr ", " or ", " gt ", " lt ", "not (",
        ]
        .iter()
        .any(|op| lower.contains(op))
            || !lower.contains(" eq ")
    });
    if !unsupported {
        return next.run(request).await;
    }
    let request = edit_query(request, |pairs| {
        pairs.retain(|(k, _)| !k.eq_ignore_ascii_case("filter"));
    });
    next.run(request).await
}

async fn op_names_case_sensitive(request: Request<Body>, next: Next) -> Response {
    if request.method() != Method::PATCH {
        return next.run(request).await;
    }
    let (request, body) = read_request(request).await;
    let odd = body.and_then(|mut b| {
        operations(&mut b).map(|ops| {
            ops.iter().any(|op| {
                !matches!(
                    op.get("op").and_then(Value::as_str),
                    Some("Add" | "add" | "Replace" | "replace" | "Remove" | "remove")
                )
            })
        })
    });
    if odd == Some(true) {
        return scim_error(StatusCode::BAD_REQUEST, Some("invalidSyntax"), "unknown op");
    }
    next.run(request).await
}

fn is_remove(op: &Value) -> bool {
    op.get("op")
        .and_then(Value::as_str)
        .is_some_and(|o| o.eq_ignore_ascii_case("remove"))
}

async fn remove_ignored(request: Request<Body>, next: Next) -> Response {
    if request.method() != Method::PATCH {
        return next.run(request).await;
    }
    let (request, body) = read_request(request).await;
    let Some(mut body) = body else {
        return next.run(request).await;
    };
    let Some(ops) = operations(&mut body) else {
        return next.run(request).await;
    };
    if !ops
        .iter()
        .any(|op| is_remove(op) && op.get("path").is_some())
    {
        return next.run(request).await;
    }
    ops.retain(|op| !is_remove(op));
    if ops.is_empty() {
        return StatusCode::NO_CONTENT.into_response();
    }
    let (parts, _) = request.into_parts();
    next.run(request_like(&parts, Method::PATCH, Some(&body)))
        .await
}

async fn pathless_remove_accepted(request: Request<Body>, next: Next) -> Response {
    if request.method() != Method::PATCH {
        return next.run(request).await;
    }
    let (request, body) = read_request(request).await;
    let pathless = body.and_then(|mut b| {
        operations(&mut b).map(|ops| {
            ops.iter()
                .any(|op| is_remove(op) && op.get("path").is_none())
        })
    });
    if pathless == Some(true) {
        return StatusCode::NO_CONTENT.into_response();
    }
    next.run(request).await
}

/// The container of the last LDAP-style `-dn-` a create carried (for the dn-made-up mutant).
static LAST_CONTAINER: Mutex<BTreeMap<String, String>> = Mutex::new(BTreeMap::new());

async fn dn_made_up(request: Request<Body>, next: Next) -> Response {
    if !is_create(&request) {
        return next.run(request).await;
    }
    let host = host_of(&request);
    let request = edit_request(request, |v| {
        let Some(ext) = v.get_mut(EXTENSION).and_then(Value::as_object_mut) else {
            return;
        };
        let dn_key = ext.keys().find(|k| k.eq_ignore_ascii_case("-dn-")).cloned();
        let dn = dn_key
            .as_ref()
            .and_then(|k| ext.get(k))
            .and_then(Value::as_str)
            .map(str::to_owned);
        match dn {
            Some(dn) if dn.contains('=') => {
                if let Some((_, container)) = dn.split_once(',') {
                    LAST_CONTAINER
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .insert(host.clone(), container.to_owned());
                }
            }
            // No DN, or a UPN: the host makes one up from the container it saw last.
            other => {
                let container = LAST_CONTAINER
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get(&host)
                    .cloned();
                let name = ext
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("cn"))
                    .and_then(|(_, v)| v.as_str())
                    .map(str::to_owned)
                    .or_else(|| other.map(|o| o.split('@').next().unwrap_or("x").to_owned()));
                if let (Some(container), Some(name)) = (container, name) {
                    ext.retain(|k, _| !k.eq_ignore_ascii_case("-dn-"));
                    ext.insert("-dn-".into(), json!(format!("cn={name},{container}")));
                }
            }
        }
    })
    .await;
    next.run(request).await
}

/// The late-outcome-ignored mutant's answers, by host and path: a user as the host showed it
/// when it answered an update of the user with a 5xx.
static BEFORE_LATE: LazyLock<Mutex<BTreeMap<String, (StatusCode, Bytes)>>> =
    LazyLock::new(|| Mutex::new(BTreeMap::new()));

/// Keeps showing a user as it was when the host answered an update of it with a 5xx: a host
/// that never takes in the outcome of a write it stopped waiting for, though the target made
/// it (ECMA-ROBUST-017; the script and SCIM connectors did so until stop 36).
async fn late_outcome_ignored(
    State(inner): State<Router>,
    request: Request<Body>,
    next: Next,
) -> Response {
    let key = format!("{}{}", host_of(&request), path(&request));
    if request.method() == Method::GET {
        let before = BEFORE_LATE
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            .cloned();
        if let Some((status, raw)) = before {
            return (
                status,
                [(header::CONTENT_TYPE, "application/scim+json")],
                raw,
            )
                .into_response();
        }
        return next.run(request).await;
    }
    if request.method() != Method::PATCH {
        return next.run(request).await;
    }
    let (parts, rest) = request.into_parts();
    let read = request_like(&parts, Method::GET, None);
    let response = next.run(Request::from_parts(parts, rest)).await;
    if response.status().is_server_error() {
        // The write goes on in the host; its view now is the one from before it.
        let Ok(answer) = inner.oneshot(read).await;
        let (parts, body) = answer.into_parts();
        let raw = bytes(body).await;
        if parts.status == StatusCode::OK {
            BEFORE_LATE
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(key, (parts.status, raw));
        }
    }
    response
}

/// Ids a PATCH touched (for the id-forgotten-after-update mutant).
static PATCHED: LazyLock<Mutex<BTreeSet<String>>> = LazyLock::new(|| Mutex::new(BTreeSet::new()));

async fn id_forgotten_after_update(request: Request<Body>, next: Next) -> Response {
    let key = format!("{}{}", host_of(&request), path(&request));
    if request.method() == Method::PATCH {
        let response = next.run(request).await;
        if response.status().is_success() {
            PATCHED
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(key);
        }
        return response;
    }
    if request.method() == Method::GET
        && PATCHED
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&key)
    {
        return scim_error(StatusCode::NOT_FOUND, None, "no such user");
    }
    next.run(request).await
}

/// True when `value` matches `pattern` read as a wildcard pattern: `*` and `%` any run of
/// characters, `_` any one character (how an LDAP filter or an SQL LIKE reads them).
fn wildcard_match(pattern: &str, value: &str) -> bool {
    fn go(p: &[char], v: &[char]) -> bool {
        match p.split_first() {
            None => v.is_empty(),
            Some(('*' | '%', rest)) => (0..=v.len()).any(|i| go(rest, &v[i..])),
            Some(('_', rest)) => !v.is_empty() && go(rest, &v[1..]),
            Some((c, rest)) => v.first() == Some(c) && go(rest, &v[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let v: Vec<char> = value.chars().collect();
    go(&p, &v)
}

/// The `attribute eq "value"` of a one-clause filter, with the attribute's last segment.
fn one_eq(request: &Request<Body>) -> Option<(String, String)> {
    let f = filter_of(request)?;
    let (attribute, value) = f.split_once(" eq ")?;
    Some((
        leaf(attribute.trim()).to_owned(),
        serde_json::from_str::<String>(value.trim()).ok()?,
    ))
}

async fn wildcard_values(
    State(inner): State<Router>,
    request: Request<Body>,
    next: Next,
) -> Response {
    let Some((attribute, wanted)) = one_eq(&request).filter(|(_, v)| v.contains(['*', '%', '_']))
    else {
        return next.run(request).await;
    };
    if !is_query(&request) {
        return next.run(request).await;
    }
    let (mut parts, _) = request.into_parts();
    let uri: axum::http::Uri = match format!("{}?count=10000", parts.uri.path()).parse() {
        Ok(u) => u,
        Err(_) => return scim_error(StatusCode::BAD_REQUEST, None, "bad path"),
    };
    parts.uri = uri.clone();
    parts.extensions.insert(axum::extract::OriginalUri(uri));
    let everyone = inner
        .oneshot(request_like(&parts, Method::GET, None))
        .await
        .unwrap_or_else(|never| match never {});
    edit_response(everyone, |v| {
        if let Some(list) = v.get_mut("Resources").and_then(Value::as_array_mut) {
            list.retain_mut(|r| {
                let mut hit = false;
                each_member(r, &mut |k, value| {
                    hit |= leaf(k).eq_ignore_ascii_case(&attribute)
                        && value.as_str().is_some_and(|s| wildcard_match(&wanted, s));
                });
                hit
            });
            let n = list.len();
            v["totalResults"] = json!(n);
            v["itemsPerPage"] = json!(n);
        }
    })
    .await
}

async fn metacharacters_break_the_query(request: Request<Body>, next: Next) -> Response {
    if one_eq(&request).is_some_and(|(_, v)| v.contains(['(', ')', '\'', '\\'])) {
        return scim_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
            "the directory refused the search filter",
        );
    }
    next.run(request).await
}

async fn add_ignored(request: Request<Body>, next: Next) -> Response {
    if request.method() != Method::PATCH {
        return next.run(request).await;
    }
    let (request, body) = read_request(request).await;
    let Some(mut body) = body else {
        return next.run(request).await;
    };
    let is_add = |op: &Value| {
        op.get("op")
            .and_then(Value::as_str)
            .is_some_and(|o| o.eq_ignore_ascii_case("add"))
            && op.get("path").is_some()
    };
    let Some(ops) = operations(&mut body) else {
        return next.run(request).await;
    };
    if !ops.iter().any(is_add) {
        return next.run(request).await;
    }
    ops.retain(|op| !is_add(op));
    if ops.is_empty() {
        return StatusCode::NO_CONTENT.into_response();
    }
    let (parts, _) = request.into_parts();
    next.run(request_like(&parts, Method::PATCH, Some(&body)))
        .await
}

/// Creates in flight, by host (for the one-create-at-a-time mutant).
static IN_FLIGHT: Mutex<BTreeMap<String, usize>> = Mutex::new(BTreeMap::new());

async fn one_create_at_a_time(request: Request<Body>, next: Next) -> Response {
    if !is_create(&request) {
        return next.run(request).await;
    }
    let host = host_of(&request);
    {
        let mut busy = IN_FLIGHT.lock().unwrap_or_else(PoisonError::into_inner);
        let n = busy.entry(host.clone()).or_default();
        if *n > 0 {
            return scim_error(StatusCode::SERVICE_UNAVAILABLE, None, "busy, try again");
        }
        *n += 1;
    }
    let response = next.run(request).await;
    if let Some(n) = IN_FLIGHT
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get_mut(&host)
    {
        *n = n.saturating_sub(1);
    }
    response
}

/// When a host last refused a body that was not JSON (for the wedged mutant).
static WEDGED: Mutex<BTreeMap<String, std::time::Instant>> = Mutex::new(BTreeMap::new());

async fn wedged_after_bad_body(request: Request<Body>, next: Next) -> Response {
    // Per connector and token: the scenarios that send a bad body run alone on their
    // connector (@serial) and send the next request themselves, so no other scenario meets
    // the wedge by chance.
    let key = format!(
        "{} {}",
        connector_of(&request),
        bearer(&request).unwrap_or_default()
    );
    let wedged = WEDGED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(&key)
        .is_some();
    if wedged {
        return scim_error(StatusCode::SERVICE_UNAVAILABLE, None, "recovering");
    }
    let create = is_create(&request);
    let (request, body) = read_request(request).await;
    let response = next.run(request).await;
    if create && body.is_none() && response.status() == StatusCode::BAD_REQUEST {
        WEDGED
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, std::time::Instant::now());
    }
    response
}

async fn urn_split_at_a_dot(request: Request<Body>, next: Next) -> Response {
    if request.method() != Method::PATCH {
        return next.run(request).await;
    }
    let (request, body) = read_request(request).await;
    if body.is_some_and(|b| b.to_string().contains(":2.0:User:")) {
        return scim_error(
            StatusCode::BAD_REQUEST,
            Some("invalidPath"),
            "no attribute 0:User in urn:ietf:params:scim:schemas:extension:ECMA2Host:2",
        );
    }
    next.run(request).await
}

async fn wrong_types_coerced(request: Request<Body>, next: Next) -> Response {
    if !is_create(&request) {
        return next.run(request).await;
    }
    let request = edit_request(request, |v| {
        if v.get("active").is_some_and(Value::is_string) {
            v["active"] = json!(true);
        }
        each_member(v, &mut |k, value| {
            if k.eq_ignore_ascii_case("schemas") {
                return;
            }
            let first = match value {
                Value::Array(items) if items.len() > 1 => items.first().cloned(),
                Value::Object(map) if map.len() == 1 && map.contains_key("value") => {
                    map.get("value").cloned()
                }
                _ => None,
            };
            if let Some(first) = first {
                *value = first;
            }
        });
    })
    .await;
    next.run(request).await
}

async fn value_filter_path_accepted(request: Request<Body>, next: Next) -> Response {
    if request.method() != Method::PATCH {
        return next.run(request).await;
    }
    let (request, body) = read_request(request).await;
    let filtered = body.and_then(|mut b| {
        operations(&mut b).map(|ops| {
            ops.iter().any(|op| {
                op.get("path")
                    .and_then(Value::as_str)
                    .is_some_and(|p| p.contains('['))
            })
        })
    });
    if filtered == Some(true) {
        return StatusCode::NO_CONTENT.into_response();
    }
    next.run(request).await
}

async fn server_errors_are_400(request: Request<Body>, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status().is_server_error() {
        return scim_error(StatusCode::BAD_REQUEST, Some("invalidValue"), "refused");
    }
    response
}

// ---------------------------------------------------------------------------------------------

macro_rules! mutant {
    ($name:literal, $behaviour:literal, $f:ident) => {
        Mutant {
            name: $name,
            behaviour: $behaviour,
            apply: |app: Router| app.layer(middleware::from_fn($f)),
            dialects: None,
            host: crate::embedded::HostDefect::None,
        }
    };
    ($name:literal, $behaviour:literal, state $f:ident) => {
        Mutant {
            name: $name,
            behaviour: $behaviour,
            apply: |app: Router| app.clone().layer(middleware::from_fn_with_state(app, $f)),
            dialects: None,
            host: crate::embedded::HostDefect::None,
        }
    };
}

/// Every mutant, in the order `ecmacert selftest` runs them.
pub fn mutants() -> Vec<Mutant> {
    let mut all = every_mutant();
    for (name, behaviour, host) in [
        (
            "tls13-only",
            "serves TLS 1.3 only: a client that speaks TLS 1.2 cannot connect",
            crate::embedded::HostDefect::Tls13Only,
        ),
        (
            "every-object-class-imported",
            "imports the directory's entries of every object class, not only its connector's",
            crate::embedded::HostDefect::EveryObjectClass,
        ),
        (
            "directory-in-the-clear",
            "reaches a directory that requires TLS over plain LDAP, ignoring the profile",
            crate::embedded::HostDefect::PlaintextDirectory,
        ),
        (
            "passing-no-such-object-is-400",
            "answers 400 (missing container) when the directory answers an add noSuchObject once for a container that exists, without trying again",
            crate::embedded::HostDefect::NoAddRetry,
        ),
    ] {
        all.push(Mutant {
            name,
            behaviour,
            apply: |app| app,
            dialects: None,
            host,
        });
    }
    for m in &mut all {
        // Only the aadOptscim062020 dialect sends `active` as a Boolean.
        if m.name == "boolean-active-ignored" {
            m.dialects = Some(&[scim_proto::Dialect::EntraScim2020]);
        }
        // A minute more otherwise: the latency check does not depend on the dialect.
        if m.name == "answer-after-61-seconds" {
            m.dialects = Some(&[scim_proto::Dialect::EntraDefault]);
        }
        // Only the dialect differential sees it: it compares the two dialects.
        if m.name == "pathless-replace-adds-superclass" {
            m.dialects = Some(&scim_proto::Dialect::ALL);
        }
    }
    all
}

fn every_mutant() -> Vec<Mutant> {
    vec![
        mutant!(
            "create-without-writing",
            "answers 201 to a create and writes nothing",
            create_without_writing
        ),
        mutant!(
            "patch-ignored",
            "answers 204 to every PATCH and changes nothing",
            patch_ignored
        ),
        mutant!(
            "delete-ignored",
            "answers 204 to a DELETE and keeps the user",
            delete_ignored
        ),
        mutant!(
            "id-not-the-anchor",
            "answers a create with an id other than the anchor it wrote",
            id_not_the_anchor
        ),
        mutant!(
            "active-ignored",
            "ignores `active` in a PATCH",
            active_ignored
        ),
        mutant!(
            "enable-ignored",
            "ignores `active: true` in a PATCH (disables, never enables)",
            enable_ignored
        ),
        mutant!(
            "false-string-read-as-true",
            "reads the string \"False\" as true",
            false_string_as_true
        ),
        mutant!(
            "boolean-active-ignored",
            "reads `active` only as a string: the aadOptscim062020 dialect's booleans are ignored (dialect-dependent writes)",
            boolean_active_ignored
        ),
        mutant!(
            "pathless-replace-adds-superclass",
            "on a path-less `replace` (the aadOptscim062020 form) also adds the superclass `person` to objectClass: what was sent lands, and the entry still differs from the other dialect's (dialect-dependent writes)",
            pathless_replace_adds_superclass
        ),
        mutant!(
            "inactive-create-ignored",
            "ignores `active: false` on a create",
            inactive_create_ignored
        ),
        mutant!(
            "empty-filter-404",
            "answers a query that finds nobody with 404",
            empty_filter_is_404
        ),
        mutant!(
            "dn-other-than-requested",
            "creates the entry at a DN other than the -dn- sent",
            dn_rewritten
        ),
        mutant!(
            "attribute-dropped",
            "drops displayName from creates",
            attribute_dropped
        ),
        mutant!(
            "oversized-body-clipped",
            "takes a create of any size and stores its values clipped to 1 KiB",
            oversized_clipped
        ),
        mutant!(
            "values-truncated",
            "cuts values longer than 12 characters",
            values_truncated
        ),
        mutant!(
            "non-ascii-replaced",
            "replaces characters outside ASCII with '?'",
            non_ascii_replaced
        ),
        mutant!("partial-write-before-error", "writes a PATCH's first operation on its own before the rest", state partial_write_before_error),
        mutant!("noop-patch-rewrites", "writes a PATCH's values through an intermediate value (a no-op PATCH rewrites the entry)", state noop_patch_rewrites),
        mutant!("late-outcome-ignored", "shows a user as it was when it answered an update of it 5xx, though the target made the update", state late_outcome_ignored),
        mutant!("disable-deletes", "deletes the user on a disable whatever the deprovisioning flow", state disable_deletes),
        mutant!("delete-writes", "marks a deleted user (its displayName) and keeps it, whatever the delete flow", state delete_writes),
        mutant!(
            "stale-reads",
            "answers reads from a cache that never learns of a change",
            stale_reads
        ),
        mutant!(
            "token-echoed",
            "echoes the bearer token in its error details",
            token_echoed
        ),
        mutant!(
            "duplicate-500",
            "answers a duplicate with 500",
            duplicate_is_500
        ),
        mutant!(
            "duplicate-201",
            "answers a duplicate create with 201 (two creates of one user both succeed)",
            duplicate_is_201
        ),
        mutant!(
            "conflict-400",
            "answers a uniqueness conflict with 400 invalidValue",
            conflict_is_400
        ),
        mutant!(
            "total-results-wrong",
            "counts one more result than it returns",
            total_results_wrong
        ),
        mutant!(
            "auth-skipped-on-reads",
            "serves GET requests whatever their token",
            auth_skipped_on_reads
        ),
        mutant!(
            "auth-skipped-on-writes",
            "serves writes whatever their token",
            auth_skipped_on_writes
        ),
        mutant!(
            "password-returned",
            "returns a password on GET",
            password_returned
        ),
        mutant!(
            "schema-attribute-missing",
            "leaves an attribute out of the ECMA2Host extension schema",
            schema_attribute_missing
        ),
        mutant!(
            "unknown-id-500",
            "answers an unknown id with 500",
            unknown_id_500
        ),
        mutant!(
            "strict-slashes",
            "answers a trailing or doubled slash with 404",
            strict_slashes
        ),
        mutant!(
            "bad-request-500",
            "answers what it refuses with 500 instead of 400",
            bad_body_is_500
        ),
        mutant!(
            "refused-patch-204",
            "answers a PATCH it refuses with 204",
            refused_patch_is_204
        ),
        mutant!(
            "and-second-clause-ignored",
            "evaluates only the first clause of an and-filter",
            and_second_clause_ignored
        ),
        mutant!(
            "qualified-filter-refused",
            "refuses a filter on a URN-qualified attribute",
            qualified_filter_refused
        ),
        mutant!(
            "projection-ignored",
            "ignores attributes and excludedAttributes",
            projection_ignored
        ),
        mutant!(
            "null-written-as-string",
            "writes a JSON null as the string \"null\"",
            null_written_as_string
        ),
        mutant!(
            "empty-string-refused",
            "refuses a PATCH carrying \"\" instead of removing the attribute",
            empty_string_refused
        ),
        mutant!(
            "member-names-case-sensitive",
            "ignores extension members whose URN differs in case",
            member_names_case_sensitive
        ),
        mutant!(
            "always-active",
            "answers every user as active",
            always_active
        ),
        mutant!(
            "no-location",
            "answers 201 without a Location header",
            no_location
        ),
        mutant!(
            "connector-name-case-blind",
            "serves a connector name in any case",
            case_blind_connector
        ),
        mutant!(
            "takes-client-id",
            "answers a create with the id the client sent",
            takes_client_id
        ),
        mutant!(
            "half-made-create-kept",
            "keeps the user it added when setting the initial password then failed, behind the error answer",
            state half_made_create_kept
        ),
        mutant!(
            "failed-create-201",
            "answers a create the target refused with 201",
            swallow_failed_creates
        ),
        mutant!(
            "generic-error-details",
            "replaces every error's detail with a generic sentence",
            generic_error_details
        ),
        mutant!(
            "answer-after-61-seconds",
            "answers one create a second after Entra's 60 s limit",
            slow_cycle
        ),
        mutant!(
            "empty-list-while-importing",
            "answers a query with an empty list while its first import runs, instead of an Error",
            empty_while_importing
        ),
        mutant!(
            "restart-without-import",
            "comes back from a restart with its old connector space, without importing the target",
            restart_without_import
        ),
        mutant!(
            "slow-failed-deletes",
            "answers a failed delete only after four seconds",
            slow_failed_deletes
        ),
        mutant!(
            "import-ignored",
            "answers an import request without importing",
            import_ignored
        ),
        mutant!(
            "exact-byte-matching",
            "matches filter values byte for byte, whatever the target's equality",
            exact_byte_matching
        ),
        mutant!(
            "upper-case-operator-refused",
            "refuses `EQ` and `AND` (operators are case-insensitive)",
            upper_case_operator_refused
        ),
        mutant!(
            "unsupported-operator-unfiltered",
            "answers a filter it cannot evaluate with every user",
            unsupported_operator_unfiltered
        ),
        mutant!(
            "op-names-case-sensitive",
            "refuses PATCH op names other than Add/add, Replace/replace, Remove/remove",
            op_names_case_sensitive
        ),
        mutant!(
            "remove-ignored",
            "ignores Remove operations",
            remove_ignored
        ),
        mutant!(
            "pathless-remove-accepted",
            "answers 204 to a remove that names no target",
            pathless_remove_accepted
        ),
        mutant!(
            "dn-made-up",
            "makes a DN up when -dn- is missing or not a DN",
            dn_made_up
        ),
        mutant!(
            "id-forgotten-after-update",
            "answers 404 for a user's id once the user was updated (an id that moves with a value)",
            id_forgotten_after_update
        ),
        mutant!("wildcard-values", "passes *, % and _ in filter values to the target as wildcards", state wildcard_values),
        mutant!(
            "metacharacters-break-the-query",
            "passes parentheses and quotes in filter values into the target's query, which breaks",
            metacharacters_break_the_query
        ),
        mutant!(
            "add-ignored",
            "ignores Add operations with a path",
            add_ignored
        ),
        mutant!(
            "one-create-at-a-time",
            "answers 503 to a create while another is in flight",
            one_create_at_a_time
        ),
        mutant!(
            "encoded-slashes-decoded",
            "decodes %2F, %5C and %2E in the path before routing, so `..%2F` climbs out of /Users",
            encoded_slashes_decoded
        ),
        mutant!(
            "wedged-after-bad-body",
            "answers 503 to the request that follows a body that is not JSON",
            wedged_after_bad_body
        ),
        mutant!(
            "urn-split-at-a-dot",
            "splits URN-qualified names at the dot of 2.0 and refuses them",
            urn_split_at_a_dot
        ),
        mutant!(
            "wrong-types-coerced",
            "takes the first of an array, the value of an object and any string as `active` instead of refusing them",
            wrong_types_coerced
        ),
        mutant!(
            "value-filter-path-accepted",
            "answers 204 to a PATCH through a value-filter path it cannot apply",
            value_filter_path_accepted
        ),
        mutant!(
            "server-errors-400",
            "answers the target's transient failures with 400 (Entra would not retry)",
            server_errors_are_400
        ),
        mutant!(
            "first-matching-attribute-only",
            "finds nobody for a filter on any attribute but mail, userPrincipalName and ContosoLogin (the first matching attributes of the embedded profiles)",
            first_matching_attribute_only
        ),
        mutant!(
            "tokens-shared",
            "accepts any of its connectors' tokens on every connector",
            tokens_shared
        ),
        mutant!(
            "anchor-change-accepted",
            "answers 204 to a PATCH that would change the anchor or -dn-, and changes nothing",
            anchor_change_accepted
        ),
        mutant!(
            "dn-escapes-kept",
            "keeps a DN's RFC 4514 escapes in the RDN value (\\, written as a backslash and a comma)",
            dn_escapes_kept
        ),
        mutant!(
            "id-read-as-latin1",
            "reads the percent-encoded UTF-8 of /Users/{id} as Latin-1 (ids outside ASCII are never found)",
            id_read_as_latin1
        ),
        mutant!(
            "paging-gap",
            "skips one user at the start of every page after the first",
            paging_gap
        ),
        mutant!(
            "count-ignored",
            "ignores count and answers every user from startIndex on",
            count_ignored
        ),
        mutant!(
            "wrong-default-class",
            "applies the class person, not the connector's structural class, to a create without objectClass",
            wrong_default_class
        ),
        mutant!(
            "export-password-ignored",
            "ignores export_password on a create",
            export_password_ignored
        ),
        mutant!(
            "schema-characteristics-incomplete",
            "leaves uniqueness out of its attribute definitions and gives caseExact as null",
            schema_characteristics_incomplete
        ),
        mutant!(
            "unexposed-attribute-500",
            "answers 500 to a create that carries an attribute it does not expose",
            state unexposed_attribute_500
        ),
    ]
}

async fn anchor_change_accepted(request: Request<Body>, next: Next) -> Response {
    if request.method() != Method::PATCH {
        return next.run(request).await;
    }
    let response = next.run(request).await;
    if response.status() != StatusCode::BAD_REQUEST {
        return response;
    }
    let (parts, body) = response.into_parts();
    let raw = bytes(body).await;
    let mutability = serde_json::from_slice::<Value>(&raw)
        .ok()
        .is_some_and(|v| v["scimType"] == "mutability");
    if mutability {
        StatusCode::NO_CONTENT.into_response()
    } else {
        Response::from_parts(parts, Body::from(raw))
    }
}

async fn dn_escapes_kept(request: Request<Body>, next: Next) -> Response {
    if !is_create(&request) {
        return next.run(request).await;
    }
    let request = edit_request(request, |v| {
        if let Some(dn) = v[EXTENSION]["-dn-"].as_str()
            && dn.contains('\\')
        {
            // Each escaped character of the RDN value also gets a literal backslash before it.
            v[EXTENSION]["-dn-"] = json!(dn.replacen("\\,", "\\5C\\,", 1));
        }
    })
    .await;
    next.run(request).await
}

async fn id_read_as_latin1(mut request: Request<Body>, next: Next) -> Response {
    let path = path(&request);
    let bytes: Vec<u8> = percent_encoding::percent_decode_str(&path).collect();
    if is_user(&request) && bytes.iter().any(|b| *b >= 0x80) {
        const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
            .remove(b'-')
            .remove(b'.')
            .remove(b'_')
            .remove(b'~');
        let latin1: String = bytes.iter().map(|b| char::from(*b)).collect();
        let encoded: Vec<String> = latin1
            .split('/')
            .map(|s| percent_encoding::utf8_percent_encode(s, SEGMENT).to_string())
            .collect();
        let rebuilt = match request.uri().query() {
            Some(q) => format!("{}?{q}", encoded.join("/")),
            None => encoded.join("/"),
        };
        if let Ok(new) = rebuilt.parse() {
            set_uri(&mut request, new);
        }
    }
    next.run(request).await
}

fn query_number(request: &Request<Body>, name: &str) -> Option<i64> {
    form_urlencoded::parse(request.uri().query()?.as_bytes())
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.parse().ok())
}

async fn paging_gap(request: Request<Body>, next: Next) -> Response {
    if !is_query(&request) || query_number(&request, "startIndex").is_none_or(|s| s <= 1) {
        return next.run(request).await;
    }
    let request = edit_query(request, |pairs| {
        for (k, v) in pairs.iter_mut() {
            if k.eq_ignore_ascii_case("startIndex")
                && let Ok(n) = v.parse::<i64>()
            {
                *v = (n + 1).to_string();
            }
        }
    });
    let response = next.run(request).await;
    // The page says it starts where it was asked to.
    edit_response(response, |v| {
        if let Some(n) = v["startIndex"].as_i64() {
            v["startIndex"] = json!(n - 1);
        }
    })
    .await
}

async fn count_ignored(request: Request<Body>, next: Next) -> Response {
    if !is_query(&request) {
        return next.run(request).await;
    }
    let request = edit_query(request, |pairs| {
        pairs.retain(|(k, _)| !k.eq_ignore_ascii_case("count"));
    });
    next.run(request).await
}

async fn wrong_default_class(request: Request<Body>, next: Next) -> Response {
    if !is_create(&request) {
        return next.run(request).await;
    }
    let request = edit_request(request, |v| {
        if let Some(ext) = v.get_mut(EXTENSION).and_then(Value::as_object_mut)
            && ext.contains_key("-dn-")
            && !ext.keys().any(|k| k.eq_ignore_ascii_case("objectClass"))
        {
            ext.insert("objectClass".into(), json!(["person"]));
        }
    })
    .await;
    next.run(request).await
}

async fn export_password_ignored(request: Request<Body>, next: Next) -> Response {
    if !is_create(&request) {
        return next.run(request).await;
    }
    let request = edit_request(request, |v| {
        if let Some(ext) = v.get_mut(EXTENSION).and_then(Value::as_object_mut) {
            ext.remove("export_password");
        }
    })
    .await;
    next.run(request).await
}

async fn schema_characteristics_incomplete(request: Request<Body>, next: Next) -> Response {
    if request.method() != Method::GET
        || !path(&request).trim_end_matches('/').ends_with("/Schemas")
    {
        return next.run(request).await;
    }
    let response = next.run(request).await;
    edit_response(response, |v| {
        for schema in v["Resources"].as_array_mut().into_iter().flatten() {
            for a in schema["attributes"].as_array_mut().into_iter().flatten() {
                if let Some(map) = a.as_object_mut() {
                    map.remove("uniqueness");
                    map.insert("caseExact".into(), Value::Null);
                }
            }
        }
    })
    .await
}

async fn unexposed_attribute_500(
    State(inner): State<Router>,
    request: Request<Body>,
    next: Next,
) -> Response {
    if !is_create(&request) {
        return next.run(request).await;
    }
    let (request, body) = read_request(request).await;
    let sent: Vec<String> = body
        .as_ref()
        .and_then(|b| b[EXTENSION].as_object())
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let (parts, rest) = request.into_parts();
    let schemas_path = parts
        .uri
        .path()
        .trim_end_matches('/')
        .trim_end_matches("/Users")
        .to_owned()
        + "/Schemas";
    let mut ask = request_like(&parts, Method::GET, None);
    if let Ok(uri) = schemas_path.parse() {
        set_uri(&mut ask, uri);
    }
    let exposed: Vec<String> = match inner.clone().oneshot(ask).await {
        Ok(answer) => serde_json::from_slice::<Value>(&bytes(answer.into_body()).await)
            .ok()
            .and_then(|v| {
                v["Resources"].as_array().map(|schemas| {
                    schemas
                        .iter()
                        .filter(|s| s["id"] == EXTENSION)
                        .flat_map(|s| s["attributes"].as_array().cloned().unwrap_or_default())
                        .filter_map(|a| a["name"].as_str().map(str::to_owned))
                        .collect()
                })
            })
            .unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    if !exposed.is_empty()
        && sent
            .iter()
            .any(|k| !exposed.iter().any(|e| e.eq_ignore_ascii_case(k)))
    {
        return scim_error(StatusCode::INTERNAL_SERVER_ERROR, None, "unknown attribute");
    }
    next.run(Request::from_parts(parts, rest)).await
}

/// The token each connector accepted, by host and port, then connector (for tokens-shared).
static TOKENS: Mutex<BTreeMap<String, BTreeMap<String, String>>> = Mutex::new(BTreeMap::new());

async fn tokens_shared(mut request: Request<Body>, next: Next) -> Response {
    let host = host_of(&request);
    let connector = connector_of(&request);
    let auth = bearer(&request);
    let replacement = {
        let tokens = TOKENS.lock().unwrap_or_else(PoisonError::into_inner);
        tokens.get(&host).and_then(|by_connector| {
            let elsewhere = by_connector
                .iter()
                .any(|(c, t)| *c != connector && Some(t) == auth.as_ref());
            by_connector.get(&connector).filter(|_| elsewhere).cloned()
        })
    };
    if let Some(good) = replacement
        && let Ok(v) = HeaderValue::from_str(&good)
    {
        request.headers_mut().insert(header::AUTHORIZATION, v);
    }
    let response = next.run(request).await;
    if response.status().is_success()
        && let Some(auth) = auth
    {
        TOKENS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(host)
            .or_default()
            .entry(connector)
            .or_insert(auth);
    }
    response
}

async fn first_matching_attribute_only(request: Request<Body>, next: Next) -> Response {
    let Some(filter) = filter_of(&request).filter(|_| is_query(&request)) else {
        return next.run(request).await;
    };
    let attribute = filter
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if ["mail", "userprincipalname", "contosologin"].contains(&attribute.as_str()) {
        return next.run(request).await;
    }
    empty_list()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_exemptions_parse_and_mutant_names_are_unique() {
        Exemptions::shipped().unwrap();
        let all = mutants();
        let names: BTreeSet<_> = all.iter().map(|m| m.name).collect();
        assert_eq!(names.len(), all.len());
        assert!(all.len() >= 40, "{}", all.len());
    }

    #[test]
    fn wildcards_are_read_as_ldap_and_like_read_them() {
        assert!(wildcard_match("Lit*eral", "LitXYZeral"));
        assert!(wildcard_match("Under_score", "UnderXscore"));
        assert!(wildcard_match("Per%cent", "Per%cent"));
        assert!(!wildcard_match("Under_score", "UnderXYscore"));
        assert!(!wildcard_match("Lit*eral", "Literal!"));
    }

    #[test]
    fn an_exemption_without_a_reason_is_refused() {
        let e = Exemptions::parse(
            "[[exempt]]\nfeature = \"a.feature\"\nscenario = \"x\"\nreason = \"because\"\n",
        )
        .unwrap_err();
        assert!(e.contains("needs a reason"), "{e}");
    }

    #[test]
    fn active_is_found_in_both_dialects() {
        let mut default =
            json!({"Operations": [{"op": "Replace", "path": "active", "value": "False"}]});
        let mut scim2020 =
            json!({"Operations": [{"op": "replace", "value": {"active": false, "sn": "x"}}]});
        assert!(remove_active(&mut default, false));
        assert!(remove_active(&mut scim2020, false));
        assert_eq!(default["Operations"], json!([]));
        assert_eq!(
            scim2020["Operations"],
            json!([{"op": "replace", "value": {"sn": "x"}}])
        );
    }
}
