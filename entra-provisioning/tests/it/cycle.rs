//! Cycles: which users an initial and an incremental cycle process, what is decided for each,
//! the job's state and escrow, the log counts and the quarantine thresholds.

use entra_provisioning::cycle::{
    Decision, Evolution, JobState, LogCounts, OutOfScope, Outcome, Standing, Why, evolve, generate,
    users_from_json,
};
use serde_json::json;

fn set(users: &[serde_json::Value]) -> Vec<entra_provisioning::cycle::SourceUser> {
    users_from_json(&json!(users)).unwrap()
}

#[test]
fn generated_users_are_unique_repeatable_and_complete() {
    let a = generate(500, 7);
    assert_eq!(a, generate(500, 7));
    assert_ne!(a, generate(500, 8));
    let users = set(&a);
    assert_eq!(users.len(), 500);
    let upns: std::collections::HashSet<_> = a
        .iter()
        .map(|u| u["userPrincipalName"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(upns.len(), 500);
    for u in &a {
        let upn = u["userPrincipalName"].as_str().unwrap();
        assert!(upn.is_ascii() && upn.ends_with("@contoso.lab"), "{upn}");
        assert_eq!(u["IsSoftDeleted"], json!(false));
        assert!(!u["surname"].as_str().unwrap().is_empty());
    }
}

#[test]
fn a_set_without_ids_or_with_twins_is_refused() {
    assert!(
        users_from_json(&json!({"a": 1}))
            .unwrap_err()
            .contains("array")
    );
    assert!(users_from_json(&json!([1])).unwrap_err().contains("user 1"));
    assert!(
        users_from_json(&json!([{"displayName": "x"}]))
            .unwrap_err()
            .contains("neither")
    );
    let twins = users_from_json(&json!([{"id": "A"}, {"id": "a"}])).unwrap_err();
    assert!(
        twins.contains("user 2") && twins.contains("twice"),
        "{twins}"
    );
    // Known by the UPN when there is no id; {"users": [...]} is read too.
    let u = users_from_json(&json!({"users": [{"userPrincipalName": "x@y"}]})).unwrap();
    assert_eq!(u[0].id, "x@y");
}

#[test]
fn the_initial_cycle_processes_everyone_and_an_incremental_one_only_what_changed() {
    let first = generate(20, 1);
    let users = set(&first);
    let mut state = JobState::default();
    let selected = state.select(&users);
    assert_eq!(selected.len(), 20);
    assert!(selected.iter().all(|s| s.why == Why::Initial));
    for s in &selected {
        state.record(&s.id, s.user, &Outcome::Created(format!("t-{}", s.id)));
    }
    state.assess(20, 0, false);
    assert_eq!(state.cycles, 1);
    // Nothing changed: nothing processed.
    assert!(state.select(&users).is_empty());

    let (second, [changed, soft, removed]) = evolve(
        &first,
        Evolution {
            changed: 3,
            soft_deleted: 2,
            removed: 1,
        },
        1,
    )
    .unwrap();
    assert_eq!(second.len(), 19);
    let mut extra = second.clone();
    extra.push(json!({"id": "new-1", "userPrincipalName": "new@contoso.lab"}));
    let users2 = set(&extra);
    let selected = state.select(&users2);
    let ids = |why: Why| -> Vec<String> {
        let mut v: Vec<_> = selected
            .iter()
            .filter(|s| s.why == why)
            .map(|s| s.id.clone())
            .collect();
        v.sort();
        v
    };
    let mut expect_changed: Vec<String> = changed.iter().chain(&soft).cloned().collect();
    expect_changed.sort();
    assert_eq!(ids(Why::Changed), expect_changed);
    assert_eq!(ids(Why::Removed), removed);
    assert_eq!(ids(Why::New), vec!["new-1".to_owned()]);
    assert_eq!(selected.len(), 3 + 2 + 1 + 1);

    for s in &selected {
        let d = state.decide(s, true, OutOfScope::Disable);
        let expected = match s.why {
            Why::Removed => Decision::Delete(format!("t-{}", s.id)),
            Why::New => Decision::Provision,
            _ if soft.contains(&s.id) => Decision::Disable(format!("t-{}", s.id)),
            _ => Decision::Provision,
        };
        assert_eq!(d, expected, "{}", s.id);
    }
}

#[test]
fn out_of_scope_users_are_deprovisioned_as_the_job_says_and_never_provisioned_ones_skipped() {
    let users = set(&[json!({"id": "u1"}), json!({"id": "u2"})]);
    let mut state = JobState::default();
    state.record("u1", Some(&users[0]), &Outcome::Created("t1".into()));
    let sel = state.select(&users);
    let u1 = sel.iter().find(|s| s.id == "u1").unwrap();
    let u2 = sel.iter().find(|s| s.id == "u2").unwrap();
    assert_eq!(
        state.decide(u1, false, OutOfScope::Disable),
        Decision::Disable("t1".into())
    );
    assert_eq!(
        state.decide(u1, false, OutOfScope::Delete),
        Decision::Delete("t1".into())
    );
    assert!(matches!(
        state.decide(u1, false, OutOfScope::Skip),
        Decision::Skip(_)
    ));
    assert_eq!(
        state.decide(u2, false, OutOfScope::Disable),
        Decision::Skip("out of scope")
    );
    // Disabled once: not again; back in scope: provisioned (re-enabled).
    state.record("u1", Some(&users[0]), &Outcome::Disabled);
    assert_eq!(state.users["u1"].standing, Standing::Disabled);
    assert!(matches!(
        state.decide(u1, false, OutOfScope::Disable),
        Decision::Skip(_)
    ));
    assert_eq!(
        state.decide(u1, true, OutOfScope::Disable),
        Decision::Provision
    );
}

#[test]
fn a_failed_user_stays_in_escrow_and_is_retried_until_it_succeeds() {
    let users = set(&[json!({"id": "u1"})]);
    let mut state = JobState::default();
    state.record("u1", Some(&users[0]), &Outcome::Failed("409".into()));
    state.assess(1, 1, false);
    assert_eq!(state.escrowed(), 1);
    let sel = state.select(&users);
    assert_eq!(sel.len(), 1);
    assert_eq!(sel[0].why, Why::Retry);
    state.record("u1", Some(&users[0]), &Outcome::Failed("409".into()));
    assert_eq!(state.users["u1"].failures, 2);
    state.record("u1", Some(&users[0]), &Outcome::Created("t1".into()));
    assert_eq!(state.escrowed(), 0);
    assert_eq!(state.users["u1"].last_error, None);
    assert!(state.select(&users).is_empty());
    // A deleted user leaves the state once its DELETE succeeded.
    state.record("u1", None, &Outcome::Deleted);
    assert!(state.users.is_empty());
}

#[test]
fn quarantine_follows_the_escrow_thresholds() {
    let mut state = JobState::default();
    let fail = |state: &mut JobState, n: usize| {
        for i in 0..n {
            state.record(&format!("f{i}"), None, &Outcome::Failed("x".into()));
        }
    };
    // 4,999 in escrow, every event failed: evaluation has not started.
    fail(&mut state, 4_999);
    state.assess(4_999, 4_999, false);
    assert_eq!(state.quarantine, None);
    // 5,000, more than 40 % of the events failed: quarantined.
    fail(&mut state, 5_000);
    state.assess(10_000, 5_000, false);
    assert_eq!(
        state.quarantine.as_ref().unwrap().reason,
        "EncounteredEscrowProportionThreshold"
    );
    // 5,000 in escrow but 40 % exactly: not more than 40 %.
    let mut s2 = JobState::default();
    fail(&mut s2, 5_000);
    s2.assess(12_500, 5_000, false);
    assert_eq!(s2.quarantine, None);
    // More than 40,000 in escrow whatever the share.
    let mut s3 = JobState::default();
    fail(&mut s3, 40_001);
    s3.assess(1_000_000, 40_001, false);
    assert_eq!(
        s3.quarantine.as_ref().unwrap().reason,
        "EncounteredTotalEscrowThreshold"
    );
    // Unauthorized everywhere: the quarantine exception; a clean cycle lifts it.
    let mut s4 = JobState::default();
    s4.assess(10, 10, true);
    assert_eq!(
        s4.quarantine.as_ref().unwrap().reason,
        "EncounteredQuarantineException"
    );
    s4.assess(10, 0, false);
    assert_eq!(s4.quarantine, None);
}

#[test]
fn log_counts_add_up() {
    let mut c = LogCounts::default();
    for o in [
        Outcome::Created("a".into()),
        Outcome::Updated("a".into()),
        Outcome::NoChange("a".into()),
        Outcome::Skipped("out of scope".into()),
        Outcome::Disabled,
        Outcome::Deleted,
        Outcome::Failed("x".into()),
    ] {
        c.count(&o);
    }
    assert_eq!(
        (
            c.created, c.updated, c.disabled, c.deleted, c.skipped, c.failed
        ),
        (1, 1, 1, 1, 2, 1)
    );
    assert_eq!(c.total(), 7);
    assert_eq!(c.skipped_by_reason["no change"], 1);
    assert_eq!(c.skipped_by_reason["out of scope"], 1);
}

#[test]
fn an_evolution_larger_than_the_set_is_refused() {
    let e = evolve(
        &generate(3, 1),
        Evolution {
            changed: 2,
            soft_deleted: 2,
            removed: 0,
        },
        1,
    )
    .unwrap_err();
    assert!(e.contains("3 users"), "{e}");
}

#[test]
fn a_disabled_or_soft_deleted_entra_user_is_deprovisioned_as_soft_deleted() {
    let users = set(&[
        json!({"id": "a", "accountEnabled": false}),
        json!({"id": "b", "IsSoftDeleted": "True"}),
        json!({"id": "c", "accountEnabled": true, "IsSoftDeleted": false}),
        json!({"id": "d"}),
    ]);
    let soft: Vec<bool> = users.iter().map(|u| u.soft_deleted()).collect();
    assert_eq!(soft, [true, true, false, false]);
    let mut state = JobState::default();
    state.record("a", Some(&users[0]), &Outcome::Created("t".into()));
    let sel = state.select(&users);
    assert_eq!(
        state.decide(&sel[0], true, OutOfScope::Disable),
        Decision::Disable("t".into())
    );
}
