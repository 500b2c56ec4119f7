//! The HTML report (`--html FILE`): one self-contained file — inline style and script, no
//! network fetch — that a certifier opens first. It shows the verdict and counts, the host's
//! facts and the run's configuration (folded), a requirement × profile matrix coloured by
//! outcome, filters by outcome, profile, dialect and tag (Gherkin tags, requirement IDs and
//! level; kept in the address's fragment), and per case the failing step, the message, the
//! warnings, the exchanges and the diff of the scenario's objects in the target before and
//! after.
//!
//! Cases are static `<details>` elements (collapsed), so the page stays usable with thousands
//! of results; the script only hides and shows them. Every text from the run is escaped; bodies
//! are cut to [`BODY_SHOWN`] bytes here (the JSON report keeps more).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::{Case, Outcome, Report};

/// The most of a request or response body the page shows, in bytes.
pub const BODY_SHOWN: usize = 2048;

/// `text` escaped for HTML text and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn cut(text: &str) -> String {
    if text.len() <= BODY_SHOWN {
        return text.to_owned();
    }
    let mut end = BODY_SHOWN;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &text[..end], text.len())
}

/// The CSS class of an outcome.
fn class(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Passed => "passed",
        Outcome::Failed | Outcome::UnexpectedPass => "failed",
        Outcome::Blocked => "blocked",
        Outcome::Warned => "warned",
        Outcome::ExpectedFailure => "expected",
        Outcome::NotApplicable | Outcome::FilteredOut => "na",
    }
}

/// How bad an outcome is, for the matrix's cell (the worst case wins).
fn rank(outcome: Outcome) -> u8 {
    match outcome {
        Outcome::NotApplicable | Outcome::FilteredOut => 0,
        Outcome::Passed => 1,
        Outcome::ExpectedFailure => 2,
        Outcome::Warned => 3,
        Outcome::Blocked => 4,
        Outcome::Failed | Outcome::UnexpectedPass => 5,
    }
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}\
h1 .v{padding:.1em .5em;border-radius:4px;color:#fff}.pass{background:#2e7d32}.fail{background:#c62828}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 6px;font-size:12px}\
th{background:#f4f4f4;position:sticky;top:0}.passed{background:#c8e6c9}.failed{background:#ffcdd2}\
.blocked{background:#e1bee7}.warned{background:#ffe0b2}.expected{background:#e0e0e0}.na{background:#fafafa;color:#999}\
details.case{border:1px solid #ddd;margin:2px 0;padding:2px 6px}details.case>summary{cursor:pointer}\
.badge{display:inline-block;min-width:7em;font-weight:600}pre{background:#f7f7f7;padding:6px;overflow:auto;max-height:30em;white-space:pre-wrap}\
.diff .add{color:#1b5e20;background:#e8f5e9}.diff .del{color:#b71c1c;background:#ffebee}\
#filters{position:sticky;top:0;background:#fff;padding:.5em 0;border-bottom:1px solid #ccc}\
#filters label{margin-right:.8em}";

/// The filters: outcome boxes, profile and dialect lists, and a text box matched against each
/// case's level, requirements and tags. They are read from the address's fragment on load and
/// written back to it (`report.html#outcome=failed,blocked&profile=…&dialect=…&tag=ldap`), so
/// a filtered view can be passed on as a link.
const SCRIPT: &str = "function el(i){return document.getElementById(i)}\
function boxes(){return [].slice.call(document.querySelectorAll('#filters input[data-o]'))}\
function apply(){var o=boxes().filter(function(c){return c.checked}).map(function(c){return c.dataset.o});\
var p=el('fp').value,d=el('fd').value,t=el('ft').value.trim().toLowerCase(),n=0;\
document.querySelectorAll('details.case').forEach(function(e){var ok=o.indexOf(e.dataset.outcome)>=0&&\
(!p||e.dataset.profile===p)&&(!d||e.dataset.dialect===d)&&(!t||e.dataset.tags.indexOf(t)>=0);\
e.style.display=ok?'':'none';if(ok)n++});el('shown').textContent=n;\
var h='outcome='+o.join(',')+(p?'&profile='+encodeURIComponent(p):'')+(d?'&dialect='+encodeURIComponent(d):'')\
+(t?'&tag='+encodeURIComponent(t):'');try{history.replaceState(null,'','#'+h)}catch(x){}}\
function load(){var h={};location.hash.slice(1).split('&').forEach(function(kv){var i=kv.indexOf('=');\
if(i>0)try{h[kv.slice(0,i)]=decodeURIComponent(kv.slice(i+1))}catch(x){}});\
if(h.outcome!==undefined){var w=h.outcome.split(',');boxes().forEach(function(c){c.checked=w.indexOf(c.dataset.o)>=0})}\
if(h.profile)el('fp').value=h.profile;if(h.dialect)el('fd').value=h.dialect;if(h.tag)el('ft').value=h.tag}\
document.querySelectorAll('#filters input,#filters select').forEach(function(e){e.addEventListener('input',apply)});load();apply();";

/// Renders the page (see the module doc).
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let passed = report.passed();
    let counts = report.counts();
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>ecmacert {} · {}</title><style>{STYLE}</style></head><body>",
        if passed { "PASS" } else { "FAIL" },
        esc(&report.run_id)
    );
    let _ = write!(
        out,
        "<h1>ecmacert <span id=\"verdict\" class=\"v {}\">{}</span></h1>",
        if passed { "pass" } else { "fail" },
        if passed { "PASS" } else { "FAIL" }
    );
    let _ = write!(
        out,
        "<p>ecmacert {} · run <code>{}</code> · {}{}</p><p id=\"counts\"><b>{}</b></p>",
        esc(&report.suite_version),
        esc(&report.run_id),
        esc(&report.host),
        if report.certification {
            " · certification run"
        } else {
            ""
        },
        esc(&counts.line())
    );
    let incomplete = report.incomplete();
    if !incomplete.is_empty() {
        let _ = write!(out, "<h2>Incomplete run (fails it)</h2><ul>");
        for line in &incomplete {
            let _ = write!(out, "<li>{}</li>", esc(line));
        }
        let _ = write!(out, "</ul>");
    }
    host(&mut out, report);
    matrix(&mut out, report);
    causes(&mut out, report);
    cases(&mut out, report);
    let _ = writeln!(out, "<script>{SCRIPT}</script></body></html>");
    out
}

/// What the host said of itself and how the run reached it, folded: one block per connector.
fn host(out: &mut String, report: &Report) {
    if report.host_facts.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "<details id=\"host\"><summary>Host facts and configuration</summary>"
    );
    for f in &report.host_facts {
        let _ = write!(out, "<h3><code>{}</code></h3><ul>", esc(&f.scim_base));
        if let Some(c) = &f.configuration {
            let mut line = |k: &str, v: &str| {
                let _ = write!(out, "<li>{k}: {}</li>", esc(v));
            };
            line("profiles", &c.profiles.join(", "));
            line("transport", &c.transport);
            line("token", &c.token);
            if let Some(v) = &c.host_command {
                line("started with", v);
            }
            if let Some(v) = &c.import {
                line("import", v);
            }
            if let Some(v) = &c.restart {
                line("restart", v);
            }
            if let Some(v) = &c.other_connector {
                line("other connector", v);
            }
            let t = &c.target;
            line(
                "target",
                &format!(
                    "{} {} ({}), password {}{}",
                    t.kind,
                    t.url,
                    t.transport,
                    t.password,
                    [
                        ("bind", &t.bind_dn),
                        ("partition", &t.base_dn),
                        ("container", &t.container)
                    ]
                    .iter()
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(k, v)| format!(", {k} {v}"))
                    .collect::<String>()
                ),
            );
            if let Some(v) = &t.fault_proxy {
                line("fault proxy", v);
            }
            if let Some(v) = &t.started_container {
                line("started in a container", v);
            }
        }
        for u in &f.unanswered {
            let _ = write!(out, "<li>did not answer: {}</li>", esc(u));
        }
        let _ = write!(out, "</ul>");
        if let Some(spc) = &f.service_provider_config {
            let text = serde_json::to_string_pretty(spc).unwrap_or_default();
            let _ = write!(
                out,
                "<p>/ServiceProviderConfig</p><pre>{}</pre>",
                esc(&cut(&text))
            );
        }
        for (id, names) in &f.schemas {
            let _ = write!(
                out,
                "<p>schema <code>{}</code>: {}</p>",
                esc(id),
                esc(&names.join(", "))
            );
        }
    }
    let _ = write!(out, "</details>");
}

/// The requirement × profile matrix: each cell the worst outcome of the requirement's cases
/// under the profile (both dialects), with the counts as a tooltip.
fn matrix(out: &mut String, report: &Report) {
    let profiles: Vec<&str> = {
        let mut seen = Vec::new();
        for r in &report.runs {
            if !seen.contains(&r.profile.as_str()) {
                seen.push(r.profile.as_str());
            }
        }
        seen
    };
    let mut cells: BTreeMap<&str, BTreeMap<&str, Vec<Outcome>>> = BTreeMap::new();
    for run in &report.runs {
        for case in &run.cases {
            for req in &case.requirements {
                cells
                    .entry(req.as_str())
                    .or_default()
                    .entry(run.profile.as_str())
                    .or_default()
                    .push(case.outcome);
            }
        }
    }
    let _ = write!(
        out,
        "<h2>Requirements × profiles</h2><table id=\"matrix\"><tr><th>requirement</th>"
    );
    for p in &profiles {
        let _ = write!(out, "<th>{}</th>", esc(p));
    }
    let _ = write!(out, "</tr>");
    for (req, by_profile) in &cells {
        let _ = write!(out, "<tr><th>{}</th>", esc(req));
        for p in &profiles {
            match by_profile.get(p) {
                Some(outcomes) => {
                    let worst = outcomes
                        .iter()
                        .copied()
                        .max_by_key(|o| rank(*o))
                        .unwrap_or(Outcome::NotApplicable);
                    let mut tally: BTreeMap<&str, usize> = BTreeMap::new();
                    for o in outcomes {
                        *tally.entry(o.name()).or_default() += 1;
                    }
                    let title: Vec<String> =
                        tally.iter().map(|(k, v)| format!("{v} {k}")).collect();
                    let _ = write!(
                        out,
                        "<td class=\"{}\" title=\"{}\">{}</td>",
                        class(worst),
                        esc(&title.join(", ")),
                        esc(worst.name())
                    );
                }
                None => {
                    let _ = write!(out, "<td></td>");
                }
            }
        }
        let _ = write!(out, "</tr>");
    }
    let _ = write!(out, "</table>");
}

fn causes(out: &mut String, report: &Report) {
    let causes = report.causes();
    if causes.is_empty() {
        return;
    }
    let _ = write!(out, "<h2>Failures by cause</h2><ol id=\"causes\">");
    for cause in &causes {
        let _ = write!(
            out,
            "<li><b>{} ×</b> {}{}<br><small>e.g. {}</small></li>",
            cause.cases.len(),
            esc(&cause.message),
            cause
                .step
                .as_ref()
                .map(|s| format!(" <i>at {}</i>", esc(s)))
                .unwrap_or_default(),
            esc(&cause.cases[0])
        );
    }
    let _ = write!(out, "</ol>");
}

fn cases(out: &mut String, report: &Report) {
    let outcomes: BTreeSet<&str> = report
        .runs
        .iter()
        .flat_map(|r| &r.cases)
        .map(|c| class(c.outcome))
        .collect();
    let profiles: BTreeSet<&str> = report.runs.iter().map(|r| r.profile.as_str()).collect();
    let dialects: BTreeSet<&str> = report.runs.iter().map(|r| r.dialect.as_str()).collect();
    let _ = write!(out, "<h2>Cases</h2><div id=\"filters\">");
    for o in &outcomes {
        // Passed and not applicable start hidden: what to look at first is what did not pass.
        let checked = if matches!(*o, "passed" | "na") {
            ""
        } else {
            " checked"
        };
        let _ = write!(
            out,
            "<label class=\"{o}\"><input type=\"checkbox\" data-o=\"{o}\"{checked}> {o}</label>"
        );
    }
    let select = |out: &mut String, id: &str, all: &str, items: &BTreeSet<&str>| {
        let _ = write!(out, "<select id=\"{id}\"><option value=\"\">{all}</option>");
        for i in items {
            let _ = write!(out, "<option>{}</option>", esc(i));
        }
        let _ = write!(out, "</select> ");
    };
    select(out, "fp", "every profile", &profiles);
    select(out, "fd", "every dialect", &dialects);
    let _ = write!(
        out,
        "<input id=\"ft\" placeholder=\"tag, requirement or level (ldap, ECMA-UPDATE, must)\"> \
         <span><span id=\"shown\">0</span> shown</span></div>"
    );
    for run in &report.runs {
        for case in &run.cases {
            case_html(out, &run.profile, &run.dialect, case);
        }
    }
}

fn case_html(out: &mut String, profile: &str, dialect: &str, case: &Case) {
    let tags = format!(
        "{} {} {}",
        case.level.name().to_lowercase(),
        case.requirements.join(" ").to_lowercase(),
        case.tags.join(" ").to_lowercase()
    );
    let _ = write!(
        out,
        "<details class=\"case\" data-outcome=\"{}\" data-profile=\"{}\" data-dialect=\"{}\" data-tags=\"{}\">\
         <summary><span class=\"badge {}\">{}</span> {} · {} · {}:{} {} <small>[{} {}]</small></summary>",
        class(case.outcome),
        esc(profile),
        esc(dialect),
        esc(&tags),
        class(case.outcome),
        esc(case.outcome.name()),
        esc(profile),
        esc(dialect),
        esc(&case.feature),
        case.line,
        esc(&case.scenario),
        case.level.name(),
        esc(&case.requirements.join(" "))
    );
    if let Some(why) = &case.not_checked {
        let _ = write!(out, "<p>not checked: {}</p>", esc(why));
    }
    if let Some(d) = &case.detail {
        if let Some(step) = &d.step {
            let _ = write!(out, "<p>step: <code>{}</code></p>", esc(step));
        }
        if !d.message.is_empty() {
            let _ = write!(out, "<pre class=\"message\">{}</pre>", esc(&d.message));
        }
        for w in &d.warnings {
            let _ = write!(out, "<p class=\"warned\">{}</p>", esc(w));
        }
        for x in &d.exchanges {
            let _ = write!(out, "<p><code>{}</code></p>", esc(&x.summary()));
            if let Some(b) = &x.request_body {
                let _ = write!(out, "<pre>{}</pre>", esc(&cut(b)));
            }
            if let Some(b) = &x.response_body {
                let _ = write!(out, "<pre>{}</pre>", esc(&cut(b)));
            }
        }
    }
    if let Some(t) = &case.target {
        let empty = crate::TargetState::new();
        let before = t.before.as_ref().unwrap_or(&empty);
        match &t.after {
            Some(after) => {
                let diff = crate::textdiff::states(before, after, "before", "after");
                if diff.is_empty() {
                    let _ = write!(out, "<p>target: unchanged ({} object(s))</p>", after.len());
                } else {
                    let _ = write!(out, "<p>target, before → after:</p><pre class=\"diff\">");
                    for line in diff.lines() {
                        let c = if line.starts_with('+') && !line.starts_with("+++") {
                            "add"
                        } else if line.starts_with('-') && !line.starts_with("---") {
                            "del"
                        } else {
                            ""
                        };
                        let _ = writeln!(out, "<span class=\"{c}\">{}</span>", esc(line));
                    }
                    let _ = write!(out, "</pre>");
                }
            }
            None => {
                let _ = write!(out, "<p>target after: not read</p>");
            }
        }
    }
    let _ = write!(out, "</details>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esc_leaves_no_markup() {
        assert_eq!(
            esc("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
    }
}
