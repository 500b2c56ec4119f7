//! The Markdown summary (`--markdown FILE`): short enough for a pull-request comment — the
//! verdict, the counts per profile × dialect, the failures grouped by cause with the first line
//! of each, and what the run could not check. The whole evidence is in the JSON and JUnit
//! reports; this is what a reviewer reads first.
//!
//! Bounded: at most [`CAUSES_SHOWN`] causes, each message cut to [`LINE_LIMIT`] characters, and
//! the whole text under [`SIZE_LIMIT`] bytes (GitHub takes 65,536 characters in a comment).

use std::fmt::Write as _;

use crate::Report;

/// How many causes are listed.
pub const CAUSES_SHOWN: usize = 25;

/// The longest a message or step is shown, in characters.
pub const LINE_LIMIT: usize = 300;

/// The largest the summary gets, in bytes; longer ones are cut at a line with a marker.
pub const SIZE_LIMIT: usize = 60_000;

/// `text` cut to [`LINE_LIMIT`] characters (with `…`), as inline code that no backtick,
/// pipe or HTML in it can break out of.
pub fn code(text: &str) -> String {
    let mut s: String = text.chars().take(LINE_LIMIT).collect();
    if text.chars().count() > LINE_LIMIT {
        s.push('…');
    }
    let s = s
        .replace('`', "'")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ");
    format!("`{s}`")
}

/// Renders the summary (see the module doc).
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let verdict = if report.passed() { "PASS" } else { "FAIL" };
    let counts = report.counts();
    let _ = writeln!(out, "## ecmacert: {verdict}\n");
    let _ = writeln!(
        out,
        "ecmacert {} · run `{}` · {}\n",
        report.suite_version,
        report.run_id,
        code(&report.host)
    );
    let mut mode = Vec::new();
    if report.certification {
        mode.push("certification run: every scenario, no expected failures".to_owned());
    }
    if report.strict {
        mode.push("strict: SHOULD warnings count as failures".to_owned());
    }
    if let Some(shard) = report.shard {
        mode.push(format!("shard {shard} of a run (part of it only)"));
    }
    if report.plaintext {
        mode.push("**the host was reached over plain HTTP**; Entra speaks only HTTPS".to_owned());
    }
    if let Some(file) = &report.expected_failures {
        mode.push(format!("expected failures from {}", code(file)));
    }
    for m in &mode {
        let _ = writeln!(out, "- {m}");
    }
    if !mode.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(out, "**{}**\n", counts.line());
    let _ = writeln!(
        out,
        "| profile | dialect | passed | failed | blocked | warned | not applicable |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|");
    for run in &report.runs {
        let c = run.counts();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            run.profile,
            run.dialect,
            c.passed,
            c.failed + c.unexpected_passes,
            c.blocked,
            c.warned,
            c.not_applicable
        );
    }
    let causes = report.causes();
    if !causes.is_empty() {
        let total: usize = causes.iter().map(|c| c.cases.len()).sum();
        let _ = writeln!(
            out,
            "\n### Failures: {total} case(s), {} cause(s), largest first\n",
            causes.len()
        );
        for (i, cause) in causes.iter().take(CAUSES_SHOWN).enumerate() {
            let _ = write!(
                out,
                "{}. **{} ×** {}",
                i + 1,
                cause.cases.len(),
                code(&cause.message)
            );
            if let Some(step) = &cause.step {
                let _ = write!(out, " at {}", code(step));
            }
            let _ = writeln!(out, "<br>e.g. {}", code(&cause.cases[0]));
        }
        if causes.len() > CAUSES_SHOWN {
            let _ = writeln!(
                out,
                "\n… and {} more cause(s): see the JSON or JUnit report.",
                causes.len() - CAUSES_SHOWN
            );
        }
    }
    let incomplete = report.incomplete();
    if !incomplete.is_empty() {
        let _ = writeln!(out, "\n### Incomplete run (fails it)\n");
        for line in &incomplete {
            let _ = writeln!(out, "- {}", code(line));
        }
    }
    let not_checked = report.not_checked();
    if !not_checked.is_empty() {
        let _ = writeln!(out, "\n### Not checked for this host\n");
        for (why, musts) in &not_checked {
            let musts = if musts.is_empty() {
                "none".to_owned()
            } else {
                musts.join(" ")
            };
            let _ = writeln!(
                out,
                "- {why}: MUST requirements no other scenario checked: {musts}"
            );
        }
    }
    if let Some(c) = &report.dialects_compared {
        let _ = writeln!(
            out,
            "\nBoth dialects compared (ECMA-UPDATE-014): {} scenario(s), {} with objects in the \
             target.",
            c.scenarios, c.with_objects
        );
    }
    if !report.leftovers.is_empty() {
        let _ = writeln!(
            out,
            "\nLeft behind in the target: {} object(s) (failed scenarios keep theirs as evidence).",
            report.leftovers.len()
        );
    }
    bounded(out)
}

/// `text` cut at the last whole line under [`SIZE_LIMIT`], with a marker.
pub fn bounded(text: String) -> String {
    if text.len() <= SIZE_LIMIT {
        return text;
    }
    let marker = "\n… (cut: the summary is longer than a comment takes; see the JSON report)\n";
    let mut end = SIZE_LIMIT - marker.len();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let end = text[..end].rfind('\n').unwrap_or(end);
    format!("{}{marker}", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_cannot_be_broken_out_of() {
        assert_eq!(code("a`b|c\nd"), "`a'b\\|c d`");
        let long = "x".repeat(LINE_LIMIT + 5);
        assert!(code(&long).ends_with("…`"));
    }

    #[test]
    fn a_long_summary_is_cut_at_a_line() {
        let text = "line\n".repeat(SIZE_LIMIT);
        let cut = bounded(text);
        assert!(cut.len() <= SIZE_LIMIT);
        assert!(cut.ends_with("see the JSON report)\n"));
    }
}
