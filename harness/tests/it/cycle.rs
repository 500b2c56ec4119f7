//! `ecmacert cycle`: Entra's initial and incremental cycles through the reference host, counted
//! at the host's door (not only by the client that sent them), on the embedded default and on
//! a real slapd; hosts that acknowledge writes without making them fail the users concerned,
//! who stay in escrow and are retried.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::Router;
use entra_provisioning::cycle::{Evolution, JobState, OutOfScope, Standing, evolve, generate};
use harness::cycle::{CycleOptions, CycleReport, UserSet, cycle};
use harness::suite::Suite;
use scim_proto::Dialect;

use crate::support;

const MAPPING: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/mappings/embedded-inetorgperson.toml"
);

/// Requests the host received, by `METHOD first-path-segment-after-scim` (`GET Users?filter`,
/// `POST Users`, `PATCH Users`, `DELETE Users`).
type Seen = Arc<Mutex<BTreeMap<String, u64>>>;

fn counted(seen: &Seen, app: Router) -> Router {
    let seen = seen.clone();
    app.layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let seen = seen.clone();
            async move {
                let path = request.uri().path();
                let kind = if path.ends_with("/Users") && request.uri().query().is_some() {
                    "Users?filter"
                } else if path.contains("/Users") {
                    "Users"
                } else {
                    "other"
                };
                let key = format!("{} {kind}", request.method());
                *seen.lock().unwrap().entry(key).or_default() += 1;
                next.run(request).await
            }
        },
    ))
}

/// The `userPassword` values of the creates the host received.
type Passwords = Arc<Mutex<Vec<String>>>;

fn passwords_of(passwords: &Passwords, app: Router) -> Router {
    let passwords = passwords.clone();
    app.layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let passwords = passwords.clone();
            async move {
                let (parts, body) = request.into_parts();
                let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
                if let Ok(json) = serde_json::from_slice::<serde_json::Value>(&bytes)
                    && let Some(p) = json[scim_proto::urn::ECMA2HOST_USER]["userPassword"].as_str()
                {
                    passwords.lock().unwrap().push(p.to_owned());
                }
                next.run(axum::extract::Request::from_parts(parts, bytes.into()))
                    .await
            }
        },
    ))
}

fn take(seen: &Seen) -> BTreeMap<String, u64> {
    std::mem::take(&mut *seen.lock().unwrap())
}

fn options(cycles: Vec<UserSet>, state: Option<PathBuf>) -> CycleOptions {
    CycleOptions {
        profile: Some("openldap-disable-flag".into()),
        mapping: PathBuf::from(MAPPING),
        cycles,
        state,
        dialect: Dialect::EntraDefault,
        seed: 3,
        out_of_scope: OutOfScope::Disable,
    }
}

fn given(name: &str, users: Vec<serde_json::Value>) -> UserSet {
    UserSet::Given {
        name: name.into(),
        users,
    }
}

/// Runs `f` on the embedded default's openldap-disable-flag profile behind `defect` and the
/// counting layer.
async fn embedded<T>(
    defect: fn(Router) -> Router,
    seen: &Seen,
    f: impl AsyncFnOnce(&harness::config::Config, &Path) -> T,
) -> T {
    let suite = Suite::embedded().unwrap();
    let s = seen.clone();
    harness::embedded::with_profile(
        &suite,
        "openldap-disable-flag",
        move |app| counted(&s, defect(app)),
        f,
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incremental_cycle_sends_only_what_changed_and_the_host_receives_exactly_that() {
    let first = generate(300, 11);
    let (second, [changed, soft, removed]) = evolve(
        &first,
        Evolution {
            changed: 10,
            ..Evolution::default()
        },
        11,
    )
    .unwrap();
    assert_eq!((changed.len(), soft.len(), removed.len()), (10, 0, 0));
    let (third, [_, soft, removed]) = evolve(
        &second,
        Evolution {
            changed: 0,
            soft_deleted: 4,
            removed: 3,
        },
        12,
    )
    .unwrap();
    // Back in scope and no longer soft-deleted: re-enabled by an update.
    let mut fourth = third.clone();
    for u in &mut fourth {
        if u["id"] == soft[0].as_str() {
            u["IsSoftDeleted"] = false.into();
            u["accountEnabled"] = true.into();
        }
    }
    let seen: Seen = Arc::default();
    let suite = Suite::embedded().unwrap();
    let mut received = Vec::new();
    let report: CycleReport = embedded(
        |a| a,
        &seen,
        async |config, base| {
            let mut reports = Vec::new();
            for (name, set) in [
                ("first", first.clone()),
                ("second", second.clone()),
                ("third", third.clone()),
                ("fourth", fourth.clone()),
                ("again", fourth.clone()),
            ] {
                // One cycle per call, the state in a file, as separate invocations would.
                let state = base.join("state.json");
                let r = cycle(
                    &suite,
                    config,
                    base,
                    &options(vec![given(name, set)], Some(state)),
                )
                .await
                .unwrap();
                received.push(take(&seen));
                reports.push(r);
            }
            let state: JobState =
                serde_json::from_str(&std::fs::read_to_string(base.join("state.json")).unwrap())
                    .unwrap();
            assert_eq!(state.cycles, 5);
            assert_eq!(
                state
                    .users
                    .values()
                    .filter(|s| s.standing == Standing::Disabled)
                    .count(),
                3
            );
            assert!(removed.iter().all(|id| !state.users.contains_key(id)));
            let mut all = reports.remove(0);
            for r in reports {
                all.passed &= r.passed;
                all.cycles.extend(r.cycles);
            }
            all
        },
    )
    .await;
    assert!(report.passed, "{}", harness::cycle::render(&report));
    let c = &report.cycles;
    let counts = |i: usize| {
        let l = &c[i].log;
        (
            l.created, l.updated, l.disabled, l.deleted, l.skipped, l.failed,
        )
    };
    assert_eq!((c[0].kind, c[0].processed), ("initial", 300));
    assert_eq!(counts(0), (300, 0, 0, 0, 0, 0));
    assert_eq!(c[0].verified, 300);
    assert_eq!(received[0]["POST Users"], 300);
    assert_eq!(received[0]["GET Users?filter"], 300);
    assert!(!received[0].contains_key("PATCH Users"));

    // Ten users changed: each read by its id (Entra knows it now, so no matching query) and
    // exactly ten PATCHes reach the host.
    assert_eq!((c[1].kind, c[1].processed), ("incremental", 10));
    assert_eq!(counts(1), (0, 10, 0, 0, 0, 0));
    assert_eq!(received[1]["PATCH Users"], 10);
    assert_eq!(received[1]["GET Users"], 10);
    assert_eq!(received[1].get("GET Users?filter"), None);
    assert_eq!(received[1].get("POST Users"), None);
    assert_eq!((c[1].requests.patches, c[1].requests.reads), (10, 10));

    // Four soft-deleted: four disables, each flag checked in the target; three removed: three
    // deletes, checked gone.
    assert_eq!(counts(2), (0, 0, 4, 3, 0, 0));
    assert_eq!(received[2]["PATCH Users"], 4);
    assert_eq!(received[2]["DELETE Users"], 3);
    assert_eq!(c[2].verified, 7);

    // One restored: read by id, then updated with active true, its flag cleared in the target.
    assert_eq!(counts(3), (0, 1, 0, 0, 0, 0));
    assert_eq!(received[3]["PATCH Users"], 1);
    assert_eq!(received[3]["GET Users"], 1);

    // Nothing changed: nothing processed, nothing sent.
    assert_eq!(c[4].processed, 0);
    // (Each invocation reads /Schemas once, as a job does when it is configured.)
    assert!(
        received[4].keys().all(|k| k.ends_with(" other")),
        "{:?}",
        received[4]
    );
}

fn mutant(name: &str) -> fn(Router) -> Router {
    harness::selftest::mutants()
        .into_iter()
        .find(|m| m.name == name)
        .unwrap()
        .apply
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_acknowledged_but_not_made_fail_their_users_who_stay_in_escrow() {
    let first = generate(20, 5);
    let (second, [changed, ..]) = evolve(
        &first,
        Evolution {
            changed: 4,
            ..Evolution::default()
        },
        5,
    )
    .unwrap();
    let seen: Seen = Arc::default();
    let suite = Suite::embedded().unwrap();
    let report = embedded(mutant("patch-ignored"), &seen, async |config, base| {
        cycle(
            &suite,
            config,
            base,
            &options(
                vec![
                    given("first", first.clone()),
                    given("second", second.clone()),
                    given("second again", second.clone()),
                ],
                None,
            ),
        )
        .await
        .unwrap()
    })
    .await;
    let text = harness::cycle::render(&report);
    assert!(!report.passed, "{text}");
    let c = &report.cycles;
    assert_eq!(c[0].log.created, 20, "{text}");
    assert_eq!((c[1].log.updated, c[1].log.failed), (0, 4), "{text}");
    assert_eq!(c[1].escrow, 4);
    let mut failed: Vec<_> = c[1].failures.iter().map(|f| f.user.clone()).collect();
    failed.sort();
    let mut expected = changed.clone();
    expected.sort();
    assert_eq!(failed, expected);
    assert!(c[1].failures[0].problem.contains("sn"), "{text}");
    // Escrow: retried in the next cycle though nothing changed, and failing again.
    assert_eq!((c[2].processed, c[2].log.failed), (4, 4), "{text}");
    assert!(text.contains("FAILED"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_and_deletes_acknowledged_but_not_made_are_failures() {
    let users = generate(5, 9);
    let seen: Seen = Arc::default();
    let suite = Suite::embedded().unwrap();
    let report = embedded(
        mutant("create-without-writing"),
        &seen,
        async |config, base| {
            cycle(
                &suite,
                config,
                base,
                &options(vec![given("first", users.clone())], None),
            )
            .await
            .unwrap()
        },
    )
    .await;
    assert_eq!(
        report.cycles[0].log.failed,
        5,
        "{}",
        harness::cycle::render(&report)
    );
    assert_eq!(report.cycles[0].verified, 0);

    let (fewer, _) = evolve(
        &users,
        Evolution {
            removed: 2,
            ..Evolution::default()
        },
        9,
    )
    .unwrap();
    let report = embedded(mutant("delete-ignored"), &seen, async |config, base| {
        cycle(
            &suite,
            config,
            base,
            &options(
                vec![given("first", users.clone()), given("fewer", fewer.clone())],
                None,
            ),
        )
        .await
        .unwrap()
    })
    .await;
    let text = harness::cycle::render(&report);
    assert_eq!(report.cycles[0].log.created, 5, "{text}");
    assert_eq!(report.cycles[1].log.failed, 2, "{text}");
    assert!(text.contains("still holds"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_scope_users_follow_the_job_setting_and_bad_input_is_refused() {
    let users = generate(6, 2);
    let mut later = users.clone();
    later[0]["department"] = "Alumni".into();
    later[1]["department"] = "Alumni".into();
    let seen: Seen = Arc::default();
    let suite = Suite::embedded().unwrap();
    for (policy, disabled, deleted) in [
        (OutOfScope::Disable, 2, 0),
        (OutOfScope::Delete, 0, 2),
        (OutOfScope::Skip, 0, 0),
    ] {
        let report = embedded(
            |a| a,
            &seen,
            async |config, base| {
                let mut o = options(
                    vec![given("first", users.clone()), given("later", later.clone())],
                    None,
                );
                o.out_of_scope = policy;
                cycle(&suite, config, base, &o).await.unwrap()
            },
        )
        .await;
        let l = &report.cycles[1].log;
        assert_eq!((l.disabled, l.deleted), (disabled, deleted), "{policy:?}");
        assert!(report.passed);
        if policy == OutOfScope::Skip {
            assert_eq!(l.skipped, 2);
        }
    }
    // Not an array, a mapping that is not there: refused before anything is sent.
    take(&seen);
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"id\": 1}").unwrap();
    let errors = embedded(
        |a| a,
        &seen,
        async |config, base| {
            let a = cycle(
                &suite,
                config,
                base,
                &options(vec![UserSet::File(bad.clone())], None),
            )
            .await
            .unwrap_err();
            let mut o = options(vec![given("x", users.clone())], None);
            o.mapping = dir.path().join("missing.toml");
            let b = cycle(&suite, config, base, &o).await.unwrap_err();
            (a.to_string(), b.to_string())
        },
    )
    .await;
    assert!(
        errors.0.contains("--users") && errors.0.contains("array"),
        "{}",
        errors.0
    );
    assert!(errors.1.contains("--mapping"), "{}", errors.1);
    assert_eq!(take(&seen).get("POST Users"), None);
}

/// The embedded mapping with the fixture's container in the `-dn-` expression.
fn slapd_mapping(fixture: &support::Fixture) -> PathBuf {
    let text = std::fs::read_to_string(MAPPING).unwrap();
    let container = fixture.config().target.container;
    let text = text.replace(",OU=flag,DC=contoso,DC=lab\")", &format!(",{container}\")"));
    assert!(text.contains(&container));
    let path = fixture.dir.path().join("mapping.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cycles_on_a_real_slapd() {
    let fixture = support::start("openldap-disable-flag", |a| a).await;
    let first = generate(40, 21);
    let (second, _) = evolve(
        &first,
        Evolution {
            changed: 5,
            soft_deleted: 2,
            removed: 2,
        },
        21,
    )
    .unwrap();
    let mut o = options(vec![given("first", first), given("second", second)], None);
    o.profile = None;
    o.mapping = slapd_mapping(&fixture);
    o.dialect = Dialect::EntraScim2020;
    let report = cycle(
        &Suite::embedded().unwrap(),
        &fixture.config(),
        fixture.dir.path(),
        &o,
    )
    .await
    .unwrap();
    let text = harness::cycle::render(&report);
    assert!(report.passed, "{text}");
    let l = &report.cycles[1].log;
    assert_eq!(report.cycles[0].log.created, 40, "{text}");
    assert_eq!((l.updated, l.disabled, l.deleted), (5, 2, 2), "{text}");
    // The directory agrees, read over LDAP: 38 entries remain, 2 of them flagged disabled.
    let container = fixture.config().target.container;
    let mut ldap = support::slapd_admin().await;
    let count = async |ldap: &mut ldap3::Ldap, filter: &str| {
        let (entries, _) = ldap
            .search(&container, ldap3::Scope::OneLevel, filter, vec!["1.1"])
            .await
            .unwrap()
            .success()
            .unwrap();
        entries.len()
    };
    assert_eq!(count(&mut ldap, "(objectClass=inetOrgPerson)").await, 38);
    assert_eq!(count(&mut ldap, "(ecmaAccountDisabled=TRUE)").await, 2);
    assert_eq!(count(&mut ldap, "(sn=*-Lindqvist)").await, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_generated_passwords_reach_neither_the_report_nor_the_state() {
    let users = generate(8, 4);
    let (fewer, _) = evolve(
        &users,
        Evolution {
            changed: 2,
            ..Evolution::default()
        },
        4,
    )
    .unwrap();
    let passwords: Passwords = Arc::default();
    let p = passwords.clone();
    let suite = Suite::embedded().unwrap();
    let (report, state) = harness::embedded::with_profile(
        &suite,
        "openldap-disable-flag",
        move |app| passwords_of(&p, app),
        async |config, base| {
            let state = base.join("state.json");
            let r = cycle(
                &suite,
                config,
                base,
                &options(
                    vec![
                        given("first", users.clone()),
                        given("second", fewer.clone()),
                    ],
                    Some(state.clone()),
                ),
            )
            .await
            .unwrap();
            (r, std::fs::read_to_string(state).unwrap())
        },
    )
    .await
    .unwrap();
    assert!(report.passed, "{}", harness::cycle::render(&report));
    let sent = passwords.lock().unwrap().clone();
    assert_eq!(sent.len(), 8, "every create carried a password");
    let shown = format!(
        "{}{}{state}",
        harness::cycle::render(&report),
        serde_json::to_string(&report).unwrap()
    );
    for p in &sent {
        assert!(p.len() >= 16);
        assert!(
            !shown.contains(p.as_str()),
            "a generated password was shown"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_that_ignores_active_fails_the_disable_and_a_flow_that_keeps_objects_passes() {
    let users = generate(6, 8);
    let (later, _) = evolve(
        &users,
        Evolution {
            soft_deleted: 2,
            removed: 2,
            ..Evolution::default()
        },
        8,
    )
    .unwrap();
    let seen: Seen = Arc::default();
    let suite = Suite::embedded().unwrap();
    // One host refuses the disable's PATCH once it drops `active` from it; the other takes the
    // string "False" for true and answers 200: only the target shows that it did not disable.
    for (name, shown) in [
        ("active-ignored", "the disable answered 400"),
        ("false-string-read-as-true", "ecmaAccountDisabled"),
    ] {
        let report = embedded(mutant(name), &seen, async |config, base| {
            cycle(
                &suite,
                config,
                base,
                &options(
                    vec![given("first", users.clone()), given("later", later.clone())],
                    None,
                ),
            )
            .await
            .unwrap()
        })
        .await;
        let text = harness::cycle::render(&report);
        assert!(!report.passed, "{name}: {text}");
        assert_eq!(report.cycles[1].log.failed, 2, "{name}: {text}");
        assert!(text.contains(shown), "{name}: {text}");
    }

    // openldap-flows: a disable changes nothing, a delete sets the flag and keeps the entry.
    let dir = tempfile::tempdir().unwrap();
    let mapping = dir.path().join("flows.toml");
    let text = std::fs::read_to_string(MAPPING)
        .unwrap()
        .replace("OU=flag,", "OU=flows,");
    std::fs::write(&mapping, text).unwrap();
    let report = harness::embedded::with_profile(
        &suite,
        "openldap-flows",
        |a| a,
        async |config, base| {
            let mut o = options(
                vec![given("first", users.clone()), given("later", later.clone())],
                None,
            );
            o.profile = Some("openldap-flows".into());
            o.mapping = mapping.clone();
            cycle(&suite, config, base, &o).await.unwrap()
        },
    )
    .await
    .unwrap();
    let text = harness::cycle::render(&report);
    assert!(report.passed, "{text}");
    let l = &report.cycles[1].log;
    assert_eq!(
        (l.disabled, l.deleted, report.cycles[1].verified),
        (2, 2, 4),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cycles_on_a_sql_table() {
    let users = generate(30, 31);
    let (later, _) = evolve(
        &users,
        Evolution {
            changed: 5,
            soft_deleted: 2,
            removed: 2,
        },
        31,
    )
    .unwrap();
    let seen: Seen = Arc::default();
    let suite = Suite::embedded().unwrap();
    let s = seen.clone();
    let report = harness::embedded::with_profile(
        &suite,
        "sqlite-table",
        move |app| counted(&s, app),
        async |config, base| {
            let mut o = options(
                vec![given("first", users.clone()), given("later", later.clone())],
                None,
            );
            o.profile = Some("sqlite-table".into());
            o.mapping = PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../examples/mappings/embedded-sqlite.toml"
            ));
            cycle(&suite, config, base, &o).await.unwrap()
        },
    )
    .await
    .unwrap();
    let text = harness::cycle::render(&report);
    assert!(report.passed, "{text}");
    assert_eq!(report.cycles[0].log.created, 30, "{text}");
    let l = &report.cycles[1].log;
    assert_eq!((l.updated, l.disabled, l.deleted), (5, 2, 2), "{text}");
    // Read back: 30 creates, then 5 updates, 2 rows flagged, 2 rows gone.
    assert_eq!(
        (report.cycles[0].verified, report.cycles[1].verified),
        (30, 9),
        "{text}"
    );
    assert_eq!(take(&seen)["PATCH Users"], 7);
}
