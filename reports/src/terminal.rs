//! The summary printed at the end of a run: per profile and dialect, the counts and every case
//! that did not pass, with its failing step, its "expected X, got Y" and the exchange behind it.

use std::fmt::Write as _;

use crate::{Case, Exchange, Outcome, Report};

/// How much of a request or response body the summary shows.
const BODY_LIMIT: usize = 600;

/// Renders the summary as plain text.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "ecmacert {} · run {} · {}",
        report.suite_version, report.run_id, report.host
    );
    for run in &report.runs {
        let c = run.counts();
        let _ = writeln!(
            out,
            "\n{} · {}: {} passed, {} failed, {} warned, {} not applicable, {} filtered out",
            run.profile,
            run.dialect,
            c.passed,
            c.failed,
            c.warned,
            c.not_applicable,
            c.filtered_out
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
    let c = report.counts();
    let _ = writeln!(
        out,
        "\ntotal: {} passed, {} failed, {} warned, {} not applicable, {} filtered out, in {:.1} s",
        c.passed,
        c.failed,
        c.warned,
        c.not_applicable,
        c.filtered_out,
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
        "{}",
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
