//! What the provisioning service does: `Given` and `When` steps. Each sends what Entra would
//! send, in the run's dialect.

use cucumber::step::{Context, Step};
use serde_json::{Value, json};

use super::{arg, seconds, step, table};
use crate::provisioning::{Auth, Body, Change, Request, TokenVariant, entra};
use crate::world::{EcmaWorld, Failure, StepResult};

/// `Given` steps.
pub static GIVEN: &[(&str, Step<EcmaWorld>)] = &[
    (
        r#"^the provisioning service has created user "([^"]+)"$"#,
        step!(given_created),
    ),
    (
        r#"^the provisioning service has created user "([^"]+)" with:$"#,
        step!(given_created_with),
    ),
    (
        r#"^the provisioning service has disabled user "([^"]+)"$"#,
        step!(given_disabled),
    ),
    (
        r#"^the provisioning service has deleted user "([^"]+)"$"#,
        step!(given_deleted),
    ),
    (
        r#"^user "([^"]+)" was created in the target out of band$"#,
        step!(given_out_of_band),
    ),
    (
        r#"^user "([^"]+)" was created in the target out of band with:$"#,
        step!(given_out_of_band_with),
    ),
    (
        r#"^an entry "([^"]+)" of another object class was created in the container out of band$"#,
        step!(given_other_class),
    ),
    (
        r#"^user "([^"]+)" was deleted in the target out of band$"#,
        step!(given_deleted_out_of_band),
    ),
    (
        r#"^the unmapped column of user "([^"]+)" was set to "([^"]*)" out of band$"#,
        step!(given_unmapped_set),
    ),
];

/// `When` steps.
pub static WHEN: &[(&str, Step<EcmaWorld>)] = &[
    (r"^the host imports its target$", step!(host_imports)),
    (r"^the host restarts$", step!(host_restarts)),
    (
        r"^the host has started and imported its target$",
        step!(host_started),
    ),
    (
        r"^the provisioning service tests the connection$",
        step!(test_connection),
    ),
    (
        r"^the provisioning service tests the connection before any attribute is mapped$",
        step!(test_connection_unmapped),
    ),
    (
        r"^the provisioning service reads the schemas$",
        step!(read_schemas),
    ),
    (
        r#"^the provisioning service creates user "([^"]+)"$"#,
        step!(create),
    ),
    (
        r#"^the provisioning service creates user "([^"]+)" with a value one character too long$"#,
        step!(create_too_long),
    ),
    (
        r#"^the provisioning service creates user "([^"]+)" with a body of 8 MiB$"#,
        step!(create_oversized),
    ),
    (
        r#"^the provisioning service updates user "([^"]+)" with a value one character too long$"#,
        step!(update_too_long),
    ),
    (
        r#"^the provisioning service creates user "([^"]+)" with:$"#,
        step!(create_with),
    ),
    (
        r#"^the provisioning service creates user "([^"]+)" again$"#,
        step!(create_again),
    ),
    (
        r#"^the provisioning service creates user "([^"]+)" with object class "([^"]+)"$"#,
        step!(create_with_class),
    ),
    (
        r#"^the provisioning service creates user "([^"]+)" in a container that does not exist$"#,
        step!(create_in_missing_container),
    ),
    (
        r#"^the provisioning service updates user "([^"]+)" with an empty string for an attribute the target requires$"#,
        step!(update_required_empty),
    ),
    (
        r"^the provisioning service asks a connector name that is (not configured|the configured one in another case)$",
        step!(other_connector),
    ),
    (
        r#"^the provisioning service creates user "([^"]+)" claiming an id and meta of its own$"#,
        step!(create_claiming),
    ),
    (
        r#"^the provisioning service creates user "([^"]+)" with the unique value of user "([^"]+)"$"#,
        step!(create_with_taken_value),
    ),
    (
        r#"^the provisioning service creates user "([^"]+)" without an attribute the target requires$"#,
        step!(create_without),
    ),
    (
        r#"^the provisioning service sends a create for user "([^"]+)" whose body is not JSON$"#,
        step!(create_junk),
    ),
    (
        r#"^the provisioning service reads user "([^"]+)" by id$"#,
        step!(read_by_id),
    ),
    (
        r"^the provisioning service reads an id that does not exist$",
        step!(read_unknown),
    ),
    (
        r#"^the provisioning service matches user "([^"]+)" on (\w+)$"#,
        step!(match_user),
    ),
    (
        r#"^the provisioning service matches user "([^"]+)" on (\w+) by its bare name$"#,
        step!(match_user_bare),
    ),
    (
        r#"^the provisioning service matches user "([^"]+)" on (\w+) and (\w+) "([^"]*)"$"#,
        step!(match_user_and),
    ),
    (
        r#"^the provisioning service matches on (\w+) "([^"]*)"$"#,
        step!(match_value),
    ),
    (
        r#"^the provisioning service updates user "([^"]+)" while another session holds its row lock, with:$"#,
        step!(update_while_locked),
    ),
    (
        r#"^the provisioning service updates user "([^"]+)" with:$"#,
        step!(update_with),
    ),
    (
        r#"^the provisioning service sets isSoftDeleted of user "([^"]+)" to "(True|False)"$"#,
        step!(set_soft_deleted),
    ),
    (
        r#"^the provisioning service updates every mapped attribute of user "([^"]+)"$"#,
        step!(update_every),
    ),
    (
        r#"^the provisioning service disables user "([^"]+)"$"#,
        step!(disable),
    ),
    (
        r#"^the provisioning service disables user "([^"]+)" with the body of Microsoft's tutorial$"#,
        step!(disable_as_in_the_tutorial),
    ),
    (
        r#"^the provisioning service enables user "([^"]+)"$"#,
        step!(enable),
    ),
    (
        r#"^the provisioning service deletes user "([^"]+)"$"#,
        step!(delete),
    ),
    (
        r#"^the provisioning service deletes user "([^"]+)" without a token$"#,
        step!(delete_without_token),
    ),
    (
        r#"^the provisioning service sends (a read by id|a matching query|a create|an update|a delete|a schemas read|a resource types read|a service provider configuration read) for user "([^"]+)"(?: (without a token|with a wrong token))?$"#,
        step!(send_request),
    ),
    (
        r#"^the provisioning service matches user "([^"]+)" on (\w+) with every character percent-encoded$"#,
        step!(match_user_fully_encoded),
    ),
    (
        r#"^the provisioning service clears (\w+) of user "([^"]+)" with a null value$"#,
        step!(clear_with_null),
    ),
    (
        r#"^the provisioning service creates user "([^"]+)" with the extension URN and member names in another case$"#,
        step!(create_in_another_case),
    ),
    (
        r#"^the provisioning service creates user "([^"]+)" inactive$"#,
        step!(create_inactive),
    ),
    (
        r"^the provisioning service tests the connection through a path with (a trailing slash|a doubled slash)$",
        step!(test_connection_slashes),
    ),
    (
        r#"^the provisioning service updates the (\w+) of user "([^"]+)" (\d+) times at once$"#,
        step!(update_at_once),
    ),
    (
        r#"^the provisioning service matches user "([^"]+)" on (\w+) with the attribute name and operator in upper case$"#,
        step!(match_upper_case),
    ),
    (
        r#"^the provisioning service matches user "([^"]+)" on (\w+) with the filter '(.*)'$"#,
        step!(match_with_form),
    ),
    (
        r#"^the provisioning service updates user "([^"]+)" with the op names in upper case:$"#,
        step!(update_upper_case_ops),
    ),
    (
        r#"^the provisioning service removes the (\w+) of user "([^"]+)"$"#,
        step!(remove_attribute),
    ),
    (
        r#"^the provisioning service sends a remove without a path for user "([^"]+)"$"#,
        step!(remove_without_path),
    ),
    (
        r#"^the provisioning service creates user "([^"]+)" (\d+) times at once$"#,
        step!(create_at_once),
    ),
    (
        r#"^the provisioning service creates (\d+) users "([^"]+)" at once$"#,
        step!(create_many_at_once),
    ),
    (
        r#"^the provisioning service sends Add for user "([^"]+)" with:$"#,
        step!(add_with),
    ),
    (
        r#"^the provisioning service creates user "([^"]+)" with (its surname as an array of two values|its surname as an object|active as a string that is not a Boolean)$"#,
        step!(create_wrong_type),
    ),
    (
        r#"^the provisioning service updates user "([^"]+)" through the value-filter path '([^']+)'$"#,
        step!(update_value_filter_path),
    ),
    (
        r#"^the provisioning service creates user "([^"]+)" (without -dn-|with a -dn- that is not a DN)$"#,
        step!(create_without_dn),
    ),
    (
        r#"^the provisioning service creates user "([^"]+)" and gives up after ([\d.]+) seconds?$"#,
        step!(create_and_give_up),
    ),
    (
        r"^the provisioning service waits ([\d.]+) seconds?$",
        step!(wait),
    ),
    (
        r#"^the provisioning service waits until the target holds user "([^"]+)", at most ([\d.]+) seconds$"#,
        step!(wait_for_target),
    ),
    (
        r#"^the provisioning service waits until the host's answer for user "([^"]+)" agrees with the target on (\w+), at most ([\d.]+) seconds?$"#,
        step!(wait_for_agreement),
    ),
    (
        r#"^the provisioning service waits until the host finds user "([^"]+)" on (\w+), at most ([\d.]+) seconds?$"#,
        step!(wait_for_match),
    ),
    (
        r#"^the provisioning service reads user "([^"]+)" by id (excluding|asking only for) (\w+)$"#,
        step!(read_projected),
    ),
    (
        r#"^the provisioning service sends a PATCH (without schemas|with no operations|removing active) to user "([^"]+)"$"#,
        step!(patch_envelope),
    ),
    (
        r#"^the provisioning service deletes user "([^"]+)" with (a wrong token|the token truncated|the token in upper case|an empty bearer token)$"#,
        step!(delete_with_bad_token),
    ),
    (
        r#"^the provisioning service matches on the first matching attribute a value nobody has$"#,
        step!(match_first_nobody),
    ),
    (
        r#"^the provisioning service matches user "([^"]+)" on its second matching attribute$"#,
        step!(match_second),
    ),
    (
        r#"^the provisioning service matches user "([^"]+)" on its matching attribute in another case$"#,
        step!(match_other_case),
    ),
    (
        r"^the provisioning service tests the connection with a client that speaks only TLS 1\.2$",
        step!(test_connection_tls12),
    ),
    (
        r"^the provisioning service sends its token to another connector of the host$",
        step!(token_to_other_connector),
    ),
    (
        r#"^the provisioning service changes the anchor of user "([^"]+)"$"#,
        step!(change_anchor),
    ),
    (
        r#"^the provisioning service moves user "([^"]+)" to another DN$"#,
        step!(move_dn),
    ),
    (
        r#"^the provisioning service creates user "([^"]+)" with a name that needs escaping in a DN$"#,
        step!(create_escaped),
    ),
    (
        r#"^the provisioning service creates user "([^"]+)" without objectClass$"#,
        step!(create_without_class),
    ),
    (
        r#"^the provisioning service creates user "([^"]+)" with the initial password "([^"]+)"$"#,
        step!(create_with_export_password),
    ),
    (
        r"^the provisioning service walks the users (\d+) at a time$",
        step!(walk_users),
    ),
    (
        r#"^the provisioning service creates user "([^"]+)" again, after its delete$"#,
        step!(create_after_delete),
    ),
    (
        r#"^the provisioning service creates user "([^"]+)" with an attribute the connector does not expose$"#,
        step!(create_with_unexposed),
    ),
];

async fn given_created(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    w.created(&arg(&ctx, 1)?, &[]).await
}

async fn given_created_with(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    w.created(&arg(&ctx, 1)?, &table(&ctx)?).await
}

async fn given_disabled(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let user = arg(&ctx, 1)?;
    set_active(w, &user, false).await?;
    crate::checks::status(w.last()?, &[200, 204], "ECMA-DEPROV-001")?;
    Ok(())
}

async fn given_deleted(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let user = arg(&ctx, 1)?;
    let id = w.id_of(&user)?;
    let x = w.send(entra::delete(&id), Auth::Token).await?;
    crate::checks::status(&x, &[204], "ECMA-DELETE-001")?;
    w.user(&user)?.in_target = false;
    Ok(())
}

async fn given_out_of_band(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    add_out_of_band(w, &arg(&ctx, 1)?, &[]).await
}

/// Adds the user to the target through the probe, as an administrator would, with the
/// profile's create values and `overrides` on top.
async fn add_out_of_band(
    w: &mut EcmaWorld,
    logical: &str,
    overrides: &[(String, String)],
) -> StepResult {
    let logical = logical.to_owned();
    let attrs = w.create_attributes(&logical, overrides)?;
    let run = w.run()?;
    let dn = w.user(&logical)?.dn.clone();
    let ldap_attrs: Vec<(String, Vec<String>)> = attrs
        .iter()
        .filter(|(k, _)| *k != "-dn-")
        .filter(|(k, _)| {
            run.profile
                .attributes
                .values()
                .all(|a| &a.target != *k || !a.write_only)
        })
        .map(|(k, v)| {
            let values = match v {
                Value::Array(items) => items.iter().map(crate::world::text).collect(),
                v => vec![crate::world::text(v)],
            };
            (k.clone(), values)
        })
        .collect();
    // Where the provisioning service sends no objectClass (AD LDS), the host applies its
    // structural class; an administrator adding the entry by hand names it too.
    let mut ldap_attrs = ldap_attrs;
    if let Some(ldap) = &run.profile.ldap
        && !ldap_attrs.iter().any(|(k, _)| k == "objectClass")
    {
        ldap_attrs.push(("objectClass".into(), vec![ldap.structural_class.clone()]));
    }
    run.probe.add(&dn, &ldap_attrs).await?;
    let user = w.user(&logical)?;
    user.values = attrs.clone();
    user.original = attrs;
    w.remember_target_ids(&logical).await
}

/// ECMA-IMPORT-006: an entry in the connector's container of a structural class that is not
/// the connector's — `contact` next to AD LDS's `user`, cosine's `pilotPerson` next to
/// `inetOrgPerson` — with the user's name as its cn and its surname, and a mail address of its
/// own.
async fn given_other_class(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let run = w.run()?;
    let ldap = run
        .profile
        .ldap
        .as_ref()
        .ok_or_else(|| Failure::new("the scenario is for LDAP targets"))?;
    let classes: Vec<String> = if !ldap.other_object_classes.is_empty() {
        ldap.other_object_classes.clone()
    } else if ldap.structural_class.eq_ignore_ascii_case("user") {
        vec!["contact".into()]
    } else {
        vec!["pilotPerson".into()]
    };
    let surname = w.logical("surname")?.target;
    let mail = w.logical("mail")?.target;
    let (name, dn) = {
        let user = w.user(&logical)?;
        (user.name.clone(), user.dn.clone())
    };
    let address = format!("{name}@contoso.lab");
    let naming = ldap.naming_attribute().to_owned();
    let attrs = vec![
        ("objectClass".to_owned(), classes),
        (naming.clone(), vec![name.clone()]),
        (surname.clone(), vec![name.clone()]),
        (mail.clone(), vec![address.clone()]),
    ];
    run.probe.add(&dn, &attrs).await?;
    let user = w.user(&logical)?;
    user.values = [
        (surname, Value::String(name)),
        (mail, Value::String(address)),
    ]
    .into_iter()
    .collect();
    w.remember_target_ids(&logical).await
}

async fn given_out_of_band_with(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let overrides = table(&ctx)?;
    add_out_of_band(w, &logical, &overrides).await
}

async fn given_unmapped_set(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let value = arg(&ctx, 2)?;
    let column = super::target::unmapped_column(w)?;
    let dn = w.user(&logical)?.dn.clone();
    w.run()?.probe.replace(&dn, &column, &[value]).await?;
    Ok(())
}

async fn given_deleted_out_of_band(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let dn = w.user(&arg(&ctx, 1)?)?.dn.clone();
    w.run()?.probe.delete(&dn).await?;
    Ok(())
}

async fn host_imports(w: &mut EcmaWorld, _ctx: Context) -> StepResult {
    w.trigger_import().await
}

async fn host_restarts(w: &mut EcmaWorld, _ctx: Context) -> StepResult {
    w.restart_host().await
}

async fn host_started(w: &mut EcmaWorld, _ctx: Context) -> StepResult {
    w.wait_until_started().await
}

async fn test_connection(w: &mut EcmaWorld, _ctx: Context) -> StepResult {
    let run = w.run()?;
    let matching = w.logical(&run.profile.matching_attribute)?;
    w.send(entra::test_connection(&matching.target), Auth::Token)
        .await?;
    Ok(())
}

async fn test_connection_unmapped(w: &mut EcmaWorld, _ctx: Context) -> StepResult {
    w.send(entra::test_connection_unmapped(), Auth::Token)
        .await?;
    Ok(())
}

async fn read_schemas(w: &mut EcmaWorld, _ctx: Context) -> StepResult {
    w.send(entra::schemas(), Auth::Token).await?;
    Ok(())
}

async fn create(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let user = arg(&ctx, 1)?;
    let attrs = w.create_attributes(&user, &[])?;
    w.create(&user, attrs).await?;
    Ok(())
}

async fn create_with(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let user = arg(&ctx, 1)?;
    let attrs = w.create_attributes(&user, &table(&ctx)?)?;
    w.create(&user, attrs).await?;
    Ok(())
}

/// The profile's first attribute with a length limit, and a value one character over it.
fn too_long(w: &EcmaWorld) -> Result<(String, Value), Failure> {
    let run = w.run()?;
    let (attribute, max) = run
        .profile
        .attributes
        .values()
        .find_map(|a| a.max_length.map(|m| (a.clone(), m)))
        .ok_or_else(|| {
            Failure::new(format!(
                "profile {} gives no attribute a max_length",
                run.profile.name
            ))
        })?;
    Ok((attribute.target, Value::String("x".repeat(max + 1))))
}

async fn create_too_long(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let user = arg(&ctx, 1)?;
    let (target, value) = too_long(w)?;
    let mut attrs = w.create_attributes(&user, &[])?;
    attrs.insert(target, value);
    w.create(&user, attrs).await?;
    Ok(())
}

/// ECMA-ROBUST-012: a create whose surname alone is 8 MiB, sent as a body larger than a host
/// should take (with `Expect: 100-continue`, the answer read while the body is written).
async fn create_oversized(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let user = arg(&ctx, 1)?;
    let surname = w.logical("surname")?;
    let mut attrs = w.create_attributes(&user, &[])?;
    attrs.insert(surname.target, Value::String("x".repeat(8 * 1024 * 1024)));
    w.scim.subject = Some(user.clone());
    w.scim.carried = attrs.clone();
    let x = w.send_large(entra::create(&attrs), Auth::Token).await?;
    w.record_created(&user, &x, attrs).await
}

async fn update_too_long(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let user = arg(&ctx, 1)?;
    let (target, value) = too_long(w)?;
    update(w, &user, vec![(target, value)]).await
}

async fn create_again(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let user = arg(&ctx, 1)?;
    let attrs = w.create_attributes(&user, &[])?;
    w.create(&user, attrs).await?;
    Ok(())
}

async fn create_with_class(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let user = arg(&ctx, 1)?;
    let class = arg(&ctx, 2)?;
    let mut attrs = w.create_attributes(&user, &[])?;
    let structural = w
        .run()?
        .profile
        .ldap
        .as_ref()
        .map(|l| l.structural_class.clone())
        .unwrap_or_default();
    attrs.insert("objectClass".into(), json!([structural, class]));
    w.create(&user, attrs).await?;
    Ok(())
}

async fn create_in_missing_container(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let user = arg(&ctx, 1)?;
    let run = w.run()?;
    let missing = format!("ou=missing-{},{}", w.suffix, run.container);
    let name = w.user(&user)?.name.clone();
    let naming = run
        .profile
        .ldap
        .as_ref()
        .map_or("cn", |l| l.naming_attribute())
        .to_owned();
    let dn = format!("{naming}={},{missing}", scim_proto::dn::escape_value(&name));
    w.user(&user)?.dn = dn.clone();
    let mut attrs = w.create_attributes(&user, &[])?;
    attrs.insert("-dn-".into(), Value::String(dn));
    w.create(&user, attrs).await?;
    Ok(())
}

/// The id a create claims for itself (ECMA-CREATE-006: read-only, so ignored).
pub const CLAIMED_ID: &str = "client-chosen-id-0001";

/// A create whose body carries an `id` and a `meta` of the client's: both are read-only
/// (RFC 7643 §3.1), so the host must ignore them.
async fn create_claiming(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let user = arg(&ctx, 1)?;
    let attrs = w.create_attributes(&user, &[])?;
    w.scim.subject = Some(user.clone());
    w.scim.carried = attrs.clone();
    let mut request = entra::create(&attrs);
    if let Some(Body::Json(body)) = &mut request.body {
        body["id"] = json!(CLAIMED_ID);
        body["meta"] = json!({
            "resourceType": "Group",
            "location": format!("https://elsewhere.example/scim/Users/{CLAIMED_ID}"),
            "created": "2001-01-01T00:00:00Z",
        });
    }
    let x = w.send(request, Auth::Token).await?;
    w.record_created(&user, &x, attrs).await?;
    Ok(())
}

/// Entra's Test Connection query, sent to another connector name of the same host: one that is
/// not configured, or the configured one in another case (names are case-sensitive). The
/// scenario needs ECMA2Host's URL layout (`…/ecma2host_{connector}/scim`).
async fn other_connector(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let which = arg(&ctx, 1)?;
    let run = w.run()?;
    let name = run.service.connector_name().ok_or_else(|| {
        Failure::new(
            "the host's SCIM URL is not …/ecma2host_{connector}/scim, so no other connector name can be formed",
        )
    })?;
    let other = if which == "not configured" {
        format!("{name}Unknown")
    } else {
        let flipped: String = name
            .chars()
            .map(|c| {
                if c.is_uppercase() {
                    c.to_lowercase().next().unwrap_or(c)
                } else {
                    c.to_uppercase().next().unwrap_or(c)
                }
            })
            .collect();
        if flipped == name {
            return Err(Failure::new(format!(
                "the connector name {name:?} has no letters, so it has no other case"
            )));
        }
        flipped
    };
    let service = run
        .service
        .at_connector(&other)
        .ok_or_else(|| Failure::new("cannot form another connector's URL"))?;
    let matching = w.logical(&run.profile.matching_attribute)?;
    w.send_via(
        &service,
        entra::test_connection(&matching.target),
        Auth::Token,
    )
    .await?;
    Ok(())
}

/// The profile's first attribute the target requires.
fn required(w: &EcmaWorld) -> Result<crate::profile::LogicalAttribute, Failure> {
    let run = w.run()?;
    run.profile
        .attributes
        .values()
        .find(|a| a.required)
        .cloned()
        .ok_or_else(|| {
            Failure::new(format!(
                "profile {} marks no attribute as required",
                run.profile.name
            ))
        })
}

/// An update that sets an attribute the target requires to `""`, which is no value
/// (ECMA-ROBUST-011): the target must refuse it as it refuses the attribute's removal.
async fn update_required_empty(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let user = arg(&ctx, 1)?;
    let required = required(w)?;
    update(
        w,
        &user,
        vec![(required.target.clone(), Value::String(String::new()))],
    )
    .await
}

/// A create whose value of the profile's first `target_unique` attribute is the one another
/// user was created with.
async fn create_with_taken_value(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let user = arg(&ctx, 1)?;
    let holder = arg(&ctx, 2)?;
    let run = w.run()?;
    let unique = run
        .profile
        .attributes
        .values()
        .find(|a| a.target_unique)
        .cloned()
        .ok_or_else(|| {
            Failure::new(format!(
                "profile {} marks no attribute target_unique",
                run.profile.name
            ))
        })?;
    let taken = w
        .user(&holder)?
        .original
        .get(&unique.target)
        .cloned()
        .ok_or_else(|| {
            Failure::new(format!(
                "user {holder} was not created with {}",
                unique.target
            ))
        })?;
    let mut attrs = w.create_attributes(&user, &[])?;
    attrs.insert(unique.target.clone(), taken);
    w.create(&user, attrs).await?;
    Ok(())
}

async fn create_without(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let user = arg(&ctx, 1)?;
    let required = required(w)?;
    let mut attrs = w.create_attributes(&user, &[])?;
    attrs.shift_remove(&required.target);
    w.create(&user, attrs).await?;
    Ok(())
}

async fn create_junk(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let user = arg(&ctx, 1)?;
    w.scim.subject = Some(user.clone());
    w.user(&user)?;
    let body = Body::Raw {
        content_type: scim_proto::MEDIA_TYPE.into(),
        text: format!(
            "{{\"schemas\": [\"{}\"], \"active\": tru",
            scim_proto::urn::CORE_USER
        ),
    };
    w.send(
        Request {
            method: "POST",
            path: "/Users".into(),
            body: Some(body),
        },
        Auth::Token,
    )
    .await?;
    Ok(())
}

async fn read_by_id(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let user = arg(&ctx, 1)?;
    let id = w.id_of(&user)?;
    w.scim.subject = Some(user);
    w.send(entra::get(&id), Auth::Token).await?;
    Ok(())
}

async fn read_unknown(w: &mut EcmaWorld, _ctx: Context) -> StepResult {
    // An id of the shape the host's ids have, for a user that was never created.
    let run = w.run()?;
    let ghost = format!("ghost-{}", w.suffix);
    let id = match (
        run.profile.ldap.as_ref().map(|l| l.anchor),
        &run.profile.sql,
    ) {
        (Some(crate::profile::Anchor::Dn), _) => w.user(&ghost)?.dn.clone(),
        // A SQL anchor is the value the provisioning service gave.
        (_, Some(_)) => w.user(&ghost)?.name.clone(),
        _ => uuid::Uuid::new_v4().to_string(),
    };
    w.send(entra::get(&id), Auth::Token).await?;
    Ok(())
}

/// The value user `logical` was last sent with for a logical attribute.
fn sent_value(
    w: &mut EcmaWorld,
    logical: &str,
    attribute: &str,
) -> Result<(String, String), Failure> {
    let target = w.logical(attribute)?.target;
    let user = w.user(logical)?;
    let value = user
        .values
        .get(&target)
        .map(crate::world::text)
        .ok_or_else(|| Failure::new(format!("user {logical:?} was never sent a {attribute}")))?;
    Ok((target, value))
}

async fn match_user(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let user = arg(&ctx, 1)?;
    let (target, value) = sent_value(w, &user, &arg(&ctx, 2)?)?;
    w.scim.subject = Some(user);
    w.send(entra::filter(&entra::urn_of(&target), &value), Auth::Token)
        .await?;
    Ok(())
}

async fn match_user_bare(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let user = arg(&ctx, 1)?;
    let (target, value) = sent_value(w, &user, &arg(&ctx, 2)?)?;
    w.scim.subject = Some(user);
    w.send(entra::filter(&target, &value), Auth::Token).await?;
    Ok(())
}

async fn match_user_and(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let user = arg(&ctx, 1)?;
    let (target, value) = sent_value(w, &user, &arg(&ctx, 2)?)?;
    let other = w.logical(&arg(&ctx, 3)?)?;
    let other_value = w.uniquify(&other, &arg(&ctx, 4)?);
    let expression = format!(
        "{} eq {} and {} eq {}",
        entra::urn_of(&target),
        serde_json::to_string(&value).unwrap_or_default(),
        entra::urn_of(&other.target),
        serde_json::to_string(&other_value).unwrap_or_default()
    );
    w.scim.subject = Some(user);
    w.send(entra::filter_expression(&expression), Auth::Token)
        .await?;
    Ok(())
}

async fn match_value(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let attribute = w.logical(&arg(&ctx, 1)?)?;
    let value = w.uniquify(&attribute, &arg(&ctx, 2)?);
    w.send(
        entra::filter(&entra::urn_of(&attribute.target), &value),
        Auth::Token,
    )
    .await?;
    Ok(())
}

/// Sends an update of target attributes in the run's dialect and remembers what was sent.
/// Sends an update of `values` (target attribute → value) to user `logical` in the run's
/// dialect, and records the values on success.
pub(crate) async fn update(
    w: &mut EcmaWorld,
    logical: &str,
    values: Vec<(String, Value)>,
) -> StepResult {
    let run = w.run()?;
    let id = w.id_of(logical)?;
    let user = w.user(logical)?;
    let changes: Vec<Change> = values
        .iter()
        .map(|(attribute, value)| Change {
            attribute: attribute.clone(),
            value: value.clone(),
            had_value: user.values.contains_key(attribute),
        })
        .collect();
    w.scim.subject = Some(logical.to_owned());
    w.scim.carried = values.iter().cloned().collect();
    let x = w
        .send(entra::update(run.dialect, &id, &changes), Auth::Token)
        .await?;
    if matches!(x.status, Some(200 | 204)) {
        let user = w.user(logical)?;
        for (attribute, value) in values {
            user.values.insert(attribute, value);
        }
    }
    Ok(())
}

/// ECMA-DEPROV-009: Entra writes `IsSoftDeleted` to the mapped Boolean attribute as it writes
/// `active` — the string `"True"`/`"False"` by default, a JSON Boolean with the SCIM 2.0 flag.
async fn set_soft_deleted(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let user = arg(&ctx, 1)?;
    let on = arg(&ctx, 2)? == "True";
    let value = entra::boolean(w.run()?.dialect, on);
    let attribute = w.logical(crate::profile::SOFT_DELETED)?;
    update(w, &user, vec![(attribute.target.clone(), value)]).await
}

async fn update_with(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let user = arg(&ctx, 1)?;
    let values = update_values(w, &ctx)?;
    update(w, &user, values).await
}

/// How long the lock-wait scenario holds a row at most while the host has not answered: a host
/// that waits for the lock (rather than giving up) is then let through.
const LOCK_HOLD_MAX: std::time::Duration = std::time::Duration::from_secs(10);

/// How long after the lock is released a write the host gave up on has to show up.
const LOCK_SETTLE: std::time::Duration = std::time::Duration::from_millis(1500);

/// The update of `update_with`, sent while another session holds the user's row lock; the
/// lock is released once the host has answered (or after [`LOCK_HOLD_MAX`]), and the step ends
/// [`LOCK_SETTLE`] later, so that a write which would land after the release has landed.
async fn update_while_locked(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let user = arg(&ctx, 1)?;
    let values = update_values(w, &ctx)?;
    let anchor = w.user(&user)?.name.clone();
    let lock = w.run()?.probe.sql()?.lock_row(&anchor).await?;
    let (answered, wait) = tokio::sync::oneshot::channel::<()>();
    let release = tokio::spawn(async move {
        tokio::select! {
            _ = tokio::time::sleep(LOCK_HOLD_MAX) => {}
            _ = wait => {}
        }
        lock.release().await
    });
    let sent = update(w, &user, values).await;
    let _ = answered.send(());
    let released = release
        .await
        .map_err(|e| Failure::new(format!("the lock holder stopped: {e}")))?;
    released?;
    tokio::time::sleep(LOCK_SETTLE).await;
    sent
}

/// The logical attribute → value table of an update step, as the target's attributes.
fn update_values(w: &mut EcmaWorld, ctx: &Context) -> Result<Vec<(String, Value)>, Failure> {
    let mut values = Vec::new();
    for (name, value) in table(ctx)? {
        let attribute = w.logical(&name)?;
        // `<refused value>`: the value the profile says its target refuses for the attribute.
        let value = if value == "<refused value>" {
            crate::world::repeat(attribute.refused.as_deref().ok_or_else(|| {
                Failure::new(format!("the profile gives {name} no refused value"))
            })?)
        } else {
            w.uniquify(&attribute, &value)
        };
        values.push((
            attribute.target.clone(),
            EcmaWorld::typed(&attribute, &value),
        ));
    }
    Ok(values)
}

async fn update_every(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let run = w.run()?;
    let user = w.user(&logical)?.clone();
    let values: Vec<(String, Value)> = run
        .profile
        .attributes
        .values()
        .filter(|a| !a.write_only)
        .filter_map(|a| {
            a.update.as_ref().map(|t| {
                (
                    a.target.clone(),
                    EcmaWorld::typed(a, &EcmaWorld::expand(t, &user)),
                )
            })
        })
        .collect();
    if values.is_empty() {
        return Err(Failure::new(format!(
            "profile {} gives no attribute an update value",
            run.profile.name
        )));
    }
    update(w, &logical, values).await
}

/// Sends the PATCH `body(id)` that sets `active` on `logical`; a disable the host accepted
/// under the Delete disable flow leaves the user out of the target.
async fn set_active_by(
    w: &mut EcmaWorld,
    logical: &str,
    active: bool,
    body: impl FnOnce(&str) -> Request,
) -> StepResult {
    let run = w.run()?;
    let id = w.id_of(logical)?;
    w.scim.subject = Some(logical.to_owned());
    let x = w.send(body(&id), Auth::Token).await?;
    let deleted = run.profile.deprovisioning.disable_flow == crate::profile::FlowAction::Delete;
    if !active && deleted && matches!(x.status, Some(200 | 204)) {
        w.user(logical)?.in_target = false;
    }
    Ok(())
}

async fn set_active(w: &mut EcmaWorld, logical: &str, active: bool) -> StepResult {
    let dialect = w.run()?.dialect;
    set_active_by(w, logical, active, |id| {
        entra::set_active(dialect, id, active)
    })
    .await
}

async fn disable_as_in_the_tutorial(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    set_active_by(w, &arg(&ctx, 1)?, false, entra::disable_as_in_the_tutorial).await
}

async fn disable(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    set_active(w, &arg(&ctx, 1)?, false).await
}

async fn enable(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    set_active(w, &arg(&ctx, 1)?, true).await
}

async fn delete(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let user = arg(&ctx, 1)?;
    let id = w.id_of(&user)?;
    w.scim.subject = Some(user.clone());
    let x = w.send(entra::delete(&id), Auth::Token).await?;
    if x.status == Some(204) {
        w.user(&user)?.in_target = false;
    }
    Ok(())
}

async fn delete_without_token(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let user = arg(&ctx, 1)?;
    let id = w.id_of(&user)?;
    w.send(entra::delete(&id), Auth::None).await?;
    Ok(())
}

async fn delete_with_bad_token(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let user = arg(&ctx, 1)?;
    let id = w.id_of(&user)?;
    let phrase = arg(&ctx, 2)?;
    let variant = TokenVariant::named(&phrase)
        .ok_or_else(|| Failure::new(format!("no token variant is called {phrase:?}")))?;
    let token = w.run()?.service.token_variant(variant);
    w.send(entra::delete(&id), Auth::Bearer(token)).await?;
    Ok(())
}

/// A request of the kind a step names, about user `logical`: one of every endpoint and method
/// a connector serves.
async fn request_for(w: &mut EcmaWorld, kind: &str, logical: &str) -> Result<Request, Failure> {
    let run = w.run()?;
    Ok(match kind {
        "a read by id" => entra::get(&w.id_of(logical)?),
        "a matching query" => {
            let (target, value) = sent_value(w, logical, &run.profile.matching_attribute)?;
            entra::filter(&entra::urn_of(&target), &value)
        }
        "a create" => {
            let other = format!("{logical}-other");
            let attrs = w.create_attributes(&other, &[])?;
            entra::create(&attrs)
        }
        "an update" => {
            let surname = w.logical("surname")?;
            let id = w.id_of(logical)?;
            entra::update(
                run.dialect,
                &id,
                &[Change {
                    attribute: surname.target,
                    value: json!("Unseen"),
                    had_value: true,
                }],
            )
        }
        "a delete" => entra::delete(&w.id_of(logical)?),
        "a schemas read" => entra::schemas(),
        "a resource types read" => entra::get_path("/ResourceTypes"),
        "a service provider configuration read" => entra::get_path("/ServiceProviderConfig"),
        other => return Err(Failure::new(format!("no request is called {other:?}"))),
    })
}

async fn send_request(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let kind = arg(&ctx, 1)?;
    let logical = arg(&ctx, 2)?;
    let credentials = ctx
        .matches
        .get(3)
        .map(|(_, m)| m.clone())
        .unwrap_or_default();
    let request = request_for(w, &kind, &logical).await?;
    let auth = match credentials.as_str() {
        "" => Auth::Token,
        "without a token" => Auth::None,
        _ => Auth::Bearer(w.run()?.service.token_variant(TokenVariant::Wrong)),
    };
    w.scim.subject = Some(logical);
    w.send(request, auth).await?;
    Ok(())
}

async fn match_user_fully_encoded(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let user = arg(&ctx, 1)?;
    let (target, value) = sent_value(w, &user, &arg(&ctx, 2)?)?;
    w.scim.subject = Some(user);
    w.send(
        entra::filter_fully_encoded(&entra::urn_of(&target), &value),
        Auth::Token,
    )
    .await?;
    Ok(())
}

async fn clear_with_null(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let attribute = w.logical(&arg(&ctx, 1)?)?;
    let logical = arg(&ctx, 2)?;
    update(w, &logical, vec![(attribute.target, Value::Null)]).await
}

async fn create_in_another_case(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let attrs = w.create_attributes(&logical, &[])?;
    let lower = scim_proto::urn::ECMA2HOST_USER.to_lowercase();
    let body = json!({
        "SCHEMAS": [scim_proto::urn::CORE_USER, lower],
        "Active": true,
        lower.clone(): attrs,
    });
    w.scim.subject = Some(logical.clone());
    w.scim.carried = attrs.clone();
    let x = w
        .send(
            Request {
                method: "POST",
                path: "/Users".into(),
                body: Some(Body::Json(body)),
            },
            Auth::Token,
        )
        .await?;
    w.record_created(&logical, &x, attrs).await
}

async fn create_inactive(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let attrs = w.create_attributes(&logical, &[])?;
    let mut request = entra::create(&attrs);
    if let Some(Body::Json(body)) = &mut request.body {
        body["active"] = json!(false);
    }
    w.scim.subject = Some(logical.clone());
    w.scim.carried = attrs.clone();
    let x = w.send(request, Auth::Token).await?;
    w.record_created(&logical, &x, attrs).await
}

async fn test_connection_slashes(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let run = w.run()?;
    let matching = w.logical(&run.profile.matching_attribute)?;
    let mut request = entra::test_connection(&matching.target);
    request.path = match arg(&ctx, 1)?.as_str() {
        "a trailing slash" => request.path.replacen("/Users?", "/Users/?", 1),
        _ => format!("/{}", request.path),
    };
    w.send(request, Auth::Token).await?;
    Ok(())
}

/// Sends `n` updates of one attribute of one user at once, each with a value of its own; the
/// answers are kept in order (the last one last) and each is evidence.
/// How often a request sent at once is sent again after a 5xx, as Entra retries it.
const AT_ONCE_RETRIES: usize = 3;

/// Sends `requests` all at once, then, as the provisioning service does, sends again (up to
/// [`AT_ONCE_RETRIES`] times, half a second apart) each one answered with a 5xx: a host that
/// is busy under a burst says so with 503 and loses nothing (ECMA-ERR-006). Returns the
/// last answer to each request (in order), the answers that were retried, and for each
/// request whether it was sent again.
async fn at_once(
    run: &crate::world::RunContext,
    requests: &[Request],
) -> (Vec<reports::Exchange>, Vec<reports::Exchange>, Vec<bool>) {
    let mut answers =
        futures_util::future::join_all(requests.iter().map(|r| run.service.send(r, &Auth::Token)))
            .await;
    let mut retried = Vec::new();
    let mut again = Vec::new();
    for (request, answer) in requests.iter().zip(answers.iter_mut()) {
        let mut tries = 0;
        while answer.status.is_some_and(|s| s >= 500) && tries < AT_ONCE_RETRIES {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            let next = run.service.send(request, &Auth::Token).await;
            retried.push(std::mem::replace(answer, next));
            tries += 1;
        }
        again.push(tries > 0);
    }
    (answers, retried, again)
}

/// Entra's next cycle for a create it sent again after a 5xx and was then answered 409: the
/// host had answered 503 while the first attempt went on, and that attempt landed — a
/// correct host then knows the user (ECMA-ROBUST-017), and Entra's matching query on the
/// profile's matching attribute finds it. Records user `logical` from the one resource found
/// and returns true; false when the query finds none or several (the step's check then
/// fails on the 409).
async fn found_after_retry(
    w: &mut EcmaWorld,
    logical: &str,
    attrs: &indexmap::IndexMap<String, Value>,
) -> Result<bool, Failure> {
    let run = w.run()?;
    let matching = w.logical(&run.profile.matching_attribute)?;
    let Some(value) = attrs.get(&matching.target).map(crate::world::text) else {
        return Ok(false);
    };
    let x = w
        .send(
            entra::filter(&entra::urn_of(&matching.target), &value),
            Auth::Token,
        )
        .await?;
    let found = crate::checks::json(&x)
        .and_then(|b| b["Resources"].as_array().cloned())
        .unwrap_or_default();
    match found.as_slice() {
        [resource] if x.status == Some(200) => {
            w.record_found(logical, Some(resource.clone()), attrs.clone())
                .await?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

async fn update_at_once(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let attribute = w.logical(&arg(&ctx, 1)?)?;
    let logical = arg(&ctx, 2)?;
    let n: usize = arg(&ctx, 3)?
        .parse()
        .map_err(|_| Failure::new("bad number of updates"))?;
    let run = w.run()?;
    let id = w.id_of(&logical)?;
    w.target.before = Some(w.snapshot().await?);
    let requests: Vec<Request> = (0..n)
        .map(|i| {
            let value = w.uniquify(&attribute, &format!("at-once-{i}@contoso.lab"));
            entra::update(
                run.dialect,
                &id,
                &[Change {
                    attribute: attribute.target.clone(),
                    value: Value::String(value),
                    had_value: true,
                }],
            )
        })
        .collect();
    let (answers, retried, _) = at_once(&run, &requests).await;
    for mut x in retried {
        let leaked = crate::checks::redact_secrets(&mut x, &run.secrets);
        let slow = crate::checks::latency(&x);
        w.evidence.exchanges.push(x);
        w.check(leaked)?;
        w.check(slow)?;
    }
    w.scim.subject = Some(logical);
    w.scim.at_once_found = Vec::new();
    w.scim.at_once = answers.iter().map(|x| x.status).collect();
    for x in answers {
        let mut evidence = x.clone();
        let leaked = crate::checks::redact_secrets(&mut evidence, &run.secrets);
        let slow = crate::checks::latency(&evidence);
        w.evidence.exchanges.push(evidence);
        w.check(leaked)?;
        w.check(slow)?;
        w.scim.last = Some(x);
    }
    Ok(())
}

/// ECMA-MATCH-008: `<URN>:<ATTRIBUTE> EQ "<value>"` — the attribute name and the operator in
/// upper case (RFC 7644 §3.4.2.2: both are case-insensitive).
async fn match_upper_case(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let user = arg(&ctx, 1)?;
    let (target, value) = sent_value(w, &user, &arg(&ctx, 2)?)?;
    let expression = format!(
        "{} EQ {}",
        entra::urn_of(&target.to_uppercase()),
        serde_json::to_string(&value).unwrap_or_default()
    );
    w.scim.subject = Some(user);
    w.send(entra::filter_expression(&expression), Auth::Token)
        .await?;
    Ok(())
}

/// A filter of the scenario's own form: `{attribute}` becomes the URN-qualified attribute and
/// `{value}` the user's value as a JSON string (ECMA-MATCH-014's operators and malformed forms).
async fn match_with_form(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let user = arg(&ctx, 1)?;
    let (target, value) = sent_value(w, &user, &arg(&ctx, 2)?)?;
    let expression = arg(&ctx, 3)?
        .replace("{attribute}", &entra::urn_of(&target))
        .replace(
            "{value}",
            &serde_json::to_string(&value).unwrap_or_default(),
        );
    w.scim.subject = Some(user);
    w.send(entra::filter_expression(&expression), Auth::Token)
        .await?;
    Ok(())
}

/// ECMA-UPDATE-002: the run's dialect's PATCH with every `op` in upper case (`REPLACE`, `ADD`).
async fn update_upper_case_ops(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let values = update_values(w, &ctx)?;
    let run = w.run()?;
    let id = w.id_of(&logical)?;
    let user = w.user(&logical)?;
    let changes: Vec<Change> = values
        .iter()
        .map(|(attribute, value)| Change {
            attribute: attribute.clone(),
            value: value.clone(),
            had_value: user.values.contains_key(attribute),
        })
        .collect();
    let mut request = entra::update(run.dialect, &id, &changes);
    if let Some(Body::Json(body)) = &mut request.body
        && let Some(ops) = body["Operations"].as_array_mut()
    {
        for op in ops {
            let upper = op["op"].as_str().unwrap_or_default().to_uppercase();
            op["op"] = json!(upper);
        }
    }
    w.scim.subject = Some(logical.clone());
    w.scim.carried = values.iter().cloned().collect();
    let x = w.send(request, Auth::Token).await?;
    if matches!(x.status, Some(200 | 204)) {
        let user = w.user(&logical)?;
        for (attribute, value) in values {
            user.values.insert(attribute, value);
        }
    }
    Ok(())
}

/// ECMA-UPDATE-012: `{"op": "Remove", "path": "<URN>:<attribute>"}` (`remove` with the flag).
async fn remove_attribute(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let target = w.logical(&arg(&ctx, 1)?)?.target;
    let logical = arg(&ctx, 2)?;
    let run = w.run()?;
    let id = w.id_of(&logical)?;
    let op = if run.dialect == scim_proto::Dialect::EntraDefault {
        "Remove"
    } else {
        "remove"
    };
    w.scim.subject = Some(logical.clone());
    w.target.before = Some(w.snapshot().await?);
    let x = w
        .send(
            entra::patch(&id, vec![json!({"op": op, "path": entra::urn_of(&target)})]),
            Auth::Token,
        )
        .await?;
    if matches!(x.status, Some(200 | 204)) {
        w.user(&logical)?.values.shift_remove(&target);
    }
    Ok(())
}

/// ECMA-UPDATE-012: a remove with no path, which names nothing to remove (RFC 7644 §3.5.2.2:
/// 400 `noTarget`).
async fn remove_without_path(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let run = w.run()?;
    let id = w.id_of(&logical)?;
    let op = if run.dialect == scim_proto::Dialect::EntraDefault {
        "Remove"
    } else {
        "remove"
    };
    w.scim.subject = Some(logical);
    w.target.before = Some(w.snapshot().await?);
    w.send(entra::patch(&id, vec![json!({"op": op})]), Auth::Token)
        .await?;
    Ok(())
}

/// ECMA-ROBUST-005: the same create `n` times at once (Entra retrying a create whose answer it
/// lost, while the first is still in flight). The answers' statuses are kept for the `Then`.
async fn create_at_once(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let n: usize = arg(&ctx, 2)?
        .parse()
        .map_err(|_| Failure::new("bad number of creates"))?;
    let run = w.run()?;
    let attrs = w.create_attributes(&logical, &[])?;
    w.target.before = Some(w.snapshot().await?);
    let request = entra::create(&attrs);
    let requests = vec![request; n];
    let (answers, retried, again) = at_once(&run, &requests).await;
    for mut x in retried {
        let leaked = crate::checks::redact_secrets(&mut x, &run.secrets);
        let slow = crate::checks::latency(&x);
        w.evidence.exchanges.push(x);
        w.check(leaked)?;
        w.check(slow)?;
    }
    w.scim.subject = Some(logical.clone());
    w.scim.carried = attrs.clone();
    w.scim.at_once = answers.iter().map(|x| x.status).collect();
    w.scim.at_once_found = vec![false; answers.len()];
    let conflict_after_retry = answers
        .iter()
        .zip(&again)
        .position(|(x, again)| *again && x.status == Some(409));
    let mut created = None;
    for x in answers {
        let mut evidence = x.clone();
        let leaked = crate::checks::redact_secrets(&mut evidence, &run.secrets);
        let slow = crate::checks::latency(&evidence);
        w.evidence.exchanges.push(evidence);
        w.check(leaked)?;
        w.check(slow)?;
        if x.status == Some(201) && created.is_none() {
            created = Some(x.clone());
        }
        w.scim.last = Some(x);
    }
    if let Some(x) = created {
        w.record_created(&logical, &x, attrs).await?;
    } else if let Some(i) = conflict_after_retry {
        let last = w.scim.last.clone();
        let found = found_after_retry(w, &logical, &attrs).await?;
        if let Some(slot) = w.scim.at_once_found.get_mut(i) {
            *slot = found;
        }
        w.scim.last = last;
    }
    Ok(())
}

/// ECMA-ROBUST-004: `n` different users (`<prefix>1` … `<prefix>n`) created at once; the
/// statuses are kept for the `Then`, and every 201 recorded.
async fn create_many_at_once(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let n: usize = arg(&ctx, 1)?
        .parse()
        .map_err(|_| Failure::new("bad number of users"))?;
    let prefix = arg(&ctx, 2)?;
    let run = w.run()?;
    let mut batch = Vec::new();
    for i in 1..=n {
        let logical = format!("{prefix}{i}");
        let attrs = w.create_attributes(&logical, &[])?;
        batch.push((logical, attrs));
    }
    let requests: Vec<Request> = batch
        .iter()
        .map(|(_, attrs)| entra::create(attrs))
        .collect();
    let (answers, retried, again) = at_once(&run, &requests).await;
    for mut x in retried {
        let leaked = crate::checks::redact_secrets(&mut x, &run.secrets);
        let slow = crate::checks::latency(&x);
        w.evidence.exchanges.push(x);
        w.check(leaked)?;
        w.check(slow)?;
    }
    w.scim.subject = Some(prefix);
    w.scim.at_once = answers.iter().map(|x| x.status).collect();
    w.scim.at_once_found = vec![false; answers.len()];
    let mut conflicts_after_retry = Vec::new();
    for (i, ((logical, attrs), x)) in batch.into_iter().zip(answers).enumerate() {
        if again[i] && x.status == Some(409) {
            conflicts_after_retry.push((i, logical.clone(), attrs.clone()));
        }
        let mut evidence = x.clone();
        let leaked = crate::checks::redact_secrets(&mut evidence, &run.secrets);
        let slow = crate::checks::latency(&evidence);
        w.evidence.exchanges.push(evidence);
        w.check(leaked)?;
        w.check(slow)?;
        w.record_created(&logical, &x, attrs).await?;
        w.scim.last = Some(x);
    }
    let last = w.scim.last.clone();
    for (i, logical, attrs) in conflicts_after_retry {
        let found = found_after_retry(w, &logical, &attrs).await?;
        if let Some(slot) = w.scim.at_once_found.get_mut(i) {
            *slot = found;
        }
    }
    w.scim.last = last;
    Ok(())
}

/// ECMA-UPDATE-003: `Add` (`add` with the flag) with a path, whether or not the attribute has
/// a value (RFC 7644 §3.5.2.1: on a single-valued attribute it replaces).
async fn add_with(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let values = update_values(w, &ctx)?;
    let run = w.run()?;
    let id = w.id_of(&logical)?;
    let op = if run.dialect == scim_proto::Dialect::EntraDefault {
        "Add"
    } else {
        "add"
    };
    let operations = values
        .iter()
        .map(|(attribute, value)| json!({"op": op, "path": entra::urn_of(attribute), "value": value}))
        .collect();
    w.scim.subject = Some(logical.clone());
    w.scim.carried = values.iter().cloned().collect();
    let x = w.send(entra::patch(&id, operations), Auth::Token).await?;
    if matches!(x.status, Some(200 | 204)) {
        let user = w.user(&logical)?;
        for (attribute, value) in values {
            user.values.insert(attribute, value);
        }
    }
    Ok(())
}

/// ECMA-ROBUST-008: a create whose body has a value of the wrong JSON type.
async fn create_wrong_type(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let how = arg(&ctx, 2)?;
    let attrs = w.create_attributes(&logical, &[])?;
    let surname = w.logical("surname")?.target;
    let mut request = entra::create(&attrs);
    if let Some(Body::Json(body)) = &mut request.body {
        match how.as_str() {
            "active as a string that is not a Boolean" => body["active"] = json!("maybe"),
            "its surname as an object" => {
                body[scim_proto::urn::ECMA2HOST_USER][&surname] = json!({"value": "Doe"});
            }
            _ => body[scim_proto::urn::ECMA2HOST_USER][&surname] = json!(["Doe", "Roe"]),
        }
    }
    w.scim.subject = Some(logical.clone());
    w.target.before = Some(w.snapshot().await?);
    let x = w.send(request, Auth::Token).await?;
    w.record_created(&logical, &x, attrs).await?;
    Ok(())
}

/// ECMA-UPDATE-008: a replace through a value-filter path on an attribute the connector does
/// not expose (`emails[type eq "work"].value`).
async fn update_value_filter_path(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let path = arg(&ctx, 2)?;
    let run = w.run()?;
    let id = w.id_of(&logical)?;
    let op = if run.dialect == scim_proto::Dialect::EntraDefault {
        "Replace"
    } else {
        "replace"
    };
    w.scim.subject = Some(logical);
    w.target.before = Some(w.snapshot().await?);
    w.send(
        entra::patch(
            &id,
            vec![json!({"op": op, "path": path, "value": "work@contoso.lab"})],
        ),
        Auth::Token,
    )
    .await?;
    Ok(())
}

/// ECMA-DN-004 and ECMA-DN-005: a create whose `-dn-` is a UPN rather than a DN, or that has
/// none, on a connector that does not make DNs up.
async fn create_without_dn(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let how = arg(&ctx, 2)?;
    let mut attrs = w.create_attributes(&logical, &[])?;
    let name = w.user(&logical)?.name.clone();
    if how == "without -dn-" {
        attrs.shift_remove("-dn-");
    } else {
        attrs.insert("-dn-".into(), json!(format!("{name}@contoso.lab")));
    }
    w.target.before = Some(w.snapshot().await?);
    w.create(&logical, attrs).await?;
    Ok(())
}

async fn create_and_give_up(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let seconds = seconds(&ctx, 2)?;
    let run = w.run()?;
    let attrs = w.create_attributes(&logical, &[])?;
    w.scim.subject = Some(logical.clone());
    w.scim.carried = attrs.clone();
    let x = run
        .service
        .send_within(
            &entra::create(&attrs),
            &Auth::Token,
            Some(std::time::Duration::from_secs_f64(seconds)),
        )
        .await;
    let mut evidence = x.clone();
    let _ = crate::checks::redact_secrets(&mut evidence, &run.secrets);
    w.evidence.exchanges.push(evidence);
    if x.status.is_some() {
        return Err(Failure::new(format!(
            "expected no answer within {seconds} s (the directory was made slow), got {}",
            crate::checks::got(&x)
        )));
    }
    let user = w.user(&logical)?;
    user.values = attrs.clone();
    user.original = attrs;
    Ok(())
}

async fn wait(_w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let seconds = seconds(&ctx, 1)?;
    tokio::time::sleep(std::time::Duration::from_secs_f64(seconds)).await;
    Ok(())
}

/// Waits, at most the seconds given, until the probe finds the user in the target: a write
/// the client gave up on is timed from when the target made it, not from the request, so a
/// host that queued it behind other writes is not failed for that (ECMA-ROBUST-017 says "once
/// the target has made it"). A target that never holds it is no failure here: the `Then`
/// step then wants the host to know no such user either.
async fn wait_for_target(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    // Only waiting: without a slot until after the next request ([`EcmaWorld::send`]).
    w.lend_slot();
    let logical = arg(&ctx, 1)?;
    let seconds = seconds(&ctx, 2)?;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs_f64(seconds);
    while w.target_entry(&logical).await?.is_none() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Ok(())
}

/// Reads user `logical` by id (a read the evidence does not keep) every 100 ms until the
/// target holds the value the last request carried for the attribute and the host's answer
/// agrees, or the seconds are up; judges nothing: a `Then` reads again and judges. A
/// scenario that waits for a host to follow a write's outcome (ECMA-ROBUST-017) ends as soon
/// as the host has, not after a fixed wait; agreement on the old value, before a target that
/// writes late has written, does not end it. Fails when the last request carried no value
/// for the attribute (nothing to wait for).
async fn wait_for_agreement(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    // Only waiting: without a slot until after the next request ([`EcmaWorld::send`]).
    w.lend_slot();
    let logical = arg(&ctx, 1)?;
    let attribute = w.logical(&arg(&ctx, 2)?)?.target;
    let deadline =
        tokio::time::Instant::now() + std::time::Duration::from_secs_f64(seconds(&ctx, 3)?);
    let service = w.service()?;
    let request = entra::get(&w.id_of(&logical)?);
    let sent = w
        .scim
        .carried
        .get(&attribute)
        .map(crate::world::text)
        .ok_or_else(|| {
            Failure::new(format!(
                "the last request carried no {attribute}: there is no new value to wait for"
            ))
        })?;
    loop {
        let x = service.send(&request, &Auth::Token).await;
        let answered = crate::checks::json(&x)
            .map(|b| crate::world::text(&b[scim_proto::urn::ECMA2HOST_USER][&attribute]));
        let held = w.target_entry(&logical).await?;
        let held = held.as_ref().map(|e| e.values(&attribute));
        let agree = x.status == Some(200)
            && matches!((held, answered), (Some([held]), Some(answered))
                if *held == answered && sent == answered);
        if agree || tokio::time::Instant::now() >= deadline {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Sends Entra's matching query for user `logical` on an attribute (queries the evidence
/// does not keep) every 100 ms until the host finds a user, or the seconds are up; judges
/// nothing: a `Then` asks again and judges.
async fn wait_for_match(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    // Only waiting: without a slot until after the next request ([`EcmaWorld::send`]).
    w.lend_slot();
    let logical = arg(&ctx, 1)?;
    let (target, value) = sent_value(w, &logical, &arg(&ctx, 2)?)?;
    let deadline =
        tokio::time::Instant::now() + std::time::Duration::from_secs_f64(seconds(&ctx, 3)?);
    let service = w.service()?;
    let request = entra::filter(&entra::urn_of(&target), &value);
    loop {
        let x = service.send(&request, &Auth::Token).await;
        let found = crate::checks::json(&x)
            .and_then(|b| b["Resources"].as_array().map(|r| !r.is_empty()))
            .unwrap_or(false);
        if found || tokio::time::Instant::now() >= deadline {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn read_projected(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let how = arg(&ctx, 2)?;
    let name = arg(&ctx, 3)?;
    // A core member by its name, a logical attribute by its target's URN.
    let parameter = match w.logical(&name) {
        Ok(a) => entra::urn_of(&a.target),
        Err(_) => name,
    };
    let key = if how == "excluding" {
        "excludedAttributes"
    } else {
        "attributes"
    };
    let id = w.id_of(&logical)?;
    let mut request = entra::get(&id);
    request.path = format!(
        "{}?{key}={}",
        request.path,
        percent_encoding::utf8_percent_encode(&parameter, percent_encoding::NON_ALPHANUMERIC)
    );
    w.scim.subject = Some(logical);
    w.send(request, Auth::Token).await?;
    Ok(())
}

async fn patch_envelope(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let shape = arg(&ctx, 1)?;
    let logical = arg(&ctx, 2)?;
    let id = w.id_of(&logical)?;
    let surname = w.logical("surname")?;
    let change =
        json!({"op": "Replace", "path": entra::urn_of(&surname.target), "value": "Enveloped"});
    let body = match shape.as_str() {
        "without schemas" => json!({"Operations": [change]}),
        "with no operations" => json!({"schemas": [scim_proto::urn::PATCH_OP], "Operations": []}),
        _ => {
            json!({"schemas": [scim_proto::urn::PATCH_OP], "Operations": [{"op": "Remove", "path": "active"}]})
        }
    };
    w.scim.subject = Some(logical);
    w.send(
        Request {
            method: "PATCH",
            path: entra::user_path(&id),
            body: Some(Body::Json(body)),
        },
        Auth::Token,
    )
    .await?;
    Ok(())
}

/// A new `-dn-` for `logical`: the profile's template with `-moved` after the name.
fn moved_dn(w: &mut EcmaWorld, logical: &str) -> Result<String, Failure> {
    let run = w.run()?;
    // The scenario's suffix stays last: the snapshots find this scenario's objects by it.
    let name = format!("{logical}-moved-{}", w.suffix);
    Ok(run
        .profile
        .dn_template()
        .replace("{name}", &scim_proto::dn::escape_value(&name))
        .replace("{container}", &run.container))
}

/// ECMA-DN-007: a PATCH replacing `-dn-` with another DN in the same container; the target
/// is snapshotted first.
async fn move_dn(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let dn = moved_dn(w, &logical)?;
    w.target.before = Some(w.snapshot().await?);
    update(w, &logical, vec![("-dn-".into(), Value::String(dn))]).await
}

/// ECMA-ANCHOR-009: a PATCH changing the anchor the provisioning service gave: `-dn-` where the
/// DN is the anchor, the anchor column's attribute on SQL. The target is snapshotted first.
async fn change_anchor(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let run = w.run()?;
    let (attribute, value) = match (&run.profile.ldap, &run.profile.sql) {
        (Some(l), _) if l.anchor == crate::profile::Anchor::Dn => {
            ("-dn-".to_owned(), moved_dn(w, &logical)?)
        }
        (None, Some(sql)) => (
            sql.anchor.clone(),
            format!("{logical}-renamed-{}", w.suffix),
        ),
        _ => {
            return Err(Failure::new(format!(
                "profile {}: the target assigns the anchor, so the provisioning service cannot change it",
                run.profile.name
            )));
        }
    };
    w.target.before = Some(w.snapshot().await?);
    update(w, &logical, vec![(attribute, Value::String(value))]).await
}

/// ECMA-DN-003 and ECMA-ANCHOR-006: a create whose name (the DN's RDN value) holds the
/// characters the requirements name — a leading `#`, `,`, `+`, `"` (escaped by RFC 4514) —
/// with spaces and characters outside ASCII. Attributes other than the naming attribute and
/// displayName that are made of the name get a plain ASCII name instead (mail is an IA5String).
async fn create_escaped(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let run = w.run()?;
    let plain = w.user(&logical)?.name.clone();
    let special = format!("#{logical}, Zoë+王 \"q\"-{}", w.suffix);
    {
        let user = w.user(&logical)?;
        user.name = special.clone();
        user.dn = run
            .profile
            .dn_template()
            .replace("{name}", &scim_proto::dn::escape_value(&special))
            .replace("{container}", &run.container);
    }
    let mut attrs = w.create_attributes(&logical, &[])?;
    let naming = run.profile.naming_attribute().to_owned();
    for (attribute, value) in attrs.iter_mut() {
        if attribute == "-dn-"
            || attribute.eq_ignore_ascii_case(&naming)
            || attribute.eq_ignore_ascii_case("displayName")
        {
            continue;
        }
        if let Value::String(s) = value
            && s.contains(&special)
        {
            *s = s.replace(&special, &plain);
        }
    }
    w.create(&logical, attrs).await?;
    Ok(())
}

/// ECMA-LDAP-002: a create that carries no `objectClass` (as Entra sends none when it is not
/// mapped).
async fn create_without_class(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let mut attrs = w.create_attributes(&logical, &[])?;
    attrs.shift_remove("objectClass");
    w.create(&logical, attrs).await?;
    Ok(())
}

/// ECMA-LDAP-007: a create carrying `export_password`, ECMA2Host's attribute for an initial
/// password.
async fn create_with_export_password(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let password = arg(&ctx, 2)?;
    let mut attrs = w.create_attributes(&logical, &[])?;
    attrs.insert(
        crate::profile::EXPORT_PASSWORD.into(),
        Value::String(password.clone()),
    );
    w.scim.passwords.push(password);
    w.create(&logical, attrs).await?;
    Ok(())
}

/// How many pages a walk reads at most: past the first page, a walk over a larger connector
/// space asks bigger pages so that it ends within this many, and a host whose pages never end
/// is stopped here.
pub const WALK_MAX_PAGES: u64 = 200;

/// ECMA-IMPORT-007/008: `GET /Users?startIndex=s&count=n` from s = 1, each next `startIndex`
/// past the users the page returned (a host may return fewer than `count`, RFC 7644 §3.4.2.4),
/// until s is past `totalResults` or a page is empty; every page is kept for the `Then` steps.
/// When `totalResults` would take more than [`WALK_MAX_PAGES`] pages of n, later pages ask for
/// more.
async fn walk_users(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let asked: u64 = arg(&ctx, 1)?
        .parse()
        .map_err(|_| Failure::new("bad page size"))?;
    if asked == 0 {
        return Err(Failure::new("a walk needs pages of at least one user"));
    }
    w.scim.pages.clear();
    let mut start = 1u64;
    let mut count = asked;
    for _ in 0..=WALK_MAX_PAGES {
        let x = w
            .send(
                entra::get_path(&format!("/Users?startIndex={start}&count={count}")),
                Auth::Token,
            )
            .await?;
        let body = crate::checks::json(&x);
        w.scim.pages.push((start, count, x));
        let total = body
            .as_ref()
            .and_then(|b| b["totalResults"].as_u64())
            .unwrap_or(0);
        let returned = body
            .as_ref()
            .and_then(|b| b["Resources"].as_array())
            .map_or(0, Vec::len) as u64;
        start += returned;
        if returned == 0 || start > total {
            break;
        }
        count = asked.max(total.div_ceil(WALK_MAX_PAGES - 1));
    }
    Ok(())
}

/// ECMA-ANCHOR-005: the user created again after its delete; the id it had is kept apart.
async fn create_after_delete(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let former = w.id_of(&logical)?;
    w.scim
        .former_ids
        .entry(logical.clone())
        .or_default()
        .push(former);
    let attrs = w.create_attributes(&logical, &[])?;
    w.create(&logical, attrs).await?;
    Ok(())
}

/// The name of a target attribute the connector does not expose (ECMA-ROBUST-009): one the
/// directory's schema allows for the profile's class (`description`, in `person` and in AD
/// LDS's `user`); on SQL the profile's unmapped column, or else a column name no table of the
/// suite has.
pub fn unexposed_attribute(w: &EcmaWorld) -> Result<String, Failure> {
    let run = w.run()?;
    Ok(match (&run.profile.ldap, &run.profile.sql) {
        (Some(_), _) => "description".to_owned(),
        (None, Some(sql)) => sql
            .unmapped_column
            .clone()
            .unwrap_or_else(|| "ecmacertUnexposed".to_owned()),
        (None, None) => "ecmacertUnexposed".to_owned(),
    })
}

/// ECMA-ROBUST-009: a create that also carries an attribute the connector does not expose.
async fn create_with_unexposed(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let logical = arg(&ctx, 1)?;
    let attribute = unexposed_attribute(w)?;
    let mut attrs = w.create_attributes(&logical, &[])?;
    w.target.before = Some(w.snapshot().await?);
    w.scim.subject = Some(logical.clone());
    let mut request = entra::create(&attrs);
    if let Some(Body::Json(body)) = &mut request.body {
        body[scim_proto::urn::ECMA2HOST_USER][&attribute] = json!("not exposed");
    }
    w.scim.carried = attrs.clone();
    let x = w.send(request, Auth::Token).await?;
    attrs.shift_remove(&attribute);
    w.record_created(&logical, &x, attrs).await?;
    Ok(())
}

/// ECMA-MATCH-012: the filter Entra sends for the user's matching attribute, with the case of
/// every ASCII letter of the value swapped.
async fn match_other_case(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let user = arg(&ctx, 1)?;
    let matching = w.run()?.profile.matching_attribute.clone();
    let (target, value) = sent_value(w, &user, &matching)?;
    let swapped: String = value
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    w.scim.subject = Some(user);
    w.send(
        entra::filter(&entra::urn_of(&target), &swapped),
        Auth::Token,
    )
    .await?;
    Ok(())
}

/// ECMA-AUTH-004: Test Connection on another connector of the host (`host.other_connector`),
/// with this connector's token.
async fn token_to_other_connector(w: &mut EcmaWorld, _ctx: Context) -> StepResult {
    let run = w.run()?;
    let other = run
        .other_connector
        .clone()
        .ok_or_else(|| Failure::new("the configuration names no host.other_connector"))?;
    let service = run
        .service
        .at_connector(&other)
        .ok_or_else(|| Failure::new("cannot form another connector's URL"))?;
    let matching = w.logical(&run.profile.matching_attribute)?;
    w.send_via(
        &service,
        entra::test_connection(&matching.target),
        Auth::Token,
    )
    .await?;
    Ok(())
}

/// ECMA-AUTH-005 and ECMA-AUTH-006: Test Connection through a client restricted to TLS 1.2,
/// which verifies the certificate and that it names the host of the tenant URL. A host served
/// over plain HTTP fails here: Entra reaches ECMA hosts over TLS only.
async fn test_connection_tls12(w: &mut EcmaWorld, _ctx: Context) -> StepResult {
    let run = w.run()?;
    if !run
        .service
        .base()
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
    {
        return Err(Failure::from(crate::checks::CheckFailure {
            requirement: "ECMA-AUTH-005",
            message: format!(
                "the host is served at {} without TLS; Entra reaches it over TLS only",
                run.service.base()
            ),
        }));
    }
    let service = run
        .service
        .tls12_only()
        .map_err(|e| Failure::new(format!("cannot build a TLS 1.2 client: {e}")))?;
    let matching = w.logical(&run.profile.matching_attribute)?;
    let x = w
        .send_via(
            &service,
            entra::test_connection(&matching.target),
            Auth::Token,
        )
        .await?;
    if let Some(error) = &x.error {
        let name = ["NotValidForName", "not valid for", "CertNotValidForName"]
            .iter()
            .any(|s| error.contains(s));
        return Err(Failure::from(crate::checks::CheckFailure {
            requirement: if name {
                "ECMA-AUTH-006"
            } else {
                "ECMA-AUTH-005"
            },
            message: if name {
                format!("the host's certificate does not name the host of its URL: {error}")
            } else {
                format!("a client that speaks only TLS 1.2 got no answer: {error}")
            },
        }));
    }
    Ok(())
}

/// ECMA-MATCH-010: Entra's query on the first matching attribute, for a value no user has
/// (what it asks first for a user the target does not hold under that value).
async fn match_first_nobody(w: &mut EcmaWorld, _ctx: Context) -> StepResult {
    let run = w.run()?;
    let target = w.logical(&run.profile.matching_attribute)?.target;
    let value = format!("nobody-{}-{}", w.suffix, uuid::Uuid::new_v4().simple());
    w.send(entra::filter(&entra::urn_of(&target), &value), Auth::Token)
        .await?;
    Ok(())
}

/// ECMA-MATCH-010: Entra's query on the profile's second matching attribute, with the user's
/// value.
async fn match_second(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let user = arg(&ctx, 1)?;
    let second = w
        .run()?
        .profile
        .second_matching_attribute
        .clone()
        .ok_or_else(|| Failure::new("the profile names no second_matching_attribute"))?;
    let (target, value) = sent_value(w, &user, &second)?;
    w.scim.subject = Some(user);
    w.send(entra::filter(&entra::urn_of(&target), &value), Auth::Token)
        .await?;
    Ok(())
}
