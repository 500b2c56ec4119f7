//! Expected failures (`ecmacert run --expected FILE`): known deviations of a host, written
//! down with a reason, after the OpenID conformance suite's `expected-failures-*.json` and
//! rustls' BoGo `DisabledTests`.
//!
//! ```toml
//! [[expected]]
//! scenario = "Enabling clears the deprovisioning attribute"
//! profile = "openldap-disable-flag"
//! dialect = "both"            # or "entra-default", "entra-scim2020"
//! reason = "our connector cannot clear the flag yet (issue 42)"
//! ```
//!
//! A listed case that fails or warns becomes *expected failure* and no longer fails the run; a
//! listed case that passes becomes *unexpected pass* and fails the run, so the list can only
//! shrink. An entry naming a scenario or profile the suite does not have is a configuration
//! error (exit 2): a stale list must not hide anything. A listed case that blocks (its setup
//! failed) stays blocked.

use std::path::Path;

use reports::{Outcome, Report};
use scim_proto::Dialect;
use serde::Deserialize;

use crate::config::ConfigError;
use crate::suite::Suite;

/// One entry.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The scenario's name, as in the feature (every example row of an outline).
    pub scenario: String,
    /// The profile.
    pub profile: String,
    /// `entra-default`, `entra-scim2020` or `both`.
    pub dialect: String,
    /// Why the host fails it; shown in every report.
    pub reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    expected: Vec<Entry>,
}

/// A loaded, checked list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExpectedFailures {
    /// The file, for reports.
    pub source: String,
    /// The entries.
    pub entries: Vec<Entry>,
}

impl ExpectedFailures {
    /// Reads `path` and checks every entry against the suite; errors name the entry.
    pub fn load(path: &Path, suite: &Suite) -> Result<ExpectedFailures, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string(), suite)
    }

    /// Parses a list; `source` names it in messages and reports.
    pub fn parse(text: &str, source: &str, suite: &Suite) -> Result<ExpectedFailures, ConfigError> {
        let file: File = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: source.into(),
            message: ecma_vocab::toml_error(text, &e),
        })?;
        for (i, e) in file.expected.iter().enumerate() {
            let key = |k: &str| format!("{source}: expected[{i}].{k}");
            if !suite.scenarios.iter().any(|s| s.name == e.scenario) {
                return Err(ConfigError::invalid(
                    key("scenario"),
                    format!("the suite has no scenario called {:?}", e.scenario),
                ));
            }
            if !suite.profiles.contains_key(&e.profile) {
                return Err(ConfigError::invalid(
                    key("profile"),
                    format!("the suite has no profile called {:?}", e.profile),
                ));
            }
            if e.dialect != "both" && Dialect::ALL.iter().all(|d| d.name() != e.dialect) {
                return Err(ConfigError::invalid(
                    key("dialect"),
                    format!(
                        "{:?}: expected entra-default, entra-scim2020 or both",
                        e.dialect
                    ),
                ));
            }
            if e.reason.trim().is_empty() {
                return Err(ConfigError::invalid(
                    key("reason"),
                    "is empty: say why the host fails it",
                ));
            }
        }
        Ok(ExpectedFailures {
            source: source.into(),
            entries: file.expected,
        })
    }

    /// The entry for a case, if one lists it.
    fn entry(&self, scenario: &str, profile: &str, dialect: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| {
            e.scenario == scenario
                && e.profile == profile
                && (e.dialect == "both" || e.dialect == dialect)
        })
    }

    /// Turns listed failures into expected failures and listed passes into unexpected passes.
    pub fn apply(&self, report: &mut Report) {
        report.expected_failures = Some(self.source.clone());
        for run in &mut report.runs {
            for case in &mut run.cases {
                let Some(entry) = self.entry(&case.scenario, &run.profile, &run.dialect) else {
                    continue;
                };
                let detail = case.detail.get_or_insert_with(Default::default);
                match case.outcome {
                    Outcome::Failed | Outcome::Warned => {
                        case.outcome = Outcome::ExpectedFailure;
                        detail.message = format!(
                            "{}\n(expected to fail, {}: {})",
                            detail.message, self.source, entry.reason
                        );
                    }
                    Outcome::Passed => {
                        case.outcome = Outcome::UnexpectedPass;
                        detail.message = format!(
                            "listed in {} as expected to fail ({}), but it passed: remove the entry",
                            self.source, entry.reason
                        );
                    }
                    _ => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_that_name_nothing_are_refused_with_their_key() {
        let suite = Suite::embedded().unwrap();
        let good = "[[expected]]\nscenario = \"Enabling clears the deprovisioning attribute\"\nprofile = \"openldap-disable-flag\"\ndialect = \"both\"\nreason = \"r\"\n";
        assert_eq!(
            ExpectedFailures::parse(good, "x.toml", &suite)
                .unwrap()
                .entries
                .len(),
            1
        );
        for (bad, key) in [
            (
                good.replace("Enabling clears", "Enabling clear"),
                "expected[0].scenario",
            ),
            (
                good.replace("openldap-disable-flag", "openldap"),
                "expected[0].profile",
            ),
            (good.replace("both", "entra"), "expected[0].dialect"),
            (good.replace("\"r\"", "\" \""), "expected[0].reason"),
            (good.replace("reason", "why"), "unknown field"),
        ] {
            let e = ExpectedFailures::parse(&bad, "x.toml", &suite)
                .unwrap_err()
                .to_string();
            assert!(e.contains(key), "{key}: {e}");
        }
    }
}
