//! Which requirements the suite checks, and where: every requirement of the catalogue with the
//! scenarios tagged with it and, per profile, whether one of them runs there. A MUST that no
//! scenario checks under any of the profiles is a hole in the suite, not in a host: `ecmacert
//! requirements` exits 1 for it.
//!
//! "Runs there" counts what the run can provide (an import hook, fault injection) as present:
//! the embedded default provides both, so a scenario that needs them is checked somewhere.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use reports::Level;
use serde::Serialize;

use crate::capability::Capability;
use crate::suite::Suite;

/// One requirement and what checks it.
#[derive(Clone, Debug, Serialize)]
pub struct RequirementCoverage {
    /// `ECMA-<AREA>-NNN`.
    pub id: String,
    /// `MUST`, `SHOULD` or `MAY`.
    pub level: String,
    /// What a host must do.
    pub text: String,
    /// Where the requirement comes from.
    pub source: String,
    /// The scenarios tagged with it: `feature:line name`.
    pub scenarios: Vec<String>,
    /// Per profile: whether at least one of those scenarios runs under it.
    pub profiles: BTreeMap<String, bool>,
}

impl RequirementCoverage {
    /// True when a scenario checks it under at least one of the profiles.
    pub fn covered(&self) -> bool {
        self.profiles.values().any(|&runs| runs)
    }
}

/// The catalogue against the scenarios, for some profiles.
#[derive(Clone, Debug, Serialize)]
pub struct Coverage {
    /// The profiles looked at.
    pub profiles: Vec<String>,
    /// Every requirement, in catalogue order by ID.
    pub requirements: Vec<RequirementCoverage>,
}

impl Coverage {
    /// Coverage of every requirement under `profiles` (all of the suite's when empty).
    /// Errors: a profile the suite does not have.
    pub fn of(suite: &Suite, profiles: &[String]) -> Result<Coverage, String> {
        let profiles: Vec<String> = if profiles.is_empty() {
            suite.profiles.keys().cloned().collect()
        } else {
            profiles.to_vec()
        };
        if let Some(unknown) = profiles.iter().find(|p| !suite.profiles.contains_key(*p)) {
            return Err(format!(
                "unknown profile {unknown:?} (the suite has: {})",
                suite
                    .profiles
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        // A profile declares its own capabilities; what a run provides, and what a deployment
        // may have (a standby host, a target on the network), is granted here.
        let provided: BTreeSet<Capability> = Capability::ALL
            .into_iter()
            .filter(|c| c.is_run_provided() || c.is_deployment())
            .collect();
        let requirements = suite
            .requirements
            .values()
            .map(|r| {
                let tagged: Vec<_> = suite
                    .scenarios
                    .iter()
                    .filter(|s| s.requirements.contains(&r.id))
                    .collect();
                // A run check applies wherever any scenario runs.
                let checked_by: Vec<_> = if r.run_check.is_some() {
                    suite.scenarios.iter().collect()
                } else {
                    tagged.clone()
                };
                let runs = profiles
                    .iter()
                    .map(|name| {
                        let profile = &suite.profiles[name];
                        let runs = checked_by
                            .iter()
                            .any(|s| s.not_applicable(profile, &provided).is_none());
                        (name.clone(), runs)
                    })
                    .collect();
                RequirementCoverage {
                    id: r.id.clone(),
                    level: r.level.clone(),
                    text: r.text.clone(),
                    source: r.source.clone(),
                    scenarios: r
                        .run_check
                        .iter()
                        .map(|c| format!("run check: {c}"))
                        .chain(
                            tagged
                                .iter()
                                .map(|s| format!("{}:{} {}", s.feature, s.line, s.name)),
                        )
                        .collect(),
                    profiles: runs,
                }
            })
            .collect();
        Ok(Coverage {
            profiles,
            requirements,
        })
    }

    /// MUST requirements: how many are covered, of how many.
    pub fn must_covered(&self) -> (usize, usize) {
        let musts: Vec<_> = self
            .requirements
            .iter()
            .filter(|r| level(r) == Level::Must)
            .collect();
        (musts.iter().filter(|r| r.covered()).count(), musts.len())
    }

    /// 0 when every MUST is covered, else 1.
    pub fn exit_code(&self) -> u8 {
        let (covered, all) = self.must_covered();
        u8::from(covered < all)
    }

    /// The text report: one block per requirement, the uncovered MUSTs listed last, and the
    /// summary line `MUST covered: N/M`.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for r in &self.requirements {
            let runs: Vec<&str> = r
                .profiles
                .iter()
                .filter(|(_, runs)| **runs)
                .map(|(p, _)| p.as_str())
                .collect();
            let _ = writeln!(
                out,
                "{} {} — {}",
                r.id,
                r.level,
                if r.scenarios.is_empty() {
                    "no scenario".to_owned()
                } else if runs.is_empty() {
                    format!(
                        "{} scenario(s), none runs under these profiles",
                        r.scenarios.len()
                    )
                } else {
                    format!(
                        "{} scenario(s), runs under {}",
                        r.scenarios.len(),
                        runs.join(", ")
                    )
                }
            );
            for s in &r.scenarios {
                let _ = writeln!(out, "    {s}");
            }
        }
        let uncovered: Vec<&str> = self
            .requirements
            .iter()
            .filter(|r| level(r) == Level::Must && !r.covered())
            .map(|r| r.id.as_str())
            .collect();
        if !uncovered.is_empty() {
            let _ = writeln!(
                out,
                "\nMUST requirements no scenario checks under these profiles ({}):\n  {}",
                uncovered.len(),
                uncovered.join(" ")
            );
        }
        let (covered, all) = self.must_covered();
        let _ = writeln!(out, "\nMUST covered: {covered}/{all}");
        out
    }
}

fn level(r: &RequirementCoverage) -> Level {
    match r.level.as_str() {
        "MUST" => Level::Must,
        "SHOULD" => Level::Should,
        _ => Level::May,
    }
}

#[cfg(test)]
mod tests {
    use super::Coverage;
    use crate::suite::Suite;

    const CATALOGUE: &str = r#"
[[requirement]]
id = "ECMA-X-001"
level = "MUST"
area = "X"
text = "checked"
source = "s"
observe = "o"

[[requirement]]
id = "ECMA-X-002"
level = "MUST"
area = "X"
text = "checked only where the profile can"
source = "s"
observe = "o"

[[requirement]]
id = "ECMA-X-003"
level = "SHOULD"
area = "X"
text = "unchecked, but only a SHOULD"
source = "s"
observe = "o"
"#;

    const PROFILE: &str = include_str!("../../features/profiles/openldap-inetorgperson.toml");

    fn suite(feature: &str) -> Suite {
        Suite::from_files(&[
            ("requirements.toml", CATALOGUE),
            ("profiles/openldap-inetorgperson.toml", PROFILE),
            ("f.feature", feature),
        ])
        .unwrap()
    }

    #[test]
    fn a_must_without_an_applicable_scenario_is_uncovered_and_fails() {
        // X-002's only scenario needs stored procedures, which an LDAP profile does not have.
        let s = suite(
            "Feature: f\n\n  @req:ECMA-X-001 @must\n  Scenario: one\n    Given x\n\n  @req:ECMA-X-002 @must @requires:procedures\n  Scenario: two\n    Given x\n",
        );
        let c = Coverage::of(&s, &[]).unwrap();
        assert_eq!(c.must_covered(), (1, 2));
        assert_eq!(c.exit_code(), 1);
        let text = c.text();
        assert!(
            text.contains("ECMA-X-002 MUST — 1 scenario(s), none runs"),
            "{text}"
        );
        assert!(
            text.contains("checks under these profiles (1):\n  ECMA-X-002"),
            "{text}"
        );
        assert!(text.ends_with("MUST covered: 1/2\n"), "{text}");
    }

    #[test]
    fn run_provided_capabilities_count_as_present_and_every_must_covered_passes() {
        let s = suite(
            "Feature: f\n\n  @req:ECMA-X-001 @must\n  Scenario: one\n    Given x\n\n  @req:ECMA-X-002 @must @requires:import-hook\n  Scenario: two\n    Given x\n",
        );
        let c = Coverage::of(&s, &[]).unwrap();
        assert_eq!(c.must_covered(), (2, 2));
        assert_eq!(c.exit_code(), 0);
        assert!(Coverage::of(&s, &["nope".into()]).is_err());
    }
}
