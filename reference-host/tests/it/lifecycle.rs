//! The Entra provisioning cycle against a real slapd: test connection, create, get, match,
//! update in both dialects, disable under each deprovisioning mode, enable, delete. Every write
//! is checked in the directory through the probe, not through the host.

use serde_json::{Value, json};

use crate::support::{EXT, Profile, Reply, TestHost, enc, entra_url_form, ext, new_ou};

/// Entra's create body for an ECMA host: core members it always sends, target attributes in the
/// extension.
pub fn entra_create(host: &TestHost, cn: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", EXT],
        "externalId": cn,
        "userName": format!("{cn}@contoso.lab"),
        "active": true,
        "meta": {"resourceType": "User"},
        "roles": [],
        EXT: {
            "-dn-": host.dn(cn),
            "objectClass": ["inetOrgPerson"],
            "cn": cn,
            "sn": "Simon",
            "mail": format!("{cn}@contoso.lab"),
            "displayName": "Barbara Simon",
            "userPassword": "initial-Pa55word",
        }
    })
}

#[tokio::test]
async fn test_connection_query_on_a_random_guid_is_an_empty_list() {
    let host = TestHost::start("testconn", Profile::inetorgperson()).await;
    let guid = uuid::Uuid::new_v4().to_string();
    for attr in ["mail", "cn", "-dn-"] {
        let r = host.filter_eq(attr, &guid).await;
        assert_eq!(r.status, 200, "{r:#?}");
        assert_eq!(r.body["totalResults"], 0);
        assert_eq!(r.body["Resources"], json!([]));
        assert_eq!(
            r.body["schemas"],
            json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
        );
        assert_eq!(r.content_type.as_deref(), Some("application/scim+json"));
    }
    // Before any mapping exists Entra filters on PLACEHOLDER, bare: still 200 and empty.
    let r = host
        .get(&format!("/Users?filter=PLACEHOLDER+eq+%22{guid}%22"))
        .await;
    assert_eq!(
        (r.status, r.body["totalResults"].as_u64()),
        (200, Some(0)),
        "{r:#?}"
    );
}

#[tokio::test]
async fn create_writes_every_mapped_attribute_at_the_dn_given() {
    let host = TestHost::start("create", Profile::inetorgperson()).await;
    let r = host.post(&entra_create(&host, "bsimon")).await;
    assert_eq!(r.status, 201, "{r:#?}");
    assert_eq!(r.content_type.as_deref(), Some("application/scim+json"));
    let dn = host.dn("bsimon");
    assert_eq!(
        r.body["id"],
        dn.as_str(),
        "a -dn- anchor makes the DN the id"
    );
    assert_eq!(
        r.location.as_deref(),
        Some(
            format!(
                "http://localhost:8585/ecma2host_LDAP/scim/Users/{}",
                enc(&dn)
            )
            .as_str()
        )
    );
    assert_eq!(r.body["meta"]["location"].as_str(), r.location.as_deref());
    // The directory, read directly.
    let entry = host
        .probe
        .entry(&dn)
        .await
        .expect("the entry exists at the DN given by -dn-");
    let attr = |name: &str| entry.attrs.get(name).cloned().unwrap_or_default();
    assert_eq!(attr("cn"), ["bsimon"]);
    assert_eq!(attr("sn"), ["Simon"]);
    assert_eq!(attr("mail"), ["bsimon@contoso.lab"]);
    assert_eq!(attr("displayName"), ["Barbara Simon"]);
    assert_eq!(attr("objectClass"), ["inetOrgPerson"]);
    assert!(
        host.probe
            .can_bind(host.slapd, &dn, "initial-Pa55word")
            .await,
        "userPassword was set"
    );
    // Core members Entra sends are not target attributes: nothing else was written.
    let mut names: Vec<&str> = entry.attrs.keys().map(String::as_str).collect();
    names.retain(|n| {
        n.chars().next().is_some_and(char::is_lowercase)
            && !n.starts_with("entry")
            && !n.starts_with("creat")
            && !n.starts_with("modif")
            && !n.starts_with("struct")
            && !n.starts_with("subschema")
            && !n.starts_with("has")
    });
    names.sort();
    assert_eq!(
        names,
        [
            "cn",
            "displayName",
            "mail",
            "objectClass",
            "sn",
            "userPassword"
        ]
    );
    // Passwords never come back.
    assert!(r.body[EXT].get("userPassword").is_none(), "{:#}", r.body);
    assert_eq!(r.ext("mail"), "bsimon@contoso.lab");
    assert_eq!(r.ext("objectClass"), &json!(["inetOrgPerson"]));
    assert_eq!(r.ext("-dn-"), dn.as_str());
    assert_eq!(r.body["active"], true);
}

#[tokio::test]
async fn get_by_id_and_filter_hit_return_the_same_resource() {
    let host = TestHost::start("get", Profile::inetorgperson()).await;
    let created = host.post(&entra_create(&host, "jdoe")).await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let got = host.get(&format!("/Users/{}", enc(&id))).await;
    assert_eq!(got.status, 200, "{got:#?}");
    assert_eq!(got.body, created.body);
    // Entra's URL form and the fully percent-encoded form mean the same query.
    let hit = host.filter_eq("mail", "jdoe@contoso.lab").await;
    assert_eq!(hit.body["totalResults"], 1, "{hit:#?}");
    assert_eq!(hit.body["Resources"][0], got.body);
    let encoded = format!(
        "/Users?filter={}",
        percent_encoding::utf8_percent_encode(
            &format!("{} eq \"jdoe@contoso.lab\"", ext("mail")),
            percent_encoding::NON_ALPHANUMERIC
        )
    );
    assert_eq!(host.get(&encoded).await.body, hit.body);
    // The bare attribute name finds the same object, in any case, and so does the DN.
    let bare = host
        .get("/Users?filter=MAIL+EQ+%22JDOE@contoso.lab%22")
        .await;
    assert_eq!(bare.body["totalResults"], 1, "{bare:#?}");
    assert_eq!(
        host.filter_eq("-dn-", &id.to_uppercase()).await.body["totalResults"],
        1
    );
    let by_id = host
        .get(&format!(
            "/Users?filter={}",
            entra_url_form(&format!("id eq \"{id}\""))
        ))
        .await;
    assert_eq!(by_id.body["totalResults"], 1, "{by_id:#?}");
    // and: both clauses must hold.
    let both = format!(
        "{} eq \"jdoe\" and {} eq \"nobody@x\"",
        ext("cn"),
        ext("mail")
    );
    assert_eq!(
        host.get(&format!("/Users?filter={}", entra_url_form(&both)))
            .await
            .body["totalResults"],
        0
    );
}

#[tokio::test]
async fn an_attribute_is_indexed_from_the_first_query_on_it_and_stays_right_through_changes() {
    let host = TestHost::start("index", Profile::inetorgperson()).await;
    let service = host.host.service("LDAP").unwrap();
    let space = service.space();
    assert_eq!(space.indexed(), ["-dn-"], "only the DN before any query");
    let created = host.post(&entra_create(&host, "idx")).await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    // The first query on mail scans and answers right; mail is indexed from then on.
    let hits = |reply: Reply| reply.body["totalResults"].as_u64();
    assert_eq!(
        hits(host.filter_eq("mail", "idx@contoso.lab").await),
        Some(1)
    );
    assert_eq!(space.indexed(), ["-dn-", "mail"]);
    assert_eq!(
        hits(host.filter_eq("mail", "IDX@contoso.lab").await),
        Some(1)
    );
    assert_eq!(
        hits(host.filter_eq("mail", "other@contoso.lab").await),
        Some(0)
    );
    // A change moves the value in the index: the old one finds nobody, the new one the user.
    let moved = host
        .patch(
            &id,
            &patch(
                json!([{"op": "Replace", "path": ext("mail"), "value": "idx.moved@contoso.lab"}]),
            ),
        )
        .await;
    assert!(matches!(moved.status, 200 | 204), "{moved:#?}");
    assert_eq!(
        hits(host.filter_eq("mail", "idx@contoso.lab").await),
        Some(0)
    );
    assert_eq!(
        hits(host.filter_eq("mail", "idx.moved@contoso.lab").await),
        Some(1)
    );
    // An object made out of band arrives with a full import, which keeps the index.
    host.probe
        .add(
            &host.dn("oob"),
            &[
                ("objectClass", &["inetOrgPerson"]),
                ("cn", &["oob"]),
                ("sn", &["Band"]),
                ("mail", &["oob@contoso.lab"]),
            ],
        )
        .await
        .success()
        .unwrap();
    assert_eq!(
        hits(host.filter_eq("mail", "oob@contoso.lab").await),
        Some(0)
    );
    service.full_import().await.unwrap();
    assert_eq!(space.indexed(), ["-dn-", "mail"]);
    assert_eq!(
        hits(host.filter_eq("mail", "oob@contoso.lab").await),
        Some(1)
    );
    assert_eq!(
        hits(host.filter_eq("mail", "idx.moved@contoso.lab").await),
        Some(1)
    );
    // Deleted: gone from the index too.
    assert_eq!(host.delete(&id).await.status, 204);
    assert_eq!(
        hits(host.filter_eq("mail", "idx.moved@contoso.lab").await),
        Some(0)
    );
}

#[tokio::test]
async fn a_change_keeps_the_index_keys_its_values_still_have() {
    use scim_proto::value::Scalar;
    let host = TestHost::start("fold", Profile::inetorgperson()).await;
    let space = host.host.service("LDAP").unwrap().space();
    let created = host.post(&entra_create(&host, "fold")).await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let hits = |reply: Reply| reply.body["totalResults"].as_u64();
    // mail is indexed from this query on; the answers below come from the index.
    assert_eq!(
        hits(host.filter_eq("mail", "fold@contoso.lab").await),
        Some(1)
    );
    let set = |attr: &'static str, values: &'static [&'static str]| {
        space.update(&id, |e| {
            let mut e = e.clone();
            e.attributes.insert(
                attr.into(),
                values.iter().map(|v| Scalar::String((*v).into())).collect(),
            );
            e
        })
    };
    // Two values that fold to one key; then one of them goes: the key stays, the other
    // value still has it.
    set("mail", &["Fold@contoso.lab", "fold@contoso.lab"]).unwrap();
    assert_eq!(
        hits(host.filter_eq("mail", "FOLD@contoso.lab").await),
        Some(1)
    );
    set("mail", &["fold@contoso.lab"]).unwrap();
    assert_eq!(
        hits(host.filter_eq("mail", "fold@contoso.lab").await),
        Some(1)
    );
    // A change of an attribute not indexed leaves the keys as they were.
    set("sn", &["Folded"]).unwrap();
    assert_eq!(
        hits(host.filter_eq("mail", "fold@contoso.lab").await),
        Some(1)
    );
    // A new value: the old key goes, the new one comes.
    set("mail", &["unfolded@contoso.lab"]).unwrap();
    assert_eq!(
        hits(host.filter_eq("mail", "fold@contoso.lab").await),
        Some(0)
    );
    assert_eq!(
        hits(host.filter_eq("mail", "unfolded@contoso.lab").await),
        Some(1)
    );
}

#[tokio::test]
async fn an_import_applied_page_by_page_neither_resurrects_a_delete_nor_drops_a_create() {
    let host = TestHost::start("live", Profile::inetorgperson()).await;
    let space = host.host.service("LDAP").unwrap().space();
    let id = |r: &Reply| r.body["id"].as_str().unwrap().to_owned();
    let gone = id(&host.post(&entra_create(&host, "gone")).await);
    let kept = id(&host.post(&entra_create(&host, "kept")).await);
    let (gone_entry, kept_entry) = (space.get(&gone).unwrap(), space.get(&kept).unwrap());
    // The import reads the target; meanwhile one user is deleted and another created.
    let mut import = space.begin_import();
    assert_eq!(host.delete(&gone).await.status, 204);
    let made = id(&host.post(&entra_create(&host, "made")).await);
    // The pages it read still hold the deleted user, not the created one; and the kept user
    // with a value changed out of band.
    let mut changed = (*kept_entry).clone();
    changed.attributes.insert(
        "sn".into(),
        vec![scim_proto::value::Scalar::String("Changed".into())],
    );
    space
        .add_page(&mut import, vec![(*gone_entry).clone()])
        .unwrap();
    space.add_page(&mut import, vec![changed]).unwrap();
    // A page that repeats an object names both pages and applies nothing of itself.
    let err = space
        .add_page(&mut import, vec![(*gone_entry).clone()])
        .unwrap_err();
    assert_eq!(err.1, "(pages 1 and 3)");
    assert_eq!(import.len(), 2);
    space.finish_import(import).await;
    assert!(space.get(&gone).is_none(), "the deleted user came back");
    assert!(space.get(&made).is_some(), "the created user was dropped");
    assert_eq!(
        space.get(&kept).unwrap().attributes["sn"],
        [scim_proto::value::Scalar::String("Changed".into())]
    );
    assert_eq!(space.len(), 2);
    // A later import that no longer finds a user removes it. Its table is made for as many
    // objects as the space holds: growing one of a million keys holds the thread for long.
    let mut import = space.begin_import();
    assert!(import.capacity() >= 2, "{}", import.capacity());
    let kept_now = (*space.get(&kept).unwrap()).clone();
    space.add_page(&mut import, vec![kept_now]).unwrap();
    space.finish_import(import).await;
    assert!(space.get(&made).is_none());
    assert_eq!(space.len(), 1);
}

fn patch(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

#[tokio::test]
async fn update_in_the_default_dialect_changes_only_what_was_sent() {
    let host = TestHost::start("patchdef", Profile::inetorgperson()).await;
    let id = host.post(&entra_create(&host, "upd1")).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = host.snapshot().await;
    let r = host
        .patch(
            &id,
            &patch(json!([
                {"op": "Replace", "path": ext("sn"), "value": "Simon-Jones"},
                {"op": "Add", "path": ext("displayName"), "value": "Barbara Simon-Jones"},
                {"op": "Replace", "path": ext("mail"), "value": "bsj@contoso.lab"},
            ])),
        )
        .await;
    assert_eq!(r.status, 200, "{r:#?}");
    assert_eq!(r.ext("sn"), "Simon-Jones");
    let dn = host.dn("upd1");
    assert_eq!(host.probe.values(&dn, "sn").await.unwrap(), ["Simon-Jones"]);
    assert_eq!(
        host.probe.values(&dn, "displayName").await.unwrap(),
        ["Barbara Simon-Jones"]
    );
    assert_eq!(
        host.probe.values(&dn, "mail").await.unwrap(),
        ["bsj@contoso.lab"]
    );
    // Nothing else changed in the directory.
    let after = host.snapshot().await;
    let key = dn.to_ascii_lowercase();
    for (attr, values) in &before[&key] {
        if !["sn", "displayname", "mail"].contains(&attr.as_str()) {
            assert_eq!(after[&key].get(attr), Some(values), "{attr} changed");
        }
    }
    // The old value no longer matches; the new one does; GET agrees.
    assert_eq!(
        host.filter_eq("mail", "upd1@contoso.lab").await.body["totalResults"],
        0
    );
    assert_eq!(
        host.filter_eq("mail", "bsj@contoso.lab").await.body["totalResults"],
        1
    );
    assert_eq!(host.get(&format!("/Users/{}", enc(&id))).await.body, r.body);
}

#[tokio::test]
async fn update_in_the_scim2020_dialect_applies_a_pathless_replace() {
    let host = TestHost::start("patch2020", Profile::inetorgperson()).await;
    let id = host.post(&entra_create(&host, "upd2")).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = host
        .patch(
            &id,
            &patch(json!([{"op": "replace", "value": {
                ext("sn"): "Jones",
                ext("displayName"): "B. Jones",
                ext("objectClass"): ["inetOrgPerson", "ecmaUser"],
            }}])),
        )
        .await;
    assert_eq!(r.status, 200, "{r:#?}");
    let dn = host.dn("upd2");
    assert_eq!(host.probe.values(&dn, "sn").await.unwrap(), ["Jones"]);
    assert_eq!(
        host.probe.values(&dn, "displayName").await.unwrap(),
        ["B. Jones"]
    );
    let mut classes = host.probe.values(&dn, "objectClass").await.unwrap();
    classes.sort();
    assert_eq!(classes, ["ecmaUser", "inetOrgPerson"]);
}

#[tokio::test]
async fn a_patch_that_changes_nothing_does_not_write() {
    let host = TestHost::start("noop", Profile::inetorgperson()).await;
    let id = host.post(&entra_create(&host, "same")).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let dn = host.dn("same");
    let csn = host.probe.values(&dn, "entryCSN").await.unwrap();
    for dialect in [
        patch(json!([{"op": "Replace", "path": ext("sn"), "value": "Simon"}])),
        patch(json!([{"op": "replace", "value": {ext("sn"): "Simon", ext("-dn-"): dn.clone()}}])),
    ] {
        let r = host.patch(&id, &dialect).await;
        assert_eq!(r.status, 200, "{r:#?}");
    }
    assert_eq!(
        host.probe.values(&dn, "entryCSN").await.unwrap(),
        csn,
        "the entry was written"
    );
}

const DISABLE_DEFAULT: &str = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}"#;
const DISABLE_SCIM2020: &str = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}"#;
const ENABLE_DEFAULT: &str = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"True"}]}"#;

#[tokio::test]
async fn disable_with_the_delete_flow_removes_the_entry() {
    let host = TestHost::start("disdel", Profile::inetorgperson()).await;
    for (cn, body) in [("d1", DISABLE_DEFAULT), ("d2", DISABLE_SCIM2020)] {
        let id = host.post(&entra_create(&host, cn)).await.body["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let r = host.patch(&id, &serde_json::from_str(body).unwrap()).await;
        assert_eq!(r.status, 204, "{r:#?}");
        assert!(
            host.probe.entry(&host.dn(cn)).await.is_none(),
            "{cn} is still in the directory"
        );
        assert_eq!(host.filter_eq("cn", cn).await.body["totalResults"], 0);
        assert_eq!(host.get(&format!("/Users/{}", enc(&id))).await.status, 404);
        // Re-enabling means creating again: Entra matches, finds nothing, and POSTs.
        assert_eq!(host.post(&entra_create(&host, cn)).await.status, 201);
    }
}

#[tokio::test]
async fn disable_with_the_none_flow_leaves_the_directory_alone() {
    let host = TestHost::start(
        "disnone",
        Profile::inetorgperson().deprovisioning("\"none\"", "\"none\""),
    )
    .await;
    let id = host.post(&entra_create(&host, "n1")).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = host.snapshot().await;
    let r = host
        .patch(&id, &serde_json::from_str(DISABLE_DEFAULT).unwrap())
        .await;
    assert_eq!(r.status, 200, "{r:#?}");
    assert_eq!(host.snapshot().await, before);
    assert_eq!(
        host.filter_eq("cn", "n1").await.body["totalResults"],
        1,
        "a disabled user is still found"
    );
    // DELETE with the none flow answers 204 and leaves the entry.
    assert_eq!(host.delete(&id).await.status, 204);
    assert_eq!(host.snapshot().await, before);
}

#[tokio::test]
async fn disable_with_set_attribute_value_writes_the_boolean_and_enable_reverses_it() {
    let profile = Profile::inetorgperson().deprovisioning(
        "{ set_attribute = \"ecmaAccountDisabled\", value = true }",
        "\"delete\"",
    );
    let host = TestHost::start("disset", profile).await;
    let mut body = entra_create(&host, "s1");
    body[EXT]["objectClass"] = json!(["inetOrgPerson", "ecmaUser"]);
    let id = host.post(&body).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let dn = host.dn("s1");
    for (disable, expect) in [
        (DISABLE_DEFAULT, "TRUE"),
        (ENABLE_DEFAULT, "FALSE"),
        (DISABLE_SCIM2020, "TRUE"),
    ] {
        let r = host
            .patch(&id, &serde_json::from_str(disable).unwrap())
            .await;
        assert_eq!(r.status, 200, "{r:#?}");
        assert_eq!(
            host.probe.values(&dn, "ecmaAccountDisabled").await.unwrap(),
            [expect]
        );
        assert_eq!(r.body["active"], expect == "FALSE");
        assert_eq!(
            r.body[EXT].get("ecmaAccountDisabled"),
            None,
            "the deprovisioning attribute is not exposed"
        );
    }
    // Disabled, the user is still returned (Entra would otherwise create a duplicate).
    let found = host.filter_eq("cn", "s1").await;
    assert_eq!(found.body["totalResults"], 1);
    assert_eq!(found.body["Resources"][0]["active"], false);
    // The delete flow is independent: DELETE removes the entry.
    assert_eq!(host.delete(&id).await.status, 204);
    assert!(host.probe.entry(&dn).await.is_none());
}

#[tokio::test]
async fn delete_removes_the_entry_and_only_that_entry() {
    let host = TestHost::start("delete", Profile::inetorgperson()).await;
    let id = host.post(&entra_create(&host, "bob")).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    host.post(&entra_create(&host, "bob2")).await;
    let r = host.delete(&id).await;
    assert_eq!(r.status, 204, "{r:#?}");
    assert_eq!(r.body, Value::Null);
    assert!(host.probe.entry(&host.dn("bob")).await.is_none());
    assert!(
        host.probe.entry(&host.dn("bob2")).await.is_some(),
        "a neighbour was touched"
    );
    host.get(&format!("/Users/{}", enc(&id)))
        .await
        .assert_error(404, None);
    host.delete(&id).await.assert_error(404, None);
    assert_eq!(host.filter_eq("cn", "bob").await.body["totalResults"], 0);
    // After a delete the same user can be created again.
    assert_eq!(host.post(&entra_create(&host, "bob")).await.status, 201);
}

#[tokio::test]
async fn posix_users_get_every_class_and_attribute_of_the_seed_ldif() {
    let host = TestHost::start("posix", Profile::posix()).await;
    let dn = host.dn("bsimon");
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", EXT],
        EXT: {
            "-dn-": dn,
            "objectClass": ["inetOrgPerson", "posixAccount", "shadowAccount"],
            "cn": "bsimon",
            "gidNumber": "10000",
            "homeDirectory": "/home/bsimon",
            "sn": "simon",
            "uid": "bsimon",
            "uidNumber": 10011,
            "mail": "bsimon@contoso.com",
            "export_password": "initial-password",
        }
    });
    let r = host.post(&body).await;
    assert_eq!(r.status, 201, "{r:#?}");
    let entry = host.probe.entry(&dn).await.unwrap();
    let mut classes = entry.attrs["objectClass"].clone();
    classes.sort();
    assert_eq!(classes, ["inetOrgPerson", "posixAccount", "shadowAccount"]);
    assert_eq!(entry.attrs["uidNumber"], ["10011"]);
    assert_eq!(entry.attrs["gidNumber"], ["10000"]);
    assert_eq!(entry.attrs["homeDirectory"], ["/home/bsimon"]);
    assert_eq!(entry.attrs["uid"], ["bsimon"]);
    // export_password set the password by a second call and is not an attribute.
    assert!(
        host.probe
            .can_bind(host.slapd, &dn, "initial-password")
            .await
    );
    assert!(
        !entry
            .attrs
            .keys()
            .any(|k| k.eq_ignore_ascii_case("export_password"))
    );
    // Integers come back typed; the posix schema declares them multi-valued.
    assert_eq!(r.ext("uidNumber"), &json!([10011]));
    assert!(r.body[EXT].get("export_password").is_none());
}

#[tokio::test]
async fn an_entry_uuid_anchor_makes_the_entry_uuid_the_id() {
    let host = TestHost::start("uuid", Profile::inetorgperson().anchor("entryUUID")).await;
    let r = host.post(&entra_create(&host, "u1")).await;
    assert_eq!(r.status, 201, "{r:#?}");
    let uuid = host
        .probe
        .values(&host.dn("u1"), "entryUUID")
        .await
        .unwrap();
    assert_eq!(r.body["id"], uuid[0].as_str());
    let got = host.get(&format!("/Users/{}", uuid[0])).await;
    assert_eq!(got.ext("cn"), "u1");
    // The id survives a change of the matching attribute, and a re-import.
    host.patch(
        &uuid[0],
        &patch(json!([{"op": "Replace", "path": ext("mail"), "value": "new@x"}])),
    )
    .await;
    host.host.import_all().await.unwrap();
    assert_eq!(
        host.get(&format!("/Users/{}", uuid[0])).await.ext("mail"),
        "new@x"
    );
}

#[tokio::test]
async fn full_import_pages_past_the_directory_size_limit() {
    // The connector's account may read 3 entries per search; a full import of 7 only works if
    // it pages (page_size 2 in the test profile).
    let (ou, probe) = new_ou("import").await;
    for i in 0..7 {
        let dn = format!("cn=seed{i},{ou}");
        probe
            .add(
                &dn,
                &[
                    ("objectClass", &["inetOrgPerson"]),
                    ("sn", &["Seed"]),
                    ("mail", &[&format!("seed{i}@x")]),
                ],
            )
            .await
            .success()
            .unwrap();
    }
    // Objects of other classes are not users and are not imported.
    probe.add_ou(&format!("ou=nested,{ou}")).await;
    // The limit is real: an unpaged search by the connector's account stops at 3.
    let (conn, mut service) = ldap3::LdapConnAsync::new(&crate::slapd::slapd().await.url)
        .await
        .unwrap();
    tokio::spawn(async move { conn.drive().await });
    service
        .simple_bind(crate::slapd::SERVICE_DN, crate::slapd::SERVICE_PASSWORD)
        .await
        .unwrap()
        .success()
        .unwrap();
    let unpaged = service
        .search(
            &ou,
            ldap3::Scope::Subtree,
            "(objectClass=inetOrgPerson)",
            vec!["1.1"],
        )
        .await
        .unwrap();
    assert_eq!(
        (unpaged.1.rc, unpaged.0.len()),
        (4, 3),
        "sizeLimitExceeded after 3 entries"
    );
    let host = TestHost::start_in(ou, probe, Profile::inetorgperson(), "").await;
    assert_eq!(host.host.service("LDAP").unwrap().space().len(), 7);
    for i in 0..7 {
        assert_eq!(
            host.filter_eq("mail", &format!("seed{i}@x")).await.body["totalResults"],
            1
        );
    }
    // Paged listing walks the connector space once.
    let mut seen = Vec::new();
    for start in [1, 4, 7] {
        let page = host
            .get(&format!("/Users?startIndex={start}&count=3"))
            .await;
        assert_eq!(page.body["totalResults"], 7);
        assert_eq!(page.body["startIndex"], start);
        for r in page.body["Resources"].as_array().unwrap() {
            seen.push(r["id"].as_str().unwrap().to_owned());
        }
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 7);
    // Out-of-band changes show after the next import, not before.
    let dn = format!("cn=seed0,{}", host.ou);
    host.probe.replace(&dn, "mail", &["changed@x"]).await;
    host.probe.delete(&format!("cn=seed1,{}", host.ou)).await;
    assert_eq!(
        host.filter_eq("mail", "changed@x").await.body["totalResults"],
        0
    );
    host.host.import_all().await.unwrap();
    assert_eq!(
        host.filter_eq("mail", "changed@x").await.body["totalResults"],
        1
    );
    assert_eq!(
        host.filter_eq("mail", "seed1@x").await.body["totalResults"],
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_updates_of_different_attributes_all_stay() {
    let host = TestHost::start("concurrent", Profile::inetorgperson()).await;
    let id = host.post(&entra_create(&host, "c1")).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for round in 0..5 {
        let (sn, display) = (format!("Sn{round}"), format!("Display {round}"));
        let a = patch(json!([{"op": "Replace", "path": ext("sn"), "value": sn}]));
        let b = patch(json!([{"op": "Replace", "path": ext("displayName"), "value": display}]));
        let (ra, rb) = tokio::join!(host.patch(&id, &a), host.patch(&id, &b));
        assert_eq!((ra.status, rb.status), (200, 200));
        let got = host.get(&format!("/Users/{}", enc(&id))).await;
        assert_eq!(
            (got.ext("sn"), got.ext("displayName")),
            (&json!(sn), &json!(display)),
            "round {round}"
        );
        let dn = host.dn("c1");
        assert_eq!(host.probe.values(&dn, "sn").await.unwrap(), [sn]);
        assert_eq!(
            host.probe.values(&dn, "displayName").await.unwrap(),
            [display]
        );
    }
}
