//! The HTML report in a real browser: Debian's headless Chromium (installed by `scripts/test`)
//! loads the page of a run on a defective host, runs its script, and the dumped DOM holds the
//! verdict, the counts and a failing case's target diff. A screenshot is kept beside it.

use std::time::Duration;

use harness::runner::RunOptions;
use harness::suite::Suite;

async fn chromium(args: &[String]) -> std::process::Output {
    let binary = std::env::var("ECMACERT_CHROMIUM").unwrap_or_else(|_| "chromium".into());
    let mut cmd = tokio::process::Command::new(&binary);
    cmd.args(["--headless", "--no-sandbox", "--disable-gpu"])
        .args(args)
        .kill_on_drop(true);
    let run = cmd.output();
    tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .unwrap_or_else(|_| panic!("{binary} did not finish in 120 s"))
        .unwrap_or_else(|e| {
            panic!(
                "{binary}: {e}; scripts/test installs Debian's chromium (or set ECMACERT_CHROMIUM)"
            )
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_html_report_renders_in_chromium_with_the_verdict_counts_and_a_failing_diff() {
    let mutant = harness::selftest::mutants()
        .into_iter()
        .find(|m| m.name == "patch-ignored")
        .unwrap();
    let suite = Suite::embedded().unwrap();
    let options = RunOptions {
        profiles: vec!["openldap-inetorgperson".into()],
        ..RunOptions::default()
    };
    let report = harness::embedded::run_embedded_with(&suite, &options, mutant.apply)
        .await
        .unwrap();
    assert!(!report.passed());
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("html-report");
    std::fs::create_dir_all(&dir).unwrap();
    let page = dir.join("report.html");
    std::fs::write(&page, reports::html::render(&report)).unwrap();
    let url = format!("file://{}", page.display());
    let profile_dir = tempfile::tempdir().unwrap();
    let user_data = format!("--user-data-dir={}", profile_dir.path().display());

    let out = chromium(&[user_data.clone(), "--dump-dom".into(), url.clone()]).await;
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && dom.contains("</html>"),
        "chromium: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        dom.contains(r#"<span id="verdict" class="v fail">FAIL</span>"#),
        "the verdict"
    );
    assert!(
        dom.contains(&format!(
            r#"<p id="counts"><b>{}</b></p>"#,
            report.counts().line()
        )),
        "the counts"
    );
    // The script ran: it counted the cases its default filters show (all but passed and n/a).
    let shown = report
        .runs
        .iter()
        .flat_map(|r| &r.cases)
        .filter(|c| {
            !matches!(
                c.outcome,
                reports::Outcome::Passed
                    | reports::Outcome::NotApplicable
                    | reports::Outcome::FilteredOut
            )
        })
        .count();
    assert!(shown > 0);
    assert!(
        dom.contains(&format!(r#"<span id="shown">{shown}</span>"#)),
        "the script's count of shown cases"
    );
    // A failing case with the diff of its objects in the target.
    let case = dom
        .split("<details ")
        .find(|d| {
            d.contains(r#"data-outcome="failed""#) && d.contains("Named attributes are updated")
        })
        .unwrap_or_else(|| panic!("no failed 'Named attributes are updated' case in the DOM"));
    assert!(case.contains("target, before → after"), "{case}");
    assert!(case.contains(r#"<span class="add">+"#), "{case}");
    // The host's facts and how the run reached it.
    let facts = &report.host_facts[0];
    assert!(facts.configuration.is_some() && facts.service_provider_config.is_some());
    assert!(
        dom.contains(r#"<details id="host">"#)
            && dom.contains(&facts.scim_base)
            && dom.contains("token: given in code")
            && dom.contains("/ServiceProviderConfig"),
        "the host facts"
    );

    // Filters from the address: passed cases tagged @requires:fault-injection, counted by the
    // script as the report counts them.
    let tagged = report
        .runs
        .iter()
        .flat_map(|r| &r.cases)
        .filter(|c| {
            c.outcome == reports::Outcome::Passed
                && c.tags.iter().any(|t| t == "requires:fault-injection")
        })
        .count();
    assert!(tagged > 0);
    let out = chromium(&[
        user_data.clone(),
        "--dump-dom".into(),
        format!("{url}#outcome=passed&tag=requires%3Afault-injection"),
    ])
    .await;
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        dom.contains(&format!(r#"<span id="shown">{tagged}</span>"#)),
        "the script's count of passed cases tagged requires:fault-injection ({tagged})"
    );

    let shot = dir.join("report.png");
    let out = chromium(&[
        user_data,
        format!("--screenshot={}", shot.display()),
        "--window-size=1280,1600".into(),
        url,
    ])
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 10_000,
        "a screenshot of the page"
    );
}
