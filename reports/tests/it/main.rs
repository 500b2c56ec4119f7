//! reports' one integration-test binary: renderers against golden files. Set UPDATE_GOLDEN=1 to
//! rewrite them after an intended change, then read the diff.

// Test helpers stop at the line that failed; clippy's test exemption covers only #[test] fns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use reports::{Case, Detail, Exchange, Level, Outcome, ProfileRun, Report, junit, terminal};

fn case(scenario: &str, outcome: Outcome, detail: Option<Detail>) -> Case {
    Case {
        feature: "lifecycle/create.feature".into(),
        scenario: scenario.into(),
        line: 7,
        level: Level::Must,
        requirements: vec!["ECMA-CREATE-001".into(), "ECMA-CREATE-003".into()],
        outcome,
        duration_ms: 12,
        detail,
        not_checked: None,
    }
}

fn sample() -> Report {
    let failed = Detail {
        step: Some("Then the host answers 201 Created with an id".into()),
        message: "expected 201, got 500 <Internal & \"Server\" Error>".into(),
        warnings: vec![],
        exchanges: vec![Exchange {
            method: "POST".into(),
            url: "https://localhost:8585/ecma2host_LDAP/scim/Users".into(),
            request_headers: vec![("authorization".into(), "Bearer <redacted>".into())],
            request_body: Some(
                "{\"schemas\": [\"urn:ietf:params:scim:schemas:core:2.0:User\"]}".into(),
            ),
            status: Some(500),
            response_headers: vec![],
            response_body: Some("{\"detail\": \"boom\"}".into()),
            error: None,
            duration_ms: 3,
        }],
    };
    let warned = Detail {
        warnings: vec![
            "ECMA-ERR-003: expected Content-Type application/scim+json, got application/json"
                .into(),
        ],
        ..Detail::default()
    };
    let na = Detail {
        message: "the profile does not declare auxiliary-classes".into(),
        ..Detail::default()
    };
    Report {
        suite_version: "0.1.0".into(),
        run_id: "r7k2x".into(),
        host: "https://localhost:8585/ecma2host_LDAP/scim".into(),
        duration_ms: 2345,
        runs: vec![
            ProfileRun {
                profile: "openldap-inetorgperson".into(),
                dialect: "entra-default".into(),
                cases: vec![
                    case("A created user lands in the target", Outcome::Passed, None),
                    case(
                        "The user is created at the DN the request gives",
                        Outcome::Failed,
                        Some(failed),
                    ),
                    case(
                        "Values are stored exactly as sent",
                        Outcome::Warned,
                        Some(warned),
                    ),
                    case(
                        "Auxiliary object classes are written",
                        Outcome::NotApplicable,
                        Some(na),
                    ),
                ],
                planned: vec!["lifecycle/create.feature:7".into()],
            },
            ProfileRun {
                profile: "openldap-inetorgperson".into(),
                dialect: "entra-scim2020".into(),
                cases: vec![case(
                    "A created user lands in the target",
                    Outcome::Passed,
                    None,
                )],
                planned: vec!["lifecycle/create.feature:7".into()],
            },
        ],
        leftovers: vec!["cn=jdoe-r7k2x-2,ou=ecmacert,dc=contoso,dc=lab".into()],
        strict: false,
        certification: false,
        plaintext: false,
        expected_failures: None,
        host_log: None,
        notes: Vec::new(),
        dialects_compared: None,
    }
}

fn golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with UPDATE_GOLDEN=1 to create it)",
            path.display()
        )
    });
    assert_eq!(actual, expected, "{name} differs from its golden file");
}

#[test]
fn terminal_summary_matches_golden() {
    golden("summary.txt", &terminal::render(&sample()));
}

#[test]
fn junit_matches_golden() {
    golden("junit.xml", &junit::render(&sample()));
}

#[test]
fn json_round_trips() {
    let r = sample();
    let back: Report = serde_json::from_str(&serde_json::to_string_pretty(&r).unwrap()).unwrap();
    assert_eq!(back, r);
}

#[test]
fn failures_fail_the_run_and_nothing_else_does() {
    let mut r = sample();
    assert_eq!((r.passed(), r.exit_code()), (false, 1));
    r.runs[0].cases.remove(1);
    assert_eq!(
        (r.passed(), r.exit_code()),
        (true, 0),
        "warned and not-applicable cases do not fail a run"
    );
    for outcome in [Outcome::Blocked, Outcome::UnexpectedPass] {
        let mut r = sample();
        r.runs[0].cases[1].outcome = outcome;
        assert_eq!(r.exit_code(), 1, "{outcome:?}");
    }
    let c = sample().counts();
    assert_eq!(
        (c.passed, c.failed, c.warned, c.not_applicable, c.ran()),
        (2, 1, 1, 1, 4)
    );
}

#[test]
fn a_report_that_left_a_planned_scenario_out_fails_and_names_it() {
    let mut r = sample();
    r.runs[0].cases.remove(1);
    assert!(r.passed());
    // A planned scenario that has no case, or a case that did not run, is missing.
    r.runs[1].planned.push("lifecycle/create.feature:99".into());
    assert_eq!(r.exit_code(), 1);
    assert_eq!(
        r.incomplete(),
        vec![
            "openldap-inetorgperson · entra-scim2020: 1 of 2 planned scenarios ran; missing lifecycle/create.feature:99"
                .to_owned()
        ]
    );
    let mut r = sample();
    r.runs[1].cases[0].outcome = Outcome::FilteredOut;
    assert_eq!(r.exit_code(), 1, "{:?}", r.incomplete());
    assert!(terminal::render(&r).contains("INCOMPLETE RUN"));
    assert!(junit::render(&r).contains("<failure type=\"incomplete\""));
}

#[test]
fn blocked_cases_are_counted_and_rendered_apart_from_failures() {
    let mut r = sample();
    r.runs[0].cases[1].outcome = Outcome::Blocked;
    let c = r.counts();
    assert_eq!((c.failed, c.blocked, c.failing()), (0, 1, 1));
    let xml = junit::render(&r);
    assert!(xml.contains("<error type=\"blocked\""), "{xml}");
    assert!(xml.contains("failures=\"0\" errors=\"1\""), "{xml}");
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["runs"][0]["cases"][1]["outcome"], "blocked");
}

#[test]
fn failures_are_grouped_by_cause_without_the_runs_own_names() {
    let mut r = sample();
    let mut second = r.runs[0].cases[1].clone();
    second.scenario = "Another scenario".into();
    second.detail.as_mut().unwrap().message =
        "expected user \"bob-r7k2x-9\" at cn=bob-r7k2x-9,dc=x, found nothing".into();
    let mut third = second.clone();
    third.scenario = "A third scenario".into();
    third.detail.as_mut().unwrap().message =
        "expected user \"amy-r7k2x-12\" at cn=amy-r7k2x-12,dc=x, found nothing".into();
    r.runs[1].cases.push(second);
    r.runs[1].cases.push(third);
    let causes = r.causes();
    assert_eq!(causes.len(), 2, "{causes:#?}");
    assert_eq!(causes[0].cases.len(), 2);
    assert_eq!(
        causes[0].message,
        "expected user \"…\" at cn=…,dc=x, found nothing"
    );
    let text = terminal::render(&r);
    assert!(text.contains("3 failing case(s), 2 cause(s)"), "{text}");
}

#[test]
fn junit_escapes_what_xml_cannot_carry() {
    let mut r = sample();
    r.runs[0].cases[1].detail.as_mut().unwrap().message = "bad \u{1} char & <tag>".into();
    let xml = junit::render(&r);
    assert!(xml.contains("bad \u{FFFD} char &amp; &lt;tag&gt;"), "{xml}");
    assert!(!xml.contains('\u{1}'));
}

#[test]
fn what_a_run_could_not_check_is_listed_with_the_musts_nothing_else_checked() {
    let mut r = sample();
    let mut unchecked = case("A busy directory is a 5xx", Outcome::NotApplicable, None);
    unchecked.requirements = vec!["ECMA-ERR-006".into(), "ECMA-CREATE-001".into()];
    unchecked.not_checked = Some("no fault injection".into());
    r.runs[1].cases.push(unchecked);
    // ECMA-CREATE-001 is checked by cases that ran; ECMA-ERR-006 by none.
    assert_eq!(
        r.not_checked(),
        vec![(
            "no fault injection".to_owned(),
            vec!["ECMA-ERR-006".to_owned()]
        )]
    );
    assert!(
        terminal::render(&r).contains(
            "no fault injection: MUST requirements no other scenario checked: ECMA-ERR-006"
        )
    );
}
