//! The script connector: the example program (`examples/connectors/script-sqlite.py`) over an
//! SQLite table through a whole lifecycle, read back from the table itself; and the contract's
//! edges with small shell programs — exit status 3 and its error object, other statuses, a
//! timeout, output that is not an answer, no shell between the host and the program, a clean
//! environment, and secrets kept out of every answer.

use std::path::Path;
use std::time::{Duration, Instant};

use axum::Router;
use reference_host::Host;
use reference_host::config::Config;
use reference_host::secret::{Secret, SecretSource};
use serde_json::{Value, json};

use crate::sql_sandbox::{self as sandbox, Sandbox};
use crate::support::{
    EXT, Reply, TOKEN, call_connector, employee as create, patch_request as patch, wait_known,
};

async fn call(app: &Router, method: &str, path: &str, body: Option<&Value>) -> Reply {
    call_connector(app, "Script", method, path, body).await
}

const SETUP: &str = include_str!("../../../features/sql/sqlite-table.sql");
const PROGRAM: &str = "../examples/connectors/script-sqlite.py";

fn host_config(command: &[String], extra: &str) -> Config {
    let command = serde_json::to_string(command).unwrap();
    let text = format!(
        r#"[server]
plain_http = true

[[connector]]
name = "Script"
token = {{ env = "UNUSED_TOKEN_VARIABLE" }}
autosync_minutes = 0

[connector.deprovisioning]
disable_flow = {{ set_attribute = "isSoftDeleted", value = true }}
delete_flow = "delete"

[connector.script]
command = {command}
anchor = "ContosoLogin"
page_size = 2
timeout_seconds = 5
{extra}
attributes = [
  {{ name = "ContosoLogin", treat_as_single_value = true }},
  {{ name = "FirstName", treat_as_single_value = true }},
  {{ name = "LastName", treat_as_single_value = true }},
  {{ name = "Email", treat_as_single_value = true }},
]
"#
    );
    let mut config = Config::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    config.connectors[0].token = SecretSource::Inline(Secret::new(TOKEN));
    config.validate().unwrap_or_else(|e| panic!("{e}\n{text}"));
    config
}

fn python() -> String {
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3".into()
    } else {
        "python3".into()
    }
}

/// A table of its own and a host whose script connector runs the example program on it.
struct ScriptHost {
    app: Router,
    host: Host,
    pool: sqlx::AnyPool,
    _sandbox: Sandbox,
    _dir: tempfile::TempDir,
}

impl ScriptHost {
    async fn start(name: &str) -> ScriptHost {
        ScriptHost::start_with(name, "").await
    }

    /// As [`ScriptHost::start`], with `extra` lines in `[connector.script]`.
    async fn start_with(name: &str, extra: &str) -> ScriptHost {
        let dir = tempfile::tempdir().unwrap();
        let sandbox = Sandbox::create(
            &format!("sqlite://{}", dir.path().display()),
            &format!("script_{name}"),
            SETUP,
        )
        .await
        .unwrap();
        let pool = sandbox::connect(&sandbox.url).await.unwrap();
        let program = Path::new(env!("CARGO_MANIFEST_DIR")).join(PROGRAM);
        let command = vec![
            python(),
            program.display().to_string(),
            sandbox.url.trim_start_matches("sqlite://").to_owned(),
            "Employees".into(),
            "ContosoLogin".into(),
        ];
        let host = Host::new(host_config(&command, extra), dir.path()).unwrap();
        host.check_targets(Duration::from_secs(10)).await.unwrap();
        host.import_all().await.unwrap();
        ScriptHost {
            app: host.app(),
            host,
            pool,
            _sandbox: sandbox,
            _dir: dir,
        }
    }

    /// The row of `login`, read from the table: column → text (NULL as `None`).
    async fn row(&self, login: &str) -> Option<Vec<(String, Option<String>)>> {
        use sqlx::Row as _;
        let row = sqlx::query(
            "SELECT ContosoLogin, FirstName, LastName, Email, Notes, \
             CAST(isSoftDeleted AS TEXT) AS isSoftDeleted FROM Employees WHERE ContosoLogin = ?",
        )
        .bind(login.to_owned())
        .fetch_optional(&self.pool)
        .await
        .unwrap()?;
        Some(
            [
                "ContosoLogin",
                "FirstName",
                "LastName",
                "Email",
                "Notes",
                "isSoftDeleted",
            ]
            .iter()
            .map(|c| {
                (
                    (*c).to_owned(),
                    row.try_get::<Option<String>, _>(*c).unwrap(),
                )
            })
            .collect(),
        )
    }

    async fn column(&self, login: &str, column: &str) -> Option<String> {
        self.row(login)
            .await
            .and_then(|r| r.into_iter().find(|(c, _)| c == column))
            .and_then(|(_, v)| v)
    }
}

#[tokio::test]
async fn the_example_program_keeps_the_whole_lifecycle_in_the_table() {
    lifecycle(ScriptHost::start("lifecycle").await).await;
}

#[tokio::test]
async fn the_example_program_keeps_the_whole_lifecycle_in_session_mode() {
    lifecycle(ScriptHost::start_with("session", "mode = \"session\"\nsessions = 2").await).await;
}

async fn lifecycle(h: ScriptHost) {
    // Create: 201, the anchor as id, the row in the table.
    let r = call(&h.app, "POST", "/Users", Some(&create("lee"))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["id"], "lee");
    assert_eq!(
        h.column("lee", "LastName").await.as_deref(),
        Some("Jacobson")
    );
    assert_eq!(h.column("lee", "isSoftDeleted").await.as_deref(), Some("0"));

    // The same Email for another user: the table's UNIQUE refuses it — 409, nothing written.
    let mut twin = create("lee2");
    twin[EXT]["Email"] = json!("lee@contoso.lab");
    let r = call(&h.app, "POST", "/Users", Some(&twin)).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(r.body["scimType"], "uniqueness");
    assert!(h.row("lee2").await.is_none());

    // A value the table's CHECK refuses (LastName over 64 characters): 400, row unchanged.
    let before = h.row("lee").await;
    let r = call(
        &h.app,
        "PATCH",
        "/Users/lee",
        Some(&patch(
            json!([{"op": "Replace", "path": format!("{EXT}:LastName"), "value": "x".repeat(65)}]),
        )),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["scimType"], "invalidValue");
    assert!(
        r.body["detail"].as_str().unwrap().contains("CHECK"),
        "{}",
        r.body
    );
    assert_eq!(h.row("lee").await, before);

    // PATCH: one column, an apostrophe and a diacritic carried as they are; Notes untouched.
    let r = call(
        &h.app,
        "PATCH",
        "/Users/lee",
        Some(&patch(
            json!([{"op": "Replace", "path": format!("{EXT}:LastName"), "value": "O'Brien-Zoë"}]),
        )),
    )
    .await;
    assert!(
        r.status == 200 || r.status == 204,
        "{} {}",
        r.status,
        r.body
    );
    assert_eq!(
        h.column("lee", "LastName").await.as_deref(),
        Some("O'Brien-Zoë")
    );
    assert_eq!(h.column("lee", "Notes").await, None);

    // Disable: the flow sets isSoftDeleted.
    let r = call(
        &h.app,
        "PATCH",
        "/Users/lee",
        Some(&patch(
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
        )),
    )
    .await;
    assert!(
        r.status == 200 || r.status == 204,
        "{} {}",
        r.status,
        r.body
    );
    assert_eq!(h.column("lee", "isSoftDeleted").await.as_deref(), Some("1"));

    // A row added out of band is found after an import (pages of 2: three rows, two pages).
    for login in ["ann", "bo"] {
        sqlx::query("INSERT INTO Employees (ContosoLogin, LastName) VALUES (?, 'Out')")
            .bind(login)
            .execute(&h.pool)
            .await
            .unwrap();
    }
    h.host.import_all().await.unwrap();
    for login in ["ann", "bo", "lee"] {
        let r = call(&h.app, "GET", &format!("/Users/{login}"), None).await;
        assert_eq!(r.status, 200, "{login}: {}", r.body);
    }

    // Delete: the row is gone; again: 404.
    let r = call(&h.app, "DELETE", "/Users/lee", None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert!(h.row("lee").await.is_none());
    let r = call(&h.app, "DELETE", "/Users/lee", None).await;
    assert_eq!(r.status, 404, "{}", r.body);
}

/// A host whose script connector runs `sh -c BODY` as its program — an inline program for the
/// contract's edges (the program is `sh`; the host itself never runs a shell). `sh` gets
/// `marker` as `$1`.
async fn shell_host(dir: &Path, body: &str, marker: &str, extra: &str) -> Host {
    let command = vec![
        "sh".to_owned(),
        "-c".to_owned(),
        body.to_owned(),
        "program".to_owned(),
        marker.to_owned(),
    ];
    Host::new(host_config(&command, extra), dir).unwrap()
}

const ANSWER_IMPORT: &str = r#"read request; case "$request" in *'"import"'*) echo '{"objects":[],"cursor":null}'; exit 0;; esac;"#;

#[tokio::test]
async fn exit_status_3_is_the_programs_own_error_and_other_failures_are_503_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret"), "hunter2-very-secret").unwrap();
    let secret_env = r#"environment = { HR_PASSWORD = { file = "secret" } }"#;

    // Exit 3 with a classified error: the host answers by its kind, with the message.
    let body = format!(
        r#"{ANSWER_IMPORT} echo '{{"error":{{"kind":"rejected","message":"LastName: too long for HR"}}}}'; exit 3"#
    );
    let host = shell_host(dir.path(), &body, "", secret_env).await;
    host.import_all().await.unwrap();
    let r = call(&host.app(), "POST", "/Users", Some(&create("lee"))).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["scimType"], "invalidValue");
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("too long for HR"),
        "{}",
        r.body
    );

    // Per-change errors in an exit-0 answer: alreadyExists is 409.
    let body = format!(
        r#"{ANSWER_IMPORT} echo '{{"results":[{{"error":{{"kind":"alreadyExists","message":"taken"}}}}]}}'"#
    );
    let host = shell_host(dir.path(), &body, "", secret_env).await;
    host.import_all().await.unwrap();
    let r = call(&host.app(), "POST", "/Users", Some(&create("lee"))).await;
    assert_eq!(r.status, 409, "{}", r.body);

    // Any other status, with the secret on stderr: 503, and the secret in no answer.
    let body = format!(r#"{ANSWER_IMPORT} echo "cannot log in with $HR_PASSWORD" >&2; exit 1"#);
    let host = shell_host(dir.path(), &body, "", secret_env).await;
    host.import_all().await.unwrap();
    let r = call(&host.app(), "POST", "/Users", Some(&create("lee"))).await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("exited with status 1"),
        "{}",
        r.body
    );
    assert!(!r.body.to_string().contains("hunter2"), "{}", r.body);

    // Output that is not an answer: 503.
    let body = format!(r#"{ANSWER_IMPORT} echo 'not json'"#);
    let host = shell_host(dir.path(), &body, "", "").await;
    host.import_all().await.unwrap();
    let r = call(&host.app(), "POST", "/Users", Some(&create("lee"))).await;
    assert_eq!(r.status, 503, "{}", r.body);

    // An add answered without the object: the host cannot know the target's picture.
    let body = format!(r#"{ANSWER_IMPORT} echo '{{"results":[{{}}]}}'"#);
    let host = shell_host(dir.path(), &body, "", "").await;
    host.import_all().await.unwrap();
    let r = call(&host.app(), "POST", "/Users", Some(&create("lee"))).await;
    assert_eq!(r.status, 502, "{}", r.body);
}

#[tokio::test]
async fn a_talkative_program_is_read_to_its_end_and_its_own_words_lose_the_secrets() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret"), "hunter2-very-secret").unwrap();
    let secret_env = r#"environment = { HR_PASSWORD = { file = "secret" } }"#;
    // 1 MiB on standard error before the answer: more than the host keeps, never a pipe that
    // blocks the program until the timeout.
    let body = format!(
        r#"{ANSWER_IMPORT} head -c 1048576 /dev/zero | tr '\0' x >&2; echo "{{\"error\":{{\"kind\":\"rejected\",\"message\":\"HR said: bad password $HR_PASSWORD\"}}}}"; exit 3"#
    );
    let host = shell_host(dir.path(), &body, "", secret_env).await;
    host.import_all().await.unwrap();
    let started = Instant::now();
    let r = call(&host.app(), "POST", "/Users", Some(&create("lee"))).await;
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(r.status, 400, "{}", r.body);
    let detail = r.body["detail"].as_str().unwrap();
    assert!(detail.contains("bad password ***"), "{detail}");
    assert!(!r.body.to_string().contains("hunter2"), "{}", r.body);
    // The same in a per-change error of an exit-0 answer.
    let body = format!(
        r#"{ANSWER_IMPORT} echo "{{\"results\":[{{\"error\":{{\"kind\":\"rejected\",\"message\":\"no: $HR_PASSWORD\"}}}}]}}""#
    );
    let host = shell_host(dir.path(), &body, "", secret_env).await;
    host.import_all().await.unwrap();
    let r = call(&host.app(), "POST", "/Users", Some(&create("lee"))).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(!r.body.to_string().contains("hunter2"), "{}", r.body);
}

/// A session-mode program in `sh`: it appends its pid to `$1` when it starts, then answers
/// each request line by `CASES` (shell `case` arms on the request), imports with nothing.
fn session_program(cases: &str) -> String {
    format!(
        r#"echo $$ >> "$1"; while read -r request; do case "$request" in *'"import"'*) echo '{{"objects":[],"cursor":null}}';; {cases} esac; done"#
    )
}

#[tokio::test]
async fn a_session_answers_many_requests_and_one_that_breaks_is_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    let marker = pids.display().to_string();
    let session = "mode = \"session\"\nsessions = 1";
    // Creates answered with an error line: 400 each, the same program answering all of them.
    let body =
        session_program(r#"*) echo '{"error":{"kind":"rejected","message":"HR refuses"}}';;"#);
    let host = shell_host(dir.path(), &body, &marker, session).await;
    host.import_all().await.unwrap();
    for _ in 0..5 {
        let r = call(&host.app(), "POST", "/Users", Some(&create("lee"))).await;
        r.assert_detail(400, "HR refuses");
    }
    let started = std::fs::read_to_string(&pids).unwrap();
    assert_eq!(started.lines().count(), 1, "{started}");

    // A program that ends its session on a create: 503, and the next request starts another.
    std::fs::remove_file(&pids).unwrap();
    let body = session_program(r#"*) exit 1;;"#);
    let host = shell_host(dir.path(), &body, &marker, session).await;
    host.import_all().await.unwrap();
    let r = call(&host.app(), "POST", "/Users", Some(&create("lee"))).await;
    r.assert_detail(503, "ended its session");
    host.import_all().await.unwrap();
    let started = std::fs::read_to_string(&pids).unwrap();
    assert_eq!(started.lines().count(), 2, "{started}");

    // An answer of two lines: the second answers nobody, and that program is not used again
    // (its stale line would answer the next request). Both lines in one write (printf), so
    // that they are there together: a program that writes its extra line only after the
    // host sent the next request cannot be told from one that answers it.
    std::fs::remove_file(&pids).unwrap();
    let body = session_program(
        r#"*) printf '%s\n%s\n' '{"error":{"kind":"rejected","message":"first"}}' '{"error":{"kind":"rejected","message":"stale"}}';;"#,
    );
    let host = shell_host(dir.path(), &body, &marker, session).await;
    host.import_all().await.unwrap();
    for _ in 0..2 {
        let r = call(&host.app(), "POST", "/Users", Some(&create("lee"))).await;
        r.assert_detail(400, "first");
    }

    // A line that is not JSON: 503, that program killed.
    std::fs::remove_file(&pids).unwrap();
    let body = session_program(r#"*) echo 'not json';;"#);
    let host = shell_host(dir.path(), &body, &marker, session).await;
    host.import_all().await.unwrap();
    let r = call(&host.app(), "POST", "/Users", Some(&create("lee"))).await;
    r.assert_detail(503, "not JSON");
    let pid = std::fs::read_to_string(&pids).unwrap().trim().to_owned();
    wait_gone(&pid).await;
}

#[tokio::test]
async fn a_session_that_does_not_answer_in_time_is_killed_with_its_children() {
    let dir = tempfile::tempdir().unwrap();
    let children = dir.path().join("child");
    // On an import, the program starts a child holding its output and waits for it.
    let body = r#"while read -r request; do case "$request" in *'"import"'*) sleep 30 & echo $! > "$1"; wait;; esac; done"#.to_owned();
    let mut config = host_config(
        &[
            "sh".into(),
            "-c".into(),
            body,
            "program".into(),
            children.display().to_string(),
        ],
        "mode = \"session\"",
    );
    config.connectors[0]
        .script
        .as_mut()
        .unwrap()
        .timeout_seconds = 1;
    times_out(config, dir.path(), &children).await;
}

/// A host on `config` (its program's timeout 1 s) whose program, asked to import, starts a
/// child that writes its pid to `pid_file` and holds the output: the import fails at the
/// timeout, and the child is gone with its program. (An export is given far longer: see
/// `an_export_the_client_gave_up_on_is_answered_503_and_the_space_follows_its_outcome`.)
async fn times_out(config: Config, dir: &Path, pid_file: &Path) {
    let host = Host::new(config, dir).unwrap();
    let started = Instant::now();
    let e = host.import_all().await.unwrap_err().to_string();
    assert!(e.contains("did not answer within 1 s"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(10));
    let pid = std::fs::read_to_string(pid_file).unwrap().trim().to_owned();
    wait_gone(&pid).await;
}

/// Waits (5 s at most) until process `pid` is gone or a zombie.
async fn wait_gone(pid: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::fs::read_to_string(format!("/proc/{pid}/status"))
        .is_ok_and(|s| !s.contains("State:\tZ"))
    {
        assert!(Instant::now() < deadline, "the program {pid} still runs");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_create_refused_as_taken_brings_the_targets_object_into_the_space() {
    // A row written out of band since the last import: the create is 409, and the host reads
    // the object by the DN its anchor makes, so Entra's next query finds it (ECMA-ROBUST-017).
    let h = ScriptHost::start("taken").await;
    sqlx::query("INSERT INTO Employees (ContosoLogin, LastName) VALUES ('oob', 'OutOfBand')")
        .execute(&h.pool)
        .await
        .unwrap();
    let r = call(&h.app, "GET", "/Users/oob", None).await;
    assert_eq!(r.status, 404, "{}", r.body);
    let r = call(&h.app, "POST", "/Users", Some(&create("oob"))).await;
    assert_eq!(r.status, 409, "{}", r.body);
    let r = call(&h.app, "GET", "/Users/oob", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body[EXT]["LastName"], "OutOfBand", "{}", r.body);
}

#[tokio::test]
async fn an_import_of_empty_pages_with_a_cursor_that_keeps_moving_is_stopped() {
    let dir = tempfile::tempdir().unwrap();
    // Every page empty, its cursor a new number each time.
    let body = r#"read request; echo "{\"objects\":[],\"cursor\":\"$(date +%s%N)\"}""#;
    let host = shell_host(dir.path(), body, "", "").await;
    let e = host.import_all().await.unwrap_err().to_string();
    assert!(e.contains("empty import pages in a row"), "{e}");
}

#[tokio::test]
async fn the_example_program_does_not_make_a_database_that_is_not_there() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.sqlite3");
    let program = Path::new(env!("CARGO_MANIFEST_DIR")).join(PROGRAM);
    let command = vec![
        python(),
        program.display().to_string(),
        missing.display().to_string(),
        "Employees".into(),
        "ContosoLogin".into(),
    ];
    let host = Host::new(host_config(&command, ""), dir.path()).unwrap();
    let e = host.import_all().await.unwrap_err().to_string();
    assert!(e.contains("cannot be opened"), "{e}");
    assert!(!missing.exists());
}

#[tokio::test]
async fn a_program_that_does_not_answer_in_time_is_stopped_and_answered_503() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    // The program starts a child of its own that holds the output pipe: the whole group goes.
    let body = r#"sleep 30 & echo $! > "$1"; wait"#.to_owned();
    // timeout_seconds = 5 in the configuration; a second one overrides it here.
    let mut config = host_config(
        &[
            "sh".into(),
            "-c".into(),
            body,
            "program".into(),
            pid_file.display().to_string(),
        ],
        "",
    );
    config.connectors[0]
        .script
        .as_mut()
        .unwrap()
        .timeout_seconds = 1;
    // The program's child (sleep, in the program's process group) goes too.
    times_out(config, dir.path(), &pid_file).await;
}

/// The clock the host's 503 goes by stands still while a write queues for the target and runs
/// on from there: what was waited before the queue still counts, the queue does not; outside
/// a write it is not touched.
#[tokio::test]
async fn a_write_clock_stands_still_while_the_write_queues() {
    use reference_host::connector::{ClockState, WriteClock};
    let clock = WriteClock::new();
    let state = clock.watch();
    clock
        .clone()
        .run(async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            WriteClock::queue();
            let ClockState::Queued(before) = *state.borrow() else {
                panic!("not queued: {:?}", *state.borrow());
            };
            assert!(before >= Duration::from_millis(100), "{before:?}");
            tokio::time::sleep(Duration::from_millis(400)).await;
            WriteClock::restart();
        })
        .await;
    let ClockState::Running(start) = *state.borrow() else {
        panic!("not running: {:?}", *state.borrow());
    };
    // 100 ms before the queue and what the test took since; not the 400 ms queued.
    let counted = start.elapsed();
    assert!(
        counted >= Duration::from_millis(100) && counted < Duration::from_millis(400),
        "{counted:?}"
    );
    WriteClock::queue();
    assert_eq!(*state.borrow(), ClockState::Running(start));
}

/// A host whose script connector runs `sh -c BODY` (`$1`: a file `pids` in `dir`) with
/// `extra` and `timeout_seconds = 1`, its space imported.
async fn one_second_host(dir: &Path, body: String, extra: &str) -> Host {
    let pids = dir.join("pids").display().to_string();
    let mut config = host_config(
        &["sh".into(), "-c".into(), body, "program".into(), pids],
        extra,
    );
    config.connectors[0]
        .script
        .as_mut()
        .unwrap()
        .timeout_seconds = 1;
    let host = Host::new(config, dir).unwrap();
    host.import_all().await.unwrap();
    host
}

/// ECMA-ROBUST-017 for programs: a program cannot be told to undo a change it is making, so an
/// export that outlasts `timeout_seconds` is answered 503 and the program goes on; the
/// connector space then follows what it answered. Before, the program was killed at the
/// timeout after it had written, and the host did not know the user until the next import
/// (the suite's "A create whose client gave up is seen once the directory has answered" and
/// "A change the host gave up on is shown as the directory made it" failed under
/// script-sqlite).
#[tokio::test]
async fn an_export_the_client_gave_up_on_is_answered_503_and_the_space_follows_its_outcome() {
    let late = r#"sleep 2; echo '{"results":[{"object":{"anchor":"lee","attributes":{"ContosoLogin":"lee","LastName":"Late"}}}]}'"#;
    for mode in ["session", "once"] {
        let dir = tempfile::tempdir().unwrap();
        let (body, extra) = if mode == "session" {
            (
                session_program(&format!("*) {late};;")),
                "mode = \"session\"",
            )
        } else {
            (format!("{ANSWER_IMPORT} {late}"), "")
        };
        let host = one_second_host(dir.path(), body, extra).await;
        let app = host.app();
        let r = call(&app, "POST", "/Users", Some(&create("lee"))).await;
        r.assert_detail(503, "the change goes on");
        wait_known(&app, "Script", "lee", "Late").await;
    }
}

#[tokio::test]
async fn an_export_that_waited_for_a_session_has_its_whole_timeout_from_then() {
    // One session, 1 s: "slow" is answered 503 after 1 s and keeps the session 1 s longer;
    // "fast", sent once the slow export has started, waits for the session and is answered at
    // once when it has it. Its second counts from then: the queue is the host's, not the
    // target's.
    let answer = |login: &str| {
        format!(
            r#"echo '{{"results":[{{"object":{{"anchor":"{login}","attributes":{{"ContosoLogin":"{login}","LastName":"Jacobson"}}}}}}]}}'"#
        )
    };
    let body = session_program(&format!(
        r#"*'"slow"'*) touch "$1.slow"; sleep 2; {};; *) {};;"#,
        answer("slow"),
        answer("fast")
    ));
    let dir = tempfile::tempdir().unwrap();
    let host = one_second_host(dir.path(), body, "mode = \"session\"\nsessions = 1").await;
    let app = host.app();
    let slow_user = create("slow");
    let slow = call(&app, "POST", "/Users", Some(&slow_user));
    let marker = dir.path().join("pids.slow");
    let fast = async {
        // Only once "slow" has the session: then "fast" must queue.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !marker.exists() {
            assert!(Instant::now() < deadline, "the slow export never started");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let started = Instant::now();
        (
            call(&app, "POST", "/Users", Some(&create("fast"))).await,
            started.elapsed(),
        )
    };
    let (slow, (fast, waited)) = tokio::join!(slow, fast);
    slow.assert_detail(503, "the change goes on");
    assert_eq!(fast.status, 201, "{}", fast.body);
    assert!(
        waited > Duration::from_secs(1),
        "fast did not queue: {waited:?}"
    );
    wait_known(&app, "Script", "slow", "Jacobson").await;
}

#[tokio::test]
async fn arguments_reach_the_program_as_written_with_a_clean_environment() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("seen");
    let body = format!(
        r#"{ANSWER_IMPORT} printf '%s\n' "$2" > "$1"; env >> "$1"; echo '{{"results":[{{}}]}}'"#
    );
    let command = vec![
        "sh".to_owned(),
        "-c".to_owned(),
        body,
        "program".to_owned(),
        out.display().to_string(),
        "$(touch pwned); `touch pwned2` *".to_owned(),
    ];
    std::fs::write(dir.path().join("secret"), "s3cret-value").unwrap();
    let host = Host::new(
        host_config(
            &command,
            r#"environment = { HR_PASSWORD = { file = "secret" } }"#,
        ),
        dir.path(),
    )
    .unwrap();
    host.import_all().await.unwrap();
    let _ = call(&host.app(), "POST", "/Users", Some(&create("lee"))).await;
    let seen = std::fs::read_to_string(&out).unwrap();
    let mut lines = seen.lines();
    assert_eq!(lines.next(), Some("$(touch pwned); `touch pwned2` *"));
    assert!(!dir.path().join("pwned").exists() && !dir.path().join("pwned2").exists());
    let env: Vec<&str> = lines.collect();
    assert!(env.contains(&"HR_PASSWORD=s3cret-value"), "{env:?}");
    // Cargo sets CARGO_PKG_NAME for the test process; the program does not inherit it.
    assert!(std::env::var("CARGO_PKG_NAME").is_ok());
    assert!(
        !env.iter().any(|l| l.starts_with("CARGO_PKG_NAME=")),
        "{env:?}"
    );
}

#[tokio::test]
async fn a_schema_without_a_configured_attribute_stops_the_host_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let body = r#"echo '{"attributes":[{"name":"ContosoLogin"},{"name":"LastName"},{"name":"FirstName"}]}'"#;
    let host = shell_host(dir.path(), body, "", "").await;
    let e = host
        .check_targets(Duration::from_secs(10))
        .await
        .unwrap_err();
    assert!(e.contains("no attribute \"Email\""), "{e}");
}

#[tokio::test]
async fn a_configuration_without_a_program_or_with_a_foreign_anchor_is_refused() {
    for (command, anchor, key) in [
        ("[]", "ContosoLogin", "script.command"),
        (r#"["prog"]"#, "Nope", "script.anchor"),
    ] {
        let text = format!(
            r#"[server]
plain_http = true
[[connector]]
name = "Script"
token = {{ env = "T" }}
[connector.script]
command = {command}
anchor = "{anchor}"
attributes = [{{ name = "ContosoLogin" }}]
"#
        );
        let e = Config::parse(&text).unwrap().validate().unwrap_err();
        assert!(e.to_string().contains(key), "{e}");
    }
}
