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

/// A TOML parse error as `<key> (line L, column C): <what>` — the key with its table
/// (`connector.ldap.anchor`) — without the source line that `toml`'s own message quotes: that
/// line may hold a secret someone wrote inline (`token = "…"`, which is refused, and must not
/// then be printed).
pub fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let Some(span) = e.span() else {
        return e.message().to_owned();
    };
    let at = span.start.min(text.len());
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    let this_line = text.lines().nth(line - 1).unwrap_or("");
    let key = this_line
        .split_once('=')
        .map(|(k, _)| k.trim().trim_matches('"').to_owned())
        .filter(|k| !k.is_empty() && !k.starts_with('['));
    let table = text
        .lines()
        .take(line)
        .filter_map(|l| {
            let l = l.trim();
            l.strip_prefix("[[")
                .and_then(|t| t.strip_suffix("]]"))
                .or_else(|| l.strip_prefix('[').and_then(|t| t.strip_suffix(']')))
        })
        .last()
        .map(str::trim);
    let place = match (table, key) {
        (Some(t), Some(k)) => format!("{t}.{k} "),
        (None, Some(k)) => format!("{k} "),
        _ => String::new(),
    };
    format!("{place}(line {line}, column {column}): {}", e.message())
}

#[cfg(test)]
mod tests {
    #[test]
    fn parse_errors_name_the_place_and_never_quote_the_line() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct C {
            token: crate::SecretSource,
        }
        let text = "# a file\ntoken = \"s3cret-inline-token\"\n";
        let e = toml::from_str::<C>(text).unwrap_err();
        assert!(
            e.to_string().contains("s3cret-inline-token"),
            "toml quotes the line"
        );
        let m = super::toml_error(text, &e);
        assert!(m.starts_with("token (line 2, column 9): "), "{m}");
        assert!(
            m.contains("never written inline") && !m.contains("s3cret"),
            "{m}"
        );
    }
}
