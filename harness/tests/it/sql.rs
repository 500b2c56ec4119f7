//! The suite against the reference host on real PostgreSQL and MariaDB (the services on
//! 127.0.0.1) and on SQLite, for every SQL profile, in both dialects: each run gets a schema,
//! database or file of its own, made by the profile's setup script; rows are read back by the
//! SQL probe, never through the host. Deliberately defective hosts show the SQL checks fail.

use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use harness::config::{Config, HostConfig, ImportHook, TargetConfig};
use harness::runner::{self, RunOptions};
use harness::suite::Suite;
use mock_targets::sql::{Engine, Sandbox};
use reference_host::secret::{Secret, SecretSource};
use reference_host::{Host, cert};
use reports::{Outcome, Report};

use crate::support::{TOKEN, assert_passed, both_dialects, said, serve_https};

static NEXT: AtomicUsize = AtomicUsize::new(0);

const HOW_TO_START: &str = "PostgreSQL and MariaDB must run on 127.0.0.1 (see the shared \
     README-services.md): pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start; \
     start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd";

fn server(engine: Engine, dir: &std::path::Path) -> String {
    match engine {
        Engine::Postgres => std::env::var("ECMACERT_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into()),
        Engine::MySql => std::env::var("ECMACERT_MARIADB_URL")
            .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into()),
        Engine::Sqlite => format!("sqlite://{}", dir.display()),
    }
}

/// The example host configuration for a profile.
fn example(profile: &str) -> &'static str {
    match profile.split('-').collect::<Vec<_>>().as_slice() {
        ["postgres", "types"] => include_str!("../../../examples/ecma-host-postgres-types.toml"),
        ["mariadb", "types"] => include_str!("../../../examples/ecma-host-mariadb-types.toml"),
        ["postgres", ..] => include_str!("../../../examples/ecma-host-postgres.toml"),
        ["mariadb", ..] => include_str!("../../../examples/ecma-host-mariadb.toml"),
        _ => include_str!("../../../examples/ecma-host-sqlite.toml"),
    }
}

/// A reference host on a fresh sandbox for `profile`, configured as the engine's example says
/// (with the commented-out procedures when `procedures`), served over HTTPS; the run
/// configuration that points the suite at both.
pub struct SqlFixture {
    dir: tempfile::TempDir,
    config: Config,
    sandbox: Option<Sandbox>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    /// The TCP fault proxy between the host and the database, when there is one.
    faults: Option<std::sync::Arc<dyn harness::faults::ControlledTarget>>,
}

impl Drop for SqlFixture {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(sandbox) = self.sandbox.take() {
            sandbox.drop_blocking();
        }
    }
}

impl SqlFixture {
    pub async fn start(
        profile: &str,
        procedures: bool,
        defect: fn(Router) -> Router,
    ) -> SqlFixture {
        Self::start_with(profile, procedures, defect, false).await
    }

    /// [`SqlFixture::start`], the host reaching the database through ecmacert's TCP fault
    /// proxy (`target.fault_proxy`) when `proxy`.
    pub async fn start_with(
        profile: &str,
        procedures: bool,
        defect: fn(Router) -> Router,
        proxy: bool,
    ) -> SqlFixture {
        let suite = Suite::embedded().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let engine = match profile.split('-').next().unwrap() {
            "postgres" => Engine::Postgres,
            "mariadb" => Engine::MySql,
            _ => Engine::Sqlite,
        };
        let name = format!(
            "ecmacert_suite_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let sandbox = Sandbox::create(
            &server(engine, dir.path()),
            &name,
            &suite.setup_script(profile).unwrap(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}\n{HOW_TO_START}"));
        // The example, with the procedures uncommented when the profile uses them.
        let mut text = example(profile).to_owned();
        if procedures {
            text = text
                .lines()
                .map(|l| {
                    let uncommented = l.strip_prefix("# ").unwrap_or(l);
                    if [
                        "[connector.sql.procedures]",
                        "read_page",
                        "add =",
                        "update =",
                        "delete =",
                    ]
                    .iter()
                    .any(|k| uncommented.starts_with(k))
                    {
                        uncommented.to_owned()
                    } else {
                        l.to_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n");
        }
        let mut host_config = reference_host::config::Config::parse(&text).unwrap();
        let c = &mut host_config.connectors[0];
        c.token = SecretSource::Inline(Secret::new(TOKEN));
        c.autosync_minutes = 0;
        let connector = c.name.clone();
        let s = c.sql.as_mut().unwrap();
        assert_eq!(s.procedures.is_some(), procedures, "{text}");
        s.url = sandbox.url.clone();
        let mut target = TargetConfig::sql(sandbox.url.clone());
        let mut faults = None;
        if proxy {
            let listen = format!("127.0.0.1:{}", crate::support::free_port());
            target.fault_proxy = Some(harness::config::FaultProxyConfig {
                listen: listen.parse().unwrap(),
            });
            faults = harness::fault_proxy::start(&target).await.unwrap();
            let mut url = url::Url::parse(&sandbox.url).unwrap();
            url.set_port(Some(target.fault_proxy.as_ref().unwrap().listen.port()))
                .unwrap();
            url.set_host(Some("127.0.0.1")).unwrap();
            s.url = url.to_string();
        }
        s.password = None;
        s.page_size = 2;
        // Shorter than the lock-wait scenario's hold, so that the host gives up and its 503
        // is judged.
        s.timeout_seconds = 3;
        let host = Host::new(host_config, dir.path()).unwrap();
        host.import_all().await.unwrap();
        let (crt, key) = cert::generate("localhost", &dir.path().join("certs")).unwrap();
        let tls = cert::server_config(&crt, &key).unwrap();
        let app = defect(host.app());
        let (port, stop) = serve_https(host, app, tls);
        let config = Config {
            profile: Some(profile.to_owned()),
            profiles: Vec::new(),
            profiles_dir: None,
            host: HostConfig {
                base_url: format!("https://localhost:{port}"),
                scim_url: None,
                allow_plaintext: false,
                insecure_tls: false,
                standby: None,
                connector,
                token: SecretSource::Inline(Secret::new(TOKEN)),
                ca_certificate: Some(crt),
                command: None,
                ready_timeout_seconds: 10,
                request_timeout_seconds: 30,
                import: Some(ImportHook::Http {
                    method: "POST".into(),
                    path: "/cache/import".into(),
                }),
                restart: Some(ImportHook::Http {
                    method: "POST".into(),
                    path: "/cache/restart".into(),
                }),
                other_connector: None,
            },
            target,
        };
        config.validate().unwrap();
        SqlFixture {
            dir,
            config,
            sandbox: Some(sandbox),
            stop: Some(stop),
            faults,
        }
    }

    pub async fn run(&self, options: &RunOptions) -> Report {
        let suite = Suite::embedded().unwrap();
        runner::run_with(
            &suite,
            &self.config,
            self.dir.path(),
            options,
            self.faults.clone(),
        )
        .await
        .unwrap()
    }
}

/// The profile passes in both dialects, its SQL scenarios among what passed.
async fn passes(profile: &str, procedures: bool) {
    let fixture = SqlFixture::start(profile, procedures, |app| app).await;
    let report = fixture.run(&both_dialects()).await;
    assert_passed(&report);
    assert!(report.leftovers.is_empty(), "{:?}", report.leftovers);
    assert_eq!(report.runs.len(), 2);
    for run in &report.runs {
        let sql: Vec<&str> = run
            .cases
            .iter()
            .filter(|c| c.feature == "sql/tables.feature" && c.outcome == Outcome::Passed)
            .map(|c| c.scenario.as_str())
            .collect();
        assert!(sql.len() >= 6, "{} {}: {sql:?}", run.profile, run.dialect);
        assert_eq!(
            sql.contains(&"Creates, updates and deletes go through the stored procedures"),
            procedures,
            "{sql:?}"
        );
        assert!(run.counts().passed >= 40, "{} {}", run.profile, run.dialect);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_host_passes_postgres_table() {
    passes("postgres-table", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_host_passes_mariadb_table() {
    passes("mariadb-table", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_host_passes_sqlite_table() {
    passes("sqlite-table", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_host_passes_postgres_types() {
    passes("postgres-types", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_host_passes_mariadb_types() {
    passes("mariadb-types", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_host_passes_postgres_procedures() {
    passes("postgres-procedures", true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_host_passes_mariadb_procedures() {
    passes("mariadb-procedures", true).await;
}

fn failure(report: &Report, scenario: &str) -> String {
    let (outcome, text) = said(report, scenario);
    assert_eq!(outcome, Outcome::Failed, "{scenario}: {text}");
    text
}

fn only(tags: &str) -> RunOptions {
    RunOptions {
        dialects: vec![scim_proto::Dialect::EntraDefault],
        tags: Some(tags.into()),
        ..both_dialects()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_writes_the_table_itself_fails_the_procedures_check() {
    // The procedures profile's tables, but a host in table mode: the rows are right, the
    // procedure log is empty.
    let fixture = SqlFixture::start("postgres-procedures", false, |app| app).await;
    let report = fixture
        .run(&only("@sql and not @req:ECMA-IMPORT-012"))
        .await;
    assert_eq!(
        report.exit_code(),
        0,
        "a MAY scenario fails without failing the run"
    );
    let (outcome, message) = said(
        &report,
        "Creates, updates and deletes go through the stored procedures",
    );
    assert_eq!(outcome, Outcome::Warned, "{message}");
    assert!(message.contains("EcmaCalls records []"), "{message}");
    // The read procedure's paging cannot be judged on a host that never calls it: blocked,
    // with why, rather than failed.
    let report = fixture.run(&only("@req:ECMA-IMPORT-012")).await;
    let (outcome, message) = said(
        &report,
        "A read procedure that ignores its page bounds stops the import, and the connector space is kept",
    );
    assert_eq!(outcome, Outcome::Blocked, "{message}");
    assert!(
        message.contains("does not use the stored procedures"),
        "{message}"
    );
}

/// A defect: every answer says the user is active.
async fn always_active(request: Request<Body>, next: Next) -> Response {
    let get = request.method() == Method::GET;
    let response = next.run(request).await;
    if !get {
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let text = String::from_utf8_lossy(&bytes).replace("\"active\":false", "\"active\":true");
    let mut response = Response::from_parts(parts, Body::from(text));
    response
        .headers_mut()
        .remove(axum::http::header::CONTENT_LENGTH);
    response
}

/// Sends the request on with its body rewritten by `edit` (as text).
async fn with_body(request: Request<Body>, next: Next, edit: impl Fn(&str) -> String) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let text = edit(&String::from_utf8_lossy(&bytes));
    let mut request = Request::from_parts(parts, Body::from(text));
    request
        .headers_mut()
        .remove(axum::http::header::CONTENT_LENGTH);
    next.run(request).await
}

/// A SCIM Error answer a defect makes up.
fn scim_error_answer(status: u16, scim_type: Option<&str>, detail: &str) -> Response {
    let mut body = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": status.to_string(),
        "detail": detail,
    });
    if let Some(t) = scim_type {
        body["scimType"] = serde_json::json!(t);
    }
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = axum::http::StatusCode::from_u16(status).unwrap();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        "application/scim+json".parse().unwrap(),
    );
    response
}

/// A defect: values are cut to the column's length instead of refused.
async fn truncate(request: Request<Body>, next: Next) -> Response {
    with_body(request, next, |text| {
        text.replace(&"x".repeat(65), &"x".repeat(64))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_that_hide_soft_deletes_or_cut_values_fail_the_sql_checks() {
    let fixture = SqlFixture::start("sqlite-table", false, |app| {
        app.layer(middleware::from_fn(always_active))
    })
    .await;
    let report = fixture.run(&only("@sql")).await;
    assert_eq!(report.exit_code(), 1);
    let message = failure(
        &report,
        "A soft-deleted row is kept, still matched, and shown inactive",
    );
    assert!(message.contains("expected active = false"), "{message}");

    let fixture = SqlFixture::start("sqlite-table", false, |app| {
        app.layer(middleware::from_fn(truncate))
    })
    .await;
    let report = fixture.run(&only("@sql")).await;
    assert_eq!(report.exit_code(), 1);
    for scenario in [
        "A value longer than its column is refused and no row is written",
        "An update longer than its column is refused and changes nothing",
    ] {
        let message = failure(&report, scenario);
        assert!(message.contains("expected 400"), "{scenario}: {message}");
    }
}

/// The probe's database password in this test: short, but no common word.
const SHORT_PASSWORD: &str = "Kx7q";

/// A defect: error answers give the database password away.
async fn leak_short_password(request: Request<Body>, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status().is_success() {
        return response;
    }
    crate::support::scim_error(
        response.status(),
        None,
        &format!("connected with password {SHORT_PASSWORD}, and it failed"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_leaks_a_short_password_fails_and_the_report_does_not_leak_it() {
    let mut fixture = SqlFixture::start("postgres-table", false, |app| {
        app.layer(middleware::from_fn(leak_short_password))
    })
    .await;
    // The local PostgreSQL trusts loopback connections, so any password is accepted: the
    // probe connects with this one, and the host's defect gives it away.
    fixture.config.target.bind_password = Some(SecretSource::Inline(Secret::new(SHORT_PASSWORD)));
    let report = fixture.run(&only("@req:ECMA-READ-002")).await;
    let (outcome, message) = said(&report, "An unknown id is 404 and changes nothing");
    assert_eq!(outcome, Outcome::Failed, "{message}");
    assert!(message.contains("ECMA-ERR-008"), "{message}");
    let everything = serde_json::to_string(&report).unwrap()
        + &reports::junit::render(&report)
        + &reports::terminal::render(&report);
    assert!(
        !everything.contains(SHORT_PASSWORD),
        "the password reached the report"
    );
    assert!(everything.contains("<redacted>"));
}

/// The database of the fixture the rewriting defect writes to (one test uses it).
static REWRITTEN_DB: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// A defect: after every PATCH the row is written again with the values it has.
async fn rewrite_row_after_patch(request: Request<Body>, next: Next) -> Response {
    let patch = request.method() == Method::PATCH;
    let id = crate::support::id_in_path(request.uri());
    let response = next.run(request).await;
    if !patch || !response.status().is_success() {
        return response;
    }
    let url = REWRITTEN_DB.lock().unwrap().clone().unwrap();
    let engine = Engine::of_url(&url).unwrap();
    let pool = mock_targets::sql::connect(&url).await.unwrap();
    let sql = format!(
        "UPDATE {} SET {ln} = {ln} WHERE {} = {}",
        engine.quote("Employees"),
        engine.quote("ContosoLogin"),
        engine.placeholder(1),
        ln = engine.quote("LastName"),
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(
            percent_encoding::percent_decode_str(&id)
                .decode_utf8_lossy()
                .into_owned(),
        )
        .execute(&pool)
        .await
        .unwrap();
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_rewrites_a_row_with_its_own_values_fails_by_the_rows_version() {
    for (profile, version) in [("sqlite-table", "rowversion"), ("postgres-table", "xmin")] {
        let fixture = SqlFixture::start(profile, false, |app| {
            app.layer(middleware::from_fn(rewrite_row_after_patch))
        })
        .await;
        *REWRITTEN_DB.lock().unwrap() = Some(fixture.sandbox.as_ref().unwrap().url.clone());
        let report = fixture.run(&only("@req:ECMA-ROBUST-002")).await;
        let message = failure(
            &report,
            "A PATCH with the values the user already has changes nothing",
        );
        assert!(
            message.contains("written to although no value changed") && message.contains(version),
            "{profile}: {message}"
        );
    }
}

/// A defect: a failed import is reported as a success (as a host that trusts its read
/// procedure and imports what it got).
async fn import_claims_success(request: Request<Body>, next: Next) -> Response {
    let import = request.uri().path().ends_with("/cache/import");
    let response = next.run(request).await;
    if import && response.status().is_server_error() {
        return Response::new(Body::from(r#"{"imported":0}"#));
    }
    response
}

/// Runs the scenarios tagged `tags` on each profile twice: the reference host passes
/// `scenario`, the same host behind `defect` fails it (and the run). Returns each profile's
/// failure message.
async fn kills(
    profiles: &[&str],
    procedures: bool,
    tags: &str,
    scenario: &str,
    defect: fn(Router) -> Router,
) -> Vec<(String, String)> {
    let mut messages = Vec::new();
    for profile in profiles {
        let fixture = SqlFixture::start(profile, procedures, |app| app).await;
        let report = fixture.run(&only(tags)).await;
        assert_passed(&report);
        assert_eq!(said(&report, scenario).0, Outcome::Passed, "{profile}");
        let fixture = SqlFixture::start(profile, procedures, defect).await;
        let report = fixture.run(&only(tags)).await;
        assert_eq!(report.exit_code(), 1, "{profile}");
        messages.push(((*profile).to_owned(), failure(&report, scenario)));
    }
    messages
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_trusts_a_read_procedure_that_ignores_paging_fails_the_paging_check() {
    for (profile, message) in kills(
        &["postgres-procedures", "mariadb-procedures"],
        true,
        "@req:ECMA-IMPORT-012",
        "A read procedure that ignores its page bounds stops the import, and the connector space is kept",
        |app| app.layer(middleware::from_fn(import_claims_success)),
    )
    .await
    {
        assert!(
            message.contains("expected a 5xx") && message.contains("ECMA-IMPORT-012"),
            "{profile}: {message}"
        );
    }
}

/// A defect: an update that takes longer than a second is answered 503 while its write goes
/// on and commits when it can (a client-side timeout that leaves the statement running).
async fn gives_up_but_writes(request: Request<Body>, next: Next) -> Response {
    if request.method() != Method::PATCH {
        return next.run(request).await;
    }
    let write = tokio::spawn(next.run(request));
    tokio::select! {
        answer = write => answer.unwrap(),
        () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {
            scim_error_answer(503, None, "timed out")
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_whose_503_write_lands_later_fails_the_lock_wait_check() {
    for (profile, message) in kills(
        &["postgres-table", "mariadb-table"],
        false,
        "@req:ECMA-ERR-014",
        "An update that waits for another session's row lock lands only if the host says it did",
        |app| app.layer(middleware::from_fn(gives_up_but_writes)),
    )
    .await
    {
        assert!(message.contains("Locked-Out"), "{profile}: {message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_matches_byte_for_byte_fails_on_a_collation_that_pads_and_folds() {
    // byte_compare folds ASCII case but not spaces or accents; the selftest's
    // exact-byte-matching folds nothing.
    let exact = harness::selftest::mutants()
        .into_iter()
        .find(|m| m.name == "exact-byte-matching")
        .unwrap()
        .apply;
    let ascii_case_only: fn(Router) -> Router =
        |app| app.layer(middleware::from_fn(crate::shapes::byte_compare));
    for (scenario, defect) in [
        (
            "Matching finds what the table's own equality finds: trailing spaces",
            ascii_case_only,
        ),
        (
            "Matching finds what the table's own equality finds: another case",
            exact,
        ),
        (
            "Matching finds what the table's own equality finds: accents",
            ascii_case_only,
        ),
    ] {
        for (profile, message) in kills(
            &["mariadb-table"],
            false,
            "@req:ECMA-MATCH-015",
            scenario,
            defect,
        )
        .await
        {
            assert!(
                message.contains("the target's own equality finds"),
                "{profile}: {message}"
            );
        }
    }
}

/// A defect: "" is stored as a value (here a placeholder, as a host that writes `''` into a
/// NOT NULL column would), so the required column never goes empty and the PATCH succeeds.
async fn stores_empty_strings(request: Request<Body>, next: Next) -> Response {
    if request.method() != Method::PATCH {
        return next.run(request).await;
    }
    with_body(request, next, |text| {
        text.replace("\"value\":\"\"", "\"value\":\"-\"")
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_stores_an_empty_string_in_a_required_column_fails() {
    for (profile, message) in kills(
        &["sqlite-table", "postgres-table"],
        false,
        "@req:ECMA-ROBUST-011",
        "An empty string for an attribute the target requires is refused like its removal",
        |app| app.layer(middleware::from_fn(stores_empty_strings)),
    )
    .await
    {
        assert!(
            message.contains("expected an error"),
            "{profile}: {message}"
        );
    }
}

/// A defect: a duplicate is answered 400 invalidValue instead of 409 uniqueness (as a host
/// that maps every constraint violation to a bad value).
async fn conflict_as_bad_value(request: Request<Body>, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status() != axum::http::StatusCode::CONFLICT {
        return response;
    }
    scim_error_answer(400, Some("invalidValue"), "constraint violation")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_answers_a_taken_unique_value_with_400_fails() {
    for (profile, message) in kills(
        &["sqlite-table"],
        false,
        "@req:ECMA-ERR-015",
        "A value the target keeps unique, already another user's, is 409 uniqueness",
        |app| app.layer(middleware::from_fn(conflict_as_bad_value)),
    )
    .await
    {
        assert!(message.contains("expected 409"), "{profile}: {message}");
    }
}

/// A defect: a dateTime is written as a wall-clock time two hours east of UTC (as a host that
/// drops the zone, or writes the server's local time).
async fn shifts_date_times(request: Request<Body>, next: Next) -> Response {
    with_body(request, next, |text| {
        text.replace("T08:00:00Z", "T08:00:00+02:00")
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_writes_date_times_in_another_zone_fails_the_typed_tables() {
    for (profile, message) in kills(
        &["postgres-types", "mariadb-types"],
        false,
        "@sql",
        "A user is created without -dn- and found by its anchor",
        |app| app.layer(middleware::from_fn(shifts_date_times)),
    )
    .await
    {
        assert!(
            message.contains(
                "Hired: expected \"2024-05-01T08:00:00Z\", got [\"2024-05-01T06:00:00Z\"]"
            ),
            "{profile}: {message}"
        );
    }
}

/// A defect: a 201 without a Location header.
async fn no_location(request: Request<Body>, next: Next) -> Response {
    let mut response = next.run(request).await;
    response.headers_mut().remove(axum::http::header::LOCATION);
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_whose_201_does_not_say_where_fails() {
    for (profile, message) in kills(
        &["sqlite-table"],
        false,
        "@req:ECMA-CREATE-005",
        "The 201 says where the user is",
        |app| app.layer(middleware::from_fn(no_location)),
    )
    .await
    {
        assert!(
            message.contains("expected a Location header"),
            "{profile}: {message}"
        );
    }
}

/// A defect: connector names matched without case (`/ecma2host_sql/…` served as `SQL`).
async fn case_blind_connector(mut request: Request<Body>, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    if let Some(rest) = path.strip_prefix("/ecma2host_")
        && let Some((name, tail)) = rest.split_once('/')
        && name.eq_ignore_ascii_case("SQL")
    {
        let query = request
            .uri()
            .query()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        *request.uri_mut() = format!("/ecma2host_SQL/{tail}{query}").parse().unwrap();
    }
    next.run(request).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_ignores_the_case_of_connector_names_fails() {
    for (profile, message) in kills(
        &["sqlite-table"],
        false,
        "@req:ECMA-ERR-011",
        "A connector name that is the configured one in another case is a 4xx, never an empty list",
        |app| app.layer(middleware::from_fn(case_blind_connector)),
    )
    .await
    {
        assert!(
            message.contains("got 200 with a ListResponse"),
            "{profile}: {message}"
        );
    }
}

/// A defect: the client's id is taken (the answer carries the id the create claimed).
async fn takes_client_id(request: Request<Body>, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status() != axum::http::StatusCode::CREATED {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let mut resource: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    resource["id"] = serde_json::json!("client-chosen-id-0001");
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(resource.to_string()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_takes_the_clients_id_fails() {
    for (profile, message) in kills(
        &["sqlite-table"],
        false,
        "@req:ECMA-CREATE-006",
        "An id and meta the client sends are ignored",
        |app| app.layer(middleware::from_fn(takes_client_id)),
    )
    .await
    {
        assert!(
            message.contains("the id is the one the client sent"),
            "{profile}: {message}"
        );
    }
}

/// The connection faults through the TCP proxy, on both network databases: the host answers
/// 5xx while the database is away, writes nothing, and reconnects by itself once it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_faults_through_the_tcp_proxy_pass_on_postgres_and_mariadb() {
    for profile in ["postgres-table", "mariadb-table"] {
        let fixture = SqlFixture::start_with(profile, false, |app| app, true).await;
        let report = fixture.run(&only("@requires:connection-faults")).await;
        assert_passed(&report);
        let passed: Vec<&str> = report.runs[0]
            .cases
            .iter()
            .filter(|c| c.outcome == Outcome::Passed)
            .map(|c| c.scenario.as_str())
            .collect();
        // The two of connections.feature, and the first import held up by a database that
        // turns the restarted host away (ECMA-IMPORT-005).
        assert_eq!(passed.len(), 3, "{profile}: {passed:?}");
        let configuration = report.host_facts[0].configuration.as_ref().unwrap();
        assert!(
            configuration
                .target
                .fault_proxy
                .as_deref()
                .is_some_and(|p| p.ends_with("TCP connections only")),
            "{configuration:?}"
        );
    }
}

/// The same scenarios kill a host that claims a create the database never saw.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_answers_201_while_the_database_is_away_fails_through_the_tcp_proxy() {
    let defect = harness::selftest::mutants()
        .into_iter()
        .find(|m| m.name == "failed-create-201")
        .unwrap()
        .apply;
    let fixture = SqlFixture::start_with("postgres-table", false, defect, true).await;
    let report = fixture.run(&only("@requires:connection-faults")).await;
    let (outcome, message) = said(
        &report,
        "While the target drops the host's connections, creates get a 5xx and write nothing",
    );
    assert_eq!(outcome, Outcome::Failed, "{message}");
}
