//! JUnit XML: one `<testsuite>` per profile × dialect, one `<testcase>` per scenario in it.
//! Failures carry the failing step, the message and the exchanges; a blocked case (its setup
//! failed) is an `<error>`, so CI shows it apart from failures; not-applicable and
//! filtered-out cases are `<skipped>` with the reason; warnings go to `<system-out>`. The run's
//! mode (strict, certification, plain HTTP) and an incomplete run are `<properties>` of the
//! root suite; an incomplete run also adds a failing `<testcase>` named for it, so a CI that
//! only counts testcases still fails.

use std::fmt::Write as _;

use crate::terminal::shorten;
use crate::{Case, Outcome, Report};

/// Renders the report as JUnit XML.
pub fn render(report: &Report) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let c = report.counts();
    let incomplete = report.incomplete();
    let total = c.ran() + c.not_applicable + c.filtered_out + usize::from(!incomplete.is_empty());
    let _ = writeln!(
        out,
        "<testsuites name=\"ecmacert\" tests=\"{total}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\">",
        c.failed + c.unexpected_passes + usize::from(!incomplete.is_empty()),
        c.blocked,
        c.not_applicable + c.filtered_out,
        seconds(report.duration_ms)
    );
    for (i, run) in report.runs.iter().enumerate() {
        let suite = format!("{}.{}", run.profile, run.dialect);
        let c = run.counts();
        let time: u64 = run.cases.iter().map(|c| c.duration_ms).sum();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\">",
            xml(&suite),
            run.cases.len(),
            c.failed + c.unexpected_passes,
            c.blocked,
            c.not_applicable + c.filtered_out,
            seconds(time)
        );
        if i == 0 {
            properties(&mut out, report);
        }
        for case in &run.cases {
            testcase(&mut out, &suite, case);
        }
        out.push_str("  </testsuite>\n");
    }
    if !incomplete.is_empty() {
        let _ = writeln!(
            out,
            "  <testsuite name=\"ecmacert.run\" tests=\"1\" failures=\"1\" errors=\"0\" skipped=\"0\" time=\"0.000\">\n    <testcase classname=\"ecmacert.run\" name=\"every planned scenario ran\" time=\"0.000\">\n      <failure type=\"incomplete\" message=\"the run left planned scenarios out\">{}</failure>\n    </testcase>\n  </testsuite>",
            xml(&incomplete.join("\n"))
        );
    }
    out.push_str("</testsuites>\n");
    out
}

fn properties(out: &mut String, report: &Report) {
    out.push_str("    <properties>\n");
    for (name, value) in [
        ("ecmacert.run_id", report.run_id.clone()),
        ("ecmacert.strict", report.strict.to_string()),
        ("ecmacert.certification", report.certification.to_string()),
        ("ecmacert.plaintext", report.plaintext.to_string()),
    ] {
        let _ = writeln!(
            out,
            "      <property name=\"{name}\" value=\"{}\" />",
            xml(&value)
        );
    }
    out.push_str("    </properties>\n");
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
            let element = if case.outcome == Outcome::Blocked {
                "error"
            } else {
                "failure"
            };
            let _ = writeln!(
                out,
                ">\n      <{element} type=\"{}\" message=\"{}\">{}</{element}>\n    </testcase>",
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
