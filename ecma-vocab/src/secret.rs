//! Secrets: connector tokens, bind and database passwords.
//!
//! A [`Secret`] has no `Display` and a redacting `Debug`, so it cannot reach a log line or a
//! report by accident; the one way to read it is [`Secret::expose`], which call sites use only
//! to compare a token or to hand a password to a target.
//!
//! In configuration files a secret is never written inline: it comes from an environment
//! variable (`{ env = "NAME" }`) or a file (`{ file = "path" }`, relative to the configuration
//! file, trailing newline removed). [`SecretSource::Inline`] exists for code that builds a
//! configuration itself (tests, the harness's embedded default) and cannot be deserialised.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

/// A secret value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value. Never log or format what this returns.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Its length in characters, for validation messages that must not show it.
    pub fn len(&self) -> usize {
        self.0.chars().count()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Compares with `other` in time that depends only on the lengths, so a token cannot be
    /// guessed byte by byte from response times.
    pub fn matches(&self, other: &[u8]) -> bool {
        let mine = self.0.as_bytes();
        let mut diff = mine.len() ^ other.len();
        for (i, b) in other.iter().enumerate() {
            diff |= usize::from(mine.get(i).copied().unwrap_or(0) ^ b);
        }
        diff == 0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Where a secret comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretSource {
    /// An environment variable.
    Env(String),
    /// A file; relative paths are resolved against the configuration file's directory.
    File(PathBuf),
    /// A value given in code (never from a configuration file).
    Inline(Secret),
}

/// Why a secret could not be read. Messages name the source, never the value.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The environment variable is not set or not valid UTF-8.
    #[error("environment variable {0} is not set")]
    EnvMissing(String),
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl SecretSource {
    /// Reads the secret. `base` is the configuration file's directory.
    pub fn resolve(&self, base: &Path) -> Result<Secret, SecretError> {
        match self {
            SecretSource::Env(name) => std::env::var(name)
                .map(Secret)
                .map_err(|_| SecretError::EnvMissing(name.clone())),
            SecretSource::File(path) => {
                let path = base.join(path);
                let text = std::fs::read_to_string(&path).map_err(|source| SecretError::File {
                    path: path.clone(),
                    source,
                })?;
                Ok(Secret(text.trim_end_matches(['\r', '\n']).to_owned()))
            }
            SecretSource::Inline(secret) => Ok(secret.clone()),
        }
    }
}

impl<'de> Deserialize<'de> for SecretSource {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SecretSource;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("{ env = \"VARIABLE\" } or { file = \"path\" } (secrets are never written inline)")
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<SecretSource, E> {
                Err(E::custom(
                    "secrets are never written inline: use { env = \"VARIABLE\" } or { file = \"path\" }",
                ))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SecretSource, A::Error> {
                let mut found: Option<SecretSource> = None;
                while let Some(key) = map.next_key::<String>()? {
                    let source = match key.as_str() {
                        "env" => SecretSource::Env(map.next_value()?),
                        "file" => SecretSource::File(map.next_value()?),
                        other => return Err(de::Error::unknown_field(other, &["env", "file"])),
                    };
                    if found.replace(source).is_some() {
                        return Err(de::Error::custom("give either env or file, not both"));
                    }
                }
                found.ok_or_else(|| de::Error::custom("expected env or file"))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("hunter2-hunter2");
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        assert_eq!(
            format!("{:?}", SecretSource::Inline(s)),
            "Inline(Secret(<redacted>))"
        );
    }

    #[test]
    fn matching_is_exact() {
        let s = Secret::new("abcdefghijkl");
        assert!(s.matches(b"abcdefghijkl"));
        assert!(!s.matches(b"abcdefghijk"));
        assert!(!s.matches(b"abcdefghijklm"));
        assert!(!s.matches(b"ABCDEFGHIJKL"));
        assert!(!s.matches(b""));
    }

    #[test]
    fn files_lose_their_trailing_newline() {
        let dir = std::env::temp_dir().join(format!("ecma-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("t"), "token-value-123\n").unwrap();
        let s = SecretSource::File("t".into()).resolve(&dir).unwrap();
        assert_eq!(s.expose(), "token-value-123");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
