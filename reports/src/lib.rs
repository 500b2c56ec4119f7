//! ecmacert's report model and its renderers.
//!
//! A [`Report`] is what a run produced: one [`ProfileRun`] per profile × dialect, one [`Case`] per
//! scenario in it, each with an [`Outcome`] and, when it did not pass, the evidence: the failing
//! step, the "expected X, got Y" message and the HTTP exchanges (bearer tokens redacted before
//! they get here). Renderers: [`terminal`] (the summary people read), [`junit`] (one testcase per
//! scenario × profile × dialect, for CI), and JSON (the model itself, via serde).
//!
//! What it does not do: run anything, or know about SCIM. Later renderers (HTML, Markdown,
//! run-to-run diff, certification bundle) belong here too.

pub mod junit;
pub mod terminal;

use serde::{Deserialize, Serialize};

/// A whole run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// ecmacert's version.
    pub suite_version: String,
    /// The run's id; every object the run creates carries it.
    pub run_id: String,
    /// What was tested: the host's base URL and connector (never its token).
    pub host: String,
    /// Wall time of the whole run.
    pub duration_ms: u64,
    /// One entry per profile × dialect, in run order.
    pub runs: Vec<ProfileRun>,
    /// Objects the run created and did not remove (left for inspection when a scenario failed).
    pub leftovers: Vec<String>,
}

/// The scenarios of one profile under one dialect.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProfileRun {
    /// The profile's name.
    pub profile: String,
    /// `entra-default` or `entra-scim2020`.
    pub dialect: String,
    /// One per scenario, in feature order.
    pub cases: Vec<Case>,
}

/// One scenario's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Case {
    /// The feature file, relative to `features/`.
    pub feature: String,
    /// The scenario's name (with the example row for outlines).
    pub scenario: String,
    /// Line of the scenario (or example row) in the feature file.
    pub line: usize,
    /// The scenario's level, from its strictest requirement.
    pub level: Level,
    /// The requirement IDs it checks.
    pub requirements: Vec<String>,
    /// What happened.
    pub outcome: Outcome,
    /// How long it took.
    pub duration_ms: u64,
    /// Why it did not pass, and the evidence; warnings for a scenario that passed with some.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<Detail>,
}

/// Requirement levels (RFC 2119).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    /// Optional.
    May,
    /// Recommended: failing warns.
    Should,
    /// Required: failing fails the run.
    Must,
}

impl Level {
    /// `MUST`, `SHOULD` or `MAY`.
    pub fn name(self) -> &'static str {
        match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
            Level::May => "MAY",
        }
    }
}

/// What happened to a scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Every check held.
    Passed,
    /// A MUST check failed.
    Failed,
    /// Only SHOULD checks failed.
    Warned,
    /// The profile does not declare a capability the scenario needs.
    NotApplicable,
    /// Left out by `--tags`.
    FilteredOut,
    /// Setup failed before the scenario could test anything; counts as a failure.
    Blocked,
    /// Failed, as an expected-failures entry says it does.
    ExpectedFailure,
    /// Passed although an expected-failures entry says it fails; counts as a failure, so the
    /// list only shrinks.
    UnexpectedPass,
}

impl Outcome {
    /// True for outcomes that fail the run.
    pub fn fails_run(self) -> bool {
        matches!(
            self,
            Outcome::Failed | Outcome::Blocked | Outcome::UnexpectedPass
        )
    }

    /// The outcome's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::Warned => "warned",
            Outcome::NotApplicable => "not applicable",
            Outcome::FilteredOut => "filtered out",
            Outcome::Blocked => "blocked",
            Outcome::ExpectedFailure => "expected failure",
            Outcome::UnexpectedPass => "unexpected pass",
        }
    }
}

/// Why a scenario did not pass.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Detail {
    /// The step that failed, as written in the feature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// What was expected and what came instead.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// SHOULD-level checks that did not hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The exchanges of the scenario, last one last (the one that caused a failure).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exchanges: Vec<Exchange>,
}

/// One HTTP request and its answer, as evidence. The `Authorization` header is redacted before
/// an exchange is recorded.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Exchange {
    /// `GET`, `POST`, …
    pub method: String,
    /// The full URL.
    pub url: String,
    /// Request headers as sent (redacted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub request_headers: Vec<(String, String)>,
    /// The request body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_body: Option<String>,
    /// The answer's status; `None` when no answer came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Response headers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub response_headers: Vec<(String, String)>,
    /// The response body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_body: Option<String>,
    /// Why no answer came (connection refused, TLS failure, timeout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How long it took.
    pub duration_ms: u64,
}

impl Exchange {
    /// `POST https://…/Users → 201` or `→ no answer: <why>`.
    pub fn summary(&self) -> String {
        match (self.status, &self.error) {
            (Some(s), _) => format!("{} {} → {s}", self.method, self.url),
            (None, Some(e)) => format!("{} {} → no answer: {e}", self.method, self.url),
            (None, None) => format!("{} {} → no answer", self.method, self.url),
        }
    }
}

/// Counts of outcomes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Passed.
    pub passed: usize,
    /// Failed, blocked or unexpectedly passed.
    pub failed: usize,
    /// Warned.
    pub warned: usize,
    /// Not applicable.
    pub not_applicable: usize,
    /// Filtered out.
    pub filtered_out: usize,
    /// Expected failures.
    pub expected_failures: usize,
}

impl Counts {
    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Passed => self.passed += 1,
            Outcome::Failed | Outcome::Blocked | Outcome::UnexpectedPass => self.failed += 1,
            Outcome::Warned => self.warned += 1,
            Outcome::NotApplicable => self.not_applicable += 1,
            Outcome::FilteredOut => self.filtered_out += 1,
            Outcome::ExpectedFailure => self.expected_failures += 1,
        }
    }

    /// Scenarios that ran.
    pub fn ran(&self) -> usize {
        self.passed + self.failed + self.warned + self.expected_failures
    }
}

impl ProfileRun {
    /// This run's counts.
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for case in &self.cases {
            c.add(case.outcome);
        }
        c
    }
}

impl Report {
    /// Counts over every profile and dialect.
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for case in self.runs.iter().flat_map(|r| &r.cases) {
            c.add(case.outcome);
        }
        c
    }

    /// True when nothing failed the run.
    pub fn passed(&self) -> bool {
        !self
            .runs
            .iter()
            .flat_map(|r| &r.cases)
            .any(|c| c.outcome.fails_run())
    }

    /// The process exit code: 0 when every MUST scenario passed, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        if self.passed() { 0 } else { 1 }
    }
}
