//! What the host answers: `Then` steps about the last exchange.

use cucumber::step::{Context, Step};
use scim_proto::urn;
use serde_json::Value;

use super::{arg, seconds, step};
use crate::checks::{self, json};
use crate::provisioning::{Auth, entra};
use crate::world::{EcmaWorld, Failure, StepResult, same_json};

/// `Then` steps about answers.
pub static THEN: &[(&str, Step<EcmaWorld>)] = &[
    (
        r"^the host answers 200 with an empty list$",
        step!(empty_list),
    ),
    (
        r"^the host answers 200 with a list of schemas$",
        step!(list_of_schemas),
    ),
    (
        r"^the ECMA2Host extension schema lists exactly the profile's attributes$",
        step!(schema_lists_profile),
    ),
    (r"^the host answers 201 Created with an id$", step!(created)),
    (
        r"^the host answers 201 Created with an id and meta of its own$",
        step!(created_own_id),
    ),
    (
        r"^the host answers a 4xx that is not a list of users$",
        step!(client_error_no_list),
    ),
    (
        r"^the answer's Location and meta.location are the user's URL$",
        step!(created_location),
    ),
    (r"^the host answers 200 or 204$", step!(ok_or_no_content)),
    (r"^the host answers 204 with no body$", step!(no_content)),
    (
        r#"^the host answers 200 with user "([^"]+)"$"#,
        step!(answers_user),
    ),
    (
        r#"^the host answers 200 with user "([^"]+)" (active|inactive)$"#,
        step!(answers_user_active),
    ),
    (
        r#"^the host answers 200 with exactly user "([^"]+)"$"#,
        step!(exactly_user),
    ),
    (
        r#"^the host answers 400 invalidFilter, or 200 with exactly user "([^"]+)"$"#,
        step!(invalid_filter_or_exactly),
    ),
    (
        r"^exactly one of the creates is answered 201 and the others 409$",
        step!(one_created),
    ),
    (
        r"^every one of the creates is answered 201 with an id of its own$",
        step!(every_created),
    ),
    (
        r#"^the host's answer for user "([^"]+)" agrees with the target on (\w+)$"#,
        step!(agrees_with_target),
    ),
    (
        r#"^the host finds user "([^"]+)" wherever the target's own equality on (\w+) "([^"]*)" does$"#,
        step!(finds_as_target),
    ),
    (
        r#"^the host answers 200 with exactly one user, "([^"]+)"$"#,
        step!(exactly_one_named),
    ),
    (
        r#"^the host answers 200 with user "([^"]+)" exactly when the target holds it$"#,
        step!(as_the_target_holds),
    ),
    (
        r"^the host answers (\d{3}|a 5xx|a 4xx) with a SCIM error$",
        step!(status_error),
    ),
    (r"^the host answers with a SCIM error$", step!(any_error)),
    (
        r"^the host answers 401 or 403 with a SCIM error$",
        step!(unauthorised),
    ),
    (
        r#"^the host answers with a SCIM error whose detail carries "([^"]*)"$"#,
        step!(error_carries),
    ),
    (
        r"^the host answers (\d{3}|a 5xx) within ([\d.]+) seconds$",
        step!(status_within),
    ),
    (r"^the host answers 409 uniqueness$", step!(uniqueness)),
    (r"^the host answers 400 (\w+)$", step!(bad_request)),
    (r"^the answer shows no password$", step!(no_password)),
    (r"^every answer is 200 or 204$", step!(every_ok)),
    (
        r#"^the host returns user "([^"]+)" with the (\w+) the target holds$"#,
        step!(returns_what_target_holds),
    ),
    (
        r#"^the host answers 200 with user "([^"]+)" without (\w+)$"#,
        step!(answers_without),
    ),
    (
        r#"^the host answers 200 with only the id and (\w+) of user "([^"]+)"$"#,
        step!(answers_only),
    ),
    (
        r#"^the answer shows user "([^"]+)" (active|inactive)$"#,
        step!(answer_shows_active),
    ),
    (
        r#"^the host answers with a SCIM error, never with a list that lacks user "([^"]+)"$"#,
        step!(error_not_a_list),
    ),
    (
        r"^the host answers 200 with an empty list, or with a SCIM error$",
        step!(empty_list_or_error),
    ),
    (
        r#"^the answer shows nothing of user "([^"]+)"$"#,
        step!(no_resource_data),
    ),
    (
        r"^the answer equals the resource the host returned on create$",
        step!(equals_created),
    ),
    (
        r#"^the matched resource equals what reading user "([^"]+)" by id returns$"#,
        step!(match_equals_get),
    ),
    (
        r#"^the host returns user "([^"]+)" with:$"#,
        step!(returns_with),
    ),
    (
        r#"^the host returns user "([^"]+)" with every attribute the request carried$"#,
        step!(returns_carried),
    ),
    (
        r#"^reading user "([^"]+)" by id answers 404$"#,
        step!(read_404),
    ),
    (
        r#"^matching on (\w+) "([^"]*)" finds user "([^"]+)"$"#,
        step!(matching_value_finds),
    ),
    (
        r#"^matching user "([^"]+)" on its original (\w+) finds nobody$"#,
        step!(matching_original_finds_nobody),
    ),
    (
        r#"^matching user "([^"]+)" on (\w+) finds it$"#,
        step!(matching_finds_it),
    ),
    (
        r#"^the host finds user "([^"]+)" if and only if the schema declares the matching attribute caseExact false$"#,
        step!(follows_case_exact),
    ),
    (
        r"^every page holds at most the users asked, says where it starts and how many it holds, and counts the same total$",
        step!(pages_well_formed),
    ),
    (
        r#"^the pages hold every user exactly once, users "([^"]+)" among them$"#,
        step!(pages_exactly_once),
    ),
    (
        r"^paging out of range is answered as RFC 7644 says$",
        step!(paging_edges),
    ),
    (
        r#"^the host answers 201 Created with an id user "([^"]+)" never had$"#,
        step!(created_new_id),
    ),
    (
        r"^every attribute definition states each of its characteristics in camelCase, none null$",
        step!(characteristics),
    ),
];

async fn empty_list(w: &mut EcmaWorld, _ctx: Context) -> StepResult {
    let x = w.last()?.clone();
    checks::status(&x, &[200], "ECMA-MATCH-001")?;
    let list = checks::list_response(&x)?;
    match list["totalResults"].as_u64() {
        Some(0) if list["Resources"].as_array().is_none_or(Vec::is_empty) => Ok(()),
        other => Err(Failure::new(format!(
            "expected totalResults 0 and no Resources, got totalResults {} with {} resources",
            other.map_or("missing".into(), |n| n.to_string()),
            list["Resources"].as_array().map_or(0, Vec::len)
        ))),
    }
}

/// The resources of a ListResponse answer whose status is 200.
fn resources(w: &EcmaWorld) -> Result<Vec<Value>, Failure> {
    let x = w.last()?;
    checks::status(x, &[200], "ECMA-MATCH-004")?;
    let list = checks::list_response(x)?;
    Ok(list["Resources"].as_array().cloned().unwrap_or_default())
}

/// The last answer's `totalResults` is `n`: a list that holds all its results counts them.
fn total_is(w: &EcmaWorld, n: usize) -> StepResult {
    let total = json(w.last()?).and_then(|b| b["totalResults"].as_u64());
    if total == Some(n as u64) {
        Ok(())
    } else {
        Err(Failure::new(format!(
            "expected totalResults {n} for the {n} matching user(s), got {total:?} (ECMA-MATCH-006)"
        )))
    }
}

async fn list_of_schemas(w: &mut EcmaWorld, _ctx: Context) -> StepResult {
    let x = w.last()?.clone();
    checks::status(&x, &[200], "ECMA-DISC-001")?;
    checks::list_response(&x)?;
    Ok(())
}

async fn schema_lists_profile(w: &mut EcmaWorld, _ctx: Context) -> StepResult {
    let run = w.run()?;
    let body = json(w.last()?).unwrap_or(Value::Null);
    let schema = body["Resources"]
        .as_array()
        .and_then(|all| all.iter().find(|s| s["id"] == urn::ECMA2HOST_USER))
        .cloned()
        .ok_or_else(|| {
            Failure::new(format!(
                "expected the schema {} in the list, got none",
                urn::ECMA2HOST_USER
            ))
        })?;
    let definitions: Vec<Value> = schema["attributes"].as_array().cloned().unwrap_or_default();
    let listed: std::collections::BTreeSet<String> = definitions
        .iter()
        .filter_map(|x| x["name"].as_str().map(str::to_owned))
        .collect();
    // ECMA-DISC-002/003: exactly the selected attributes, each spelt as the target spells it.
    let expected = run.profile.selected_attributes();
    if listed != expected {
        let missing: Vec<&String> = expected.difference(&listed).collect();
        let extra: Vec<&String> = listed.difference(&expected).collect();
        return Err(Failure::new(format!(
            "expected exactly the attributes {expected:?}, spelt as the target spells them; got {listed:?} (missing {missing:?}, extra {extra:?}) (ECMA-DISC-003)"
        )));
    }
    for definition in &definitions {
        w.check(checks::attribute_definition(definition))?;
        let name = definition["name"].as_str().unwrap_or_default();
        if let Some(wanted) = run.profile.definition_of(name) {
            w.check(checks::definition_matches(definition, &wanted))?;
        }
    }
    Ok(())
}

async fn created(w: &mut EcmaWorld, _ctx: Context) -> StepResult {
    let x = w.last()?.clone();
    checks::status(&x, &[201], "ECMA-CREATE-001")?;
    checks::created_id(&x)?;
    Ok(())
}

/// ECMA-ERR-011: a request to a connector that is not configured is a 4xx Error, never a
/// success and never a ListResponse (Entra would take it for "no such user" and create one).
async fn client_error_no_list(w: &mut EcmaWorld, _ctx: Context) -> StepResult {
    let x = w.last()?.clone();
    let list =
        json(&x).is_some_and(|b| b.get("Resources").is_some() || b.get("totalResults").is_some());
    match x.status {
        Some(s) if (400..500).contains(&s) && !list => Ok(()),
        _ => {
            w.check::<()>(Err(checks::CheckFailure {
                requirement: "ECMA-ERR-011",
                message: format!(
                    "expected a 4xx Error for a connector that is not configured, got {}{}",
                    checks::got(&x),
                    if list { " with a ListResponse" } else { "" }
                ),
            }))?;
            Ok(())
        }
    }
}

/// ECMA-CREATE-006: the client's `id` and `meta` were ignored.
async fn created_own_id(w: &mut EcmaWorld, _ctx: Context) -> StepResult {
    let x = w.last()?.clone();
    checks::status(&x, &[201], "ECMA-CREATE-001")?;
    let id = checks::created_id(&x)?;
    let body = json(&x).unwrap_or(Value::Null);
    let claimed = crate::steps::provisioning::CLAIMED_ID;
    let meta = &body["meta"];
    let mut wrong = Vec::new();
    if id == claimed {
        wrong.push(format!("the id is the one the client sent ({claimed:?})"));
    }
    if meta["location"]
        .as_str()
        .is_some_and(|l| l.contains("elsewhere.example"))
    {
        wrong.push(format!(
            "meta.location is the client's ({})",
            meta["location"]
        ));
    }
    if meta["resourceType"] != "User" {
        wrong.push(format!("meta.resourceType is {}", meta["resourceType"]));
    }
    if meta["created"] == "2001-01-01T00:00:00Z" {
        wrong.push("meta.created is the client's".to_owned());
    }
    if !wrong.is_empty() {
        w.check::<()>(Err(checks::CheckFailure {
            requirement: "ECMA-CREATE-006",
            message: format!(
                "expected the client's id and meta to be ignored: {}",
                wrong.join("; ")
            ),
        }))?;
    }
    Ok(())
}

async fn created_location(w: &mut EcmaWorld, _ctx: Context) -> StepResult {
    let x = w.last()?.clone();
    let base = w.run()?.service.base().to_owned();
    w.check(checks::created_location(&x, &base))?;
    Ok(())
}

async fn ok_or_no_content(w: &mut EcmaWorld, _ctx: Context) -> StepResult {
    let x = w.last()?.clone();
    checks::status(&x, &[200, 204], "ECMA-UPDATE-010")?;
    Ok(())
}

async fn no_content(w: &mut EcmaWorld, _ctx: Context) -> StepResult {
    let x = w.last()?.clone();
    checks::status(&x, &[204], "ECMA-DELETE-001")?;
    match &x.response_body {
        None => Ok(()),
        Some(b) => Err(Failure::new(format!(
            "expected no body with 204, got {}",
            reports::terminal::shorten(b)
        ))),
    }
}

/// The id a resource says it has.
fn id_in(resource: &Value) -> Option<&str> {
    resource["id"].as_str()
}

async fn answers_user(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let id = w.id_of(&logical)?;
    let x = w.last()?.clone();
    checks::status(&x, &[200], "ECMA-READ-001")?;
    let body = json(&x).unwrap_or(Value::Null);
    match id_in(&body) {
        Some(got) if got == id => Ok(()),
        got => Err(Failure::new(format!(
            "expected the resource with id {id:?}, got id {got:?}"
        ))),
    }
}

async fn answers_user_active(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    answers_user(w, ctx.clone()).await?;
    let active = arg(&ctx, 2)? == "active";
    let x = w.last()?.clone();
    let body = json(&x).unwrap_or(Value::Null);
    // A single resource, or the one resource of a list.
    let resource = body["Resources"].get(0).cloned().unwrap_or(body);
    match resource["active"].as_bool() {
        Some(a) if a == active => Ok(()),
        got => Err(Failure::new(format!(
            "expected active = {active}, got {got:?} (ECMA-SQL-005: a soft-deleted row shows inactive)"
        ))),
    }
}

async fn exactly_user(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let id = w.id_of(&logical)?;
    let found = resources(w)?;
    let ids: Vec<&str> = found.iter().filter_map(id_in).collect();
    if ids == [id.as_str()] {
        total_is(w, 1)
    } else {
        Err(Failure::new(format!(
            "expected exactly user {logical:?} (id {id:?}), got ids {ids:?}"
        )))
    }
}

async fn exactly_one_named(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let name = w.user(&logical)?.name.clone();
    let found = resources(w)?;
    let names = resource_names(w, &found)?;
    if names != [name.clone()] {
        return Err(Failure::new(format!(
            "expected exactly one user, {name:?}, got {names:?}"
        )));
    }
    w.user(&logical)?.id = found[0]["id"].as_str().map(str::to_owned);
    total_is(w, 1)
}

/// ECMA-ROBUST-017 after a create the client gave up on: the host's last answer (a matching
/// query) holds exactly that user when the target holds it, and nobody when the target never
/// made it.
async fn as_the_target_holds(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    if w.target_entry(&logical).await?.is_some() {
        return exactly_one_named(w, ctx).await;
    }
    let found = resources(w)?;
    let names = resource_names(w, &found)?;
    if !names.is_empty() {
        return Err(Failure::new(format!(
            "the target holds no user {logical:?}, the host answers {names:?}"
        )));
    }
    total_is(w, 0)
}

/// ECMA-ROBUST-017 after a write the host gave up on: whatever the target did with it, the
/// host's last answer (a read by id) shows the attribute as the target holds it.
async fn agrees_with_target(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let attribute = w.logical(&arg(&ctx, 2)?)?.target.clone();
    let x = w.last()?.clone();
    checks::status(&x, &[200], "ECMA-READ-001")?;
    let answered = json(&x)
        .map(|b| crate::world::text(&b[urn::ECMA2HOST_USER][&attribute]))
        .unwrap_or_default();
    let entry = w
        .target_entry(&logical)
        .await?
        .ok_or_else(|| Failure::new(format!("user {logical:?} is not in the target")))?;
    let held = entry.values(&attribute).to_vec();
    if held != [answered.clone()] {
        w.check::<()>(Err(checks::CheckFailure {
            requirement: "ECMA-ROBUST-017",
            message: format!(
                "the host answers {attribute} = {answered:?}, the target holds {held:?}"
            ),
        }))?;
    }
    Ok(())
}

/// The users' names (the profile's `name` attribute) in resources the host returned.
fn resource_names(w: &EcmaWorld, found: &[Value]) -> Result<Vec<String>, Failure> {
    let naming = w
        .run()?
        .profile
        .attribute("name")
        .map(|a| a.target.clone())
        .unwrap_or_else(|| "cn".into());
    Ok(found
        .iter()
        .map(|r| crate::world::text(&r[urn::ECMA2HOST_USER][&naming]))
        .collect())
}

/// ECMA-MATCH-015 judged by the target itself: when the target's own equality finds the user
/// for the value, the host's filter answer must hold the user. Where the target does not find
/// it, nothing is asked of the host (a host may match more loosely than its target).
async fn finds_as_target(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let logical_attribute = w.logical(&arg(&ctx, 2)?)?;
    let attribute = logical_attribute.target.clone();
    let value = w.uniquify(&logical_attribute, &arg(&ctx, 3)?);
    let run = w.run()?;
    let user = w.user(&logical)?;
    let (dn, name) = (user.dn.clone(), user.name.clone());
    if !run.probe.equal(&dn, &attribute, &value).await? {
        return Ok(());
    }
    let found = resources(w)?;
    let names = resource_names(w, &found)?;
    if !names.contains(&name) {
        w.check::<()>(Err(checks::CheckFailure {
            requirement: "ECMA-MATCH-015",
            message: format!(
                "the target's own equality finds {name} for {attribute} = {value:?}; the host's filter found {names:?}"
            ),
        }))?;
    }
    Ok(())
}

/// `503` checks that status; `a 5xx` any server error (ECMA-ERR-006: Entra retries every 5xx).
fn expect_status(x: &reports::Exchange, wanted: &str, requirement: &'static str) -> StepResult {
    if wanted == "a 5xx" {
        return Ok(checks::server_error(x, "ECMA-ERR-006")?);
    }
    if wanted == "a 4xx" {
        return match x.status {
            Some(400..=499) => Ok(()),
            _ => Err(Failure::from(checks::CheckFailure {
                requirement,
                message: format!("expected a 4xx, got {}", checks::got(x)),
            })),
        };
    }
    let status: u16 = wanted
        .parse()
        .map_err(|_| Failure::new(format!("{wanted:?} is not a status")))?;
    Ok(checks::status(x, &[status], requirement)?)
}

async fn status_error(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let x = w.last()?.clone();
    expect_status(&x, &arg(&ctx, 1)?, "ECMA-ERR-001")?;
    checks::scim_error_body(&x)?;
    Ok(())
}

async fn any_error(w: &mut EcmaWorld, _ctx: Context) -> StepResult {
    let x = w.last()?.clone();
    match x.status {
        Some(s) if s >= 400 => Ok(checks::scim_error_body(&x)?),
        _ => Err(Failure::new(format!(
            "expected an error (4xx or 5xx), got {}",
            checks::got(&x)
        ))),
    }
}

async fn error_carries(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let needle = arg(&ctx, 1)?;
    let x = w.last()?.clone();
    match x.status {
        Some(s) if s >= 400 => checks::scim_error_body(&x)?,
        _ => {
            return Err(Failure::new(format!(
                "expected an error, got {}",
                checks::got(&x)
            )));
        }
    }
    let detail = json(&x)
        .and_then(|b| b["detail"].as_str().map(str::to_owned))
        .unwrap_or_default();
    // Passing the target's own message on is a SHOULD (ECMA-ERR-007).
    if !detail.contains(&needle) {
        w.check::<()>(Err(checks::CheckFailure {
            requirement: "ECMA-ERR-007",
            message: format!(
                "expected the detail to carry the target's message {needle:?}, got {detail:?}"
            ),
        }))?;
    }
    Ok(())
}

async fn status_within(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let seconds = seconds(&ctx, 2)?;
    let x = w.last()?.clone();
    expect_status(&x, &arg(&ctx, 1)?, "ECMA-ERR-006")?;
    let took = x.duration_ms as f64 / 1000.0;
    if took > seconds {
        w.check::<()>(Err(checks::CheckFailure {
            requirement: "ECMA-PERF-002",
            message: format!("expected an answer within {seconds} s, it took {took:.1} s"),
        }))?;
    }
    Ok(())
}

async fn uniqueness(w: &mut EcmaWorld, _ctx: Context) -> StepResult {
    let x = w.last()?.clone();
    checks::status(&x, &[409], "ECMA-ANCHOR-007")?;
    let scim_type = json(&x).and_then(|b| b["scimType"].as_str().map(str::to_owned));
    if scim_type.as_deref() == Some("uniqueness") {
        Ok(())
    } else {
        Err(Failure::new(format!(
            "expected scimType uniqueness, got {scim_type:?}"
        )))
    }
}

async fn bad_request(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let expected = arg(&ctx, 1)?;
    let x = w.last()?.clone();
    // The scenario's own requirement says why 400 is right (a malformed body, a value the
    // target refuses, a PATCH without schemas…): a plain assertion, weighed by its level.
    if x.status != Some(400) {
        return Err(Failure::new(format!(
            "expected 400, got {}",
            checks::got(&x)
        )));
    }
    let scim_type = json(&x).and_then(|b| b["scimType"].as_str().map(str::to_owned));
    // The scimType is a SHOULD (ECMA-ERR-002); the status is the MUST.
    if scim_type.as_deref() != Some(expected.as_str()) {
        w.check::<()>(Err(checks::CheckFailure {
            requirement: "ECMA-ERR-002",
            message: format!("expected scimType {expected}, got {scim_type:?}"),
        }))?;
    }
    Ok(())
}

async fn no_password(w: &mut EcmaWorld, _ctx: Context) -> StepResult {
    let run = w.run()?;
    let write_only = run.profile.write_only_targets();
    let body = json(w.last()?).unwrap_or(Value::Null);
    checks::no_password(&body, &write_only)?;
    Ok(())
}

async fn no_resource_data(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let user = w.user(&arg(&ctx, 1)?)?.clone();
    let mut known = vec![user.name.clone(), user.dn.clone()];
    known.extend(user.id.clone());
    let x = w.last()?.clone();
    checks::no_resource_data(&x, &known)?;
    Ok(())
}

async fn equals_created(w: &mut EcmaWorld, _ctx: Context) -> StepResult {
    let subject = w
        .scim
        .subject
        .clone()
        .ok_or_else(|| Failure::new("no user was read"))?;
    let created = w.user(&subject)?.created.clone().unwrap_or(Value::Null);
    let got = json(w.last()?).unwrap_or(Value::Null);
    compare_resources(
        &created,
        &got,
        "the resource returned on create",
        "the resource read by id",
    )
}

/// Two representations of one user agree on id and extension attributes.
fn compare_resources(a: &Value, b: &Value, a_name: &str, b_name: &str) -> StepResult {
    if a["id"] != b["id"] {
        return Err(Failure::new(format!(
            "expected the same id in {a_name} and {b_name}, got {} and {}",
            a["id"], b["id"]
        )));
    }
    let (ea, eb) = (&a[urn::ECMA2HOST_USER], &b[urn::ECMA2HOST_USER]);
    if ea == eb {
        return Ok(());
    }
    Err(Failure::new(format!(
        "expected {a_name} and {b_name} to agree, got {ea} and {eb}"
    )))
}

async fn match_equals_get(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let matched = resources(w)?.into_iter().next().unwrap_or(Value::Null);
    let id = w.id_of(&logical)?;
    let x = w.send(entra::get(&id), Auth::Token).await?;
    checks::status(&x, &[200], "ECMA-READ-001")?;
    compare_resources(
        &matched,
        &json(&x).unwrap_or(Value::Null),
        "the matched resource",
        "the resource read by id",
    )
}

/// Reads the user by id and compares the given target attributes.
async fn host_has(w: &mut EcmaWorld, logical: &str, expected: Vec<(String, Value)>) -> StepResult {
    let id = w.id_of(logical)?;
    let x = w.send(entra::get(&id), Auth::Token).await?;
    checks::status(&x, &[200], "ECMA-READ-001")?;
    let body = json(&x).unwrap_or(Value::Null);
    let ext = &body[urn::ECMA2HOST_USER];
    let mut wrong = Vec::new();
    for (attribute, value) in expected {
        let got = ext.get(&attribute).cloned().unwrap_or(Value::Null);
        if !same_json(&value, &got) {
            wrong.push(format!("{attribute}: expected {value}, got {got}"));
        }
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(Failure::new(wrong.join("; ")))
    }
}

async fn returns_with(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let mut expected = Vec::new();
    for (name, value) in super::table(&ctx)? {
        let attribute = w.logical(&name)?;
        let value = w.uniquify(&attribute, &value);
        expected.push((
            attribute.target.clone(),
            EcmaWorld::typed(&attribute, &value),
        ));
    }
    host_has(w, &logical, expected).await
}

async fn returns_carried(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let run = w.run()?;
    let expected: Vec<(String, Value)> = w
        .scim
        .carried
        .iter()
        .filter(|(k, _)| {
            run.profile
                .attributes
                .values()
                .all(|a| &a.target != *k || !a.write_only)
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    host_has(w, &logical, expected).await
}

async fn read_404(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let id = w.id_of(&arg(&ctx, 1)?)?;
    let x = w.send(entra::get(&id), Auth::Token).await?;
    checks::status(&x, &[404], "ECMA-DELETE-002")?;
    Ok(())
}

/// Matches on a target attribute as Entra does and returns the ids of the resources found.
async fn matched_ids(w: &mut EcmaWorld, target: &str, value: &str) -> Result<Vec<String>, Failure> {
    w.send(entra::filter(&entra::urn_of(target), value), Auth::Token)
        .await?;
    Ok(resources(w)?
        .iter()
        .filter_map(|r| id_in(r).map(str::to_owned))
        .collect())
}

async fn matching_value_finds(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let attribute = w.logical(&arg(&ctx, 1)?)?;
    let value = w.uniquify(&attribute, &arg(&ctx, 2)?);
    let logical = arg(&ctx, 3)?;
    let id = w.id_of(&logical)?;
    let ids = matched_ids(w, &attribute.target, &value).await?;
    if ids == [id.clone()] {
        Ok(())
    } else {
        Err(Failure::new(format!(
            "expected matching {} {value:?} to find {id:?}, got {ids:?}",
            attribute.target
        )))
    }
}

async fn matching_original_finds_nobody(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let attribute = w.logical(&arg(&ctx, 2)?)?;
    let value = w
        .user(&logical)?
        .original
        .get(&attribute.target)
        .map(crate::world::text)
        .ok_or_else(|| {
            Failure::new(format!(
                "user {logical:?} was not created with a {}",
                attribute.target
            ))
        })?;
    let found = matched_ids(w, &attribute.target, &value).await?;
    if found.is_empty() {
        Ok(())
    } else {
        Err(Failure::new(format!(
            "expected matching {} {value:?} to find nobody, got {} users",
            attribute.target,
            found.len()
        )))
    }
}

async fn matching_finds_it(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let attribute = w.logical(&arg(&ctx, 2)?)?;
    let id = w.id_of(&logical)?;
    let value = w
        .user(&logical)?
        .values
        .get(&attribute.target)
        .map(crate::world::text)
        .ok_or_else(|| Failure::new(format!("user {logical:?} has no {}", attribute.target)))?;
    let ids = matched_ids(w, &attribute.target, &value).await?;
    if ids == [id.clone()] {
        Ok(())
    } else {
        Err(Failure::new(format!(
            "expected matching to find {id:?}, got {ids:?}"
        )))
    }
}

/// ECMA-MATCH-014: an operator the host does not implement is 400 `invalidFilter`; one it does
/// implement must then filter (the scenario's forms find at most the one user). Never an
/// unfiltered list, never a 5xx.
async fn invalid_filter_or_exactly(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let x = w.last()?.clone();
    match x.status {
        Some(400) => {
            let scim_type = json(&x).and_then(|b| b["scimType"].as_str().map(str::to_owned));
            if scim_type.as_deref() != Some("invalidFilter") {
                w.check::<()>(Err(checks::CheckFailure {
                    requirement: "ECMA-ERR-002",
                    message: format!("expected scimType invalidFilter, got {scim_type:?}"),
                }))?;
            }
            Ok(())
        }
        Some(200) => exactly_user(w, ctx).await.map_err(|e| {
            Failure::from(checks::CheckFailure {
                requirement: "ECMA-MATCH-014",
                message: format!(
                    "expected 400 invalidFilter or the filter applied; {}",
                    e.message
                ),
            })
        }),
        _ => Err(Failure::from(checks::CheckFailure {
            requirement: "ECMA-MATCH-014",
            message: format!("expected 400 invalidFilter or 200, got {}", checks::got(&x)),
        })),
    }
}

/// Statuses of answers sent at once, as `201, 409, no answer`.
fn statuses_text(statuses: &[Option<u16>]) -> String {
    statuses
        .iter()
        .map(|s| s.map_or_else(|| "no answer".to_owned(), |s| s.to_string()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The part of a failure message that counts creates answered 409 after a 5xx whose user
/// Entra's matching query then found (empty when there are none).
fn found_text(found: usize) -> String {
    if found == 0 {
        String::new()
    } else {
        format!(" ({found} of the 409s after a 5xx, the user found by the matching query)")
    }
}

/// ECMA-ROBUST-005: of the creates sent at once, one 201 and the rest 409.
async fn one_created(w: &mut EcmaWorld, _ctx: Context) -> StepResult {
    let statuses = w.scim.at_once.clone();
    let found = w.scim.at_once_found.iter().filter(|f| **f).count();
    let created = statuses.iter().filter(|s| **s == Some(201)).count() + found;
    let conflicts = statuses
        .iter()
        .filter(|s| **s == Some(409))
        .count()
        .saturating_sub(found);
    if created == 1 && created + conflicts == statuses.len() {
        return Ok(());
    }
    Err(Failure::from(checks::CheckFailure {
        requirement: "ECMA-ROBUST-005",
        message: format!(
            "expected one 201 (or a 409 after a 5xx, with the user then found by the matching \
             query) and the others 409, got {}{}",
            statuses_text(&statuses),
            found_text(found)
        ),
    }))
}

/// ECMA-ROBUST-004: every create of the batch answered 201, each with its own id.
async fn every_created(w: &mut EcmaWorld, _ctx: Context) -> StepResult {
    let statuses = w.scim.at_once.clone();
    let prefix = w.scim.subject.clone().unwrap_or_default();
    let ids: Vec<Option<String>> = w
        .scim
        .users
        .iter()
        .filter(|(k, _)| {
            k.strip_prefix(prefix.as_str())
                .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        })
        .map(|(_, u)| u.id.clone())
        .collect();
    let distinct: std::collections::BTreeSet<&Option<String>> = ids.iter().collect();
    let found = &w.scim.at_once_found;
    let landed = statuses
        .iter()
        .enumerate()
        .all(|(i, s)| *s == Some(201) || found.get(i).copied().unwrap_or(false));
    if !statuses.is_empty()
        && landed
        && ids.iter().all(Option::is_some)
        && distinct.len() == ids.len()
    {
        return Ok(());
    }
    Err(Failure::from(checks::CheckFailure {
        requirement: "ECMA-ROBUST-004",
        message: format!(
            "expected every create answered 201 (or 409 after a 5xx, with the user then found \
             by the matching query) with its own id, got {}{} with ids {ids:?}",
            statuses_text(&statuses),
            found_text(found.iter().filter(|f| **f).count())
        ),
    }))
}

async fn every_ok(w: &mut EcmaWorld, _ctx: Context) -> StepResult {
    let statuses = w.scim.at_once.clone();
    if !statuses.is_empty() && statuses.iter().all(|s| matches!(s, Some(200 | 204))) {
        return Ok(());
    }
    Err(Failure::from(checks::CheckFailure {
        requirement: "ECMA-UPDATE-010",
        message: format!("expected every answer 200 or 204, got {statuses:?}"),
    }))
}

/// The resource's value of a logical attribute, as text (`None`: absent).
fn ext_value(resource: &Value, target: &str) -> Option<String> {
    let ext = &resource[urn::ECMA2HOST_USER];
    ext.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(target))
        .map(|(_, v)| match v {
            Value::Array(items) => items.first().map(crate::world::text).unwrap_or_default(),
            v => crate::world::text(v),
        })
}

async fn returns_what_target_holds(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let attribute = w.logical(&arg(&ctx, 2)?)?;
    let id = w.id_of(&logical)?;
    let x = w.send(entra::get(&id), Auth::Token).await?;
    checks::status(&x, &[200], "ECMA-READ-001")?;
    let answered = ext_value(&json(&x).unwrap_or(Value::Null), &attribute.target);
    let held = w
        .target_entry(&logical)
        .await?
        .and_then(|e| e.values(&attribute.target).first().cloned());
    if answered == held {
        return Ok(());
    }
    Err(Failure::from(checks::CheckFailure {
        requirement: "ECMA-ROBUST-017",
        message: format!(
            "expected the host to answer the {} the target holds, {held:?}; it answers {answered:?}",
            attribute.target
        ),
    }))
}

/// A member of a resource by a scenario's name: a core member (`active`), or a logical
/// attribute in the extension.
fn member(w: &EcmaWorld, resource: &Value, name: &str) -> Option<Value> {
    match w.logical(name) {
        Ok(a) => ext_value(resource, &a.target).map(Value::String),
        Err(_) => resource
            .as_object()?
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone()),
    }
}

async fn answers_without(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    answers_user(w, ctx.clone()).await?;
    let name = arg(&ctx, 2)?;
    let body = json(w.last()?).unwrap_or(Value::Null);
    if let Some(v) = member(w, &body, &name) {
        w.check::<()>(Err(checks::CheckFailure {
            requirement: "ECMA-READ-005",
            message: format!("expected no {name} in the answer (excludedAttributes), got {v}"),
        }))?;
    }
    Ok(())
}

async fn answers_only(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let name = arg(&ctx, 1)?;
    let logical = arg(&ctx, 2)?;
    let id = w.id_of(&logical)?;
    let x = w.last()?.clone();
    checks::status(&x, &[200], "ECMA-READ-001")?;
    let body = json(&x).unwrap_or(Value::Null);
    let attribute = w.logical(&name)?;
    let mut wrong = Vec::new();
    if body["id"] != Value::String(id.clone()) {
        wrong.push(format!(
            "id {} (expected {id:?}, always returned)",
            body["id"]
        ));
    }
    if ext_value(&body, &attribute.target).is_none() {
        wrong.push(format!("no {} although asked for", attribute.target));
    }
    let others: Vec<String> = body[urn::ECMA2HOST_USER]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| k.clone())
        .filter(|k| !k.eq_ignore_ascii_case(&attribute.target))
        .chain(body.get("active").map(|_| "active".to_owned()))
        .collect();
    if !others.is_empty() {
        wrong.push(format!("also {others:?}, not asked for"));
    }
    if !wrong.is_empty() {
        w.check::<()>(Err(checks::CheckFailure {
            requirement: "ECMA-READ-005",
            message: format!("with attributes={}: {}", attribute.target, wrong.join("; ")),
        }))?;
    }
    Ok(())
}

async fn answer_shows_active(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let want = arg(&ctx, 2)? == "active";
    let x = w.last()?.clone();
    let body = json(&x).unwrap_or(Value::Null);
    match body["active"].as_bool() {
        Some(a) if a == want => Ok(()),
        got => Err(Failure::from(checks::CheckFailure {
            requirement: "ECMA-DEPROV-013",
            message: format!(
                "expected user {logical:?} answered {} (the state the target holds), got active = {got:?}",
                if want { "active" } else { "inactive" }
            ),
        })),
    }
}

/// ECMA-IMPORT-005: before its first import has read the target, a host answers a query with
/// an Error — never a list (which cannot hold a user it has not read), from which Entra would
/// conclude that it must create the user.
async fn error_not_a_list(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let x = w.last()?.clone();
    match x.status {
        Some(s) if s >= 400 => Ok(checks::scim_error_body(&x)?),
        Some(s) => Err(checks::failed(
            "ECMA-IMPORT-005",
            format!(
                "expected an Error while the first import has not read the target, got {s}: \
                 Entra would take a list without user {:?} to mean it must create the user",
                w.user(&arg(&ctx, 1)?)?.name
            ),
        )),
        None => Err(Failure::new(format!(
            "expected a SCIM error, got {}",
            checks::got(&x)
        ))),
    }
}

async fn empty_list_or_error(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let x = w.last()?.clone();
    match x.status {
        Some(200) => empty_list(w, ctx).await,
        Some(s) if s >= 400 => Ok(checks::scim_error_body(&x)?),
        _ => Err(Failure::new(format!(
            "expected 200 with an empty list or a SCIM error, got {}",
            checks::got(&x)
        ))),
    }
}

/// A page of users: `totalResults`, `startIndex`, `itemsPerPage` and the resources.
type Page = (u64, Option<u64>, Option<u64>, Vec<Value>);

/// The ListResponse of a page, or why the page is not one (ECMA-IMPORT-007).
fn page_of(x: &reports::Exchange) -> Result<Page, Failure> {
    checks::status(x, &[200], "ECMA-IMPORT-007")?;
    let body = json(x).unwrap_or(Value::Null);
    let is_list = body["schemas"]
        .as_array()
        .is_some_and(|a| a.iter().any(|s| s == urn::LIST_RESPONSE));
    let (true, Some(total)) = (is_list, body["totalResults"].as_u64()) else {
        return Err(checks::failed(
            "ECMA-IMPORT-007",
            format!(
                "expected a ListResponse with totalResults for {}, got {}",
                x.url,
                reports::terminal::shorten(x.response_body.as_deref().unwrap_or("no body"))
            ),
        ));
    };
    Ok((
        total,
        body["startIndex"].as_u64(),
        body["itemsPerPage"].as_u64(),
        body["Resources"].as_array().cloned().unwrap_or_default(),
    ))
}

/// ECMA-IMPORT-007: every page of the walk is a 200 ListResponse of at most the `count` asked,
/// whose `startIndex` is the one asked and whose `itemsPerPage` is the number it holds, and
/// every page gives the same `totalResults`.
async fn pages_well_formed(w: &mut EcmaWorld, _ctx: Context) -> StepResult {
    if w.scim.pages.is_empty() {
        return Err(Failure::new("no page was read"));
    }
    let mut totals = std::collections::BTreeSet::new();
    for (start, count, x) in &w.scim.pages {
        let (total, said_start, per_page, resources) = page_of(x)?;
        let n = resources.len() as u64;
        let mut wrong = Vec::new();
        if n > *count {
            wrong.push(format!("{n} resources for count={count}"));
        }
        if said_start != Some(*start) {
            wrong.push(format!("startIndex {said_start:?} for startIndex={start}"));
        }
        if per_page != Some(n) {
            wrong.push(format!("itemsPerPage {per_page:?} with {n} resources"));
        }
        if !wrong.is_empty() {
            return Err(checks::failed(
                "ECMA-IMPORT-007",
                format!("{}: {}", x.url, wrong.join("; ")),
            ));
        }
        totals.insert(total);
    }
    if totals.len() > 1 {
        return Err(checks::failed(
            "ECMA-IMPORT-007",
            format!(
                "expected one totalResults over an unchanged connector space, the pages gave {totals:?}"
            ),
        ));
    }
    Ok(())
}

/// ECMA-IMPORT-008: the walk returned `totalResults` users, each id once, the walk reached the
/// end, and the named users (comma-separated logical names) are among them.
async fn pages_exactly_once(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let named = arg(&ctx, 1)?;
    let mut seen: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    let mut total = 0;
    for (_, _, x) in &w.scim.pages {
        let (t, _, _, resources) = page_of(x)?;
        total = t;
        for r in resources {
            let id = r["id"].as_str().unwrap_or_default().to_owned();
            *seen.entry(id).or_default() += 1;
        }
    }
    let twice: Vec<&String> = seen
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, _)| id)
        .collect();
    if !twice.is_empty() {
        return Err(checks::failed(
            "ECMA-IMPORT-008",
            format!(
                "the walk returned {} user(s) more than once: {twice:?}",
                twice.len()
            ),
        ));
    }
    if seen.len() as u64 != total {
        return Err(checks::failed(
            "ECMA-IMPORT-008",
            format!(
                "the walk returned {} distinct users, but totalResults is {total}: some were never returned",
                seen.len()
            ),
        ));
    }
    for logical in named.split(',').map(str::trim) {
        let id = w.id_of(logical)?;
        if !seen.contains_key(&id) {
            return Err(checks::failed(
                "ECMA-IMPORT-008",
                format!("user {logical:?} (id {id:?}) is on no page of the walk"),
            ));
        }
    }
    Ok(())
}

/// ECMA-IMPORT-007 and ECMA-IMPORT-009 (RFC 7644 §3.4.2.4): a plain `GET /Users` is a
/// ListResponse; `startIndex=0` counts as 1; `count=-1` and `count=0` return no resources and
/// the full `totalResults`; a `startIndex` past the end answers 200 with no resources.
async fn paging_edges(w: &mut EcmaWorld, _ctx: Context) -> StepResult {
    let x = w.send(entra::get_path("/Users"), Auth::Token).await?;
    let (mut total, _, _, _) = page_of(&x)?;
    let cases: [(&str, Option<u64>, u64); 4] = [
        ("startIndex=0&count=1", Some(1), 1),
        ("startIndex=1&count=-1", None, 0),
        ("startIndex=1&count=0", None, 0),
        ("", None, 0),
    ];
    for (query, start, most) in cases {
        let query = if query.is_empty() {
            format!("startIndex={}&count=5", total + 5)
        } else {
            query.to_owned()
        };
        let x = w
            .send(entra::get_path(&format!("/Users?{query}")), Auth::Token)
            .await?;
        let (t, said_start, _, resources) = page_of(&x)?;
        let n = resources.len() as u64;
        let mut wrong = Vec::new();
        if n > most {
            wrong.push(format!("{n} resources, at most {most} expected"));
        }
        if let Some(s) = start
            && said_start != Some(s)
        {
            wrong.push(format!("startIndex {said_start:?}, {s} expected"));
        }
        // The scenario runs alone (@serial), but a write an earlier scenario's client gave up
        // on may still land meanwhile (ECMA-ROBUST-017): a total that differs is read again,
        // and only one that differs from both readings is wrong.
        if t != total {
            let again = w.send(entra::get_path("/Users"), Auth::Token).await?;
            let (now, _, _, _) = page_of(&again)?;
            if t == now {
                total = now;
            } else {
                wrong.push(format!(
                    "totalResults {t}, while GET /Users gave {total} before and {now} after"
                ));
            }
        }
        if !wrong.is_empty() {
            return Err(checks::failed(
                "ECMA-IMPORT-009",
                format!("GET /Users?{query}: {}", wrong.join("; ")),
            ));
        }
    }
    Ok(())
}

/// ECMA-ANCHOR-005: the 201 of a user created again after its delete. Where the target
/// assigns the anchor (`objectGUID`, `entryUUID`), the new object's id is new; where the
/// provisioning service gives it (a DN, an anchor column), the same anchor gives the same id,
/// and any id is accepted.
async fn created_new_id(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let x = w.last()?.clone();
    checks::status(&x, &[201], "ECMA-CREATE-001")?;
    let id = checks::created_id(&x)?;
    let run = w.run()?;
    let assigned = run
        .profile
        .ldap
        .as_ref()
        .is_some_and(|l| l.anchor != crate::profile::Anchor::Dn);
    let former = w.scim.former_ids.get(&logical).cloned().unwrap_or_default();
    if assigned && former.iter().any(|f| f.eq_ignore_ascii_case(&id)) {
        return Err(checks::failed(
            "ECMA-ANCHOR-005",
            format!(
                "the {} anchor is the target's: the object created again must get a new id, got {id:?} again",
                run.profile.ldap.as_ref().map_or("", |l| l.anchor.name())
            ),
        ));
    }
    Ok(())
}

/// ECMA-DISC-004 (RFC 7643 §2.2, §7): in every schema of the last answer (a ListResponse of
/// schemas), every attribute and sub-attribute carries `name`, `type`, `multiValued`,
/// `required`, `mutability`, `returned` and `uniqueness`, and `caseExact` where it means
/// something (string, reference and binary types; RFC 7643's own schemas leave it off Booleans
/// and complex attributes), none of them null, with the keyword values RFC 7643 spells.
async fn characteristics(w: &mut EcmaWorld, _ctx: Context) -> StepResult {
    const TYPES: &[&str] = &[
        "string",
        "boolean",
        "decimal",
        "integer",
        "dateTime",
        "reference",
        "complex",
        "binary",
    ];
    const MUTABILITY: &[&str] = &["readOnly", "readWrite", "immutable", "writeOnly"];
    const RETURNED: &[&str] = &["always", "never", "default", "request"];
    const UNIQUENESS: &[&str] = &["none", "server", "global"];
    fn check(schema: &str, a: &Value, wrong: &mut Vec<String>) {
        let name = a["name"].as_str().unwrap_or("(no name)");
        let at = format!("{schema}:{name}");
        if !a["name"].is_string() {
            wrong.push(format!("{at}: name is not a string"));
        }
        let textual = matches!(a["type"].as_str(), Some("string" | "reference" | "binary"));
        for key in ["multiValued", "required", "caseExact"] {
            if key == "caseExact" && !textual && a.get(key).is_none() {
                continue;
            }
            if !a[key].is_boolean() {
                wrong.push(format!("{at}: {key} is {}, not a Boolean", a[key]));
            }
        }
        for (key, allowed) in [
            ("type", TYPES),
            ("mutability", MUTABILITY),
            ("returned", RETURNED),
            ("uniqueness", UNIQUENESS),
        ] {
            match a[key].as_str() {
                Some(v) if allowed.contains(&v) => {}
                _ => wrong.push(format!("{at}: {key} is {}, not one of {allowed:?}", a[key])),
            }
        }
        if let Some(obj) = a.as_object() {
            for (k, v) in obj {
                if v.is_null() {
                    wrong.push(format!("{at}: {k} is null"));
                }
            }
        }
        for sub in a["subAttributes"].as_array().into_iter().flatten() {
            check(&at, sub, wrong);
        }
    }
    let x = w.last()?.clone();
    checks::status(&x, &[200], "ECMA-DISC-001")?;
    let body = json(&x).unwrap_or(Value::Null);
    let schemas = body["Resources"].as_array().cloned().unwrap_or_default();
    if schemas.is_empty() {
        return Err(Failure::new("the answer lists no schema"));
    }
    let mut wrong = Vec::new();
    for schema in &schemas {
        let id = schema["id"].as_str().unwrap_or("(no id)");
        for a in schema["attributes"].as_array().into_iter().flatten() {
            check(id, a, &mut wrong);
        }
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        let n = wrong.len();
        wrong.truncate(8);
        Err(checks::failed(
            "ECMA-DISC-004",
            format!(
                "{n} attribute characteristic(s) wrong: {}",
                wrong.join("; ")
            ),
        ))
    }
}

/// ECMA-MATCH-012 (RFC 7643 §2.2): the answer to a filter whose value differs from the user's
/// only in case holds the user when the host declares the matching attribute `caseExact:
/// false` in `/Schemas`, and does not when it declares `true`. The schemas are read after the
/// answer being judged.
async fn follows_case_exact(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let answer = w.last()?.clone();
    let run = w.run()?;
    let target = w.logical(&run.profile.matching_attribute)?.target;
    let schemas = w.send(entra::schemas(), Auth::Token).await?;
    checks::status(&schemas, &[200], "ECMA-DISC-001")?;
    let declared = json(&schemas)
        .and_then(|b| {
            b["Resources"].as_array()?.iter().find_map(|s| {
                (s["id"] == urn::ECMA2HOST_USER)
                    .then(|| {
                        s["attributes"].as_array()?.iter().find_map(|a| {
                            // RFC 7643 §2.2: caseExact defaults to false.
                            a["name"]
                                .as_str()
                                .is_some_and(|n| n.eq_ignore_ascii_case(&target))
                                .then(|| a.get("caseExact").map_or(Some(false), Value::as_bool))
                                .flatten()
                        })
                    })
                    .flatten()
            })
        })
        .ok_or_else(|| {
            Failure::from(checks::CheckFailure {
                requirement: "ECMA-DISC-004",
                message: format!(
                    "the ECMA2Host extension schema gives {target} no Boolean caseExact"
                ),
            })
        })?;
    w.scim.last = Some(answer.clone());
    let found = resources(w)?;
    let names = resource_names(w, &found)?;
    let name = w.user(&logical)?.name.clone();
    let holds = names.contains(&name);
    if holds != declared {
        return Ok(());
    }
    Err(Failure::from(checks::CheckFailure {
        requirement: "ECMA-MATCH-012",
        message: if declared {
            format!(
                "{target} is declared caseExact true, yet a value that differs only in case found {name}"
            )
        } else {
            format!(
                "{target} is declared caseExact false, yet a value that differs only in case found {names:?}, not {name}"
            )
        },
    }))
}

/// ECMA-AUTH-004: a token the host knows, but not for this connector, is refused: 401 (RFC
/// 7644 §3.12, the authorization is invalid here) or 403 (not permitted with it), with a SCIM
/// error.
async fn unauthorised(w: &mut EcmaWorld, _ctx: Context) -> StepResult {
    let x = w.last()?.clone();
    checks::status(&x, &[401, 403], "ECMA-AUTH-004")?;
    checks::scim_error_body(&x)?;
    Ok(())
}
