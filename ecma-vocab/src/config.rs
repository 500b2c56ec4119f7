//! Configuration mistakes, shared by `ecma-host` and `ecmacert` so that both name the key the
//! same way (`connector "LDAP": ldap.base_dn: …`, `host.token: …`) and both exit with code 2.

use std::path::PathBuf;

/// A configuration that cannot be used, with the key it is about.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not fit the schema (the message names key and line).
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A value that parses but cannot be used.
    #[error("{key}: {reason}")]
    Invalid {
        /// The key, e.g. `connector "LDAP": ldap.base_dn` or `host.token`.
        key: String,
        /// What is wrong.
        reason: String,
    },
}

impl ConfigError {
    /// An invalid value, with the key it is about.
    pub fn invalid(key: impl Into<String>, reason: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.into(),
            reason: reason.into(),
        }
    }
}
