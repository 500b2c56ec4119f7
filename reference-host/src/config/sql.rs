//! `[connector.sql]`: the Generic SQL connector's settings (tables or stored procedures) and
//! their checks.

use crate::secret::SecretSource;
use scim_proto::schema::AttrType;
use serde::Deserialize;

use super::{
    AttributeConfig, ConfigError, ConnectorConfig, FlowAction, SqlEngine, default_page_size,
    default_retries, default_timeout, sql_identifier,
};

/// `[connector.sql]`: the Generic SQL connector's Connectivity, Schema and Object Types pages,
/// for PostgreSQL, MySQL/MariaDB and SQLite.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlConfig {
    /// `postgres://user@host:port/db`, `mysql://user@host:port/db` (`mariadb://` too) or
    /// `sqlite://path` / `sqlite::memory:`. No password in it: that is `password`.
    pub url: String,
    /// The database password, when the account has one.
    #[serde(default)]
    pub password: Option<SecretSource>,
    /// The users' table (`table` or `schema.table`); in table mode the connector generates
    /// SELECT, INSERT, UPDATE and DELETE on it.
    pub table: String,
    /// The anchor column: unique, never changing, given on create (Microsoft's tutorial maps
    /// `userPrincipalName` to `ContosoLogin`). The SCIM `id` is its value; the DN is
    /// `CN=<anchor>,OBJECT=USER`.
    pub anchor: String,
    /// Stored procedures instead of generated statements (PostgreSQL functions, MariaDB
    /// procedures).
    #[serde(default)]
    pub procedures: Option<ProceduresConfig>,
    /// Rows per page of a full import.
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Seconds one statement may take before the host answers 503.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// How often a statement that lost a deadlock or a serialization conflict is tried again
    /// before the host answers 503.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Connections in the pool (SQLite in memory always uses one).
    #[serde(default = "default_connections")]
    pub max_connections: u32,
    /// The selected columns, the anchor among them. Columns are single-valued.
    pub attributes: Vec<AttributeConfig>,
}

fn default_connections() -> u32 {
    4
}

/// `[connector.sql.procedures]`: the four stored procedures of the MIM Generic SQL connector's
/// "Stored Procedure" method.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProceduresConfig {
    /// Reads one page: called with the 1-based first and last row numbers
    /// (`@StartIndex`/`@EndIndex`), ordered by the anchor; returns the selected columns by name
    /// (booleans as 0/1 on MariaDB, whose BOOLEAN the driver cannot read through a CALL).
    pub read_page: String,
    /// Adds a user.
    pub add: ProcedureConfig,
    /// Updates a user: called with the whole object after the change (export type "Object
    /// Replace").
    pub update: ProcedureConfig,
    /// Deletes a user.
    pub delete: ProcedureConfig,
}

/// One stored procedure and the columns whose values it takes, in order.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcedureConfig {
    /// Its name (`name` or `schema.name`).
    pub name: String,
    /// The columns passed, in parameter order (the deprovisioning column may be one).
    pub parameters: Vec<String>,
}

impl SqlConfig {
    /// Which database the URL names.
    pub fn kind(&self) -> Option<SqlEngine> {
        SqlEngine::of_url(&self.url)
    }

    pub(super) fn validate(&self, c: &ConnectorConfig) -> Result<(), ConfigError> {
        let Some(kind) = self.kind() else {
            return Err(ConfigError::invalid(
                c.key("sql.url"),
                "expected a postgres://, mysql://, mariadb:// or sqlite: URL",
            ));
        };
        if self.url.contains('@')
            && self
                .url
                .split_once("://")
                .and_then(|(_, rest)| rest.split('@').next())
                .is_some_and(|userinfo| userinfo.contains(':'))
        {
            return Err(ConfigError::invalid(
                c.key("sql.url"),
                "holds a password; give it as sql.password = { env = … } or { file = … }",
            ));
        }
        let ident = |key: &str, name: &str| {
            sql_identifier(name).map_err(|e| ConfigError::invalid(c.key(key), e))
        };
        ident("sql.table", &self.table)?;
        ident("sql.anchor", &self.anchor)?;
        for (key, value, min) in [
            ("sql.page_size", u64::from(self.page_size), 1),
            ("sql.timeout_seconds", self.timeout_seconds, 1),
            ("sql.max_connections", u64::from(self.max_connections), 1),
        ] {
            if value < min {
                return Err(ConfigError::invalid(c.key(key), "must be greater than 0"));
            }
        }
        for (i, a) in self.attributes.iter().enumerate() {
            let key = c.key(&format!("sql.attributes[{i}]"));
            sql_identifier(&a.name).map_err(|e| ConfigError::invalid(key.clone(), e))?;
            if self.attributes[..i]
                .iter()
                .any(|o| o.name.eq_ignore_ascii_case(&a.name))
            {
                return Err(ConfigError::invalid(
                    key,
                    format!("{:?} is listed twice", a.name),
                ));
            }
            if !matches!(
                a.kind,
                AttrType::String
                    | AttrType::Boolean
                    | AttrType::Integer
                    | AttrType::Decimal
                    | AttrType::DateTime
                    | AttrType::Binary
                    | AttrType::Reference
            ) {
                return Err(ConfigError::invalid(
                    key,
                    format!(
                        "type {:?} is not supported; use string, boolean, integer, decimal, dateTime, binary or reference",
                        a.kind.noun()
                    ),
                ));
            }
        }
        match self
            .attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(&self.anchor))
        {
            Some(a) if a.kind != AttrType::String => {
                return Err(ConfigError::invalid(
                    c.key("sql.anchor"),
                    "the anchor column must be of type string",
                ));
            }
            Some(_) => {}
            None => {
                return Err(ConfigError::invalid(
                    c.key("sql.anchor"),
                    format!(
                        "{:?} is not among sql.attributes; the anchor must be selected",
                        self.anchor
                    ),
                ));
            }
        }
        if let Some(p) = &self.procedures {
            if kind == SqlEngine::Sqlite {
                return Err(ConfigError::invalid(
                    c.key("sql.procedures"),
                    "SQLite has no stored procedures; use table mode (leave sql.procedures out)",
                ));
            }
            ident("sql.procedures.read_page", &p.read_page)?;
            for (key, proc) in [
                ("sql.procedures.add", &p.add),
                ("sql.procedures.update", &p.update),
                ("sql.procedures.delete", &p.delete),
            ] {
                ident(&format!("{key}.name"), &proc.name)?;
                for (j, param) in proc.parameters.iter().enumerate() {
                    let key = format!("{key}.parameters[{j}]");
                    ident(&key, param)?;
                    let deprovisioning = [&c.deprovisioning.disable_flow, &c.deprovisioning.delete_flow]
                        .into_iter()
                        .any(|f| matches!(f, FlowAction::SetAttribute { attribute, .. } if attribute.eq_ignore_ascii_case(param)));
                    if !deprovisioning
                        && !self
                            .attributes
                            .iter()
                            .any(|a| a.name.eq_ignore_ascii_case(param))
                    {
                        return Err(ConfigError::invalid(
                            c.key(&key),
                            format!(
                                "{param:?} is neither a selected column nor the deprovisioning column"
                            ),
                        ));
                    }
                }
                if !proc
                    .parameters
                    .iter()
                    .any(|p| p.eq_ignore_ascii_case(&self.anchor))
                {
                    return Err(ConfigError::invalid(
                        c.key(&format!("{key}.parameters")),
                        format!("must pass the anchor column {:?}", self.anchor),
                    ));
                }
            }
        }
        Ok(())
    }
}
