//! reports' one integration-test binary: renderers against golden files. Set UPDATE_GOLDEN=1 to
//! rewrite them after an intended change, then read the diff.

// Test helpers stop at the line that failed; clippy's test exemption covers only #[test] fns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use reports::diff::{Kind, diff};
use reports::{
    Case, Detail, Exchange, Level, Outcome, ProfileRun, Report, junit, markdown, terminal,
};

fn case(scenario: &str, outcome: Outcome, detail: Option<Detail>) -> Case {
    Case {
        feature: "lifecycle/create.feature".into(),
        scenario: scenario.into(),
        line: 7,
        level: Level::Must,
        requirements: vec!["ECMA-CREATE-001".into(), "ECMA-CREATE-003".into()],
        tags: vec![
            "must".into(),
            "req:ECMA-CREATE-001".into(),
            "req:ECMA-CREATE-003".into(),
        ],
        outcome,
        duration_ms: 12,
        detail,
        not_checked: None,
        target: None,
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
        schema_version: reports::SCHEMA_VERSION,
        suite_files: [("requirements.toml".to_owned(), "ab12".to_owned())].into(),
        host_facts: vec![reports::HostFacts {
            scim_base: "https://localhost:8585/ecma2host_openldap/scim".into(),
            service_provider_config: Some(serde_json::json!({"patch": {"supported": true}})),
            schemas: [(
                "urn:ietf:params:scim:schemas:core:2.0:User".to_owned(),
                vec![
                    "emails".to_owned(),
                    "emails.value".to_owned(),
                    "userName".to_owned(),
                ],
            )]
            .into(),
            unanswered: vec!["GET /ResourceTypes → 404".into()],
            configuration: Some(reports::RunConfiguration {
                profiles: vec!["openldap-inetorgperson".into()],
                transport: "https, certificate checked against ecma-host.crt".into(),
                token: "env ECMA_HOST_TOKEN".into(),
                host_command: Some("target/release/ecma-host (2 arguments)".into()),
                import: Some("POST /cache/import".into()),
                restart: None,
                other_connector: None,
                request_timeout_seconds: 60,
                ready_timeout_seconds: 60,
                target: reports::TargetConfiguration {
                    kind: "ldap".into(),
                    url: "ldap://127.0.0.1:3890".into(),
                    transport: "none".into(),
                    bind_dn: "cn=admin,dc=contoso,dc=lab".into(),
                    password: "env LDAP_BIND_PASSWORD".into(),
                    base_dn: "dc=contoso,dc=lab".into(),
                    container: "ou=ecmacert,dc=contoso,dc=lab".into(),
                    ..reports::TargetConfiguration::default()
                },
            }),
        }],
        shard: None,
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

#[test]
fn markdown_summary_matches_golden() {
    golden("summary.md", &markdown::render(&sample()));
}

#[test]
fn markdown_stays_short_with_thousands_of_failures() {
    let mut r = sample();
    let failing = r.runs[0].cases[1].clone();
    for i in 0..2000 {
        let mut c = failing.clone();
        c.scenario = format!("Scenario {i}");
        c.detail.as_mut().unwrap().message = format!("cause number {i} | with `ticks`");
        r.runs[1].cases.push(c);
    }
    let md = markdown::render(&r);
    assert!(md.len() <= markdown::SIZE_LIMIT, "{}", md.len());
    assert!(md.contains("## ecmacert: FAIL"));
    assert!(md.contains("more cause(s): see the JSON or JUnit report"));
    assert!(md.contains("`cause number 1 \\| with 'ticks'`"), "{md}");
}

/// The sample as a second run would make it: another run id, another port, other numbers.
fn rerun(r: &Report) -> Report {
    let text = serde_json::to_string(r)
        .unwrap()
        .replace("r7k2x", "r9q4m")
        .replace("8585", "40412");
    serde_json::from_str(&text).unwrap()
}

#[test]
fn two_runs_alike_but_for_their_own_names_have_no_differences() {
    let old = sample();
    let d = diff(&old, &rerun(&old));
    assert_eq!(d.changes, vec![], "{}", d.text());
    assert!(!d.regressed());
    assert!(d.text().contains("no differences"));
    assert!(d.text().ends_with("RESULT: NO REGRESSION\n"));
}

#[test]
fn a_regression_comes_first_and_a_case_left_out_is_one() {
    let old = sample();
    let mut new = rerun(&old);
    // Passed → failed, failed → passed, and a case that ran no longer present.
    new.runs[1].cases[0].outcome = Outcome::Failed;
    new.runs[1].cases[0].detail = Some(Detail {
        step: Some("Then the host answers 201".into()),
        message: "expected 201, got 500".into(),
        ..Detail::default()
    });
    new.runs[0].cases[1].outcome = Outcome::Passed;
    new.runs[0].cases[1].detail = None;
    new.runs[0].cases.remove(0);
    let d = diff(&old, &new);
    assert!(d.regressed());
    let kinds: Vec<Kind> = d.changes.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        vec![Kind::Regression, Kind::Regression, Kind::Fix],
        "{}",
        d.text()
    );
    let text = d.text();
    assert!(
        text.contains("regressed      openldap-inetorgperson · entra-scim2020 · lifecycle/create.feature: A created user lands in the target: passed → failed"),
        "{text}"
    );
    assert!(
        text.contains("now: Then the host answers 201: expected 201, got 500"),
        "{text}"
    );
    assert!(text.contains("passed → absent"), "{text}");
    assert!(d.markdown().contains("## ecmacert report diff: REGRESSED"));
}

#[test]
fn the_same_outcome_for_another_reason_is_listed_but_is_no_regression() {
    let old = sample();
    let mut new = rerun(&old);
    new.runs[0].cases[1].detail.as_mut().unwrap().message = "expected 201, got 503".into();
    let d = diff(&old, &new);
    assert_eq!(d.changes.len(), 1, "{}", d.text());
    assert_eq!(d.changes[0].kind, Kind::Reason);
    assert!(!d.regressed());
}

/// `reports/schema/report.schema.json`, checked: equal to the schema the types generate, and
/// every report this crate writes validates against it (one that breaks it does not).
#[test]
fn the_shipped_schema_is_the_models_and_reports_validate_against_it() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schema/report.schema.json");
    let generated = serde_json::to_string_pretty(&reports::schema()).unwrap() + "\n";
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        generated,
        "reports/schema/report.schema.json is not the model's schema (UPDATE_GOLDEN=1 rewrites it)"
    );
    let schema: serde_json::Value = serde_json::from_str(reports::SCHEMA).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let mut r = sample();
    r.runs[0].cases[0].target = Some(reports::TargetEvidence {
        before: Some(Default::default()),
        after: Some(
            [(
                "cn=jdoe-r7k2x-2,dc=x".to_owned(),
                [("sn".to_owned(), vec!["Doe".to_owned()])].into(),
            )]
            .into(),
        ),
    });
    let instance = serde_json::to_value(&r).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| e.to_string())
        .collect();
    assert_eq!(errors, Vec::<String>::new());
    assert_eq!(instance["schema_version"], reports::SCHEMA_VERSION);
    let mut broken = instance.clone();
    broken["runs"][0]["cases"][0]["outcome"] = "exploded".into();
    assert!(
        !validator.is_valid(&broken),
        "a report with an unknown outcome is refused"
    );
}

#[test]
fn the_html_report_is_self_contained_escaped_and_shows_the_failure() {
    let mut r = sample();
    r.runs[0].cases[1].target = Some(reports::TargetEvidence {
        before: Some(Default::default()),
        after: Some(
            [(
                "cn=jdoe-r7k2x-2,dc=x".to_owned(),
                [("sn".to_owned(), vec!["<b>Doe</b>".to_owned()])].into(),
            )]
            .into(),
        ),
    });
    let html = reports::html::render(&r);
    assert!(html.contains("<span id=\"verdict\" class=\"v fail\">FAIL</span>"));
    assert!(
        html.contains("<p id=\"counts\"><b>2 passed, 1 failed, 1 warned, 1 not applicable</b>"),
        "{html}"
    );
    assert!(html.contains("expected 201, got 500 &lt;Internal &amp; &quot;Server&quot; Error&gt;"));
    assert!(
        html.contains("<span class=\"add\">+sn: &lt;b&gt;Doe&lt;/b&gt;</span>"),
        "{html}"
    );
    assert!(
        html.contains("<td class=\"failed\""),
        "the matrix shows the failed requirement"
    );
    for external in ["src=", "href=", "@import", "url("] {
        assert!(!html.contains(external), "{external} would fetch");
    }
}

#[test]
fn the_html_report_holds_two_thousand_results() {
    let mut r = sample();
    let failing = r.runs[0].cases[1].clone();
    for i in 0..2000 {
        let mut c = failing.clone();
        c.scenario = format!("Scenario {i}");
        c.line = 100 + i;
        r.runs[1].cases.push(c);
    }
    let html = reports::html::render(&r);
    assert_eq!(html.matches("<details class=\"case\"").count(), 2005);
    assert!(html.len() < 8 * 1024 * 1024, "{} bytes", html.len());
}

#[test]
fn json_matches_golden() {
    golden(
        "report.json",
        &(serde_json::to_string_pretty(&sample()).unwrap() + "\n"),
    );
}

#[test]
fn the_same_outcome_with_other_evidence_is_listed_with_its_diff() {
    let old = sample();
    let state = |run: &str, sn: &str| reports::TargetEvidence {
        before: None,
        after: Some(
            [(
                format!("cn=jdoe-{run}-2,dc=x"),
                [("sn".to_owned(), vec![sn.to_owned()])].into(),
            )]
            .into(),
        ),
    };
    let mut old = old;
    old.runs[1].cases[0].target = Some(state("r7k2x", "Doe"));
    let mut new = rerun(&old);
    // Another run's names and numbers are no difference; another value is.
    new.runs[1].cases[0].target = Some(state("r9q4m", "Doe"));
    assert_eq!(diff(&old, &new).changes, vec![]);
    new.runs[1].cases[0].target = Some(state("r9q4m", "Dough"));
    let d = diff(&old, &new);
    assert_eq!(d.changes.len(), 1, "{}", d.text());
    assert_eq!(d.changes[0].kind, Kind::Evidence);
    assert!(
        d.text().contains("    -sn: Doe\n    +sn: Dough"),
        "{}",
        d.text()
    );
    assert!(!d.regressed());
}

#[test]
fn uuids_and_random_hex_are_normalised_and_nothing_else() {
    use reports::diff::{hex_runs, uuids};
    assert_eq!(
        uuids("id 123e4567-e89b-12d3-a456-426614174000, 123e4567-e89b"),
        "id {uuid}, 123e4567-e89b"
    );
    assert_eq!(
        hex_runs("x-0123456789abcdef0123 Doe cafe"),
        "x-{hex} Doe cafe"
    );
}
