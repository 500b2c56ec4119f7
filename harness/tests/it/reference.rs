//! The reference host passes the whole suite, on a real slapd, for every profile, in both
//! dialects — checked in-process and through the `ecmacert` binary. And the mock directory gives
//! every scenario the outcome slapd gives: each profile also runs on the embedded default.

use reports::Outcome;

use crate::support::{Link, assert_passed, both_dialects, start_over};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_host_passes_the_inetorgperson_profile_in_both_dialects() {
    passes("openldap-inetorgperson", Link::Plain).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_host_passes_the_posix_profile_in_both_dialects_over_starttls() {
    passes("openldap-posix", Link::StartTls).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_host_passes_the_disable_flag_profile_in_both_dialects_over_ldaps() {
    let report = passes("openldap-disable-flag", Link::Ldaps).await;
    // This profile is the one that runs the Set-attribute-value scenarios.
    let ran: Vec<&str> = report.runs[0]
        .cases
        .iter()
        .filter(|c| c.outcome == Outcome::Passed && c.feature == "deprovision/disable.feature")
        .map(|c| c.scenario.as_str())
        .collect();
    assert!(
        ran.contains(&"Disabling sets the deprovisioning attribute and keeps the user"),
        "{ran:?}"
    );
    assert!(
        ran.contains(&"Enabling clears the deprovisioning attribute"),
        "{ran:?}"
    );
}

/// The reference host reaches slapd over `link`: the whole suite runs over LDAPS and StartTLS
/// (verified against slapd's CA) as over plain LDAP.
async fn passes(profile: &str, link: Link) -> reports::Report {
    let fixture = start_over(profile, |app| app, link).await;
    let report = fixture.run(&both_dialects()).await;
    assert_passed(&report);
    assert_eq!(report.runs.len(), 2, "one run per dialect");
    for run in &report.runs {
        assert_eq!(run.profile, profile);
        let c = run.counts();
        assert!(
            c.passed >= 20,
            "{} {}: only {} passed",
            run.profile,
            run.dialect,
            c.passed
        );
        assert_eq!(c.failed + c.warned, 0);
    }
    let passed: usize = report.runs.iter().map(|r| r.counts().passed).sum();
    assert!(passed >= 40, "{passed} scenario × dialect results passed");
    // Nothing is left behind by a run that passed.
    assert!(report.leftovers.is_empty(), "{:?}", report.leftovers);
    // Not-applicable scenarios say why.
    for case in report
        .runs
        .iter()
        .flat_map(|r| &r.cases)
        .filter(|c| c.outcome == Outcome::NotApplicable)
    {
        let message = &case.detail.as_ref().unwrap().message;
        assert!(
            message.contains("does not declare")
                || message.contains("the scenario is for sql targets")
                || message.contains("the deployment has no standby host")
                || ((message.contains("not checked: the run has no fault injection")
                    || message.contains("not checked: the run has no way to cut"))
                    && case.not_checked.is_some()),
            "{case:?}"
        );
    }
    same_outcome_on_the_mock(profile, &report).await;
    report
}

/// Runs `profile` on the embedded default (the mock) and compares every scenario's outcome with
/// the one slapd gave. Only the fault scenarios differ: not checked on slapd without a fault
/// proxy, they must pass on the mock.
async fn same_outcome_on_the_mock(profile: &str, on_slapd: &reports::Report) {
    let suite = harness::suite::Suite::embedded().unwrap();
    let options = harness::runner::RunOptions {
        profiles: vec![profile.to_owned()],
        ..both_dialects()
    };
    let on_mock = harness::embedded::run_embedded(&suite, &options)
        .await
        .unwrap();
    // (dialect, feature, line, outcome, not checked for want of what only the mock offers)
    let outcomes = |r: &reports::Report| -> Vec<(String, String, usize, Outcome, bool)> {
        r.runs
            .iter()
            .flat_map(|run| {
                run.cases.iter().map(|c| {
                    (
                        run.dialect.clone(),
                        c.feature.clone(),
                        c.line,
                        c.outcome,
                        c.not_checked.as_deref().is_some_and(|n| {
                            n.contains("fault injection")
                                || n.contains("cut the host's connections")
                        }),
                    )
                })
            })
            .collect()
    };
    let (slapd, mock) = (outcomes(on_slapd), outcomes(&on_mock));
    assert_eq!(slapd.len(), mock.len(), "the same scenarios run on both");
    let mut faults = 0;
    for (s, m) in slapd.iter().zip(&mock) {
        assert_eq!((&s.0, &s.1, s.2), (&m.0, &m.1, m.2), "the same order");
        if s.4 {
            assert_eq!(s.3, Outcome::NotApplicable, "{s:?}");
            assert_eq!(
                m.3,
                Outcome::Passed,
                "{m:?}\n{}",
                reports::terminal::render(&on_mock)
            );
            faults += 1;
        } else {
            assert_eq!(
                s.3, m.3,
                "{} line {} ({}): slapd and the mock differ",
                s.1, s.2, s.0
            );
        }
    }
    assert!(faults >= 10, "{faults} fault-injection results");
}
