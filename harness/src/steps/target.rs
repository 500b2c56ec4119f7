//! What the target holds: `Then` steps that read the directory through the probe, never
//! through the host.

use std::sync::Arc;

use cucumber::step::{Context, Step};
use serde_json::Value;

use super::{arg, seconds, step, table};
use crate::checks;
use crate::faults::{ControlledTarget, Fault, FaultAction, TargetOp, Times};
use crate::probe::{Entry, Match};
use crate::profile::FlowAction;
use crate::world::{EcmaWorld, Failure, ImportAnswer, StepResult, same, text};

/// `Given` steps that make the target misbehave (the mocks, or a fault proxy:
/// `fault-injection` for one operation, `connection-faults` for every connection).
pub static GIVEN: &[(&str, Step<EcmaWorld>)] = &[
    (
        r"^the (?:directory|database|target) drops every connection of the host$",
        step!(drops_every_connection),
    ),
    (
        r"^the (?:directory|target) drops the host's next (add|modify|delete)$",
        step!(drops_next),
    ),
    (
        r"^the (?:directory|target) carries out the host's next (add|modify|delete) and drops the connection before answering$",
        step!(drops_after_next),
    ),
    (
        r#"^the (?:directory|target) answers the host's next (add|modify|delete) with (\w+)(?: "([^"]*)")?$"#,
        step!(answers_next),
    ),
    (
        r"^the (?:directory|target) takes ([\d.]+) seconds? to answer the host's (adds|modifies|deletes)$",
        step!(slow),
    ),
    (
        r"^the directory is reached over TLS$",
        step!(reached_over_tls),
    ),
    (
        r"^the read procedure was replaced out of band by one that ignores its page bounds$",
        step!(unpaged_read),
    ),
    (
        r#"^the host wrote user "([^"]+)" through the stored procedures$"#,
        step!(wrote_through_procedures),
    ),
];

/// `When` steps about the target.
pub static WHEN: &[(&str, Step<EcmaWorld>)] = &[
    (
        r"^the (?:directory|database|target) is back$",
        step!(directory_back),
    ),
    (
        r"^the (?:directory|database|target) restarts$",
        step!(target_restarts),
    ),
    (r"^the active host stops$", step!(active_host_stops)),
    (
        r"^the provisioning service turns to the standby host$",
        step!(turn_to_standby),
    ),
    (
        r"^the standby host has imported its target$",
        step!(standby_imported),
    ),
    (
        r"^the host is asked to import its target$",
        step!(import_asked),
    ),
];

fn faults(w: &EcmaWorld) -> Result<Arc<dyn ControlledTarget>, Failure> {
    w.run()?.faults.clone().ok_or_else(|| {
        Failure::new("the target cannot be made to fail on cue here; faults cannot be injected")
    })
}

fn op_kind(word: &str) -> TargetOp {
    match word {
        "add" | "adds" => TargetOp::Add,
        "modify" | "modifies" => TargetOp::Modify,
        _ => TargetOp::Delete,
    }
}

/// A fault on the host's operations: on this scenario's objects when `scoped`
/// ([`EcmaWorld::fault_scope`]).
fn fault(
    w: &EcmaWorld,
    op: Option<TargetOp>,
    scoped: bool,
    action: FaultAction,
    times: Times,
) -> Fault {
    Fault {
        op,
        dn_contains: scoped.then(|| w.fault_scope()),
        action,
        times,
    }
}

/// Starts `fault`; a target that cannot play it fails the step, never passes it by leaving
/// the fault out.
fn inject(w: &EcmaWorld, fault: Fault) -> StepResult {
    faults(w)?.inject(fault).map_err(Failure::new)
}

async fn drops_every_connection(w: &mut EcmaWorld, _ctx: Context) -> StepResult {
    inject(w, fault(w, None, false, FaultAction::Drop, Times::Always))
}

async fn drops_next(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let op = op_kind(&arg(&ctx, 1)?);
    inject(w, fault(w, Some(op), true, FaultAction::Drop, Times::Once))
}

async fn drops_after_next(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let op = op_kind(&arg(&ctx, 1)?);
    inject(
        w,
        fault(w, Some(op), true, FaultAction::DropAfter, Times::Once),
    )
}

/// The active host of an active/passive pair stops (the run started it: `host.command`); the
/// run starts it again after the scenario.
async fn active_host_stops(w: &mut EcmaWorld, _ctx: Context) -> StepResult {
    let standby = w
        .run()?
        .standby
        .clone()
        .ok_or_else(|| Failure::new("the run has no standby host (host.standby)"))?;
    standby.active.stop().await;
    Ok(())
}

async fn turn_to_standby(w: &mut EcmaWorld, _ctx: Context) -> StepResult {
    w.service()?;
    w.scim.through_standby = true;
    w.service().map(|_| ())
}

async fn standby_imported(w: &mut EcmaWorld, _ctx: Context) -> StepResult {
    w.standby_import().await
}

async fn target_restarts(w: &mut EcmaWorld, _ctx: Context) -> StepResult {
    faults(w)?.restart();
    Ok(())
}

async fn answers_next(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let op = op_kind(&arg(&ctx, 1)?);
    let name = arg(&ctx, 2)?;
    let code = ecma_vocab::ldap::result_code(&name)
        .ok_or_else(|| Failure::new(format!("no LDAP result code is called {name}")))?;
    let message = ctx
        .matches
        .get(3)
        .map(|(_, m)| m.clone())
        .unwrap_or_default();
    let action = FaultAction::Fail { code, message };
    inject(w, fault(w, Some(op), true, action, Times::Once))
}

async fn slow(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let seconds = seconds(&ctx, 1)?;
    let op = op_kind(&arg(&ctx, 2)?);
    let action = FaultAction::Delay(std::time::Duration::from_secs_f64(seconds));
    inject(w, fault(w, Some(op), true, action, Times::Always))?;
    w.target.slowed = true;
    Ok(())
}

/// The run's own setup for ECMA-LDAP-010: a profile that requires TLS to the directory is
/// checked against a directory the probe, too, reaches over TLS.
async fn reached_over_tls(w: &mut EcmaWorld, _ctx: Context) -> StepResult {
    if w.run()?.probe.ldap()?.uses_tls() {
        return Ok(());
    }
    Err(Failure::new(
        "the profile requires TLS to the directory, but target.url is ldap:// without \
         target.starttls: give the directory's LDAPS URL (or StartTLS) and its CA",
    ))
}

async fn directory_back(w: &mut EcmaWorld, _ctx: Context) -> StepResult {
    faults(w)?.clear(&w.fault_scope());
    w.target.slowed = false;
    Ok(())
}

/// `Then` steps about the target.
pub static THEN: &[(&str, Step<EcmaWorld>)] = &[
    (
        r#"^the target holds user "([^"]+)" with nothing in the unmapped column$"#,
        step!(unmapped_empty),
    ),
    (
        r#"^the target holds user "([^"]+)" with "([^"]*)" in the unmapped column$"#,
        step!(unmapped_holds),
    ),
    (
        r#"^the procedure log for user "([^"]+)" reads (.+)$"#,
        step!(procedure_log),
    ),
    (
        r#"^the import fails with a server error that names "([^"]+)"$"#,
        step!(import_failed),
    ),
    (r#"^the target holds user "([^"]+)"$"#, step!(holds)),
    (
        r#"^the target holds user "([^"]+)" with:$"#,
        step!(holds_with),
    ),
    (
        r#"^the target holds user "([^"]+)" with every attribute the request carried$"#,
        step!(holds_carried),
    ),
    (
        r#"^the target holds user "([^"]+)" at the DN the request gave$"#,
        step!(holds_at_dn),
    ),
    (
        r#"^the target holds user "([^"]+)" with every object class of the profile$"#,
        step!(holds_classes),
    ),
    (
        r#"^the target holds user "([^"]+)" marked (disabled|enabled|deleted)$"#,
        step!(holds_marked),
    ),
    (r#"^the target holds no user "([^"]+)"$"#, step!(holds_none)),
    (
        r#"^the target holds user "([^"]+)" whole \(it can sign in with "([^"]+)"\) after a 201, and nothing of it after an error$"#,
        step!(whole_or_nothing),
    ),
    (
        r#"^the target holds every one of the users "([^"]+)"$"#,
        step!(holds_every),
    ),
    (
        r#"^the target holds user "([^"]+)" without (\w+)$"#,
        step!(holds_without),
    ),
    (
        r#"^the target holds exactly one user "([^"]+)"$"#,
        step!(holds_exactly_one),
    ),
    (r"^the target is unchanged$", step!(unchanged)),
    (
        r#"^the target holds what the host answered for user "([^"]+)"$"#,
        step!(holds_what_was_answered),
    ),
    (
        r#"^user "([^"]+)" is unchanged in the target$"#,
        step!(user_unchanged),
    ),
    (
        r#"^user "([^"]+)" is otherwise unchanged in the target$"#,
        step!(user_otherwise_unchanged),
    ),
    (
        r#"^user "([^"]+)" can sign in to the target with password "([^"]+)"$"#,
        step!(can_sign_in),
    ),
    (
        r"^the missing container was not created$",
        step!(container_not_created),
    ),
    (
        r#"^the target holds exactly one value of each attribute user "([^"]+)" was sent$"#,
        step!(single_values),
    ),
    (
        r#"^the id of user "([^"]+)" is the anchor the target holds for it$"#,
        step!(id_is_anchor),
    ),
    (
        r#"^the host refused the move and the target is unchanged, or user "([^"]+)" is only at its new DN$"#,
        step!(moved_or_refused),
    ),
    (
        r#"^the naming attribute of user "([^"]+)" holds its name as sent$"#,
        step!(naming_value),
    ),
    (
        r#"^the target holds user "([^"]+)" of the profile's structural class$"#,
        step!(holds_structural),
    ),
    (
        r#"^the target holds user "([^"]+)" without an export_password attribute$"#,
        step!(holds_no_export_password),
    ),
    (
        r#"^the host answers 201 or a 400 SCIM error, and the target holds nothing the connector does not expose for user "([^"]+)"$"#,
        step!(unexposed_not_written),
    ),
];

async fn entry(w: &mut EcmaWorld, logical: &str) -> Result<Entry, Failure> {
    let dn = w.user(logical)?.dn.clone();
    w.target_entry(logical).await?.ok_or_else(|| {
        Failure::new(format!(
            "expected user {logical:?} in the target at {dn}, found no entry there"
        ))
    })
}

async fn holds(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    entry(w, &arg(&ctx, 1)?).await.map(|_| ())
}

/// Compares target attributes with what was sent.
fn compare(entry: &Entry, expected: &[(String, Value)]) -> StepResult {
    let mut wrong = Vec::new();
    for (attribute, value) in expected {
        let stored = entry.values(attribute);
        let ok = if attribute.eq_ignore_ascii_case("objectClass") {
            let sent: Vec<String> = match value {
                Value::Array(a) => a.iter().map(text).collect(),
                v => vec![text(v)],
            };
            sent.iter()
                .all(|c| stored.iter().any(|s| s.eq_ignore_ascii_case(c)))
        } else {
            same(value, stored)
        };
        if !ok {
            wrong.push(format!("{attribute}: expected {value}, got {stored:?}"));
        }
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(Failure::new(format!(
            "in the target at {}: {}",
            entry.dn,
            wrong.join("; ")
        )))
    }
}

async fn holds_with(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let mut expected = Vec::new();
    for (name, value) in table(&ctx)? {
        let attribute = w.logical(&name)?;
        let value = w.uniquify(&attribute, &value);
        expected.push((
            attribute.target.clone(),
            EcmaWorld::typed(&attribute, &value),
        ));
    }
    let e = entry(w, &logical).await?;
    compare(&e, &expected)
}

async fn holds_carried(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let run = w.run()?;
    let expected: Vec<(String, Value)> = w
        .scim
        .carried
        .iter()
        .filter(|(k, _)| *k != "-dn-")
        .filter(|(k, _)| {
            run.profile
                .attributes
                .values()
                .all(|a| &a.target != *k || !a.write_only)
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let e = entry(w, &logical).await?;
    compare(&e, &expected)
}

async fn holds_at_dn(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let sent = w
        .scim
        .carried
        .get("-dn-")
        .map(text)
        .ok_or_else(|| Failure::new("the request carried no -dn-"))?;
    let e = entry(w, &logical).await?;
    if scim_proto::dn::normalize(&e.dn) == scim_proto::dn::normalize(&sent) {
        Ok(())
    } else {
        Err(Failure::new(format!(
            "expected the entry at {sent}, found it at {}",
            e.dn
        )))
    }
}

/// The profile's unmapped column.
pub fn unmapped_column(w: &EcmaWorld) -> Result<String, Failure> {
    let run = w.run()?;
    run.profile
        .sql
        .as_ref()
        .and_then(|s| s.unmapped_column.clone())
        .ok_or_else(|| {
            Failure::new(format!(
                "profile {} names no unmapped column",
                run.profile.name
            ))
        })
}

async fn unmapped_empty(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let column = unmapped_column(w)?;
    let e = entry(w, &logical).await?;
    match e.values(&column) {
        [] => Ok(()),
        v => Err(Failure::new(format!(
            "expected no value in {column}, which the host does not map; found {v:?}"
        ))),
    }
}

async fn unmapped_holds(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let expected = arg(&ctx, 2)?;
    let column = unmapped_column(w)?;
    let e = entry(w, &logical).await?;
    if e.values(&column) == [expected.clone()] {
        Ok(())
    } else {
        Err(Failure::new(format!(
            "expected {column} to keep {expected:?}, which the host does not own; found {:?}",
            e.values(&column)
        )))
    }
}

/// The procedures the log records for a user, in order, with the user's name and the log's.
async fn procedure_calls(
    w: &mut EcmaWorld,
    logical: &str,
) -> Result<(String, String, Vec<String>), Failure> {
    let run = w.run()?;
    let log = run
        .profile
        .sql
        .as_ref()
        .and_then(|s| s.procedure_log.clone())
        .ok_or_else(|| {
            Failure::new(format!(
                "profile {} names no procedure log",
                run.profile.name
            ))
        })?;
    let name = w.user(logical)?.name.clone();
    let rows = run
        .probe
        .sql()?
        .log_rows(&log, &["Operation"], "ContosoLogin", &name, "Seq")
        .await?;
    let calls = rows
        .into_iter()
        .filter_map(|r| r.get("Operation").cloned().flatten())
        .collect();
    Ok((name, log, calls))
}

async fn procedure_log(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let expected: Vec<String> = arg(&ctx, 2)?
        .split(',')
        .map(|s| s.trim().to_owned())
        .collect();
    let (name, log, calls) = procedure_calls(w, &logical).await?;
    if calls != expected {
        // Stored procedures are a MAY (ECMA-SQL-006): a host that writes the table itself
        // gets a warning, not a failure.
        w.check::<()>(Err(checks::CheckFailure {
            requirement: "ECMA-SQL-006",
            message: format!(
                "expected the stored procedures to be called for {name}: {}; {log} records {:?}",
                expected.join(", "),
                calls
            ),
        }))?;
    }
    Ok(())
}

async fn holds_classes(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let run = w.run()?;
    let classes = run
        .profile
        .ldap
        .as_ref()
        .map(|l| l.object_classes.clone())
        .unwrap_or_default();
    let e = entry(w, &logical).await?;
    compare(&e, &[("objectClass".into(), Value::from(classes))])?;
    // And the auxiliary classes' attributes the create carried.
    let carried: Vec<(String, Value)> = w
        .scim
        .carried
        .iter()
        .filter(|(k, _)| *k != "-dn-" && *k != "objectClass")
        .filter(|(k, _)| {
            run.profile
                .attributes
                .values()
                .all(|a| &a.target != *k || !a.write_only)
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    compare(&e, &carried)
}

async fn holds_marked(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let mark = arg(&ctx, 2)?;
    let disabled = mark != "enabled";
    let run = w.run()?;
    // "deleted": the delete flow's attribute (ECMA-DEPROV-011); otherwise the disable flow's.
    let (flow, which) = if mark == "deleted" {
        (&run.profile.deprovisioning.delete_flow, "delete")
    } else {
        (&run.profile.deprovisioning.disable_flow, "disable")
    };
    let FlowAction::SetAttribute {
        attribute: set_attribute,
        value,
    } = flow
    else {
        return Err(Failure::new(format!(
            "profile {} does not set an attribute on {which}",
            run.profile.name
        )));
    };
    let e = entry(w, &logical).await?;
    let stored = e.values(set_attribute);
    let want = if disabled { *value } else { !*value };
    let want_text = if want { "TRUE" } else { "FALSE" };
    // An integer flag column (SMALLINT, TINYINT) holds 1 and 0.
    let want_number = if want { "1" } else { "0" };
    if stored.len() == 1 && (stored[0].eq_ignore_ascii_case(want_text) || stored[0] == want_number)
    {
        Ok(())
    } else {
        Err(Failure::new(format!(
            "expected {set_attribute} = {want_text} at {}, got {stored:?}",
            e.dn
        )))
    }
}

/// ECMA-ROBUST-004: every user of a batch (`<prefix>1` …) is in the target.
async fn holds_every(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let prefix = arg(&ctx, 1)?;
    let batch: Vec<String> = w
        .scim
        .users
        .keys()
        .filter(|k| {
            k.strip_prefix(prefix.as_str())
                .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        })
        .cloned()
        .collect();
    if batch.is_empty() {
        return Err(Failure::new(format!("no user {prefix}1… was created")));
    }
    let mut missing = Vec::new();
    for logical in &batch {
        if w.target_entry(logical).await?.is_none() {
            missing.push(w.user(logical)?.name.clone());
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Failure::new(format!(
            "expected all {} users in the target; missing: {missing:?}",
            batch.len()
        )))
    }
}

/// Gone means gone from everywhere the host could have put it: not at its DN, and nowhere in
/// the partition by name or by the target's own identifiers (a host that moves the user
/// elsewhere instead of deleting it fails here).
async fn holds_none(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    if let Some(e) = w.target_entry(&logical).await? {
        return Err(Failure::new(format!(
            "expected no user {logical:?} in the target, found {}",
            e.dn
        )));
    }
    let run = w.run()?;
    let user = w.user(&logical)?.clone();
    let found = run
        .probe
        .find_anywhere(
            &[run.profile.naming_attribute().to_owned()],
            &user.name,
            &user.target_ids,
        )
        .await?;
    match found.first() {
        None => Ok(()),
        Some(e) => Err(Failure::new(format!(
            "expected no user {logical:?} in the target; it is not at {} but at {}: moved, not removed",
            user.dn, e.dn
        ))),
    }
}

async fn holds_exactly_one(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let run = w.run()?;
    let name = w.user(&logical)?.name.clone();
    let namings = vec![run.profile.naming_attribute().to_owned()];
    let found = run.probe.find(&namings, Match::Is(&name)).await?;
    match found.len() {
        1 => Ok(()),
        n => Err(Failure::new(format!(
            "expected exactly one user {logical:?} in the target, found {n}: {:?}",
            found.iter().map(|e| e.dn.as_str()).collect::<Vec<_>>()
        ))),
    }
}

async fn unchanged(w: &mut EcmaWorld, _ctx: Context) -> StepResult {
    let before = w
        .target
        .before
        .clone()
        .ok_or_else(|| Failure::new("no state was recorded before the request"))?;
    // Nothing to compare is no evidence: the users the target holds must be in the picture
    // (a profile whose naming attribute or DN template is wrong would make it empty).
    let unseen: Vec<String> = w
        .scim
        .users
        .values()
        .filter(|u| u.in_target && !before.contains_key(&u.dn.to_lowercase()))
        .map(|u| u.dn.clone())
        .collect();
    if !unseen.is_empty() {
        return Err(Failure::new(format!(
            "cannot tell whether the target is unchanged: the probe's view of this scenario's objects misses {}; check the profile's naming attribute and DN template",
            unseen.join(", ")
        )));
    }
    // Where the target logs what the host did, that log is the first witness: no write at
    // all. The probe's reading of the state (versions included) is the second, and the only
    // one where the target keeps no log.
    if let (Some(count), Some(target)) = (w.target.writes_before, w.run()?.faults.clone())
        && let Some(writes) = target.host_writes(&w.fault_scope())
    {
        checks::no_writes(&writes[count.min(writes.len())..])?;
    }
    let after = w.snapshot().await?;
    checks::unchanged(&before, &after, &w.run()?.probe.version_attributes())?;
    Ok(())
}

/// The user's entry before the last request and now.
async fn before_and_after(
    w: &mut EcmaWorld,
    logical: &str,
) -> Result<
    (
        String,
        Option<std::collections::BTreeMap<String, Vec<String>>>,
        crate::probe::Snapshot,
    ),
    Failure,
> {
    let dn = w.user(logical)?.dn.to_lowercase();
    let before = w
        .target
        .before
        .clone()
        .ok_or_else(|| Failure::new("no state was recorded before the request"))?;
    let after = w.snapshot().await?;
    Ok((dn.clone(), before.get(&dn).cloned(), after))
}

async fn user_unchanged(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let (dn, before, after) = before_and_after(w, &logical).await?;
    let before = before
        .ok_or_else(|| Failure::new(format!("user {logical:?} was not in the target before")))?;
    let mut b = crate::probe::Snapshot::new();
    b.insert(dn.clone(), before);
    let mut a = crate::probe::Snapshot::new();
    if let Some(now) = after.get(&dn) {
        a.insert(dn, now.clone());
    }
    checks::unchanged(&b, &a, &w.run()?.probe.version_attributes())?;
    Ok(())
}

async fn user_otherwise_unchanged(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    // What the update carried changes, and so does the object's version.
    let carried: Vec<String> = w
        .scim
        .carried
        .keys()
        .map(|k| k.to_ascii_lowercase())
        .chain(w.run()?.probe.version_attributes())
        .collect();
    let (dn, before, after) = before_and_after(w, &logical).await?;
    let before = before
        .ok_or_else(|| Failure::new(format!("user {logical:?} was not in the target before")))?;
    let now = after
        .get(&dn)
        .cloned()
        .ok_or_else(|| Failure::new(format!("user {logical:?} is gone from the target")))?;
    let strip = |m: &std::collections::BTreeMap<String, Vec<String>>| -> crate::probe::Snapshot {
        let kept = m
            .iter()
            .filter(|(k, _)| !carried.contains(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        [(dn.clone(), kept)].into_iter().collect()
    };
    checks::unchanged(&strip(&before), &strip(&now), &[])?;
    Ok(())
}

/// Atomicity of a create made of several operations: the answer decides which end state is
/// right, and no third one (a user without its password after an error) is.
async fn whole_or_nothing(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let x = w.last()?.clone();
    match x.status {
        Some(201) => can_sign_in(w, ctx).await,
        Some(s) if s >= 400 => {
            checks::scim_error_body(&x)?;
            holds_none(w, ctx).await
        }
        _ => Err(Failure::new(format!(
            "expected 201 Created or a SCIM error, got {}",
            checks::got(&x)
        ))),
    }
}

async fn can_sign_in(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let password = arg(&ctx, 2)?;
    let dn = w.user(&logical)?.dn.clone();
    if w.run()?.probe.can_bind(&dn, &password).await? {
        Ok(())
    } else {
        Err(Failure::new(format!(
            "expected a simple bind as {dn} with the initial password to succeed; the directory refused it"
        )))
    }
}

async fn container_not_created(w: &mut EcmaWorld, _ctx: Context) -> StepResult {
    let run = w.run()?;
    let missing = format!("ou=missing-{},{}", w.suffix, run.container);
    match run.probe.entry(&missing).await? {
        None => Ok(()),
        Some(_) => Err(Failure::new(format!(
            "expected no container {missing}, but the host created it"
        ))),
    }
}

async fn holds_without(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let attribute = w.logical(&arg(&ctx, 2)?)?;
    let e = entry(w, &logical).await?;
    match e.values(&attribute.target) {
        [] => Ok(()),
        v => Err(Failure::new(format!(
            "expected no {} at {}, found {v:?}",
            attribute.target, e.dn
        ))),
    }
}

/// The procedure log shows the host's add of the user: the host uses the profile's stored
/// procedures, so its imports read through the read procedure. A host that writes the table
/// itself (ECMA-SQL-006 is a MAY) never meets the read procedure: the scenario cannot judge it.
async fn wrote_through_procedures(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let (name, log, calls) = procedure_calls(w, &arg(&ctx, 1)?).await?;
    if calls.iter().any(|c| c == "add") {
        Ok(())
    } else {
        Err(Failure::new(format!(
            "the host did not create {name} through the add procedure ({log} records no add), \
             so it does not use the stored procedures and its imports never call the read \
             procedure this scenario judges"
        )))
    }
}

/// Replaces the read procedure with the profile's `unpaged_read` script; the `paged_read`
/// script puts it back after the scenario, whatever its outcome.
async fn unpaged_read(w: &mut EcmaWorld, _ctx: Context) -> StepResult {
    let run = w.run()?;
    let (Some(wrong), Some(right)) = run.profile.sql.as_ref().map_or((None, None), |s| {
        (s.unpaged_read.clone(), s.paged_read.clone())
    }) else {
        return Err(Failure::new(format!(
            "profile {} names no unpaged_read and paged_read scripts",
            run.profile.name
        )));
    };
    let text = run
        .scripts
        .get(&wrong)
        .ok_or_else(|| Failure::new(format!("{wrong} is not one of the suite's scripts")))?;
    // Registered before the change, so that even a change that half happened is undone.
    w.target.restore.push(right);
    run.probe.sql()?.run_script(&wrong, text).await?;
    Ok(())
}

/// Calls the import hook and keeps its answer for the `Then` that judges it.
async fn import_asked(w: &mut EcmaWorld, _ctx: Context) -> StepResult {
    let answer = w.import_hook().await?;
    w.scim.import = Some(answer);
    Ok(())
}

/// The import the last step asked for failed as ECMA-IMPORT-012 asks: an HTTP hook answers a
/// 5xx SCIM error whose detail names the source; a command hook exits with a failure.
async fn import_failed(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let source = arg(&ctx, 1)?;
    let answer = w
        .scim
        .import
        .take()
        .ok_or_else(|| Failure::new("no import was asked for"))?;
    match answer {
        ImportAnswer::Http(x) => {
            w.check(checks::server_error(&x, "ECMA-IMPORT-012"))?;
            w.check(checks::scim_error_body(&x))?;
            let detail = checks::json(&x)
                .and_then(|b| b["detail"].as_str().map(str::to_owned))
                .unwrap_or_default();
            if !detail.contains(&source) {
                w.check::<()>(Err(checks::CheckFailure {
                    requirement: "ECMA-IMPORT-012",
                    message: format!(
                        "expected the import's error to name {source:?}, got {detail:?}"
                    ),
                }))?;
            }
        }
        ImportAnswer::Command { program, status } => {
            if status.success() {
                w.check::<()>(Err(checks::CheckFailure {
                    requirement: "ECMA-IMPORT-012",
                    message: format!(
                        "expected the import hook {program} to report the failed import, it exited with {status}"
                    ),
                }))?;
            }
        }
        // Not run with such a hook (it lacks import-answer); said plainly if it ever is.
        ImportAnswer::Waited => {
            return Err(Failure::new(
                "host.import only waits (wait_seconds): nothing answers to show the import failed",
            ));
        }
    }
    Ok(())
}

/// After a write whose outcome only the target can tell (ECMA-ERR-014): a 5xx left the target
/// unchanged, a 2xx wrote what the request carried; any other answer is not one Entra can act
/// on.
async fn holds_what_was_answered(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let x = w.last()?.clone();
    match x.status {
        Some(s) if (500..600).contains(&s) => unchanged(w, ctx).await,
        Some(200 | 204) => holds_carried(w, ctx).await,
        _ => Err(Failure::new(format!(
            "expected 200, 204 or a 5xx, got {}",
            checks::got(&x)
        ))),
    }
}

/// ECMA-ANCHOR-001/002 and ECMA-LDAP-008: the id the host returned is the anchor the target
/// holds: the entry's DN (`-dn-`, compared as DNs), its `entryUUID`, its `objectGUID` (as a
/// GUID string in Microsoft's byte order, braces and case aside), or the SQL anchor column.
async fn id_is_anchor(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let id = w.id_of(&logical)?;
    let run = w.run()?;
    let e = entry(w, &logical).await?;
    let (anchor, held): (&str, Option<String>) = match (&run.profile.ldap, &run.profile.sql) {
        (Some(l), _) => match l.anchor {
            crate::profile::Anchor::Dn => {
                if scim_proto::dn::normalize(&id) == scim_proto::dn::normalize(&e.dn) {
                    return Ok(());
                }
                ("-dn-", Some(e.dn.clone()))
            }
            crate::profile::Anchor::EntryUuid => {
                ("entryUUID", e.values("entryUUID").first().cloned())
            }
            crate::profile::Anchor::ObjectGuid => {
                let hex = e.values("objectGUID").first().cloned().unwrap_or_default();
                if guid_forms(&hex).iter().any(|f| f.eq_ignore_ascii_case(&id)) {
                    return Ok(());
                }
                ("objectGUID", guid_of_hex(&hex))
            }
        },
        (None, Some(sql)) => (sql.anchor.as_str(), e.values(&sql.anchor).first().cloned()),
        (None, None) => return Err(Failure::new("the profile has no target kind")),
    };
    let bare = |s: &str| {
        s.trim_matches(|c| c == '{' || c == '}')
            .to_ascii_lowercase()
    };
    match held {
        Some(h) if bare(&h) == bare(&id) => Ok(()),
        Some(h) => Err(checks::failed(
            "ECMA-ANCHOR-001",
            format!(
                "the host's id is {id:?}, but the target's {anchor} for the entry at {} is {h:?}",
                e.dn
            ),
        )),
        None => Err(checks::failed(
            "ECMA-ANCHOR-002",
            format!(
                "the entry at {} has no {anchor} to compare the host's id {id:?} with",
                e.dn
            ),
        )),
    }
}

/// The forms an id derived from a 16-byte GUID (32 hex digits, as the probe shows binary
/// values) may take: Microsoft's GUID string (braces or not), the RFC 4122 string of the same
/// bytes, the bare hex, and their base64.
fn guid_forms(hex: &str) -> Vec<String> {
    let mut forms = vec![hex.to_owned()];
    if let Some(ms) = guid_of_hex(hex) {
        forms.push(format!("{{{ms}}}"));
        forms.push(ms);
    }
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect();
    if let Some(bytes) = bytes {
        use base64::Engine as _;
        forms.push(base64::engine::general_purpose::STANDARD.encode(&bytes));
        if let Ok(b) = <[u8; 16]>::try_from(bytes.as_slice()) {
            forms.push(uuid::Uuid::from_bytes(b).hyphenated().to_string());
        }
    }
    forms
}

/// A 16-byte GUID given as 32 hex digits (as the probe shows binary values), as the string
/// Microsoft prints: the first three fields little-endian (MS-DTYP §2.3.4).
fn guid_of_hex(hex: &str) -> Option<String> {
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect::<Option<_>>()?;
    let bytes: [u8; 16] = bytes.try_into().ok()?;
    Some(uuid::Uuid::from_bytes_le(bytes).hyphenated().to_string())
}

/// ECMA-DN-007: after a PATCH that replaced `-dn-`: either the host refused it with a SCIM
/// error (4xx) and the target is unchanged, or it answered 2xx and the entry is at the new DN
/// only, with its other attributes. With a `-dn-` anchor only the refusal is allowed.
async fn moved_or_refused(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let x = w.last()?.clone();
    let run = w.run()?;
    let new_dn = w
        .scim
        .carried
        .get("-dn-")
        .map(text)
        .ok_or_else(|| Failure::new("the last request carried no -dn-"))?;
    match x.status {
        Some(s) if (400..500).contains(&s) => {
            checks::scim_error_body(&x)?;
            unchanged(w, ctx).await
        }
        Some(s) if (200..300).contains(&s) => {
            if run
                .profile
                .ldap
                .as_ref()
                .is_some_and(|l| l.anchor == crate::profile::Anchor::Dn)
            {
                return Err(checks::failed(
                    "ECMA-DN-007",
                    format!(
                        "the DN is the anchor: a -dn- change must be refused, the host answered {s}"
                    ),
                ));
            }
            let old_dn = w.user(&logical)?.dn.clone();
            if run.probe.entry(&old_dn).await?.is_some() {
                return Err(checks::failed(
                    "ECMA-DN-007",
                    format!(
                        "the host answered {s} to the move to {new_dn}, but the entry is still at {old_dn}"
                    ),
                ));
            }
            let Some(moved) = run.probe.entry(&new_dn).await? else {
                return Err(checks::failed(
                    "ECMA-DN-007",
                    format!("the host answered {s} to the move to {new_dn}, but no entry is there"),
                ));
            };
            let kept: Vec<(String, Value)> = w
                .user(&logical)?
                .values
                .iter()
                .filter(|(k, _)| *k != "-dn-" && *k != "objectClass")
                .filter(|(k, _)| {
                    !run.profile.attributes.values().any(|a| {
                        &a.target == *k
                            && (a.write_only
                                || a.target
                                    .eq_ignore_ascii_case(run.profile.naming_attribute()))
                    })
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            compare(&moved, &kept)?;
            w.user(&logical)?.dn = new_dn;
            Ok(())
        }
        _ => Err(checks::failed(
            "ECMA-DN-007",
            format!(
                "expected the move refused with a 4xx SCIM error or made, got {}",
                checks::got(&x)
            ),
        )),
    }
}

/// ECMA-DN-003: the entry's naming attribute (the RDN's type) holds the user's name as the
/// provisioning service meant it: the RDN value with its RFC 4514 escapes undone.
async fn naming_value(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let run = w.run()?;
    let name = w.user(&logical)?.name.clone();
    let naming = run.profile.naming_attribute().to_owned();
    let e = entry(w, &logical).await?;
    if e.values(&naming).contains(&name) {
        Ok(())
    } else {
        Err(checks::failed(
            "ECMA-DN-003",
            format!(
                "expected {naming} {name:?} at {}, found {:?}",
                e.dn,
                e.values(&naming)
            ),
        ))
    }
}

/// ECMA-LDAP-002: the entry has the profile's structural class.
async fn holds_structural(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let run = w.run()?;
    let class = run
        .profile
        .ldap
        .as_ref()
        .map(|l| l.structural_class.clone())
        .ok_or_else(|| Failure::new("the profile is not an LDAP one"))?;
    let e = entry(w, &logical).await?;
    if e.values("objectClass")
        .iter()
        .any(|c| c.eq_ignore_ascii_case(&class))
    {
        Ok(())
    } else {
        Err(checks::failed(
            "ECMA-LDAP-002",
            format!(
                "a create without objectClass must get the connector's structural class {class}; {} has {:?}",
                e.dn,
                e.values("objectClass")
            ),
        ))
    }
}

/// ECMA-LDAP-007: `export_password` sets the password; it is never stored under its own name.
async fn holds_no_export_password(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let e = entry(w, &logical).await?;
    let name = crate::profile::EXPORT_PASSWORD;
    match e.values(name) {
        [] => Ok(()),
        v => Err(checks::failed(
            "ECMA-LDAP-007",
            format!(
                "{} holds an attribute {name} ({} value(s)): the host wrote it rather than setting the password with it",
                e.dn,
                v.len()
            ),
        )),
    }
}

/// ECMA-ROBUST-009: a create carrying an attribute the connector does not expose is refused
/// with 400 and a SCIM error (and the target is unchanged), or created without that
/// attribute. A 5xx, or the attribute in the target, fails.
async fn unexposed_not_written(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let x = w.last()?.clone();
    let attribute = crate::steps::provisioning::unexposed_attribute(w)?;
    match x.status {
        Some(400) => {
            checks::scim_error_body(&x)?;
            unchanged(w, ctx).await
        }
        Some(201) => {
            let e = entry(w, &logical).await?;
            match e.values(&attribute) {
                [] => Ok(()),
                v => Err(checks::failed(
                    "ECMA-ROBUST-009",
                    format!(
                        "{attribute} is not exposed by the connector, yet {} holds {v:?}",
                        e.dn
                    ),
                )),
            }
        }
        _ => Err(checks::failed(
            "ECMA-ROBUST-009",
            format!(
                "expected 201 (the attribute ignored) or 400 with a SCIM error, got {}",
                checks::got(&x)
            ),
        )),
    }
}

/// The attributes of `values` that are not single values in `entry`: `(attribute, values)`.
/// `-dn-`, `objectClass` and write-only attributes are left out.
fn not_single(
    entry: &Entry,
    values: &indexmap::IndexMap<String, Value>,
    write_only: &[String],
) -> Vec<(String, Vec<String>)> {
    values
        .keys()
        .filter(|k| *k != "-dn-" && !k.eq_ignore_ascii_case("objectClass"))
        .filter(|k| !write_only.iter().any(|w| w.eq_ignore_ascii_case(k)))
        .filter(|k| entry.values(k).len() != 1)
        .map(|k| (k.clone(), entry.values(k).to_vec()))
        .collect()
}

/// ECMA-LDAP-004: every attribute the user was sent (its profile treats each as a single
/// value) holds exactly one value in the target: a replace left no second one behind.
async fn single_values(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let run = w.run()?;
    let write_only = run.profile.write_only_targets();
    let values = w.user(&logical)?.values.clone();
    let e = entry(w, &logical).await?;
    let wrong = not_single(&e, &values, &write_only);
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(checks::failed(
            "ECMA-LDAP-004",
            format!(
                "expected exactly one value of each attribute at {}, found {wrong:?}",
                e.dn
            ),
        ))
    }
}

#[cfg(test)]
mod single_value_tests {
    use super::*;

    #[test]
    fn a_second_value_is_reported_and_a_single_one_is_not() {
        let entry = Entry {
            dn: "cn=a,ou=x".into(),
            attributes: [
                ("mail".to_owned(), vec!["a@x".to_owned(), "b@x".to_owned()]),
                ("sn".to_owned(), vec!["Doe".to_owned()]),
            ]
            .into_iter()
            .collect(),
        };
        let values: indexmap::IndexMap<String, Value> = [
            ("mail".to_owned(), Value::from("b@x")),
            ("sn".to_owned(), Value::from("Doe")),
            ("-dn-".to_owned(), Value::from("cn=a,ou=x")),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            not_single(&entry, &values, &[]),
            vec![("mail".to_owned(), vec!["a@x".to_owned(), "b@x".to_owned()])]
        );
        let one: indexmap::IndexMap<String, Value> = [("sn".to_owned(), Value::from("Doe"))]
            .into_iter()
            .collect();
        assert!(not_single(&entry, &one, &[]).is_empty());
    }
}
