//! Database errors classified by kind and SQLSTATE (or the engine's error number), never by
//! message; and the statement time limits the connector asks each engine for, so that a
//! statement past its time is cancelled by the database itself.

use std::time::Duration;

use crate::config::SqlEngine;
use crate::connector::ConnectorError;

/// What a statement that failed is worth trying again.
pub(super) enum Failure {
    /// A deadlock or serialization conflict: the same statement may well succeed now.
    Retry(String),
    /// Anything else.
    Final(ConnectorError),
}

/// How much longer than the database's own limit the host waits for a statement's answer.
pub(super) const CLIENT_GRACE: Duration = Duration::from_secs(2);

/// The statements that make the database itself cancel a statement that runs or waits for a
/// lock longer than `timeout`, run on every new connection; `true` marks one an engine may not
/// know. A statement the host gave up on must not commit later: once the host has answered
/// 503, the database must not hold the change (ECMA-ERR-014). A client-side timeout alone
/// drops the connection while the server goes on waiting for the lock, and commits when it is
/// released.
///
/// - PostgreSQL: `statement_timeout` (milliseconds; it includes lock waits).
/// - MariaDB: `innodb_lock_wait_timeout` (whole seconds, at least 1) and `max_statement_time`
///   (seconds; MySQL does not have it, and MariaDB does not apply it inside procedures, where
///   the lock wait limit still holds).
/// - SQLite: its busy timeout already bounds the wait for the database lock.
pub(super) fn server_limits(engine: SqlEngine, timeout: Duration) -> Vec<(String, bool)> {
    match engine {
        SqlEngine::Postgres => vec![(
            format!("SET statement_timeout = {}", timeout.as_millis().max(1)),
            false,
        )],
        SqlEngine::MySql => vec![
            // TIMESTAMP columns convert to and from the session's zone: UTC, as SCIM writes.
            ("SET SESSION time_zone = '+00:00'".to_owned(), false),
            (
                format!(
                    "SET SESSION innodb_lock_wait_timeout = {}",
                    timeout.as_secs().max(1)
                ),
                false,
            ),
            (
                format!(
                    "SET SESSION max_statement_time = {}",
                    timeout.as_secs_f64().max(0.001)
                ),
                true,
            ),
        ],
        SqlEngine::Sqlite => Vec::new(),
    }
}

/// Classifies a database error by kind and code, never by message.
pub(super) fn classify(e: &sqlx::Error, what: &str, endpoint: &str) -> Failure {
    let sqlx::Error::Database(db) = e else {
        return Failure::Final(ConnectorError::Unavailable {
            detail: format!("{what}: {} ({endpoint})", transport(e)),
        });
    };
    let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
    // MySQL puts many errors under SQLSTATE HY000; its error number tells them apart.
    let number = db
        .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
        .map(sqlx::mysql::MySqlDatabaseError::number);
    let detail = match number {
        Some(n) => format!(
            "{what}: {} (MySQL error {n}, SQLSTATE {code})",
            db.message()
        ),
        None if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() => {
            format!("{what}: {} (SQLite code {code})", db.message())
        }
        None => format!("{what}: {} (SQLSTATE {code})", db.message()),
    };
    use sqlx::error::ErrorKind;
    match db.kind() {
        ErrorKind::UniqueViolation => {
            return Failure::Final(ConnectorError::AlreadyExists { detail });
        }
        ErrorKind::ForeignKeyViolation
        | ErrorKind::NotNullViolation
        | ErrorKind::CheckViolation
        | ErrorKind::ExclusionViolation => {
            return Failure::Final(ConnectorError::Rejected { detail });
        }
        _ => {}
    }
    match (number, code.as_str()) {
        // Deadlocks, serialization failures, SQLite's busy and locked.
        (Some(1213), _) | (_, "40001" | "40P01" | "5" | "6" | "261" | "517") => {
            Failure::Retry(detail)
        }
        // The database's own limit (`server_limits`) cancelled the statement: the time is
        // spent, and nothing was written.
        (Some(1205 | 1969 | 3024), _) | (_, "55P03" | "57014") => {
            Failure::Final(ConnectorError::Unavailable {
                detail: format!("{detail}: the database cancelled it, nothing was written"),
            })
        }
        // Values MySQL refuses under HY000: wrong type, truncated, out of range.
        (Some(1366 | 1292 | 1264 | 1406 | 1048), _) => {
            Failure::Final(ConnectorError::Rejected { detail })
        }
        // Access denied (MySQL), authorization and privilege errors.
        (Some(1044 | 1045 | 1142 | 1143 | 1370), _) => {
            Failure::Final(ConnectorError::Refused { detail })
        }
        (_, c) if c.starts_with("28") || c == "42501" => {
            Failure::Final(ConnectorError::Refused { detail })
        }
        // Connection, resources, operator intervention, system errors.
        (_, c)
            if ["08", "53", "57", "58", "HY"]
                .iter()
                .any(|p| c.starts_with(p)) =>
        {
            Failure::Final(ConnectorError::Unavailable { detail })
        }
        // Undefined table, column or routine: the database does not match the configuration.
        (_, c) if c.starts_with("42") || c == "1" => {
            Failure::Final(ConnectorError::Refused { detail })
        }
        // Data exceptions and integrity violations: the values.
        _ => Failure::Final(ConnectorError::Rejected { detail }),
    }
}

/// A transport-level error without anything that could carry a secret.
pub(super) fn transport(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::PoolTimedOut => "cannot reach the database: no connection in time".into(),
        sqlx::Error::Io(io) => format!("cannot reach the database: {io}"),
        sqlx::Error::Tls(t) => format!("TLS to the database failed: {t}"),
        other => other.to_string(),
    }
}
