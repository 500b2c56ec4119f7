//! JUnit XML: one `<testsuite>` per profile × dialect, one `<testcase>` per scenario in it.
//! Failures carry the failing step, the message and the exchanges; not-applicable and
//! filtered-out cases are `<skipped>` with the reason; warnings go to `<system-out>`.

use std::fmt::Write as _;

use crate::terminal::shorten;
use crate::{Case, Outcome, Report};

/// Renders the report as JUnit XML.
pub fn render(report: &Report) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let cases = report.runs.iter().flat_map(|r| &r.cases);
    let total = cases.clone().count();
    let failures = cases.clone().filter(|c| c.outcome.fails_run()).count();
    let skipped = cases
        .filter(|c| matches!(c.outcome, Outcome::NotApplicable | Outcome::FilteredOut))
        .count();
    let _ = writeln!(
        out,
        "<testsuites name=\"ecmacert\" tests=\"{total}\" failures=\"{failures}\" skipped=\"{skipped}\" time=\"{}\">",
        seconds(report.duration_ms)
    );
    for run in &report.runs {
        let suite = format!("{}.{}", run.profile, run.dialect);
        let c = run.counts();
        let time: u64 = run.cases.iter().map(|c| c.duration_ms).sum();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{}\">",
            xml(&suite),
            run.cases.len(),
            c.failed,
            c.not_applicable + c.filtered_out,
            seconds(time)
        );
        for case in &run.cases {
            testcase(&mut out, &suite, case);
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

fn testcase(out: &mut String, suite: &str, case: &Case) {
    let class = format!(
        "{suite}.{}",
        case.feature.trim_end_matches(".feature").replace('/', ".")
    );
    let name = format!("{} [{}]", case.scenario, case.level.name());
    let _ = write!(
        out,
        "    <testcase classname=\"{}\" name=\"{}\" time=\"{}\"",
        xml(&class),
        xml(&name),
        seconds(case.duration_ms)
    );
    let detail = case.detail.clone().unwrap_or_default();
    let body = || {
        let mut text = String::new();
        let _ = writeln!(
            text,
            "{}:{} {}",
            case.feature,
            case.line,
            case.requirements.join(" ")
        );
        if let Some(step) = &detail.step {
            let _ = writeln!(text, "step: {step}");
        }
        let _ = writeln!(text, "{}", detail.message);
        for x in &detail.exchanges {
            let _ = writeln!(text, "{}", x.summary());
            if let Some(b) = &x.request_body {
                let _ = writeln!(text, "  request:  {}", shorten(b));
            }
            if let Some(b) = &x.response_body {
                let _ = writeln!(text, "  response: {}", shorten(b));
            }
        }
        text
    };
    match case.outcome {
        Outcome::Passed => out.push_str(" />\n"),
        Outcome::Failed | Outcome::Blocked | Outcome::UnexpectedPass => {
            let first = detail.message.lines().next().unwrap_or("").to_owned();
            let _ = writeln!(
                out,
                ">\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    </testcase>",
                case.outcome.name(),
                xml(&first),
                xml(&body())
            );
        }
        Outcome::NotApplicable | Outcome::FilteredOut => {
            let _ = writeln!(
                out,
                ">\n      <skipped message=\"{}\" />\n    </testcase>",
                xml(&format!("{}: {}", case.outcome.name(), detail.message))
            );
        }
        Outcome::Warned | Outcome::ExpectedFailure => {
            let mut text = body();
            for w in &detail.warnings {
                let _ = writeln!(text, "warning: {w}");
            }
            let _ = writeln!(
                out,
                ">\n      <system-out>{}: {}</system-out>\n    </testcase>",
                case.outcome.name(),
                xml(&text)
            );
        }
    }
}

fn seconds(ms: u64) -> String {
    format!("{:.3}", ms as f64 / 1000.0)
}

/// Escapes text for XML attributes and content, dropping characters XML 1.0 cannot carry.
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}
