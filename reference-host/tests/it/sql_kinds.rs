//! Issue 10: real-world SQL schemas — each test is one kind of fault, tried on the real
//! PostgreSQL and MariaDB (and SQLite where it applies), with the table read back directly.

use std::time::Duration;

use serde_json::json;

use crate::sql::{Setup, SqlHost, create};
use crate::sql_sandbox::{self as sandbox, Engine};

/// Runs the statements of a setup script (or any `-- go`-separated text) on the sandbox.
async fn run_script(h: &SqlHost, script: &str) {
    for statement in sandbox::statements(script) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement.clone()))
            .execute(&h.pool)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
}

/// The suite's deliberately wrong read procedure: every page full of the first row.
fn first_row_again(engine: Engine) -> &'static str {
    match engine {
        Engine::Postgres => include_str!("../../../features/sql/postgres-unpaged-read.sql"),
        Engine::MySql => include_str!("../../../features/sql/mariadb-unpaged-read.sql"),
        Engine::Sqlite => unreachable!("SQLite has no stored procedures"),
    }
}

/// A read procedure that returns every row for every page.
fn every_row(engine: Engine) -> &'static str {
    match engine {
        Engine::Postgres => {
            "CREATE OR REPLACE FUNCTION ecma_read_users(start_index BIGINT, end_index BIGINT) \
             RETURNS SETOF Employees LANGUAGE sql STABLE AS $$ \
             SELECT * FROM Employees ORDER BY ContosoLogin $$"
        }
        Engine::MySql => {
            "DROP PROCEDURE ecma_read_users\n-- go\n\
             CREATE PROCEDURE ecma_read_users(IN start_index BIGINT, IN end_index BIGINT) \
             BEGIN SELECT ContosoLogin, AzureID, FirstName, LastName, Email, DisplayName, \
             CAST(isSoftDeleted AS SIGNED) AS isSoftDeleted \
             FROM Employees ORDER BY ContosoLogin; END"
        }
        Engine::Sqlite => unreachable!("SQLite has no stored procedures"),
    }
}

/// A read procedure that honours the page size but ignores @StartIndex: the first rows again
/// and again.
fn first_rows_only(engine: Engine) -> &'static str {
    match engine {
        Engine::Postgres => {
            "CREATE OR REPLACE FUNCTION ecma_read_users(start_index BIGINT, end_index BIGINT) \
             RETURNS SETOF Employees LANGUAGE sql STABLE AS $$ \
             SELECT * FROM Employees ORDER BY ContosoLogin LIMIT end_index - start_index + 1 $$"
        }
        Engine::MySql => {
            "DROP PROCEDURE ecma_read_users\n-- go\n\
             CREATE PROCEDURE ecma_read_users(IN start_index BIGINT, IN end_index BIGINT) \
             BEGIN DECLARE wanted BIGINT DEFAULT end_index - start_index + 1; \
             SELECT ContosoLogin, AzureID, FirstName, LastName, Email, DisplayName, \
             CAST(isSoftDeleted AS SIGNED) AS isSoftDeleted \
             FROM Employees ORDER BY ContosoLogin LIMIT wanted; END"
        }
        Engine::Sqlite => unreachable!("SQLite has no stored procedures"),
    }
}

// Kind 1: the paging contract of an import is checked, and an import is bounded.

#[rstest::rstest]
#[case::postgres(Setup::PostgresProcedures)]
#[case::mariadb(Setup::MariaDbProcedures)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_procedure_that_ignores_paging_stops_the_import_and_keeps_the_space(
    #[case] setup: Setup,
) {
    let seed = [
        "INSERT INTO Employees (ContosoLogin, LastName) VALUES ('r1', 'One')",
        "INSERT INTO Employees (ContosoLogin, LastName) VALUES ('r2', 'Two')",
        "INSERT INTO Employees (ContosoLogin, LastName) VALUES ('r3', 'Three')",
    ];
    for (script, says) in [
        (
            first_row_again(setup.engine()),
            "returned the object \"made\" twice in page 1",
        ),
        (
            every_row(setup.engine()),
            "returned 4 rows for @StartIndex 1",
        ),
        (
            first_rows_only(setup.engine()),
            "returned the object \"made\" twice (pages 1 and 2)",
        ),
    ] {
        let h = SqlHost::start("unpaged", setup, &seed).await;
        let r = h
            .call("POST", "/Users", Some(&create("made", json!({}))))
            .await;
        assert_eq!(r.status, 201, "{r:#?}");
        run_script(&h, script).await;
        // Before the fix this import never ended (and its memory grew without bound).
        let e = tokio::time::timeout(Duration::from_secs(30), h.host().import_all())
            .await
            .expect("the import ends")
            .unwrap_err();
        let e = e.to_string();
        assert!(
            e.contains("ecma_read_users") && e.contains(says),
            "names the procedure and what it did: {e}"
        );
        // The hook answers 503 with the same words, and the space is the one before.
        let r = h.call("POST", "/cache/import", None).await;
        r.assert_error(503, None);
        assert!(r.detail().contains("ecma_read_users"), "{r:#?}");
        for id in ["r1", "r2", "r3", "made"] {
            let r = h.call("GET", &format!("/Users/{id}"), None).await;
            assert_eq!(r.status, 200, "{id} still answered: {r:#?}");
        }
        let r = h.call("GET", "/Users?startIndex=1&count=100", None).await;
        assert_eq!(r.body["totalResults"], 4, "{r:#?}");
    }
}

// Kind 2: a 5xx means the target does not hold the change, also when the write waited for a
// lock another session held past the host's timeout.

/// Another session's transaction that holds the row lock of `login`, or (when no such row
/// exists) the lock of an uncommitted row with that anchor.
async fn hold_lock(h: &SqlHost, login: &str) -> sqlx::Transaction<'static, sqlx::Any> {
    let mut tx = h.pool.begin().await.unwrap();
    let locked = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT ContosoLogin FROM Employees WHERE ContosoLogin = '{login}' FOR UPDATE"
    )))
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    if locked.is_empty() {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO Employees (ContosoLogin, LastName) VALUES ('{login}', 'Other session')"
        )))
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx
}

#[rstest::rstest]
#[case::postgres_table(Setup::PostgresTable)]
#[case::mariadb_table(Setup::MariaDbTable)]
#[case::postgres_procedures(Setup::PostgresProcedures)]
#[case::mariadb_procedures(Setup::MariaDbProcedures)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_the_host_gave_up_on_does_not_land_when_the_lock_is_released(#[case] setup: Setup) {
    let seed = ["INSERT INTO Employees (ContosoLogin, LastName) VALUES ('held', 'Before')"];
    let h = SqlHost::start_with("lockwait", setup, &seed, "timeout_seconds = 1").await;
    let change = |value: &str| {
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
               "Operations": [{"op": "Replace", "path": crate::support::ext("LastName"), "value": value}]})
    };
    // An update that waits past the timeout: 503, and nothing once the lock is gone.
    let tx = hold_lock(&h, "held").await;
    let started = std::time::Instant::now();
    let r = h.call("PATCH", "/Users/held", Some(&change("After"))).await;
    r.assert_error(503, None);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    tx.rollback().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let row = h.row("held").await.unwrap();
    assert_eq!(
        row.get("LastName").cloned().flatten().as_deref(),
        Some("Before"),
        "the update the host answered 503 for landed after the lock was released"
    );
    // A create that waits for another session's uncommitted row with its anchor: likewise.
    let tx = hold_lock(&h, "pending").await;
    let r = h
        .call("POST", "/Users", Some(&create("pending", json!({}))))
        .await;
    r.assert_error(503, None);
    tx.rollback().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        h.row("pending").await.is_none(),
        "the create the host answered 503 for landed after the lock was released"
    );
    // A lock released within the timeout: the write waits, lands once, and is answered 2xx.
    let tx = hold_lock(&h, "held").await;
    let release = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        tx.rollback().await.unwrap();
    });
    let r = h
        .call("PATCH", "/Users/held", Some(&change("Waited")))
        .await;
    assert!(matches!(r.status, 200 | 204), "{r:#?}");
    release.await.unwrap();
    let row = h.row("held").await.unwrap();
    assert_eq!(
        row.get("LastName").cloned().flatten().as_deref(),
        Some("Waited")
    );
}

// Kind 3: column types other than text and boolean read and write as the SCIM type the
// configuration declares; a type the connector cannot carry is refused when the catalogue is
// read, naming the column.

/// A table with the column types a Generic SQL user meets (Microsoft's SQL tutorial keeps the
/// Entra object id in a `uniqueidentifier`).
fn typed_table(engine: Engine) -> &'static str {
    match engine {
        Engine::Postgres => {
            "CREATE TABLE Typed (Login CHAR(24) NOT NULL PRIMARY KEY, AzureID UUID, \
             Hired TIMESTAMP WITH TIME ZONE, HiredLocal TIMESTAMP, Born DATE, Badge INTEGER, \
             Salary NUMERIC(10,2), Photo BYTEA, Deleted SMALLINT NOT NULL DEFAULT 0)"
        }
        Engine::MySql => {
            "CREATE TABLE Typed (Login CHAR(24) NOT NULL PRIMARY KEY, AzureID UUID, \
             Hired TIMESTAMP NULL, HiredLocal DATETIME(6), Born DATE, Badge INT, \
             Salary DECIMAL(10,2), Photo VARBINARY(64), Deleted SMALLINT NOT NULL DEFAULT 0)"
        }
        Engine::Sqlite => unreachable!("SQLite columns have no enforced type"),
    }
}

/// The host configuration for the typed table; `photo` is the type declared for Photo.
fn typed_config(url: &str, photo: &str) -> reference_host::config::Config {
    crate::sql::host_config(&typed_config_text(url, photo))
}

/// [`typed_config`] as TOML (its token from `ECMACERT_TEST_TOKEN`).
fn typed_config_text(url: &str, photo: &str) -> String {
    format!(
        r#"[server]
plain_http = true

[[connector]]
name = "SQL"
token = {{ env = "ECMACERT_TEST_TOKEN" }}
autosync_minutes = 0

[connector.deprovisioning]
disable_flow = {{ set_attribute = "Deleted", value = true }}
delete_flow = "delete"

[connector.sql]
url = "{url}"
table = "Typed"
anchor = "Login"
page_size = 2
timeout_seconds = 5
attributes = [
  {{ name = "Login" }},
  {{ name = "AzureID" }},
  {{ name = "Hired", type = "dateTime" }},
  {{ name = "HiredLocal", type = "dateTime" }},
  {{ name = "Born", type = "dateTime" }},
  {{ name = "Badge", type = "integer" }},
  {{ name = "Salary", type = "decimal" }},
  {{ name = "Photo", type = "{photo}" }},
]
"#
    )
}

#[rstest::rstest]
#[case::postgres(Engine::Postgres)]
#[case::mariadb(Engine::MySql)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn columns_of_every_common_type_read_and_write_as_their_scim_type(#[case] engine: Engine) {
    use crate::support::{EXT, TOKEN, send};
    let name = format!(
        "ecmacert_types_{}_{}",
        std::process::id(),
        match engine {
            Engine::Postgres => "pg",
            _ => "my",
        }
    );
    let sandbox = sandbox::Sandbox::create(&crate::sql::server(engine), &name, typed_table(engine))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", crate::sql::HOW_TO_START));
    let pool = sandbox::connect(&sandbox.url).await.unwrap();
    let host = reference_host::Host::new(
        typed_config(&sandbox.url, "binary"),
        std::path::Path::new("."),
    )
    .unwrap();
    host.import_all().await.unwrap();
    let app = host.app();
    let call = |method: &'static str, path: String, body: Option<serde_json::Value>| {
        let app = app.clone();
        async move {
            send(
                &app,
                method,
                &format!("/ecma2host_SQL/scim{path}"),
                body.map(|b| b.to_string()),
                Some(TOKEN),
                "application/scim+json",
            )
            .await
        }
    };
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", EXT],
        "userName": "lee@contoso.lab",
        "active": true,
        EXT: {
            "Login": "lee",
            "AzureID": "6F9619FF-8B86-D011-B42D-00C04FC964FF",
            "Hired": "2024-05-01T08:00:00Z",
            "HiredLocal": "2024-05-01T10:00:00+02:00",
            "Born": "1990-02-03T00:00:00Z",
            "Badge": 42,
            "Salary": "1234.50",
            "Photo": "AAEC/w==",
        },
    });
    let r = call("POST", "/Users".into(), Some(body)).await;
    assert_eq!(r.status, 201, "{r:#?}");
    // The row, read directly as text.
    let rows = sandbox::text_rows(
        &pool,
        engine,
        "Typed",
        &[
            "Login",
            "AzureID",
            "Hired",
            "HiredLocal",
            "Born",
            "Badge",
            "Salary",
            "Deleted",
        ],
        &[],
        "Login",
        Some("lee"),
        "Login",
    )
    .await
    .unwrap();
    let row = &rows[0];
    let col = |c: &str| row.get(c).cloned().flatten().unwrap_or_default();
    assert_eq!(
        col("AzureID").to_lowercase(),
        "6f9619ff-8b86-d011-b42d-00c04fc964ff"
    );
    assert!(col("Hired").starts_with("2024-05-01 08:00:00"), "{row:?}");
    assert!(
        col("HiredLocal").starts_with("2024-05-01 08:00:00"),
        "UTC wall time: {row:?}"
    );
    assert_eq!(col("Born"), "1990-02-03");
    assert_eq!(col("Badge"), "42");
    assert_eq!(col("Salary"), "1234.50");
    // The host's answer, before and after a fresh import.
    for round in ["after the create", "after an import"] {
        let r = call("GET", "/Users/lee".into(), None).await;
        assert_eq!(r.status, 200, "{round}: {r:#?}");
        assert_eq!(r.ext("Hired"), "2024-05-01T08:00:00Z", "{round}");
        assert_eq!(r.ext("HiredLocal"), "2024-05-01T08:00:00Z", "{round}");
        assert_eq!(r.ext("Born"), "1990-02-03T00:00:00Z", "{round}");
        assert_eq!(r.ext("Badge"), 42, "{round}");
        assert_eq!(r.ext("Salary"), "1234.50", "{round}");
        assert_eq!(r.ext("Photo"), "AAEC/w==", "{round}");
        assert_eq!(
            r.ext("AzureID").as_str().unwrap().to_lowercase(),
            "6f9619ff-8b86-d011-b42d-00c04fc964ff",
            "{round}"
        );
        host.import_all().await.unwrap();
    }
    // The soft-delete flag is a SMALLINT: disabling writes 1.
    let r = call(
        "PATCH",
        "/Users/lee".into(),
        Some(
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "Replace", "path": "active", "value": false}]}),
        ),
    )
    .await;
    assert!(matches!(r.status, 200 | 204), "{r:#?}");
    let r = call("GET", "/Users/lee".into(), None).await;
    assert_eq!(r.body["active"], false, "{r:#?}");
    // A dateTime that is not one is refused before anything is written.
    let r = call(
        "PATCH",
        "/Users/lee".into(),
        Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "Replace", "path": crate::support::ext("Hired"), "value": "yesterday"}]})),
    )
    .await;
    r.assert_error(400, Some("invalidValue"));
    let r = call("GET", "/Users/lee".into(), None).await;
    assert_eq!(r.ext("Hired"), "2024-05-01T08:00:00Z");
    // A type the column cannot carry is refused when the catalogue is read, naming it.
    let wrong = typed_config(&sandbox.url, "boolean");
    let c = &wrong.connectors[0];
    let connector = reference_host::connector::sql::SqlConnector::new(
        &c.name,
        c.sql.as_ref().unwrap(),
        &c.deprovisioning,
        std::path::Path::new("."),
    )
    .unwrap();
    let e = connector.learn().await.unwrap_err().to_string();
    assert!(
        e.contains("column Photo is") && e.contains("boolean"),
        "{e}"
    );
    drop(host);
    sandbox.drop().await.unwrap();
}

// Kind 4: the connector space compares as the column's collation does — MariaDB's PAD SPACE,
// case- and accent-insensitive collations; PostgreSQL's exact varchar.

#[rstest::rstest]
#[case::postgres(Setup::PostgresTable)]
#[case::mariadb(Setup::MariaDbTable)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_filter_finds_what_the_columns_collation_finds(#[case] setup: Setup) {
    use crate::support::{entra_url_form, ext};
    let h = SqlHost::start("collation", setup, &[]).await;
    let r = h
        .call(
            "POST",
            "/Users",
            Some(&create("ivy", json!({"Email": "ivy@contoso.lab "}))),
        )
        .await;
    assert_eq!(r.status, 201, "{r:#?}");
    for probe in [
        "ivy@contoso.lab ",
        "ivy@contoso.lab",
        "IVY@Contoso.lab",
        "ivy@contosó.lab",
        "ivy@contoso.la",
    ] {
        let sql = match setup.engine() {
            Engine::Postgres => "SELECT COUNT(*) FROM Employees WHERE Email = $1",
            _ => "SELECT COUNT(*) FROM Employees WHERE Email = ?",
        };
        let in_target: i64 = sqlx::query_scalar(sql)
            .bind(probe)
            .fetch_one(&h.pool)
            .await
            .unwrap();
        let filter = entra_url_form(&format!("{} eq \"{probe}\"", ext("Email")));
        let r = h
            .call("GET", &format!("/Users?filter={filter}"), None)
            .await;
        let found = r.body["totalResults"].as_i64().unwrap();
        // Never fewer than the target finds (Entra would create a second user and meet 409
        // every cycle); on MariaDB exactly as many.
        assert!(
            found >= in_target,
            "{probe:?}: host {found}, target {in_target}"
        );
        if setup.engine() == Engine::MySql {
            assert_eq!(found, in_target, "{probe:?}");
        }
    }
    // The anchor as the database's unique index compares it.
    let r = h.call("GET", "/Users/IVY", None).await;
    let expected = match setup.engine() {
        Engine::MySql => 200,
        _ => 404,
    };
    assert_eq!(r.status, expected, "{r:#?}");
}

// Kind 5: one rule for "" on every connector and engine (ECMA-ROBUST-011): an empty string is
// no value. Into a NOT NULL column it is therefore refused, exactly as removing the column is,
// and nothing is written.

#[rstest::rstest]
#[case::postgres_table(Setup::PostgresTable)]
#[case::mariadb_table(Setup::MariaDbTable)]
#[case::sqlite_table(Setup::SqliteTable)]
#[case::postgres_procedures(Setup::PostgresProcedures)]
#[case::mariadb_procedures(Setup::MariaDbProcedures)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_string_in_a_not_null_column_is_refused_like_a_removal(#[case] setup: Setup) {
    use crate::support::ext;
    let seed = ["INSERT INTO Employees (ContosoLogin, LastName) VALUES ('kept', 'Kept')"];
    let h = SqlHost::start("emptynotnull", setup, &seed).await;
    let before = h.table().await;
    let patch = |op: serde_json::Value| json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [op]});
    for (what, body) in [
        (
            "replace with \"\"",
            patch(json!({"op": "Replace", "path": ext("LastName"), "value": ""})),
        ),
        (
            "replace with null",
            patch(json!({"op": "Replace", "path": ext("LastName"), "value": null})),
        ),
        (
            "remove",
            patch(json!({"op": "Remove", "path": ext("LastName")})),
        ),
    ] {
        let r = h.call("PATCH", "/Users/kept", Some(&body)).await;
        assert_eq!(r.status, 400, "{what}: {r:#?}");
        assert_eq!(h.table().await, before, "{what}: the table changed");
    }
    let r = h
        .call(
            "POST",
            "/Users",
            Some(&create("blank", json!({"LastName": ""}))),
        )
        .await;
    assert_eq!(r.status, 400, "{r:#?}");
    assert_eq!(h.table().await, before, "a create with \"\" wrote a row");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_refuses_at_start_up_a_column_that_cannot_carry_its_declared_type() {
    let sandbox = sandbox::Sandbox::create(
        &crate::sql::server(Engine::Postgres),
        &format!("ecmacert_startup_{}", std::process::id()),
        typed_table(Engine::Postgres),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", crate::sql::HOW_TO_START));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("host.toml");
    let text = typed_config_text(&sandbox.url, "boolean").replace(
        "[server]\nplain_http = true",
        "[server]\nplain_http = true\nlisten = \"127.0.0.1:0\"",
    );
    std::fs::write(&path, text).unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_ecma-host"))
        .arg("--config")
        .arg(&path)
        .env("ECMACERT_TEST_TOKEN", "start-up-check-token-0123456789")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(30), out)
        .await
        .expect("the host stops by itself")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("column Photo is bytea") && stderr.contains("boolean"),
        "{stderr}"
    );
    sandbox.drop().await.unwrap();
}
