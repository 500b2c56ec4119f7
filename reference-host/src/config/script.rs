//! `[connector.script]`: the script connector's settings and their checks.

use crate::secret::SecretSource;
use serde::Deserialize;

use super::{
    AttributeConfig, ConfigError, ConnectorConfig, check_anchor, check_selected, default_page_size,
    default_timeout,
};

/// `[connector.script]`: a program the host runs once per operation — schema, import page,
/// export batch — with a JSON request on its standard input and a JSON answer on its standard
/// output; the contract is in `reference_host::connector::script`. The Linux-native analogue of
/// the ECMA PowerShell connector (Microsoft, "PowerShell connector technical reference": a
/// script per operation, run by the host).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptConfig {
    /// The program and its arguments, run without a shell (no interpolation, no globbing). A
    /// relative program path with a `/` in it, and the working directory, are the
    /// configuration file's directory; a bare name is looked up in `PATH`.
    pub command: Vec<String>,
    /// Environment variables the program gets besides `PATH`, `HOME`, `LANG` and `TZ` (the
    /// rest of the host's environment is not passed): values read like tokens
    /// (`{ env = … }`, `{ file = … }`), never on the command line, and every one redacted from
    /// what the program writes to its standard error before the host logs it.
    #[serde(default)]
    pub environment: indexmap::IndexMap<String, SecretSource>,
    /// The anchor attribute: unique, never changing, given on create (as the Generic SQL
    /// connector's anchor column). The SCIM `id` is its value; the DN is
    /// `CN=<anchor>,OBJECT=USER`.
    pub anchor: String,
    /// Objects per page of a full import (passed to the program as `pageSize`).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Seconds one run of the program may take; it is then killed and the host answers 503.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
    /// How the program runs: once per operation (the default), or as sessions that each
    /// answer many requests, one JSON line per request (see the script connector's contract).
    #[serde(default)]
    pub mode: ScriptMode,
    /// In session mode, the most programs running at once (each answers one request at a
    /// time). Default 2.
    #[serde(default = "default_sessions")]
    pub sessions: u32,
    /// The selected attributes, the anchor among them (string, boolean or integer).
    pub attributes: Vec<AttributeConfig>,
}

/// How the script connector runs its program (`[connector.script] mode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScriptMode {
    /// One run per operation: the request on standard input, then end of file.
    #[default]
    PerOperation,
    /// A program that stays: requests and answers one JSON line each, in turn, as the
    /// PowerShell connector keeps its runspace between calls. A program that breaks the
    /// contract, or does not answer in time, is killed and the next request starts another.
    Session,
}

fn default_sessions() -> u32 {
    2
}

impl ScriptConfig {
    pub(super) fn validate(&self, c: &ConnectorConfig) -> Result<(), ConfigError> {
        match self.command.first() {
            None => {
                return Err(ConfigError::invalid(
                    c.key("script.command"),
                    "must name a program: [\"program\", \"argument\", …]",
                ));
            }
            Some(p) if p.is_empty() => {
                return Err(ConfigError::invalid(
                    c.key("script.command"),
                    "the program's name is empty",
                ));
            }
            Some(_) => {}
        }
        if self.command.iter().any(|a| a.contains('\0')) {
            return Err(ConfigError::invalid(
                c.key("script.command"),
                "an argument holds a NUL character",
            ));
        }
        for name in self.environment.keys() {
            if name.is_empty()
                || !name
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
                || name.starts_with(|ch: char| ch.is_ascii_digit())
            {
                return Err(ConfigError::invalid(
                    c.key(&format!("script.environment.{name}")),
                    "an environment variable's name is letters, digits and '_', not starting with a digit",
                ));
            }
        }
        if self.page_size == 0 {
            return Err(ConfigError::invalid(
                c.key("script.page_size"),
                "must be greater than 0",
            ));
        }
        if self.sessions == 0 {
            return Err(ConfigError::invalid(
                c.key("script.sessions"),
                "must be greater than 0",
            ));
        }
        if self.timeout_seconds == 0 {
            return Err(ConfigError::invalid(
                c.key("script.timeout_seconds"),
                "must be greater than 0",
            ));
        }
        check_selected(
            c,
            "script.attributes",
            self.attributes.iter().map(|a| (a.name.as_str(), a.kind)),
        )?;
        check_anchor(
            c,
            "script",
            &self.anchor,
            self.attributes.iter().map(|a| a.name.as_str()),
        )?;
        Ok(())
    }
}
