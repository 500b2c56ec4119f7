//! SQL sandboxes: a fresh PostgreSQL schema, MariaDB/MySQL database or SQLite file per run,
//! with a setup script run in it — how the suite and the tests give every run its own tables
//! on a shared database server.
//!
//! Setup scripts are plain SQL whose statements are separated by lines that read `-- go`
//! (after SQL Server's batch separator): function and procedure bodies hold semicolons, so
//! splitting on `;` would cut them apart, and the separator is a comment to every other tool.
//!
//! The sandbox's URL is what a host and a probe connect with: for PostgreSQL it sets the
//! `search_path` to the sandbox's schema (`?options=-c search_path=…`), for MariaDB it names the
//! sandbox's database, for SQLite the file.

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, AssertSqlSafe, ConnectOptions as _};

/// The database engines a sandbox can be made on: PostgreSQL (one schema per sandbox),
/// MariaDB or MySQL (one database per sandbox), SQLite (one file per sandbox).
pub use ecma_vocab::sql::SqlEngine as Engine;

/// The statements of a setup script: the text between `-- go` lines, without blank ones.
pub use ecma_vocab::sql::statements;

/// A schema, database or file of its own, with a setup script run in it.
#[derive(Debug)]
pub struct Sandbox {
    /// The engine.
    pub engine: Engine,
    /// The schema, database or file name.
    pub name: String,
    /// What a host and a probe connect with (no password in it).
    pub url: String,
    /// The server URL the sandbox was made on (for dropping it).
    server: String,
}

/// A sandbox that could not be made, with what went wrong.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SandboxError(pub String);

fn err(what: impl std::fmt::Display) -> impl FnOnce(sqlx::Error) -> SandboxError {
    move |e| SandboxError(format!("{what}: {e}"))
}

/// A pool of one connection to `url`.
pub async fn connect(url: &str) -> Result<AnyPool, SandboxError> {
    sqlx::any::install_default_drivers();
    let options: AnyConnectOptions = url
        .replacen("mariadb:", "mysql:", 1)
        .parse()
        .map_err(err(format_args!("{}", redact(url))))?;
    AnyPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(std::time::Duration::from_secs(10))
        .connect_with(options.disable_statement_logging())
        .await
        .map_err(err(format_args!("cannot connect to {}", redact(url))))
}

/// A URL with any password replaced by `***`.
pub use ecma_vocab::sql::redact_url as redact;

impl Sandbox {
    /// Makes a sandbox called `name` (a plain identifier) on the server at `server` — for
    /// SQLite, `server` is `sqlite://<directory>` — and runs `script` in it.
    pub async fn create(server: &str, name: &str, script: &str) -> Result<Sandbox, SandboxError> {
        if name.is_empty()
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            || name.starts_with(|c: char| c.is_ascii_digit())
        {
            return Err(SandboxError(format!("{name:?} is not a plain identifier")));
        }
        let engine = Engine::of_url(server).ok_or_else(|| {
            SandboxError(format!(
                "{} is not a postgres://, mysql:// or sqlite:// URL",
                redact(server)
            ))
        })?;
        let url = match engine {
            Engine::Postgres => {
                let admin = connect(server).await?;
                run(&admin, &format!("CREATE SCHEMA \"{name}\""), server).await?;
                admin.close().await;
                let mut u = url::Url::parse(server)
                    .map_err(|e| SandboxError(format!("{}: {e}", redact(server))))?;
                u.query_pairs_mut()
                    .append_pair("options", &format!("-c search_path={name}"));
                u.to_string()
            }
            Engine::MySql => {
                let admin = connect(server).await?;
                run(
                    &admin,
                    &format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4"),
                    server,
                )
                .await?;
                admin.close().await;
                let mut u = url::Url::parse(&server.replacen("mariadb:", "mysql:", 1))
                    .map_err(|e| SandboxError(format!("{}: {e}", redact(server))))?;
                u.set_path(&format!("/{name}"));
                u.to_string()
            }
            Engine::Sqlite => {
                let dir = server
                    .trim_start_matches("sqlite://")
                    .trim_start_matches("sqlite:");
                let path = std::path::Path::new(dir).join(format!("{name}.sqlite3"));
                std::fs::File::create(&path)
                    .map_err(|e| SandboxError(format!("cannot create {}: {e}", path.display())))?;
                format!("sqlite://{}", path.display())
            }
        };
        let pool = connect(&url).await?;
        for statement in statements(script) {
            run(&pool, &statement, &url).await?;
        }
        pool.close().await;
        Ok(Sandbox {
            engine,
            name: name.to_owned(),
            url,
            server: server.to_owned(),
        })
    }

    /// [`Sandbox::drop`] from synchronous code (a test fixture's `Drop`), on a thread of its
    /// own with a runtime of its own; a sandbox that cannot be dropped stays, named by its run.
    pub fn drop_blocking(self) {
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map(|rt| rt.block_on(self.drop()))
        })
        .join();
    }

    /// Removes the schema, database or file and everything in it.
    pub async fn drop(self) -> Result<(), SandboxError> {
        match self.engine {
            Engine::Postgres => {
                let admin = connect(&self.server).await?;
                run(
                    &admin,
                    &format!("DROP SCHEMA \"{}\" CASCADE", self.name),
                    &self.server,
                )
                .await?;
                admin.close().await;
            }
            Engine::MySql => {
                let admin = connect(&self.server).await?;
                run(
                    &admin,
                    &format!("DROP DATABASE `{}`", self.name),
                    &self.server,
                )
                .await?;
                admin.close().await;
            }
            Engine::Sqlite => {
                let path = self.url.trim_start_matches("sqlite://");
                std::fs::remove_file(path)
                    .map_err(|e| SandboxError(format!("cannot remove {path}: {e}")))?;
            }
        }
        Ok(())
    }
}

/// One row as column → text; NULL is `None`.
pub type TextRow = std::collections::BTreeMap<String, Option<String>>;

/// `column` read as text: booleans as `true`/`false` on every engine.
fn as_text(engine: Engine, column: &str, boolean: bool) -> String {
    let q = engine.quote(column);
    match (engine, boolean) {
        (Engine::Postgres, _) => format!("CAST({q} AS TEXT)"),
        (Engine::MySql | Engine::Sqlite, true) => {
            format!("CASE WHEN {q} IS NULL THEN NULL WHEN {q} <> 0 THEN 'true' ELSE 'false' END")
        }
        (Engine::MySql, false) => format!("CAST({q} AS CHAR)"),
        (Engine::Sqlite, false) => format!("CAST({q} AS TEXT)"),
    }
}

/// The rows of `table` whose `key` column equals `value` (or every row when `value` is `None`),
/// ordered by `order`, each as column → text, `booleans` read as `true`/`false`. Identifiers
/// are the caller's (plain names); the value is bound.
#[allow(clippy::too_many_arguments)]
pub async fn text_rows(
    pool: &AnyPool,
    engine: Engine,
    table: &str,
    columns: &[&str],
    booleans: &[&str],
    key: &str,
    value: Option<&str>,
    order: &str,
) -> Result<Vec<TextRow>, SandboxError> {
    let list = columns
        .iter()
        .map(|c| {
            as_text(
                engine,
                c,
                booleans.iter().any(|b| b.eq_ignore_ascii_case(c)),
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let placeholder = engine.placeholder(1);
    let mut sql = format!("SELECT {list} FROM {}", engine.quote(table));
    if value.is_some() {
        sql.push_str(&format!(" WHERE {} = {placeholder}", engine.quote(key)));
    }
    sql.push_str(&format!(" ORDER BY {}", engine.quote(order)));
    let mut q = sqlx::query(AssertSqlSafe(sql));
    if let Some(v) = value {
        q = q.bind(v.to_owned());
    }
    let rows = q
        .fetch_all(pool)
        .await
        .map_err(err(format_args!("read {table}")))?;
    rows.iter()
        .map(|row| {
            columns
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    sqlx::Row::try_get::<Option<String>, _>(row, i)
                        .map(|v| ((*c).to_owned(), v))
                        .map_err(err(format_args!("read {table}.{c}")))
                })
                .collect()
        })
        .collect()
}

async fn run(pool: &AnyPool, statement: &str, url: &str) -> Result<(), SandboxError> {
    sqlx::raw_sql(AssertSqlSafe(statement.to_owned()))
        .execute(pool)
        .await
        .map(|_| ())
        .map_err(|e| {
            let first = statement.lines().next().unwrap_or_default();
            SandboxError(format!("{} on {}: {e}", first, redact(url)))
        })
}
