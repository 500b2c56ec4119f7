//! How a column's collation compares values: what the connector space must follow so that
//! Entra's matching finds what the database's own equality finds (ECMA-MATCH-015).

use ecma_vocab::sql::SqlType;

use crate::config::SqlEngine;

/// How a column's collation compares values, as far as the connector space must follow it
/// (ECMA-MATCH-015): MariaDB's PAD SPACE collations ignore trailing spaces (every collation
/// but the `_nopad_` ones), `_ci` ones ignore case, and accent-insensitive ones (`_ai_`, and
/// `_ci` ones that are not `_as_`) ignore accents; PostgreSQL's `character(n)` ignores trailing
/// spaces and `citext` ignores case.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Equality {
    pad_space: bool,
    case_insensitive: bool,
    accent_insensitive: bool,
}

impl Equality {
    pub(super) fn of(engine: SqlEngine, sql: SqlType, cast: &str, collation: &str) -> Equality {
        let collation = collation.to_ascii_lowercase();
        match engine {
            SqlEngine::MySql if sql == SqlType::Text && !collation.is_empty() => {
                let ci = collation.ends_with("_ci");
                Equality {
                    pad_space: !collation.contains("_nopad_"),
                    case_insensitive: ci,
                    accent_insensitive: collation.contains("_ai")
                        || (ci && !collation.contains("_as_")),
                }
            }
            SqlEngine::Postgres => Equality {
                pad_space: cast.starts_with("character(") || cast == "character",
                case_insensitive: cast == "citext",
                accent_insensitive: false,
            },
            _ => Equality::default(),
        }
    }

    /// `value` in a form in which values this equality finds equal are equal strings;
    /// `fold_case` adds case folding the configuration asks for.
    pub(super) fn key(self, value: &str, fold_case: bool) -> String {
        use unicode_normalization::UnicodeNormalization as _;
        let mut v = if self.pad_space {
            value.trim_end_matches(' ').to_owned()
        } else {
            value.to_owned()
        };
        if self.case_insensitive || fold_case {
            v = v.to_lowercase();
        }
        if self.accent_insensitive {
            v = v
                .nfd()
                .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
                .nfc()
                .collect();
        }
        v
    }
}
