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
            },
            ProfileRun {
                profile: "openldap-inetorgperson".into(),
                dialect: "entra-scim2020".into(),
                cases: vec![case(
                    "A created user lands in the target",
                    Outcome::Passed,
                    None,
                )],
            },
        ],
        leftovers: vec!["cn=jdoe-r7k2x-2,ou=ecmacert,dc=contoso,dc=lab".into()],
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
fn junit_escapes_what_xml_cannot_carry() {
    let mut r = sample();
    r.runs[0].cases[1].detail.as_mut().unwrap().message = "bad \u{1} char & <tag>".into();
    let xml = junit::render(&r);
    assert!(xml.contains("bad \u{FFFD} char &amp; &lt;tag&gt;"), "{xml}");
    assert!(!xml.contains('\u{1}'));
}
