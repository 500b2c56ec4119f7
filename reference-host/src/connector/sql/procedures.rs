//! Procedure mode's calls: MariaDB `CALL`, PostgreSQL functions through `SELECT`, with the
//! configured columns' values as parameters in order.

use indexmap::IndexMap;
use scim_proto::value::Scalar;
use sqlx::{AssertSqlSafe, Row as _};

use super::SqlConnector;
use crate::config::SqlEngine;
use crate::connector::ConnectorError;

impl SqlConnector {
    /// Calls a stored procedure (MariaDB `CALL`) or function (PostgreSQL `SELECT`) with the
    /// values of `parameters`; PostgreSQL functions report the rows they touched when they
    /// return an integer.
    pub(super) async fn call(
        &self,
        name: &str,
        parameters: &[String],
        values: &IndexMap<String, Vec<Scalar>>,
        what: &str,
    ) -> Result<Option<u64>, ConnectorError> {
        let placeholders = (1..=parameters.len())
            .map(|n| self.param(n))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = match self.kind {
            SqlEngine::Postgres => format!(
                "SELECT CAST({}({placeholders}) AS BIGINT)",
                self.kind.quote(name)
            ),
            SqlEngine::MySql | SqlEngine::Sqlite => {
                format!("CALL {}({placeholders})", self.kind.quote(name))
            }
        };
        let kind = self.kind;
        self.with_retries(what, || {
            let mut q = sqlx::query(AssertSqlSafe(sql.clone()));
            for p in parameters {
                let value = values
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(p))
                    .and_then(|(_, v)| v.first());
                q = self.bind(q, p, value);
            }
            let pool = self.pool.clone();
            async move {
                if kind == SqlEngine::Postgres {
                    let row = q.fetch_one(&pool).await?;
                    Ok(row
                        .try_get::<Option<i64>, _>(0)
                        .ok()
                        .flatten()
                        .map(|n| n.max(0) as u64))
                } else {
                    q.execute(&pool).await.map(|_| None)
                }
            }
        })
        .await
    }
}
