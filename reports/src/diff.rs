//! Two runs side by side (`ecmacert report diff OLD.json NEW.json`): the operator's "before and
//! after the agent upgrade".
//!
//! Cases are matched by profile, dialect, feature and scenario name (not by line, which moves
//! when the suite changes). Each case whose outcome changed is listed, regressions first; a
//! case that ran before and does not now (missing, filtered out, not applicable) is a
//! regression too, since a run must not pass by leaving tests out. Cases whose outcome stayed
//! the same but whose reason changed (the failing step or the message, once each run's
//! generated names, ids, ports and numbers are normalised away) are listed after them, and
//! last the cases with the same outcome and reason whose evidence differs: the set of
//! exchanges (method, URL and status) or the scenario's objects in the target after it, with
//! every run of digits and the run's generated names normalised away (so a race decided
//! differently or a retry more does not show; a changed status, attribute or object does).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::{Case, Outcome, Report};

/// How bad an outcome is, for telling a regression from a fix: 0 passed or not judged, 1
/// warned, 2 fails the run.
fn severity(outcome: Outcome) -> u8 {
    match outcome {
        Outcome::Passed => 0,
        Outcome::NotApplicable | Outcome::FilteredOut => 0,
        Outcome::Warned => 1,
        // A failure listed in --expected is still a failure of the host.
        Outcome::Failed | Outcome::Blocked | Outcome::UnexpectedPass | Outcome::ExpectedFailure => {
            2
        }
    }
}

/// What kind of change a case went through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// Worse than before, or no longer run.
    Regression,
    /// Better than before, or newly run.
    Fix,
    /// Another outcome of the same severity (failed → blocked).
    Changed,
    /// The same outcome for another reason.
    Reason,
    /// The same outcome and reason, other exchanges or target state.
    Evidence,
}

impl Kind {
    /// `regressed`, `fixed`, `changed`, `reason changed`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Regression => "regressed",
            Kind::Fix => "fixed",
            Kind::Changed => "changed",
            Kind::Reason => "reason changed",
            Kind::Evidence => "evidence changed",
        }
    }
}

/// One case that differs between the runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The kind of change.
    pub kind: Kind,
    /// `profile · dialect · feature: scenario`.
    pub case: String,
    /// The outcome before; `None` when the old run has no such case.
    pub old: Option<Outcome>,
    /// The outcome after; `None` when the new run has no such case.
    pub new: Option<Outcome>,
    /// The normalised reason before and after (`step: message`, first line), when either has
    /// one.
    pub reasons: (String, String),
    /// For [`Kind::Evidence`]: the unified diff of the normalised evidence, before → after.
    pub evidence: String,
}

/// The differences between two runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunDiff {
    /// `run id · suite version` of each side.
    pub sides: (String, String),
    /// Every differing case: regressions first, then fixes, changes and changed reasons, each
    /// in the new run's order.
    pub changes: Vec<Change>,
}

/// Profile, dialect, feature, scenario name, and which occurrence of that name in the feature
/// (an outline's examples can share one name).
type CaseKey = (String, String, String, String, usize);

fn cases(report: &Report) -> Vec<(CaseKey, &Case)> {
    let mut out = Vec::new();
    for r in &report.runs {
        let mut seen: BTreeMap<(&str, &str), usize> = BTreeMap::new();
        for c in &r.cases {
            let n = seen.entry((&c.feature, &c.scenario)).or_default();
            out.push((
                (
                    r.profile.clone(),
                    r.dialect.clone(),
                    c.feature.clone(),
                    c.scenario.clone(),
                    *n,
                ),
                c,
            ));
            *n += 1;
        }
    }
    out
}

/// `text` with what differs between any two runs taken out: the run's generated names (as the
/// cause grouping does), and every run of four or more digits (ports, numbers, ids) as `#`.
pub fn normalise(report: &Report, text: &str) -> String {
    let generic = report.generic(text);
    let mut out = String::with_capacity(generic.len());
    let mut digits = String::new();
    for ch in generic.chars().chain(std::iter::once('\0')) {
        if ch.is_ascii_digit() {
            digits.push(ch);
            continue;
        }
        if digits.len() >= 4 {
            out.push('#');
        } else {
            out.push_str(&digits);
        }
        digits.clear();
        if ch != '\0' {
            out.push(ch);
        }
    }
    out
}

/// `text` with every UUID (8-4-4-4-12 hex digits, as Entra's random Test Connection values
/// and `externalId`s are) as `{uuid}`.
pub fn uuids(text: &str) -> String {
    const SHAPE: [usize; 5] = [8, 4, 4, 4, 12];
    let is_uuid = |s: &[u8]| {
        let mut at = 0;
        for (i, len) in SHAPE.iter().enumerate() {
            if i > 0 {
                if s.get(at) != Some(&b'-') {
                    return false;
                }
                at += 1;
            }
            if !s
                .get(at..at + len)
                .is_some_and(|p| p.iter().all(u8::is_ascii_hexdigit))
            {
                return false;
            }
            at += len;
        }
        true
    };
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut last = 0;
    while i + 36 <= bytes.len() {
        if is_uuid(&bytes[i..i + 36]) && text.is_char_boundary(i) {
            out.push_str(&text[last..i]);
            out.push_str("{uuid}");
            i += 36;
            last = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&text[last..]);
    out
}

/// `text` with every run of 16 or more lower-case hex digits (a random value a scenario made)
/// as `{hex}`.
pub fn hex_runs(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 16 {
            out.push_str("{hex}");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for ch in text.chars() {
        if ch.is_ascii_digit() || ('a'..='f').contains(&ch) {
            run.push(ch);
        } else {
            flush(&mut run, &mut out);
            out.push(ch);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// A case's evidence as comparable text: the set of its exchanges (`METHOD url → status`) and
/// its objects in the target after it, every run of digits as `#` and the run's names
/// normalised.
fn evidence(report: &Report, case: &Case) -> String {
    let digits = |text: &str| -> String {
        // A scenario may send its names upper-cased: the run id is taken out in either case.
        let mut text = text.to_owned();
        for id in report.run_id.split('+').filter(|id| !id.is_empty()) {
            text = text.replace(&id.to_uppercase(), id);
        }
        let generic = hex_runs(&uuids(&report.generic(&text)));
        let mut out = String::with_capacity(generic.len());
        let mut in_digits = false;
        for ch in generic.chars() {
            if ch.is_ascii_digit() {
                if !in_digits {
                    out.push('#');
                }
                in_digits = true;
            } else {
                in_digits = false;
                out.push(ch);
            }
        }
        out
    };
    let mut exchanges: Vec<String> = case
        .detail
        .iter()
        .flat_map(|d| &d.exchanges)
        .map(|x| format!("exchange: {}", digits(&x.summary())))
        .collect();
    exchanges.sort();
    exchanges.dedup();
    let mut out = exchanges.join("\n");
    out.push('\n');
    if let Some(after) = case.target.as_ref().and_then(|t| t.after.as_ref()) {
        out.push_str(&digits(&crate::textdiff::state_lines(after)));
    }
    out
}

fn reason(report: &Report, case: Option<&Case>) -> String {
    let Some(detail) = case.and_then(|c| c.detail.as_ref()) else {
        return String::new();
    };
    let first = detail.message.lines().next().unwrap_or("");
    let text = match &detail.step {
        Some(step) => format!("{step}: {first}"),
        None => first.to_owned(),
    };
    normalise(report, &text)
}

/// Compares `old` with `new` (see the module doc).
pub fn diff(old: &Report, new: &Report) -> RunDiff {
    let old_cases: BTreeMap<CaseKey, &Case> = cases(old).into_iter().collect();
    let new_cases = cases(new);
    let new_keys: std::collections::BTreeSet<&CaseKey> = new_cases.iter().map(|(k, _)| k).collect();
    let mut changes = Vec::new();
    let name = |k: &CaseKey| {
        let nth = if k.4 > 0 {
            format!(" (#{})", k.4 + 1)
        } else {
            String::new()
        };
        format!("{} · {} · {}: {}{nth}", k.0, k.1, k.2, k.3)
    };
    for (key, case) in &new_cases {
        let before = old_cases.get(key).copied();
        let reasons = (reason(old, before), reason(new, Some(case)));
        let mut evidence_diff = String::new();
        let kind = match before {
            None if case.outcome.ran() => Some(if severity(case.outcome) == 0 {
                Kind::Fix
            } else {
                Kind::Regression
            }),
            None => None,
            Some(b) if b.outcome == case.outcome => {
                if !case.outcome.ran() {
                    None
                } else if reasons.0 != reasons.1 {
                    Some(Kind::Reason)
                } else {
                    let (e0, e1) = (evidence(old, b), evidence(new, case));
                    (e0 != e1).then(|| {
                        evidence_diff = crate::textdiff::unified(&e0, &e1, "old", "new");
                        Kind::Evidence
                    })
                }
            }
            Some(b) if b.outcome.ran() && !case.outcome.ran() => Some(Kind::Regression),
            Some(b) if !b.outcome.ran() && case.outcome.ran() => {
                Some(if severity(case.outcome) == 0 {
                    Kind::Fix
                } else {
                    Kind::Regression
                })
            }
            Some(b) => Some(match severity(case.outcome).cmp(&severity(b.outcome)) {
                std::cmp::Ordering::Greater => Kind::Regression,
                std::cmp::Ordering::Less => Kind::Fix,
                std::cmp::Ordering::Equal => Kind::Changed,
            }),
        };
        if let Some(kind) = kind {
            changes.push(Change {
                kind,
                case: name(key),
                old: before.map(|b| b.outcome),
                new: Some(case.outcome),
                reasons,
                evidence: evidence_diff,
            });
        }
    }
    for (key, case) in cases(old) {
        if !new_keys.contains(&key) && case.outcome.ran() {
            changes.push(Change {
                kind: Kind::Regression,
                case: name(&key),
                old: Some(case.outcome),
                new: None,
                reasons: (reason(old, Some(case)), String::new()),
                evidence: String::new(),
            });
        }
    }
    // Stable: each kind keeps the new run's order.
    changes.sort_by_key(|c| c.kind);
    RunDiff {
        sides: (
            format!("run {} · ecmacert {}", old.run_id, old.suite_version),
            format!("run {} · ecmacert {}", new.run_id, new.suite_version),
        ),
        changes,
    }
}

fn outcome_name(o: Option<Outcome>) -> &'static str {
    o.map_or("absent", Outcome::name)
}

impl RunDiff {
    /// True when a case regressed: the exit code of `report diff` is 1 then.
    pub fn regressed(&self) -> bool {
        self.changes.iter().any(|c| c.kind == Kind::Regression)
    }

    /// How many changes of `kind`.
    pub fn count(&self, kind: Kind) -> usize {
        self.changes.iter().filter(|c| c.kind == kind).count()
    }

    fn headline(&self) -> String {
        if self.changes.is_empty() {
            return "no differences: every case has the same outcome for the same reason and \
                    the same evidence"
                .into();
        }
        [
            Kind::Regression,
            Kind::Fix,
            Kind::Changed,
            Kind::Reason,
            Kind::Evidence,
        ]
        .iter()
        .map(|k| format!("{} {}", self.count(*k), k.name()))
        .collect::<Vec<_>>()
        .join(", ")
    }

    /// The plain-text listing.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "old: {}\nnew: {}", self.sides.0, self.sides.1);
        let _ = writeln!(out, "{}", self.headline());
        for c in &self.changes {
            let _ = writeln!(
                out,
                "{:<14} {}: {} → {}",
                c.kind.name(),
                c.case,
                outcome_name(c.old),
                outcome_name(c.new)
            );
            if c.reasons.0 != c.reasons.1 {
                if !c.reasons.0.is_empty() {
                    let _ = writeln!(out, "    was: {}", c.reasons.0);
                }
                if !c.reasons.1.is_empty() {
                    let _ = writeln!(out, "    now: {}", c.reasons.1);
                }
            }
            for line in c.evidence.lines() {
                let _ = writeln!(out, "    {line}");
            }
        }
        let _ = writeln!(
            out,
            "RESULT: {}",
            if self.regressed() {
                "REGRESSED"
            } else {
                "NO REGRESSION"
            }
        );
        out
    }

    /// The listing as one self-contained HTML page (no network fetch): the verdict, the counts,
    /// and a row per change with its reasons and evidence diff.
    pub fn html(&self) -> String {
        use crate::html::esc;
        let mut out = String::new();
        let verdict = if self.regressed() {
            ("fail", "REGRESSED")
        } else {
            ("pass", "no regression")
        };
        let _ = write!(
            out,
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>ecmacert \
             report diff: {}</title><style>body{{font:14px/1.4 system-ui,sans-serif;margin:1.5em}}\
             .v{{padding:.1em .5em;border-radius:4px;color:#fff}}.fail{{background:#c62828}}\
             .pass{{background:#2e7d32}}td,th{{border:1px solid #ccc;padding:2px 6px;\
             vertical-align:top}}table{{border-collapse:collapse}}.regressed{{background:#ffcdd2}}\
             .fixed{{background:#c8e6c9}}pre{{margin:0;white-space:pre-wrap}}</style></head><body>\
             <h1>ecmacert report diff <span id=\"verdict\" class=\"v {}\">{}</span></h1>\
             <p>old: {}<br>new: {}</p><p id=\"counts\"><b>{}</b></p>",
            verdict.1,
            verdict.0,
            verdict.1,
            esc(&self.sides.0),
            esc(&self.sides.1),
            esc(&self.headline())
        );
        if !self.changes.is_empty() {
            let _ = write!(
                out,
                "<table><tr><th>change</th><th>case</th><th>old</th><th>new</th><th>why</th></tr>"
            );
            for c in &self.changes {
                let why = [
                    c.reasons.0.as_str(),
                    c.reasons.1.as_str(),
                    c.evidence.as_str(),
                ]
                .iter()
                .filter(|s| !s.is_empty())
                .map(|s| esc(s))
                .collect::<Vec<_>>()
                .join("\n");
                let _ = write!(
                    out,
                    "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><pre>{why}</pre></td></tr>",
                    c.kind.name().split(' ').next().unwrap_or(""),
                    esc(c.kind.name()),
                    esc(&c.case),
                    esc(outcome_name(c.old)),
                    esc(outcome_name(c.new)),
                );
            }
            let _ = write!(out, "</table>");
        }
        let _ = writeln!(out, "</body></html>");
        out
    }

    /// The Markdown listing, for a pull-request or change-ticket comment (bounded like
    /// [`crate::markdown`]).
    pub fn markdown(&self) -> String {
        use crate::markdown::code;
        let mut out = String::new();
        let verdict = if self.regressed() {
            "REGRESSED"
        } else {
            "no regression"
        };
        let _ = writeln!(out, "## ecmacert report diff: {verdict}\n");
        let _ = writeln!(
            out,
            "old: {} · new: {}\n\n**{}**\n",
            code(&self.sides.0),
            code(&self.sides.1),
            self.headline()
        );
        if !self.changes.is_empty() {
            let _ = writeln!(out, "| change | case | old | new | reason now |");
            let _ = writeln!(out, "|---|---|---|---|---|");
            for c in &self.changes {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} |",
                    c.kind.name(),
                    code(&c.case),
                    outcome_name(c.old),
                    outcome_name(c.new),
                    if c.reasons.1.is_empty() {
                        String::new()
                    } else {
                        code(&c.reasons.1)
                    }
                );
            }
        }
        crate::markdown::bounded(out)
    }
}
