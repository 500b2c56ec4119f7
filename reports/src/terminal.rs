//! The summary printed at the end of a run: per profile and dialect, the counts and every case
//! that did not pass, with its failing step, its "expected X, got Y" and the exchange behind it.

use std::fmt::Write as _;

use crate::{Case, Exchange, Outcome, Report};

/// How much of a request or response body the summary shows.
const BODY_LIMIT: usize = 600;

/// How many causes the summary lists before the per-run detail.
const CAUSES_SHOWN: usize = 10;

/// Renders the summary as plain text: the run's mode, the failures grouped by cause (what to
/// fix first), then per profile and dialect the counts and every case that did not pass, then
/// what the run could not check, totals, leftovers and the result.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "ecmacert {} · run {} · {}",
        report.suite_version, report.run_id, report.host
    );
    if report.certification {
        let _ = writeln!(
            out,
            "certification run: every scenario, no expected failures"
        );
    }
    if report.plaintext {
        let _ = writeln!(
            out,
            "WARNING: the host was reached over plain HTTP (host.allow_plaintext); Entra speaks only HTTPS"
        );
    }
    if let Some(shard) = report.shard {
        let _ = writeln!(
            out,
            "shard {shard}: this report holds part of the run; `ecmacert report merge` joins the shards"
        );
    }
    if report.strict {
        let _ = writeln!(out, "strict: SHOULD warnings count as failures");
    }
    if let Some(file) = &report.expected_failures {
        let _ = writeln!(out, "expected failures from {file}");
    }
    if let Some(log) = &report.host_log {
        let _ = writeln!(out, "host output: {log}");
    }
    for note in &report.notes {
        let _ = writeln!(out, "note: {note}");
    }
    if let Some(c) = &report.dialects_compared {
        let _ = writeln!(
            out,
            "both dialects compared (ECMA-UPDATE-014): {} scenario(s) passed in both and had \
             their end states compared, {} of them with objects left in the target (a \
             difference fails the scenario in both)",
            c.scenarios, c.with_objects
        );
        for u in &c.unread {
            let _ = writeln!(out, "  not compared, the end state could not be read: {u}");
        }
    }
    let causes = report.causes();
    if !causes.is_empty() {
        let total: usize = causes.iter().map(|c| c.cases.len()).sum();
        let _ = writeln!(
            out,
            "\n{total} failing case(s), {} cause(s), largest first:",
            causes.len()
        );
        for cause in causes.iter().take(CAUSES_SHOWN) {
            let _ = writeln!(out, "  {:>4} × {}", cause.cases.len(), cause.message);
            if let Some(step) = &cause.step {
                let _ = writeln!(out, "         at: {step}");
            }
            let _ = writeln!(out, "         e.g. {}", cause.cases[0]);
        }
        if causes.len() > CAUSES_SHOWN {
            let _ = writeln!(
                out,
                "  … and {} more cause(s), listed below",
                causes.len() - CAUSES_SHOWN
            );
        }
    }
    for run in &report.runs {
        let _ = writeln!(
            out,
            "\n{} · {}: {}",
            run.profile,
            run.dialect,
            run.counts().line()
        );
        for case in &run.cases {
            if !matches!(
                case.outcome,
                Outcome::Passed | Outcome::NotApplicable | Outcome::FilteredOut
            ) {
                case_lines(&mut out, case);
            }
        }
    }
    let not_checked = report.not_checked();
    if !not_checked.is_empty() {
        let _ = writeln!(out, "\nnot checked for this host:");
        for (why, musts) in &not_checked {
            let _ = writeln!(
                out,
                "  {why}: MUST requirements no other scenario checked: {}",
                if musts.is_empty() {
                    "none".to_owned()
                } else {
                    musts.join(" ")
                }
            );
        }
    }
    let incomplete = report.incomplete();
    if !incomplete.is_empty() {
        let _ = writeln!(out, "\nINCOMPLETE RUN (fails it):");
        for line in &incomplete {
            let _ = writeln!(out, "  {line}");
        }
    }
    let _ = writeln!(
        out,
        "\ntotal: {}, in {:.1} s",
        report.counts().line(),
        report.duration_ms as f64 / 1000.0
    );
    if report.leftovers.is_empty() {
        let _ = writeln!(out, "left behind in the target: nothing");
    } else {
        let _ = writeln!(
            out,
            "left behind in the target ({}):",
            report.leftovers.len()
        );
        for l in &report.leftovers {
            let _ = writeln!(out, "  {l}");
        }
    }
    let _ = writeln!(
        out,
        "{}{}",
        if report.certification {
            "CERTIFICATION "
        } else {
            ""
        },
        if report.passed() {
            "RESULT: PASS"
        } else {
            "RESULT: FAIL"
        }
    );
    out
}

fn case_lines(out: &mut String, case: &Case) {
    let mark = match case.outcome {
        Outcome::Warned => "!",
        Outcome::ExpectedFailure => "~",
        Outcome::Blocked => "⊘",
        _ => "✗",
    };
    let _ = writeln!(
        out,
        "  {mark} {} {}:{}  {}  [{} {}]",
        case.outcome.name(),
        case.feature,
        case.line,
        case.scenario,
        case.level.name(),
        case.requirements.join(" ")
    );
    let Some(detail) = &case.detail else { return };
    if let Some(step) = &detail.step {
        let _ = writeln!(out, "      step: {step}");
    }
    for line in detail.message.lines() {
        let _ = writeln!(out, "      {line}");
    }
    for w in &detail.warnings {
        let _ = writeln!(out, "      warning: {w}");
    }
    if case.outcome != Outcome::Warned
        && let Some(last) = detail.exchanges.last()
    {
        exchange_lines(out, last);
    }
}

fn exchange_lines(out: &mut String, x: &Exchange) {
    let _ = writeln!(out, "      {}", x.summary());
    if let Some(body) = &x.request_body {
        let _ = writeln!(out, "        request:  {}", shorten(body));
    }
    if let Some(body) = &x.response_body {
        let _ = writeln!(out, "        response: {}", shorten(body));
    }
}

/// One line, at most 600 characters.
pub fn shorten(body: &str) -> String {
    let flat: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > BODY_LIMIT {
        let head: String = flat.chars().take(BODY_LIMIT).collect();
        format!("{head}… ({} bytes)", body.len())
    } else {
        flat
    }
}
