//! Steps stated in Entra's own terms: the provisioning job's attribute mappings (a Gherkin
//! table of target attribute, mapping expression, "apply this mapping", matching precedence),
//! Entra users, and "provision as Entra would" — the matching queries in precedence order, then
//! a create with every mapping's value, or an update with only the attributes whose value
//! differs from the host's, never those applied only on create (`entra_provisioning`).
//!
//! A mapping table names logical attributes of the profile; `{matching}` and `{second}` stand
//! for the profile's matching and second matching attributes, in the attribute column and
//! inside expressions (`[{matching}]`). An Entra user has, unless the scenario says otherwise,
//! `mailNickname` (the user's unique name in the run), `userPrincipalName`
//! (`<name>@contoso.lab`), `name`, and every logical attribute's create value under the
//! logical attribute's name, so that `[mail]` is what the suite would otherwise send as mail.

use cucumber::step::{Context, Step};
use entra_provisioning::expr::{Env, Value as EntraValue};
use entra_provisioning::mapping::{Mapped, Mappings};
use indexmap::IndexMap;
use serde_json::Value;

use super::{arg, step, table};
use crate::provisioning::{Auth, entra};
use crate::world::{EcmaWorld, Failure, StepResult};

/// `Given` steps.
pub static GIVEN: &[(&str, Step<EcmaWorld>)] = &[
    (r"^the provisioning job maps:$", step!(job_maps)),
    (
        r"^the provisioning job scopes users by:$",
        step!(job_scopes),
    ),
    (
        r#"^the provisioning service has provisioned Entra user "([^"]+)" with:$"#,
        step!(given_provisioned),
    ),
];

/// `When` steps.
pub static WHEN: &[(&str, Step<EcmaWorld>)] = &[
    (r#"^Entra user "([^"]+)" changes:$"#, step!(user_changes)),
    (
        r#"^the provisioning service provisions Entra user "([^"]+)"$"#,
        step!(provision),
    ),
];

/// `Then` steps.
pub static THEN: &[(&str, Step<EcmaWorld>)] = &[
    (
        r#"^the provisioning service found user "([^"]+)" by its (first|second) matching query$"#,
        step!(found_by),
    ),
    (
        r#"^the provisioning service read user "([^"]+)" by its id$"#,
        step!(read_by_id),
    ),
    (
        r"^the provisioning service sent no write$",
        step!(sent_nothing),
    ),
    (
        r"^the provisioning service sent a disable$",
        step!(sent_disable),
    ),
    (
        r"^the provisioning service sent an update of ([A-Za-z]+) only$",
        step!(sent_update_of),
    ),
];

/// What the Entra side of a scenario holds: the job's mappings, the Entra users, and what the
/// last provisioning did.
#[derive(Debug, Default)]
pub struct EntraSide {
    /// The job's mappings, targets by logical attribute.
    pub mappings: Option<Mappings>,
    /// The mappings (and scoping filters) as TOML, for the scoping step to add to.
    pub toml: String,
    /// Entra users by logical name: their attributes.
    pub users: IndexMap<String, IndexMap<String, EntraValue>>,
    /// The last provisioning's matching queries: (logical attribute, value, ids found).
    pub queries: Vec<(String, String, Vec<String>)>,
    /// The last provisioning's write: `None` for none, `create`, or `update` with the logical
    /// attributes it carried.
    pub write: Option<(String, Vec<String>)>,
    /// Users the provisioning service provisioned through the mappings: it reads them by id
    /// afterwards rather than matching them again.
    pub known: std::collections::BTreeSet<String>,
    /// The last provisioning read the user by id (`GET /Users/{id}`) and found it.
    pub read_by_id: bool,
}

/// A failure that counts against `requirement`.
trait WithRequirement {
    fn with_requirement(self, requirement: &'static str) -> Failure;
}

impl WithRequirement for Failure {
    fn with_requirement(self, requirement: &'static str) -> Failure {
        Failure {
            requirement: Some(requirement),
            ..self
        }
    }
}

/// `{matching}` and `{second}` as the profile's logical attributes.
fn resolve(w: &EcmaWorld, text: &str) -> Result<String, Failure> {
    let run = w.run()?;
    let mut out = text.replace("{matching}", &run.profile.matching_attribute);
    if out.contains("{second}") {
        let second = run
            .profile
            .second_matching_attribute
            .clone()
            .ok_or_else(|| {
                Failure::new(
                    "the mapping names {second}: the profile has no second_matching_attribute",
                )
            })?;
        out = out.replace("{second}", &second);
    }
    Ok(out)
}

/// The rows of the step's table under a header row that must be `header`.
fn headed_rows<'c>(
    ctx: &'c Context,
    what: &str,
    header: &[&str],
) -> Result<&'c [Vec<String>], Failure> {
    let rows = &ctx
        .step
        .table
        .as_ref()
        .ok_or_else(|| Failure::new("the step needs a table"))?
        .rows;
    let Some((first, rows)) = rows.split_first() else {
        return Err(Failure::new(format!("the {what} table is empty")));
    };
    let first: Vec<&str> = first.iter().map(|h| h.trim()).collect();
    if first != header {
        return Err(Failure::new(format!(
            "the {what} table's header is | {} |, not {first:?}",
            header.join(" | ")
        )));
    }
    Ok(rows)
}

/// The mapping table: a header row (`attribute | mapping | apply | matching`), then one row
/// per mapping, each an expression in Entra's language.
async fn job_maps(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let rows = headed_rows(
        &ctx,
        "mapping",
        &["attribute", "mapping", "apply", "matching"],
    )?;
    let mut toml = String::new();
    for row in rows {
        let [attribute, mapping, apply, matching] = &row[..] else {
            return Err(Failure::new(format!(
                "a mapping row has four cells: {row:?}"
            )));
        };
        let attribute = resolve(w, attribute.trim())?;
        // The attribute must be the profile's.
        w.logical(&attribute)?;
        let expression = resolve(w, mapping.trim())?;
        // A JSON string is a TOML basic string (the same escapes).
        let quote = |s: &str| serde_json::to_string(s).unwrap_or_default();
        toml.push_str(&format!(
            "[[mapping]]\ntype = \"expression\"\nexpression = {}\ntarget = {}\napply = {}\n",
            quote(&expression),
            quote(&attribute),
            quote(apply.trim()),
        ));
        if !matching.trim().is_empty() {
            let precedence: u32 = matching.trim().parse().map_err(|_| {
                Failure::new(format!("matching precedence {matching:?} is not a number"))
            })?;
            toml.push_str(&format!("matching_precedence = {precedence}\n"));
        }
    }
    let mappings = Mappings::from_toml(&toml)
        .map_err(|e| Failure::new(format!("the mapping table cannot be used: {e}")))?;
    w.entra.mappings = Some(mappings);
    w.entra.toml = toml;
    Ok(())
}

/// A scoping filter: a header row (`attribute | operator | value`), then its clauses, which
/// must all hold (Entra's operators: `EQUALS`, `NOT EQUALS`, `IS TRUE`, `REGEX MATCH`, …).
async fn job_scopes(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let rows = headed_rows(&ctx, "scoping", &["attribute", "operator", "value"])?;
    if w.entra.mappings.is_none() {
        return Err(Failure::new(
            "scope after the mappings: say what the job maps first",
        ));
    }
    let quote = |s: &str| serde_json::to_string(s.trim()).unwrap_or_default();
    let mut clauses = Vec::new();
    for row in rows {
        let [attribute, operator, value] = &row[..] else {
            return Err(Failure::new(format!(
                "a scoping row has three cells: {row:?}"
            )));
        };
        clauses.push(format!(
            "{{ attribute = {}, operator = {}, value = {} }}",
            quote(attribute),
            quote(operator),
            quote(value)
        ));
    }
    let toml = format!(
        "{}[[scoping]]\nclauses = [{}]\n",
        w.entra.toml,
        clauses.join(", ")
    );
    let mappings = Mappings::from_toml(&toml)
        .map_err(|e| Failure::new(format!("the scoping table cannot be used: {e}")))?;
    w.entra.mappings = Some(mappings);
    w.entra.toml = toml;
    Ok(())
}

/// The Entra user called `logical`, made up on first mention (see the module doc).
fn entra_user<'w>(
    w: &'w mut EcmaWorld,
    logical: &str,
) -> Result<&'w mut IndexMap<String, EntraValue>, Failure> {
    if !w.entra.users.contains_key(logical) {
        let run = w.run()?;
        let user = w.user(logical)?.clone();
        let mut attrs = IndexMap::new();
        let text = |s: String| EntraValue::Str(s);
        attrs.insert("mailNickname".to_owned(), text(user.name.clone()));
        attrs.insert(
            "userPrincipalName".to_owned(),
            text(format!("{}@contoso.lab", user.name)),
        );
        attrs.insert("name".to_owned(), text(user.name.clone()));
        for (name, attribute) in &run.profile.attributes {
            if let Some(template) = &attribute.create {
                attrs.insert(name.clone(), text(EcmaWorld::expand(template, &user)));
            }
        }
        w.entra.users.insert(logical.to_owned(), attrs);
    }
    w.entra
        .users
        .get_mut(logical)
        .ok_or_else(|| Failure::new(format!("no Entra user {logical}")))
}

async fn user_changes(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let rows = table(&ctx)?;
    let user = entra_user(w, &logical)?;
    for (name, value) in rows {
        user.insert(name, EntraValue::Str(value));
    }
    Ok(())
}

async fn given_provisioned(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    user_changes(w, ctx.clone()).await?;
    let logical = arg(&ctx, 1)?;
    provision_user(w, &logical).await?;
    let x = w.last()?;
    match w.entra.write.as_ref().map(|(k, _)| k.as_str()) {
        Some("create") => {
            crate::checks::status(x, &[201], "ECMA-CREATE-001")?;
            crate::checks::created_id(x)?;
        }
        Some(_) => crate::checks::status(x, &[200, 204], "ECMA-UPDATE-001")?,
        None => {}
    }
    Ok(())
}

async fn provision(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    provision_user(w, &arg(&ctx, 1)?).await
}

/// Provisions the Entra user as the provisioning service would with the job's mappings.
async fn provision_user(w: &mut EcmaWorld, logical: &str) -> StepResult {
    let mappings =
        w.entra.mappings.clone().ok_or_else(|| {
            Failure::new("no mapping table: the scenario must say what the job maps")
        })?;
    let attrs = entra_user(w, logical)?.clone();
    w.entra.queries.clear();
    w.entra.write = None;
    w.entra.read_by_id = false;
    w.scim.subject = Some(logical.to_owned());
    let scope = entra_provisioning::scoping::evaluate(&mappings.scoping, &attrs)
        .map_err(|e| Failure::new(format!("a scoping clause cannot be evaluated: {e}")))?;
    if !scope.in_scope {
        // Out of scope: a user Entra provisioned is disabled (an update of active); one it
        // never provisioned is skipped.
        if w.entra.known.contains(logical) {
            let run = w.run()?;
            let id = w.id_of(logical)?;
            w.entra.write = Some(("disable".into(), Vec::new()));
            w.send(entra::set_active(run.dialect, &id, false), Auth::Token)
                .await?;
        }
        return Ok(());
    }
    let env = Env::new(&attrs, time::OffsetDateTime::now_utc(), 1);
    let mapped = mappings
        .evaluate(&env)
        .map_err(|e| Failure::new(format!("a mapping cannot be evaluated: {e}")))?;
    let queries = entra_provisioning::export::matching_queries(&mapped);
    if queries.is_empty() {
        return Err(Failure::new(
            "no matching mapping has a value: Entra cannot match",
        ));
    }
    let mut found: Option<Value> = None;
    // A user it provisioned before, Entra reads by the id the host gave it ("Microsoft Entra
    // ID … GET request to retrieve the user using the anchor … rather than the matching
    // attribute"); gone (404), it matches again.
    if w.entra.known.contains(logical) {
        let id = w.id_of(logical)?;
        let x = w.send(entra::get(&id), Auth::Token).await?;
        crate::checks::status(&x, &[200, 404], "ECMA-READ-001")?;
        if x.status == Some(200) {
            found = crate::checks::json(&x);
            w.entra.read_by_id = true;
        }
    }
    for q in queries.iter().filter(|_| found.is_none()) {
        let target = w.logical(&q.target)?.target;
        let x = w
            .send(
                entra::filter(&entra::urn_of(&target), &q.value),
                Auth::Token,
            )
            .await?;
        crate::checks::status(&x, &[200], "ECMA-MATCH-010")?;
        let resources = crate::checks::json(&x)
            .and_then(|b| b.get("Resources").and_then(Value::as_array).cloned())
            .unwrap_or_default();
        let ids: Vec<String> = resources
            .iter()
            .filter_map(|r| r.get("id").and_then(Value::as_str).map(str::to_owned))
            .collect();
        w.entra
            .queries
            .push((q.target.clone(), q.value.clone(), ids.clone()));
        if ids.len() > 1 {
            return Err(Failure::new(format!(
                "{} objects match {} = {:?}: Entra refuses to choose",
                ids.len(),
                q.target,
                q.value
            ))
            .with_requirement("ECMA-MATCH-007"));
        }
        if let Some(resource) = resources.into_iter().next() {
            found = Some(resource);
            break;
        }
    }
    match found {
        None => {
            let mut create = w.create_attributes(logical, &[])?;
            for m in mapped.iter().filter(|m| m.on_create()) {
                let attribute = w.logical(&m.target)?;
                if let Some(v) = m.value.text() {
                    create.insert(attribute.target.clone(), EcmaWorld::typed(&attribute, &v));
                }
            }
            w.entra.write = Some(("create".into(), Vec::new()));
            let x = w.create(logical, create).await?;
            if x.status == Some(201) {
                w.entra.known.insert(logical.to_owned());
            }
        }
        Some(resource) => {
            let id = resource
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let current = current_values(w, &mapped, &resource)?;
            let changes = entra_provisioning::export::update_changes(&mapped, &current);
            let mut values = Vec::new();
            let mut names = Vec::new();
            for c in changes {
                let attribute = w.logical(&c.target)?;
                let value = match c.value.text() {
                    Some(v) => EcmaWorld::typed(&attribute, &v),
                    None => Value::Null,
                };
                names.push(c.target.clone());
                values.push((attribute.target.clone(), value));
            }
            let user = w.user(logical)?;
            if user.id.is_none() {
                user.id = Some(id);
            }
            if !values.is_empty() {
                w.entra.write = Some(("update".into(), names));
                super::provisioning::update(w, logical, values).await?;
            }
        }
    }
    Ok(())
}

/// The found resource's values of the mapped attributes, by logical attribute.
fn current_values(
    w: &EcmaWorld,
    mapped: &[Mapped],
    resource: &Value,
) -> Result<IndexMap<String, EntraValue>, Failure> {
    let extension = resource.get(scim_proto::urn::ECMA2HOST_USER);
    let mut out = IndexMap::new();
    for m in mapped {
        let target = w.logical(&m.target)?.target;
        let value = extension
            .and_then(Value::as_object)
            .and_then(|o| {
                o.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(&target))
                    .map(|(_, v)| v)
            })
            .or_else(|| resource.get(&target));
        if let Some(v) = value {
            out.insert(m.target.clone(), EntraValue::from_json(v));
        }
    }
    Ok(out)
}

async fn found_by(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let n = if arg(&ctx, 2)? == "first" { 1 } else { 2 };
    let id = w.id_of(&logical)?;
    let queries = &w.entra.queries;
    let shown = format!("{queries:?}");
    if queries.len() != n {
        return Err(Failure::new(format!(
            "Entra sent {} matching queries, expected the user found by query {n}: {shown}",
            queries.len()
        ))
        .with_requirement("ECMA-MATCH-010"));
    }
    for (i, (attribute, value, ids)) in queries.iter().enumerate() {
        let expected: &[String] = if i + 1 == n {
            std::slice::from_ref(&id)
        } else {
            &[]
        };
        if ids != expected {
            return Err(Failure::new(format!(
                "the matching query on {attribute} = {value:?} found {ids:?}, expected {expected:?}"
            ))
            .with_requirement("ECMA-MATCH-010"));
        }
    }
    Ok(())
}

async fn read_by_id(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    if w.entra.read_by_id && w.entra.queries.is_empty() {
        Ok(())
    } else {
        Err(Failure::new(format!(
            "user {logical:?}, provisioned before, was not found by GET /Users/{{id}} (matching queries sent instead: {:?})",
            w.entra.queries
        ))
        .with_requirement("ECMA-READ-001"))
    }
}

async fn sent_disable(w: &mut EcmaWorld, _ctx: Context) -> StepResult {
    match &w.entra.write {
        Some((kind, _)) if kind == "disable" => Ok(()),
        other => Err(Failure::new(format!(
            "expected a disable of a user who left the scope, the provisioning service sent {other:?}"
        ))),
    }
}

async fn sent_nothing(w: &mut EcmaWorld, _ctx: Context) -> StepResult {
    match &w.entra.write {
        None => Ok(()),
        Some((kind, names)) => Err(Failure::new(format!(
            "the provisioning service sent a {kind} {names:?}, expected nothing: a mapping applied only on create flowed on update, or the host's answer differed from what it holds"
        ))),
    }
}

async fn sent_update_of(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let attribute = arg(&ctx, 1)?;
    match &w.entra.write {
        Some((kind, names)) if kind == "update" && names == std::slice::from_ref(&attribute) => {
            Ok(())
        }
        other => Err(Failure::new(format!(
            "expected an update of {attribute} only, the provisioning service sent {other:?}"
        ))),
    }
}
