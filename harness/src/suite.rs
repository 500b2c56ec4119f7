//! The suite as shipped: the features, profiles and requirements catalogue embedded at build
//! time (see `build.rs`), parsed and checked against each other.
//!
//! Every scenario must cite at least one requirement (`@req:ECMA-…`) that exists in
//! `features/requirements.toml`, carry exactly one level tag (`@must`, `@should`, `@may`)
//! equal to its strictest requirement's level, and name only known capabilities in
//! `@requires:<capability>`. A suite that breaks this does not load, and a unit test keeps it
//! from being committed. The catalogue is the one home of levels: checks in Rust name a
//! requirement, and [`Suite::level`] says how much it weighs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use cucumber::feature::Ext as _;
use reports::Level;
use serde::{Deserialize, Serialize};

use crate::capability::Capability;
use crate::profile::{Profile, ProfileError};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

/// One requirement of the catalogue.
#[derive(Clone, Debug, Deserialize)]
pub struct Requirement {
    /// `ECMA-<AREA>-NNN`
    pub id: String,
    /// `MUST`, `SHOULD` or `MAY`.
    pub level: String,
    /// The area (`AUTH`, `MATCH`, …).
    pub area: String,
    /// What a host must do.
    pub text: String,
    /// Where it comes from.
    pub source: String,
    /// How a test observes it.
    pub observe: String,
    /// For a requirement the run checks across scenarios rather than a scenario of its own:
    /// the check, as the coverage report names it.
    #[serde(default)]
    pub run_check: Option<String>,
}

impl Requirement {
    /// The level as the report model has it.
    pub fn level(&self) -> Level {
        match self.level.as_str() {
            "MUST" => Level::Must,
            "SHOULD" => Level::Should,
            _ => Level::May,
        }
    }
}

#[derive(Deserialize)]
struct Catalogue {
    requirement: Vec<Requirement>,
}

/// A scenario as the suite knows it before running: outlines are expanded, one per example row.
#[derive(Clone, Debug)]
pub struct ScenarioMeta {
    /// The feature file, relative to `features/`.
    pub feature: String,
    /// The scenario's name.
    pub name: String,
    /// The line of the scenario (or of its example row).
    pub line: usize,
    /// Its level.
    pub level: Level,
    /// The requirements it checks.
    pub requirements: Vec<String>,
    /// Capabilities it needs (`@requires:<capability>`).
    pub requires: Vec<Capability>,
    /// The target kind it is specific to (`@ldap`, `@sql`), if any.
    pub kind: Option<String>,
    /// Every tag, without `@`, feature tags included.
    pub tags: Vec<String>,
}

/// Why a scenario does not run under a profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inapplicable {
    /// The reason, for the report.
    pub reason: String,
    /// Set when the host is bound by the scenario's requirements and only the run lacks
    /// something to check them (an import hook, fault injection): what it lacks.
    pub not_checked: Option<String>,
}

impl ScenarioMeta {
    /// `feature:line`, as reports name the scenario.
    pub fn key(&self) -> String {
        format!("{}:{}", self.feature, self.line)
    }

    /// Why the scenario does not run under `profile` in a run that provides `run_provides`,
    /// if it does not.
    pub fn not_applicable(
        &self,
        profile: &Profile,
        run_provides: &BTreeSet<Capability>,
    ) -> Option<Inapplicable> {
        if let Some(kind) = &self.kind
            && *kind != profile.kind
        {
            return Some(Inapplicable {
                reason: format!(
                    "the scenario is for {kind} targets; the profile is {}",
                    profile.kind
                ),
                not_checked: None,
            });
        }
        let caps = profile.capabilities();
        let missing: Vec<Capability> = self
            .requires
            .iter()
            .copied()
            .filter(|c| !caps.contains(c) && !run_provides.contains(c))
            .collect();
        if missing.is_empty() {
            return None;
        }
        let (run, declared): (Vec<Capability>, Vec<Capability>) =
            missing.iter().partition(|c| c.is_run_provided());
        let names = |cs: &[Capability]| cs.iter().map(|c| c.name()).collect::<Vec<_>>().join(", ");
        if let Some(deployment) = declared.iter().find(|c| c.is_deployment()) {
            return Some(Inapplicable {
                reason: format!("the deployment has {}", deployment.lacking()),
                not_checked: None,
            });
        }
        if declared.is_empty() {
            let lacking = run
                .iter()
                .map(|c| c.lacking())
                .collect::<Vec<_>>()
                .join("; ");
            Some(Inapplicable {
                reason: format!("not checked: the run has {lacking}"),
                not_checked: Some(lacking),
            })
        } else {
            Some(Inapplicable {
                reason: format!("the profile does not declare {}", names(&declared)),
                not_checked: None,
            })
        }
    }
}

/// Why the shipped suite does not load.
#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    /// A feature file does not parse.
    #[error("{file}: {reason}")]
    Feature {
        /// The file.
        file: String,
        /// The parser's message.
        reason: String,
    },
    /// The catalogue does not parse.
    #[error("requirements.toml: {0}")]
    Catalogue(String),
    /// A profile does not parse.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// A bad-input corpus file does not parse.
    #[error("{file}: {reason}")]
    Corpus {
        /// The file.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// A scenario breaks the tagging rules.
    #[error("{file}:{line} {scenario:?}: {reason}")]
    Tags {
        /// The file.
        file: String,
        /// The line.
        line: usize,
        /// The scenario.
        scenario: String,
        /// What is wrong.
        reason: String,
    },
}

/// The loaded suite.
#[derive(Clone)]
pub struct Suite {
    /// The features, outlines expanded, paths relative to `features/`.
    pub features: Vec<gherkin::Feature>,
    /// Every scenario, in feature order.
    pub scenarios: Vec<ScenarioMeta>,
    /// The catalogue, by id.
    pub requirements: BTreeMap<String, Requirement>,
    /// The profiles, by name.
    pub profiles: BTreeMap<String, Profile>,
    /// SQL setup scripts, by path relative to `features/` (`sql/postgres-table.sql`).
    pub scripts: BTreeMap<String, String>,
    /// The SHA-256 (lower-case hex) of every file the suite was made from, by path relative
    /// to `features/`; a vendor's profile by `vendor profile <name>`. The report carries them
    /// ([`reports::Report::suite_files`]).
    pub digests: BTreeMap<String, String>,
    /// The vendor's profiles' files as given, by profile name (a certification bundle carries
    /// them).
    pub vendor_profiles: BTreeMap<String, String>,
    /// The bad-input corpus (ECMA-ROBUST-018), by class file stem (`json`), from
    /// `robustness/corpus/*.toml`.
    pub corpora: BTreeMap<String, crate::corpus::Corpus>,
}

/// The SHA-256 of `bytes` (a file's text or contents), in lower-case hex.
pub fn sha256_hex(bytes: impl AsRef<[u8]>) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes.as_ref())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Suite {
    /// The suite embedded in this binary.
    pub fn embedded() -> Result<Suite, SuiteError> {
        Suite::from_files(embedded::FILES)
    }

    /// A suite from `(path, contents)` pairs laid out as `features/` is.
    pub fn from_files(files: &[(&str, &str)]) -> Result<Suite, SuiteError> {
        let mut requirements = BTreeMap::new();
        let mut profiles = BTreeMap::new();
        let mut features = Vec::new();
        let mut scripts = BTreeMap::new();
        let mut corpora = BTreeMap::new();
        let digests = files
            .iter()
            .map(|(path, text)| ((*path).to_owned(), sha256_hex(text)))
            .collect();
        for (path, text) in files {
            if *path == "requirements.toml" {
                let c: Catalogue =
                    toml::from_str(text).map_err(|e| SuiteError::Catalogue(e.to_string()))?;
                requirements = c
                    .requirement
                    .into_iter()
                    .map(|r| (r.id.clone(), r))
                    .collect();
            } else if let Some(name) = crate::corpus::name_of(path) {
                let corpus = crate::corpus::Corpus::parse(name, text).map_err(|reason| {
                    SuiteError::Corpus {
                        file: (*path).to_owned(),
                        reason,
                    }
                })?;
                corpora.insert(name.to_owned(), corpus);
            } else if path.starts_with("profiles/") && path.ends_with(".toml") {
                let p = Profile::parse(path, text)?;
                profiles.insert(p.name.clone(), p);
            } else if path.ends_with(".sql") {
                scripts.insert((*path).to_owned(), (*text).to_owned());
            } else if path.ends_with(".feature") {
                let fail = |reason: String| SuiteError::Feature {
                    file: (*path).to_owned(),
                    reason,
                };
                let mut feature = gherkin::Feature::parse(text, gherkin::GherkinEnv::default())
                    .map_err(|e| fail(e.to_string()))?;
                feature.path = Some(PathBuf::from(path));
                let feature = feature.expand_examples().map_err(|e| fail(e.to_string()))?;
                features.push(feature);
            }
        }
        let mut scenarios = Vec::new();
        for feature in &features {
            let file = feature_file(feature);
            let rule_scenarios = feature
                .rules
                .iter()
                .flat_map(|r| r.scenarios.iter().map(move |s| (Some(r), s)));
            for (rule, scenario) in feature
                .scenarios
                .iter()
                .map(|s| (None, s))
                .chain(rule_scenarios)
            {
                let tags: Vec<String> = feature
                    .tags
                    .iter()
                    .chain(rule.map(|r| r.tags.iter()).into_iter().flatten())
                    .chain(&scenario.tags)
                    .cloned()
                    .collect();
                scenarios.push(meta(&file, scenario, tags, &requirements)?);
            }
        }
        for p in profiles.values() {
            let setup = p.sql.iter().flat_map(|sql| sql.scripts());
            if let Some(missing) = setup.into_iter().find(|s| !scripts.contains_key(*s)) {
                return Err(SuiteError::Profile(ProfileError {
                    name: p.name.clone(),
                    reason: format!("its setup script {missing} is not in features/"),
                }));
            }
        }
        Ok(Suite {
            features,
            scenarios,
            requirements,
            profiles,
            scripts,
            digests,
            vendor_profiles: BTreeMap::new(),
            corpora,
        })
    }

    /// Adds a profile from a file of the vendor's (the shipped profiles' format), checked as
    /// the shipped ones are, and returns its name. Errors name the file and the key.
    pub fn add_profile_file(&mut self, path: &Path) -> Result<String, crate::config::ConfigError> {
        use crate::config::ConfigError;
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        self.add_profile_text(path, &text)
    }

    /// [`Suite::add_profile_file`] for a profile's text; `path` names it in errors.
    pub fn add_profile_text(
        &mut self,
        path: &Path,
        text: &str,
    ) -> Result<String, crate::config::ConfigError> {
        use crate::config::ConfigError;
        let shown = path.display().to_string();
        let profile = Profile::parse(&shown, text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.reason,
        })?;
        if self.profiles.contains_key(&profile.name) {
            return Err(ConfigError::invalid(
                format!("{shown}: name"),
                format!(
                    "a profile called {:?} is already in the suite; give yours another name",
                    profile.name
                ),
            ));
        }
        if let Some(missing) = profile
            .sql
            .iter()
            .flat_map(|sql| sql.scripts())
            .find(|s| !self.scripts.contains_key(*s))
        {
            return Err(ConfigError::invalid(
                format!("{shown}: sql.setup"),
                format!("{missing} is not one of the suite's setup scripts (features/sql/)"),
            ));
        }
        let name = profile.name.clone();
        self.profiles.insert(name.clone(), profile);
        self.digests
            .insert(format!("vendor profile {name}"), sha256_hex(text));
        self.vendor_profiles.insert(name.clone(), text.to_owned());
        Ok(name)
    }

    /// Adds every `*.toml` in `dir` as a profile ([`Suite::add_profile_file`]); returns their
    /// names.
    pub fn add_profiles_dir(
        &mut self,
        dir: &Path,
    ) -> Result<Vec<String>, crate::config::ConfigError> {
        let entries =
            std::fs::read_dir(dir).map_err(|source| crate::config::ConfigError::Read {
                path: dir.to_owned(),
                source,
            })?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        paths.iter().map(|p| self.add_profile_file(p)).collect()
    }

    /// A SQL profile's setup scripts as one script (joined with `-- go` separators).
    pub fn setup_script(&self, profile: &str) -> Option<String> {
        let sql = self.profiles.get(profile)?.sql.as_ref()?;
        let parts: Option<Vec<&str>> = sql
            .setup
            .iter()
            .map(|s| self.scripts.get(s).map(String::as_str))
            .collect();
        Some(parts?.join("\n-- go\n"))
    }

    /// A requirement's level from the catalogue; `None` for an ID it does not hold.
    pub fn level(&self, id: &str) -> Option<Level> {
        self.requirements.get(id).map(Requirement::level)
    }

    /// Every requirement's level, by ID.
    pub fn levels(&self) -> BTreeMap<String, Level> {
        self.requirements
            .iter()
            .map(|(id, r)| (id.clone(), r.level()))
            .collect()
    }

    /// The scenario at `file:line`.
    pub fn scenario(&self, file: &str, line: usize) -> Option<&ScenarioMeta> {
        self.scenarios
            .iter()
            .find(|s| s.feature == file && s.line == line)
    }
}

/// A feature's path relative to `features/`.
pub fn feature_file(feature: &gherkin::Feature) -> String {
    feature
        .path
        .as_ref()
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .unwrap_or_else(|| feature.name.clone())
}

fn meta(
    file: &str,
    scenario: &gherkin::Scenario,
    tags: Vec<String>,
    requirements: &BTreeMap<String, Requirement>,
) -> Result<ScenarioMeta, SuiteError> {
    let fail = |reason: String| SuiteError::Tags {
        file: file.to_owned(),
        line: scenario.position.line,
        scenario: scenario.name.clone(),
        reason,
    };
    let mut reqs = Vec::new();
    let mut requires = Vec::new();
    let mut levels = Vec::new();
    let mut kind = None;
    for tag in &tags {
        if let Some(id) = tag.strip_prefix("req:") {
            if !requirements.contains_key(id) {
                return Err(fail(format!("@req:{id} is not in requirements.toml")));
            }
            reqs.push(id.to_owned());
        } else if let Some(cap) = tag.strip_prefix("requires:") {
            requires.push(
                cap.parse::<Capability>()
                    .map_err(|e| fail(format!("@requires: {e}")))?,
            );
        } else if let Some(level) = match tag.as_str() {
            "must" => Some(Level::Must),
            "should" => Some(Level::Should),
            "may" => Some(Level::May),
            _ => None,
        } {
            levels.push(level);
        } else if matches!(tag.as_str(), "ldap" | "sql") {
            kind = Some(tag.clone());
        }
    }
    if reqs.is_empty() {
        return Err(fail("cites no requirement (@req:ECMA-…)".into()));
    }
    let [level] = levels[..] else {
        return Err(fail(format!(
            "needs exactly one of @must, @should, @may (has {})",
            levels.len()
        )));
    };
    let strictest = reqs
        .iter()
        .filter_map(|r| requirements.get(r))
        .map(Requirement::level)
        .max();
    if Some(level) != strictest {
        return Err(fail(format!(
            "is @{} but its strictest requirement is {}",
            level.name().to_lowercase(),
            strictest.map_or("none", Level::name)
        )));
    }
    Ok(ScenarioMeta {
        feature: file.to_owned(),
        name: scenario.name.clone(),
        line: scenario.position.line,
        level,
        requirements: reqs,
        requires,
        kind,
        tags,
    })
}

/// A list of exempt scenarios: the selftest's (`features/selftest-exempt.toml`) and the dialect
/// differential's (`features/dialect-exempt.toml`): `[[exempt]]` with `feature`,
/// `scenario` (as in a report, with the example row for outlines) and `reason`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exemptions {
    /// The entries.
    #[serde(default)]
    pub exempt: Vec<Exemption>,
}

/// One exempt scenario, and why.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Exemption {
    /// The feature file, relative to `features/`.
    pub feature: String,
    /// The scenario's name.
    pub scenario: String,
    /// Why it is exempt (selftest: why no mutant of the embedded default can fail it, and
    /// where it is shown to fail instead).
    pub reason: String,
}

impl Exemptions {
    /// Parses the selftest's list; an error names the problem.
    pub fn parse(text: &str) -> Result<Self, String> {
        Self::parse_file(text, "selftest-exempt.toml")
    }

    /// Parses a list of exempt scenarios in this shape (the selftest's, the dialect
    /// differential's); an error names `file` and the problem. Every entry needs a reason of
    /// at least 20 characters.
    pub fn parse_file(text: &str, file: &str) -> Result<Self, String> {
        let list: Exemptions = toml::from_str(text).map_err(|e| format!("{file}: {e}"))?;
        for e in &list.exempt {
            if e.reason.trim().len() < 20 {
                return Err(format!(
                    "{file}: {:?} needs a reason that says why it is exempt",
                    e.scenario
                ));
            }
        }
        Ok(list)
    }

    /// The selftest's list shipped with the suite (`features/selftest-exempt.toml`); an error
    /// names what is wrong with it.
    pub fn shipped() -> Result<Self, String> {
        Self::parse(include_str!("../../features/selftest-exempt.toml"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_suite_loads_and_follows_its_rules() {
        let suite = Suite::embedded().unwrap_or_else(|e| panic!("{e}"));
        assert!(
            suite.scenarios.len() >= 20,
            "{} scenarios",
            suite.scenarios.len()
        );
        assert_eq!(suite.requirements.len(), 163);
        assert!(suite.profiles.contains_key("openldap-inetorgperson"));
        assert!(suite.profiles.contains_key("openldap-posix"));
    }

    fn suite_with(feature: &str) -> Result<Suite, SuiteError> {
        let reqs = "[[requirement]]\nid = \"ECMA-X-001\"\nlevel = \"MUST\"\narea = \"X\"\ntext = \"t\"\nsource = \"s\"\nobserve = \"o\"\n\
                    [[requirement]]\nid = \"ECMA-X-002\"\nlevel = \"SHOULD\"\narea = \"X\"\ntext = \"t\"\nsource = \"s\"\nobserve = \"o\"\n";
        Suite::from_files(&[("requirements.toml", reqs), ("x.feature", feature)])
    }

    #[test]
    fn tagging_mistakes_are_refused() {
        let ok = "Feature: f\n  @req:ECMA-X-001 @must\n  Scenario: s\n    Given x\n";
        assert!(suite_with(ok).is_ok());
        for (feature, reason) in [
            (
                "Feature: f\n  @must\n  Scenario: s\n    Given x\n",
                "cites no requirement",
            ),
            (
                "Feature: f\n  @req:ECMA-X-009 @must\n  Scenario: s\n    Given x\n",
                "not in requirements.toml",
            ),
            (
                "Feature: f\n  @req:ECMA-X-001\n  Scenario: s\n    Given x\n",
                "exactly one of",
            ),
            (
                "Feature: f\n  @req:ECMA-X-001 @should\n  Scenario: s\n    Given x\n",
                "strictest requirement is MUST",
            ),
            (
                "Feature: f\n  @req:ECMA-X-002 @must\n  Scenario: s\n    Given x\n",
                "strictest requirement is SHOULD",
            ),
            (
                "Feature: f\n  @req:ECMA-X-001 @must @requires:import-hooks\n  Scenario: s\n    Given x\n",
                "@requires: unknown capability \"import-hooks\"",
            ),
        ] {
            let e = suite_with(feature)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(e.contains(reason), "{reason:?} not in {e:?}");
        }
    }
}
