//! The full import: keyset pages of the table, or the read procedure's pages on one snapshot.

use async_trait::async_trait;
use sqlx::{Any, AssertSqlSafe};

use super::classify::{CLIENT_GRACE, Failure, classify};
use super::{RowLayout, SqlConnector};
use crate::config::SqlEngine;
use crate::connector::{ConnectorError, CsEntry, ImportSession};

impl SqlConnector {
    /// One page of the import: keyset paging on the anchor (table mode), or the read
    /// procedure's rows `start..=end` (procedure mode).
    ///
    /// Row numbers shift when other rows come and go, so a procedure-mode import reads every
    /// page in one transaction on a consistent snapshot (`snapshot`); otherwise a row that
    /// existed throughout could fall between two pages. Keyset paging needs none: an anchor that
    /// exists throughout is passed by the cursor exactly once.
    pub(super) async fn page(
        &self,
        after: Option<&str>,
        start: u64,
        snapshot: Option<&mut sqlx::Transaction<'static, Any>>,
    ) -> Result<Vec<CsEntry>, ConnectorError> {
        let what = "import";
        let anchor = &self.anchor_column().quoted;
        let (sql, layout) = match (&self.procedures, self.kind) {
            // A PostgreSQL function is a table: the SELECT list casts as it does for the table.
            (Some(p), SqlEngine::Postgres) => (
                format!(
                    "SELECT {} FROM {}($1, $2)",
                    self.select_list(),
                    self.kind.quote(&p.read_page)
                ),
                RowLayout::InOrder,
            ),
            // A MariaDB procedure's result set has its own columns: found by name.
            (Some(p), _) => (
                format!("CALL {}(?, ?)", self.kind.quote(&p.read_page)),
                RowLayout::ByName,
            ),
            (None, _) if after.is_none() => (
                format!(
                    "SELECT {} FROM {} ORDER BY {anchor} LIMIT {}",
                    self.select_list(),
                    self.table,
                    self.page_size
                ),
                RowLayout::InOrder,
            ),
            (None, _) => (
                format!(
                    "SELECT {} FROM {} WHERE {anchor} > {} ORDER BY {anchor} LIMIT {}",
                    self.select_list(),
                    self.table,
                    self.value_expr(&self.anchor, 1),
                    self.page_size
                ),
                RowLayout::InOrder,
            ),
        };
        let end = start + u64::from(self.page_size) - 1;
        let query = || {
            let q = sqlx::query(AssertSqlSafe(sql.clone()));
            match (&self.procedures, after) {
                // @StartIndex, @EndIndex
                (Some(_), _) => q.bind(start as i64).bind(end as i64),
                (None, Some(a)) => q.bind(a.to_owned()),
                (None, None) => q,
            }
        };
        let rows = match snapshot {
            // A conflict inside the snapshot ends it: no retry, the next import starts over.
            Some(tx) => {
                match tokio::time::timeout(
                    self.timeout + CLIENT_GRACE,
                    query().fetch_all(&mut **tx),
                )
                .await
                {
                    Ok(Ok(rows)) => rows,
                    Ok(Err(e)) => {
                        return Err(match classify(&e, what, &self.endpoint) {
                            Failure::Retry(detail) => ConnectorError::Unavailable { detail },
                            Failure::Final(e) => e,
                        });
                    }
                    Err(_) => {
                        return Err(ConnectorError::Unavailable {
                            detail: format!(
                                "{what}: no answer from the database within {:?}",
                                self.timeout + CLIENT_GRACE
                            ),
                        });
                    }
                }
            }
            None => {
                self.with_retries(what, || query().fetch_all(&self.pool))
                    .await?
            }
        };
        if let Some(p) = &self.procedures
            && rows.len() > self.page_size as usize
        {
            return Err(ConnectorError::Unavailable {
                detail: format!(
                    "import stopped: the read procedure {} returned {} rows for @StartIndex {start} \
                     and @EndIndex {end}; it must return at most those {} rows (1-based, in \
                     anchor order); the connector space keeps what it held, nothing is removed",
                    p.read_page,
                    rows.len(),
                    self.page_size
                ),
            });
        }
        rows.iter().map(|r| self.entry(r, layout)).collect()
    }
}

/// A paged full import.
pub(super) struct SqlImport {
    connector: SqlConnector,
    /// Procedure mode: the transaction whose snapshot every page is read from.
    snapshot: Option<sqlx::Transaction<'static, Any>>,
    /// The last anchor read (table mode's keyset).
    after: Option<String>,
    /// The next row number (procedure mode's `@StartIndex`).
    start: u64,
    done: bool,
}

impl SqlImport {
    /// A full import through `connector`, from the first page.
    pub(super) fn new(connector: SqlConnector) -> SqlImport {
        SqlImport {
            connector,
            snapshot: None,
            after: None,
            start: 1,
            done: false,
        }
    }
}

#[async_trait]
impl ImportSession for SqlImport {
    async fn next_page(&mut self) -> Result<Option<Vec<CsEntry>>, ConnectorError> {
        if self.done {
            return Ok(None);
        }
        if self.connector.procedures.is_some() && self.snapshot.is_none() {
            let begin = match self.connector.kind {
                SqlEngine::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ",
                SqlEngine::MySql | SqlEngine::Sqlite => {
                    "START TRANSACTION WITH CONSISTENT SNAPSHOT"
                }
            };
            let tx = tokio::time::timeout(
                self.connector.timeout,
                self.connector.pool.begin_with(begin),
            )
            .await
            .map_err(|_| ConnectorError::Unavailable {
                detail: "import: the database did not start a transaction in time".into(),
            })?
            .map_err(|e| match classify(&e, "import", &self.connector.endpoint) {
                Failure::Retry(detail) => ConnectorError::Unavailable { detail },
                Failure::Final(e) => e,
            })?;
            self.snapshot = Some(tx);
        }
        let page = self
            .connector
            .page(self.after.as_deref(), self.start, self.snapshot.as_mut())
            .await?;
        if page.len() < self.connector.page_size as usize {
            self.done = true;
            if let Some(tx) = self.snapshot.take() {
                // Read only: ending it either way is the same.
                let _ = tx.rollback().await;
            }
        }
        self.start += page.len() as u64;
        self.after = page.last().map(|e| e.anchor.clone());
        Ok(if page.is_empty() { None } else { Some(page) })
    }

    fn source(&self) -> String {
        self.connector.import_source()
    }
}
