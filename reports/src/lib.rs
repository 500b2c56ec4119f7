//! ecmacert's report model and its renderers.
//!
//! A [`Report`] is what a run produced: one [`ProfileRun`] per profile × dialect, one [`Case`] per
//! scenario in it, each with an [`Outcome`] and, when it did not pass, the evidence: the failing
//! step, the "expected X, got Y" message and the HTTP exchanges (bearer tokens redacted before
//! they get here). Renderers: [`terminal`] (the summary people read), [`junit`] (one testcase per
//! scenario × profile × dialect, for CI), [`markdown`] (a summary for a pull-request comment),
//! [`html`] (one self-contained page with the requirement × profile matrix), JSON (the model
//! itself, via serde; [`SCHEMA`]), [`diff`] (two runs side by side) and [`shard`] (merging the
//! shards of a run).
//!
//! A report checks itself: every profile × dialect lists the scenarios it [planned to
//! run](ProfileRun::planned), and a report in which one of them has no result that ran
//! ([`Report::incomplete`]) does not pass, whatever its cases say — a run cannot pass by
//! leaving tests out, even through a defect in the runner.
//!
//! What it does not do: run anything, or know about SCIM.

pub mod diff;
pub mod html;
pub mod junit;
pub mod markdown;
pub mod shard;
pub mod terminal;
pub mod textdiff;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The version of the report's JSON shape, in [`Report::schema_version`]; the JSON Schema
/// `reports/schema/report.schema.json` ([`SCHEMA`]) describes it. 0 is a report written
/// before versions. A change that a reader of version N cannot read raises it.
pub const SCHEMA_VERSION: u32 = 1;

/// The JSON Schema (draft 2020-12) of [`Report`] as shipped in `reports/schema/`: generated
/// from these types by [`schema`] (a test keeps the file equal to it), for readers outside
/// Rust.
pub const SCHEMA: &str = include_str!("../schema/report.schema.json");

/// The JSON Schema of [`Report`], generated from the types (schemars).
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Report)).unwrap_or_default()
}

/// The largest request or response body an [`Exchange`] keeps, in bytes; longer ones are cut
/// with a marker that gives the whole length.
pub const BODY_LIMIT: usize = 16 * 1024;

/// Objects in the target as the probe read them: DN (lower case) → attribute (lower case) →
/// values (sorted). Write-only attributes (passwords) show as `<write-only>`.
pub type TargetState = BTreeMap<String, BTreeMap<String, Vec<String>>>;

/// A whole run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Report {
    /// The JSON shape's version: [`SCHEMA_VERSION`] for reports this build writes.
    #[serde(default)]
    pub schema_version: u32,
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
    /// `--strict`: warnings of SHOULD level were turned into failures.
    #[serde(default)]
    pub strict: bool,
    /// A certification run (`ecmacert certify`): every scenario, no expected failures.
    #[serde(default)]
    pub certification: bool,
    /// The host was reached over plain HTTP (`host.allow_plaintext`); Entra speaks only HTTPS.
    #[serde(default)]
    pub plaintext: bool,
    /// The expected-failures file the run applied (`--expected`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_failures: Option<String>,
    /// The host's output, when the run started it (`host.command`): where it was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_log: Option<String>,
    /// What the reader should know about how far the run's checks reach (e.g. a secret too
    /// common a word to be searched for in answers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// With both dialects: what the dialect differential (ECMA-UPDATE-014) compared, summed
    /// over the profiles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dialects_compared: Option<DialectComparison>,
    /// The suite that ran: the SHA-256 (lower-case hex) of every file of `features/` (the
    /// feature files, the catalogue `requirements.toml`, the profiles, the SQL scripts), by
    /// path. Two reports with the same digests ran the same checks.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub suite_files: BTreeMap<String, String>,
    /// What the host says of itself, read before the scenarios ran: one entry per connector
    /// the run reached (the embedded default serves several).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub host_facts: Vec<HostFacts>,
    /// The part of the run this report holds (`--shard i/n`); `None` for a whole run (a merge
    /// of every shard is one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<shard::Shard>,
}

/// What the dialect differential compared: scenarios that passed in both dialects of a
/// profile, the states they left the target in held to be the same.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DialectComparison {
    /// Scenarios compared.
    pub scenarios: usize,
    /// Of those, the ones that left objects in the target (the others compared two empty
    /// states).
    pub with_objects: usize,
    /// `profile · dialect: feature:line: why` for each passed scenario whose end state the
    /// probe could not read (so it was not compared).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unread: Vec<String>,
}

/// The scenarios of one profile under one dialect.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ProfileRun {
    /// The profile's name.
    pub profile: String,
    /// `entra-default` or `entra-scim2020`.
    pub dialect: String,
    /// One per scenario, in feature order.
    pub cases: Vec<Case>,
    /// The scenarios that should run under this profile and dialect, as [`Case::key`]s: known
    /// before the run from the suite, the profile and the selection.
    #[serde(default)]
    pub planned: Vec<String>,
}

/// One scenario's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
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
    /// Its Gherkin tags without `@`, the feature's included (`must`, `ldap`,
    /// `requires:import-hook`, `req:ECMA-CREATE-001`), as the HTML report filters by them.
    /// (Added in schema version 1; reports written before it lack the field.)
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// What happened.
    pub outcome: Outcome,
    /// How long it took.
    pub duration_ms: u64,
    /// Why it did not pass, and the evidence; warnings for a scenario that passed with some.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<Detail>,
    /// For a scenario that did not run although it applies to the host: what the run lacked
    /// (`host.import`, fault injection). Such scenarios are "not checked for this host".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_checked: Option<String>,
    /// The scenario's objects in the target (named with its suffix) before its first request
    /// and after its last step, as the probe read them, for a scenario that ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<TargetEvidence>,
}

/// What the host says of itself, read at the start of the run with the connector's token
/// (RFC 7644 §4): its `/ServiceProviderConfig` and the attributes of each schema `/Schemas`
/// lists. Secrets are redacted like every other text of the report.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HostFacts {
    /// The SCIM base URL the facts were read from (a connector's `…/ecma2host_<name>/scim`).
    pub scim_base: String,
    /// The `/ServiceProviderConfig` document; `None` when it did not answer 200 with JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_provider_config: Option<serde_json::Value>,
    /// Schema id → its attributes' names (sub-attributes as `name.sub`), from `/Schemas`.
    #[serde(default)]
    pub schemas: BTreeMap<String, Vec<String>>,
    /// What did not answer as it should (`GET /Schemas → 401`), for the reader.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unanswered: Vec<String>,
    /// How the run reached this connector and its target, from the run's configuration;
    /// present even when the host did not answer. (Added in schema version 1; reports written
    /// before it lack the field.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration: Option<RunConfiguration>,
}

/// The run's configuration as a report shows it: how the host and its target were reached,
/// with every secret named by its source only (`env HOST_TOKEN`, `file secrets/token`) and
/// any password cut from a URL (`postgres://ecma:***@…`). A hostile peer cannot put a secret
/// here: nothing in it comes from the host.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RunConfiguration {
    /// The profiles the run applied to this connector.
    pub profiles: Vec<String>,
    /// `https, certificate checked against host.ca_certificate (host.pem)`, `https, system
    /// roots`, or `http (host.allow_plaintext)`.
    pub transport: String,
    /// Where the connector's token came from: `env NAME`, `file PATH` or `given in code`.
    pub token: String,
    /// The program the run started the host with (`host.command`'s first word and how many
    /// arguments followed; the arguments themselves are left out, as they may hold secrets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_command: Option<String>,
    /// `host.import`: `command import.sh (1 argument)`, `POST /cache/import` (without a query), or
    /// `autosync, waits 330 s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import: Option<String>,
    /// `host.restart`, in the same words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<String>,
    /// `host.other_connector` (ECMA-AUTH-004).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_connector: Option<String>,
    /// `host.request_timeout_seconds`: how long one request may take, in seconds.
    pub request_timeout_seconds: u64,
    /// `host.ready_timeout_seconds`: how long a started or restarted host may take to answer.
    pub ready_timeout_seconds: u64,
    /// `[target]`: how the probe read the target.
    pub target: TargetConfiguration,
}

/// `[target]` of [`RunConfiguration`]: how the probe reached the host's target directly.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TargetConfiguration {
    /// `ldap` or `sql`.
    pub kind: String,
    /// The URL, without a password or a query (`ldaps://dc1:636`, `postgres://ecma@db/hr`).
    pub url: String,
    /// `ldaps`, `StartTLS`, or `none`, and whose certificates were trusted.
    pub transport: String,
    /// LDAP: the probe's bind DN (empty for SQL).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub bind_dn: String,
    /// Where the probe's password came from (`env NAME`, `file PATH`), or `none`.
    pub password: String,
    /// LDAP: the host's partition.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub base_dn: String,
    /// LDAP: where the scenarios' users were created.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub container: String,
    /// SQL: `target.table`, when given (otherwise the profile's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// SQL: `target.anchor`, when given (otherwise the profile's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor: Option<String>,
    /// `target.generated_attributes`, left out of the dialect differential.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub generated_attributes: Vec<String>,
    /// `target.fault_proxy`: where ecmacert's fault proxy listened between the host and this
    /// target (`127.0.0.1:3891, LDAP operations` or `…, TCP connections only`); absent when
    /// the run had none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault_proxy: Option<String>,
    /// `ecmacert run --target container:KIND`: the image the run started this target from and
    /// where it was published (`postgres:17-alpine on 127.0.0.1:5432`); absent when the target
    /// was already running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_container: Option<String>,
}

/// A scenario's objects in the target, before and after.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TargetEvidence {
    /// Before its first request; `None` when it sent none the usual way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<TargetState>,
    /// After its last step, before the clean-up; `None` when the probe could not read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<TargetState>,
}

impl Case {
    /// `feature:line`, the scenario's identity in a report.
    pub fn key(&self) -> String {
        format!("{}:{}", self.feature, self.line)
    }
}

/// Requirement levels (RFC 2119).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Every check held.
    Passed,
    /// The scenario's requirements did not hold (a MUST scenario).
    Failed,
    /// A SHOULD or MAY scenario did not hold, or a SHOULD check of a passing scenario did not.
    Warned,
    /// The profile does not declare a capability the scenario needs.
    NotApplicable,
    /// Left out by `--tags`.
    FilteredOut,
    /// Setup (a `Given` step, or the run's own setup) failed before the scenario could test
    /// anything; counts as a failure.
    Blocked,
    /// Failed, as an expected-failures entry says it does.
    ExpectedFailure,
    /// Passed although an expected-failures entry says it fails; counts as a failure, so the
    /// list only shrinks.
    UnexpectedPass,
}

impl Outcome {
    /// True for outcomes that ran: everything but not applicable and filtered out.
    pub fn ran(self) -> bool {
        !matches!(self, Outcome::NotApplicable | Outcome::FilteredOut)
    }

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

/// The evidence of a scenario that ran: its exchanges, and when it did not pass, why.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
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
    /// The exchanges of the scenario, last one last (the one that caused a failure); bodies
    /// over [`BODY_LIMIT`] are cut.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exchanges: Vec<Exchange>,
}

/// One HTTP request and its answer, as evidence. The `Authorization` header is redacted before
/// an exchange is recorded.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
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
    /// Cuts the request and response bodies to `limit` bytes (at a character boundary), with a
    /// marker that gives the whole length: what a report keeps of a large body.
    pub fn cut_bodies(&mut self, limit: usize) {
        for body in [&mut self.request_body, &mut self.response_body]
            .into_iter()
            .flatten()
        {
            if body.len() > limit {
                let mut end = limit;
                while !body.is_char_boundary(end) {
                    end -= 1;
                }
                let whole = body.len();
                body.truncate(end);
                body.push_str(&format!("… (cut: {whole} bytes in all)"));
            }
        }
    }

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
    /// Failed.
    pub failed: usize,
    /// Blocked (setup failed).
    pub blocked: usize,
    /// Warned.
    pub warned: usize,
    /// Not applicable.
    pub not_applicable: usize,
    /// Filtered out.
    pub filtered_out: usize,
    /// Expected failures.
    pub expected_failures: usize,
    /// Unexpected passes.
    pub unexpected_passes: usize,
}

impl Counts {
    fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Passed => self.passed += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::Blocked => self.blocked += 1,
            Outcome::UnexpectedPass => self.unexpected_passes += 1,
            Outcome::Warned => self.warned += 1,
            Outcome::NotApplicable => self.not_applicable += 1,
            Outcome::FilteredOut => self.filtered_out += 1,
            Outcome::ExpectedFailure => self.expected_failures += 1,
        }
    }

    /// Scenarios that ran.
    pub fn ran(&self) -> usize {
        self.passed
            + self.failed
            + self.blocked
            + self.warned
            + self.expected_failures
            + self.unexpected_passes
    }

    /// Cases that fail the run: failed, blocked, unexpectedly passed.
    pub fn failing(&self) -> usize {
        self.failed + self.blocked + self.unexpected_passes
    }

    /// `41 passed, 1 failed, …`: every outcome that occurred (passed always), in one line.
    pub fn line(&self) -> String {
        let mut parts = vec![format!("{} passed", self.passed)];
        for (n, name) in [
            (self.failed, "failed"),
            (self.blocked, "blocked"),
            (self.unexpected_passes, "unexpectedly passed"),
            (self.expected_failures, "failed as expected"),
            (self.warned, "warned"),
            (self.not_applicable, "not applicable"),
            (self.filtered_out, "filtered out"),
        ] {
            if n > 0 {
                parts.push(format!("{n} {name}"));
            }
        }
        parts.join(", ")
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

    /// Planned scenarios without a result that ran (none, or one that says it did not run).
    pub fn missing(&self) -> Vec<String> {
        self.planned
            .iter()
            .filter(|key| {
                !self
                    .cases
                    .iter()
                    .any(|c| c.key() == **key && c.outcome.ran())
            })
            .cloned()
            .collect()
    }
}

/// Cases that failed for the same reason: the same step and the same message once the run's
/// own names are taken out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cause {
    /// The failing step, as written in the feature (`None` for a run-level reason).
    pub step: Option<String>,
    /// The message, with the run's generated names replaced by `…`.
    pub message: String,
    /// `profile · dialect · scenario` of every case with this cause, in report order.
    pub cases: Vec<String>,
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

    /// True when nothing failed the run and every planned scenario ran.
    pub fn passed(&self) -> bool {
        self.incomplete().is_empty()
            && !self
                .runs
                .iter()
                .flat_map(|r| &r.cases)
                .any(|c| c.outcome.fails_run())
    }

    /// One line per profile × dialect that ran fewer scenarios than it planned, naming the
    /// missing ones: `openldap-posix · entra-default: 40 of 41 planned scenarios ran; missing
    /// lifecycle/create.feature:7`.
    pub fn incomplete(&self) -> Vec<String> {
        self.runs
            .iter()
            .filter_map(|r| {
                let missing = r.missing();
                (!missing.is_empty()).then(|| {
                    format!(
                        "{} · {}: {} of {} planned scenarios ran; missing {}",
                        r.profile,
                        r.dialect,
                        r.planned.len() - missing.len(),
                        r.planned.len(),
                        missing.join(", ")
                    )
                })
            })
            .collect()
    }

    /// The failing cases grouped by cause, the largest group first: what to fix first.
    pub fn causes(&self) -> Vec<Cause> {
        let mut causes: Vec<Cause> = Vec::new();
        for run in &self.runs {
            for case in run.cases.iter().filter(|c| c.outcome.fails_run()) {
                let detail = case.detail.clone().unwrap_or_default();
                let message = self.generic(detail.message.lines().next().unwrap_or(""));
                let step = detail.step.as_deref().map(|s| self.generic(s));
                let name = format!("{} · {} · {}", run.profile, run.dialect, case.scenario);
                match causes
                    .iter_mut()
                    .find(|c| c.step == step && c.message == message)
                {
                    Some(c) => c.cases.push(name),
                    None => causes.push(Cause {
                        step,
                        message,
                        cases: vec![name],
                    }),
                }
            }
        }
        // Stable: equal counts keep report order.
        causes.sort_by_key(|c| std::cmp::Reverse(c.cases.len()));
        causes
    }

    /// `text` with every name the run made up (`<name>-<run id>-<n>`, `<name>.<run id>-<n>`)
    /// cut down to `…`, so that the same failure of two scenarios reads the same. A merged
    /// report's run id is its shards' ids joined by `+`; each is taken out.
    pub fn generic(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for id in self.run_id.split('+').filter(|id| !id.is_empty()) {
            out = Self::generic_one(id, &out);
        }
        out
    }

    fn generic_one(run_id: &str, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find(run_id) {
            // Drop the name part before the run id back to a separator.
            let head = &rest[..at];
            let keep = head
                .rfind(|c: char| !(c.is_alphanumeric() || c == '-' || c == '.' || c == '_'))
                .map_or(0, |i| {
                    i + head[i..].chars().next().map_or(1, char::len_utf8)
                });
            out.push_str(&head[..keep]);
            out.push('…');
            let tail = &rest[at + run_id.len()..];
            let digits = tail
                .strip_prefix('-')
                .map(|t| 1 + t.chars().take_while(char::is_ascii_digit).count())
                .unwrap_or(0);
            rest = &tail[digits..];
        }
        out.push_str(rest);
        out
    }

    /// Scenarios that apply to the host but did not run, because the run lacked something
    /// (`host.import`, fault injection): `(what it lacked, the MUST requirements they check
    /// that no scenario that ran checked)`.
    pub fn not_checked(&self) -> Vec<(String, Vec<String>)> {
        let checked: std::collections::BTreeSet<&str> = self
            .runs
            .iter()
            .flat_map(|r| &r.cases)
            .filter(|c| c.outcome.ran())
            .flat_map(|c| c.requirements.iter().map(String::as_str))
            .collect();
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for case in self.runs.iter().flat_map(|r| &r.cases) {
            let Some(why) = &case.not_checked else {
                continue;
            };
            let musts = if case.level == Level::Must {
                case.requirements.clone()
            } else {
                Vec::new()
            };
            match out.iter_mut().find(|(w, _)| w == why) {
                Some((_, reqs)) => reqs.extend(musts),
                None => out.push((why.clone(), musts)),
            }
        }
        for (_, reqs) in &mut out {
            reqs.retain(|r| !checked.contains(r.as_str()));
            reqs.sort();
            reqs.dedup();
        }
        out
    }

    /// The process exit code: 0 when every MUST scenario passed, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        if self.passed() { 0 } else { 1 }
    }
}
