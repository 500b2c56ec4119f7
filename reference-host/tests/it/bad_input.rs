//! Bad input: each gets a SCIM Error with the right status and `scimType`, and the directory is
//! left exactly as it was (compared entry by entry through the probe).

use serde_json::{Value, json};

use crate::lifecycle::entra_create;
use crate::support::{EXT, Profile, TOKEN, TestHost, enc, entra_url_form, ext, send};

fn patch(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

/// Runs `request` and checks the answer and that the OU did not change.
macro_rules! refused_without_change {
    ($host:expr, $status:expr, $scim_type:expr, $request:expr) => {{
        let before = $host.snapshot().await;
        let reply = $request.await;
        reply.assert_error($status, $scim_type);
        assert_eq!(
            $host.snapshot().await,
            before,
            "the directory changed after {reply:#?}"
        );
        reply
    }};
}

#[tokio::test]
async fn malformed_bodies_are_refused() {
    let host = TestHost::start("badjson", Profile::inetorgperson()).await;
    let r = refused_without_change!(
        host,
        400,
        Some("invalidSyntax"),
        host.send(
            "POST",
            "/Users",
            Some("{\"schemas\": [".into()),
            Some(TOKEN),
            "application/scim+json"
        )
    );
    assert!(r.detail().contains("line 1"), "{r:#?}");
    refused_without_change!(
        host,
        415,
        None,
        host.send(
            "POST",
            "/Users",
            Some("{}".into()),
            Some(TOKEN),
            "text/plain"
        )
    );
    let huge = format!("{{\"x\": \"{}\"}}", "a".repeat(1024 * 1024 + 1));
    refused_without_change!(
        host,
        413,
        None,
        host.send(
            "POST",
            "/Users",
            Some(huge),
            Some(TOKEN),
            "application/scim+json"
        )
    );
    // application/json is served like application/scim+json.
    let ok = host
        .send(
            "POST",
            "/Users",
            Some(entra_create(&host, "json").to_string()),
            Some(TOKEN),
            "application/json",
        )
        .await;
    assert_eq!(ok.status, 201, "{ok:#?}");
}

#[tokio::test]
async fn unknown_attributes_and_wrong_types_are_refused() {
    let host = TestHost::start("badattr", Profile::inetorgperson()).await;
    let mut body = entra_create(&host, "x1");
    body[EXT]["telephoneNumber"] = json!("555");
    let r = refused_without_change!(host, 400, Some("invalidValue"), host.post(&body));
    assert!(
        r.detail().contains("telephoneNumber") && r.detail().contains("mail"),
        "{r:#?}"
    );
    let mut body = entra_create(&host, "x2");
    body[EXT]["mail"] = json!(["a@x", "b@x"]);
    let r = refused_without_change!(host, 400, Some("invalidValue"), host.post(&body));
    assert!(r.detail().contains("expected a single string"), "{r:#?}");
    let mut body = entra_create(&host, "x3");
    body[EXT]["sn"] = json!({"value": "Simon"});
    refused_without_change!(host, 400, Some("invalidValue"), host.post(&body));
    // `active` is boolean: only true/false and "True"/"False" are.
    let mut body = entra_create(&host, "x4");
    body["active"] = json!("maybe");
    refused_without_change!(host, 400, Some("invalidValue"), host.post(&body));
    let id = host.post(&entra_create(&host, "x5")).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    refused_without_change!(
        host,
        400,
        Some("invalidValue"),
        host.patch(
            &id,
            &patch(json!([{"op": "Replace", "path": "active", "value": "no"}]))
        )
    );
}

#[tokio::test]
async fn filters_are_parsed_strictly_and_values_never_reach_ldap_as_syntax() {
    let host = TestHost::start("badfilter", Profile::inetorgperson()).await;
    let mut body = entra_create(&host, "star");
    body[EXT]["mail"] = json!("a*b@x");
    assert_eq!(host.post(&body).await.status, 201);
    host.post(&entra_create(&host, "other")).await;
    for bad in [
        "mail eq",
        "mail xx \"a\"",
        "(mail eq \"a\"",
        "mail eq \"a\" garbage",
        "meta.created gt \"2020\"",
    ] {
        let r = host
            .get(&format!("/Users?filter={}", entra_url_form(bad)))
            .await;
        r.assert_error(400, Some("invalidFilter"));
    }
    for (value, expected) in [
        ("*", 0),
        ("*)(uid=*", 0),
        ("a*b@x", 1),
        ("a\\\\b", 0),
        ("a\\u0000b", 0),
        ("*@contoso.lab", 0),
    ] {
        let query = format!("{} eq \"{value}\"", ext("mail"));
        let r = host
            .get(&format!("/Users?filter={}", entra_url_form(&query)))
            .await;
        assert_eq!(
            (r.status, r.body["totalResults"].as_u64()),
            (200, Some(expected)),
            "{value}: {r:#?}"
        );
    }
}

#[tokio::test]
async fn dns_with_special_characters_are_escaped_not_split() {
    let host = TestHost::start("dnesc", Profile::inetorgperson()).await;
    let dn = format!(r#"cn=Simon\, Barbara \"Babs\"+uid=b\=s,{}"#, host.ou);
    let mut body = entra_create(&host, "ignored");
    body[EXT]["-dn-"] = json!(dn);
    body[EXT]["cn"] = json!("Simon, Barbara \"Babs\"");
    let r = host.post(&body).await;
    assert_eq!(r.status, 201, "{r:#?}");
    let id = r.body["id"].as_str().unwrap().to_owned();
    let entry = host
        .probe
        .entry(&id)
        .await
        .expect("the entry is where the escaped DN says");
    assert_eq!(entry.attrs["cn"], ["Simon, Barbara \"Babs\""]);
    assert_eq!(entry.attrs["uid"], ["b=s"]);
    // The id carries DN syntax and works percent-encoded.
    assert_eq!(host.get(&format!("/Users/{}", enc(&id))).await.status, 200);
    assert_eq!(host.delete(&id).await.status, 204);
    assert!(host.probe.entry(&id).await.is_none());
}

#[tokio::test]
async fn dns_that_cannot_be_used_are_refused_before_the_directory_sees_them() {
    let host = TestHost::start("baddn", Profile::inetorgperson()).await;
    for (dn, needle) in [
        ("bsimon@contoso.com", "not an LDAP distinguished name"),
        (
            "cn=outside,dc=elsewhere,dc=lab",
            "not beneath the connector's partition",
        ),
    ] {
        let mut body = entra_create(&host, "x");
        body[EXT]["-dn-"] = json!(dn);
        let r = refused_without_change!(host, 400, Some("invalidValue"), host.post(&body));
        assert!(r.detail().contains(needle), "{r:#?}");
    }
    let mut body = entra_create(&host, "x");
    body[EXT].as_object_mut().unwrap().remove("-dn-");
    let r = refused_without_change!(host, 400, Some("invalidValue"), host.post(&body));
    assert!(r.detail().contains("-dn- is required"), "{r:#?}");
    // A missing container is named, and not created.
    let mut body = entra_create(&host, "x");
    let missing = format!("ou=Missing,{}", host.ou);
    body[EXT]["-dn-"] = json!(format!("cn=x,{missing}"));
    let r = refused_without_change!(host, 400, Some("invalidValue"), host.post(&body));
    assert!(
        r.detail().contains(&format!("{missing:?} does not exist")),
        "{r:#?}"
    );
}

#[tokio::test]
async fn the_directory_s_own_refusals_carry_its_message() {
    let host = TestHost::start("schemaviol", Profile::inetorgperson()).await;
    let mut body = entra_create(&host, "noclass");
    body[EXT]["objectClass"] = json!(["inetOrgPerson", "noSuchClass"]);
    let r = refused_without_change!(host, 400, Some("invalidValue"), host.post(&body));
    assert!(
        r.detail().contains("LDAP 21") || r.detail().contains("LDAP 65"),
        "{r:#?}"
    );
    let mut body = entra_create(&host, "nosn");
    body[EXT].as_object_mut().unwrap().remove("sn");
    let r = refused_without_change!(host, 400, Some("invalidValue"), host.post(&body));
    assert!(
        r.detail().contains("LDAP 65 (objectClassViolation)") && r.detail().contains("sn"),
        "{r:#?}"
    );
}

#[tokio::test]
async fn duplicates_get_409_and_one_entry() {
    let host = TestHost::start("dup", Profile::inetorgperson()).await;
    assert_eq!(host.post(&entra_create(&host, "dup")).await.status, 201);
    let r = refused_without_change!(
        host,
        409,
        Some("uniqueness"),
        host.post(&entra_create(&host, "dup"))
    );
    assert!(r.detail().contains("LDAP 68"), "{r:#?}");
    // Also when the entry was made out of band and the host has not imported it yet.
    host.probe
        .add(
            &host.dn("oob"),
            &[("objectClass", &["inetOrgPerson"]), ("sn", &["X"])],
        )
        .await
        .success()
        .unwrap();
    refused_without_change!(
        host,
        409,
        Some("uniqueness"),
        host.post(&entra_create(&host, "oob"))
    );
    // Concurrent identical creates: exactly one wins.
    let body = entra_create(&host, "race");
    let replies = futures_util::future::join_all((0..8).map(|_| host.post(&body))).await;
    let mut statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    statuses.sort();
    assert_eq!(statuses, [201, 409, 409, 409, 409, 409, 409, 409]);
}

#[tokio::test]
async fn unknown_ids_and_connectors_are_404() {
    let host = TestHost::start("unknown", Profile::inetorgperson()).await;
    let id = enc(&host.dn("nobody"));
    refused_without_change!(host, 404, None, host.get(&format!("/Users/{id}")));
    refused_without_change!(
        host,
        404,
        None,
        host.call(
            "PATCH",
            &format!("/Users/{id}"),
            Some(&patch(
                json!([{"op": "Replace", "path": ext("sn"), "value": "x"}])
            ))
        )
    );
    refused_without_change!(
        host,
        404,
        None,
        host.call("DELETE", &format!("/Users/{id}"), None)
    );
    for path in [
        "/ecma2host_ldap/scim/Users",
        "/ecma2host_LDAPX/scim/Users",
        "/scim/Users",
        "/ecma2host_LDAP/Users",
    ] {
        let r = send(
            &host.app,
            "GET",
            &format!("{path}?filter=PLACEHOLDER+eq+%22x%22"),
            None,
            Some(TOKEN),
            "",
        )
        .await;
        r.assert_error(404, None);
        assert!(r.detail().contains("invalid resource"), "{r:#?}");
    }
    host.get("/Groups").await.assert_error(501, None);
    host.call("PUT", &format!("/Users/{id}"), Some(&json!({})))
        .await
        .assert_error(501, None);
    host.get("/Nothing").await.assert_error(404, None);
}

#[tokio::test]
async fn missing_or_wrong_tokens_get_401_everywhere() {
    let host = TestHost::start("auth", Profile::inetorgperson()).await;
    let id = host.post(&entra_create(&host, "a1")).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let paths = [
        "/Users?filter=PLACEHOLDER+eq+%22x%22",
        &format!("/Users/{}", enc(&id)),
        "/Schemas",
        "/ResourceTypes",
        "/ServiceProviderConfig",
        "/cache",
    ];
    let truncated = &TOKEN[..TOKEN.len() - 1];
    let upper = TOKEN.to_uppercase();
    for token in [
        None,
        Some("wrong-token-0123456789"),
        Some(truncated),
        Some(upper.as_str()),
        Some(""),
    ] {
        for path in paths {
            let r = host.send("GET", path, None, token, "").await;
            r.assert_error(401, None);
            assert!(r.body.get("Resources").is_none() && r.body.get("id").is_none());
        }
        refused_without_change!(
            host,
            401,
            None,
            host.send(
                "POST",
                "/Users",
                Some(entra_create(&host, "a2").to_string()),
                token,
                "application/scim+json"
            )
        );
        refused_without_change!(
            host,
            401,
            None,
            host.send("DELETE", &format!("/Users/{}", enc(&id)), None, token, "")
        );
    }
}

#[tokio::test]
async fn patches_that_cannot_apply_change_nothing() {
    let host = TestHost::start("badpatch", Profile::inetorgperson()).await;
    let id = host.post(&entra_create(&host, "p1")).await.body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Renaming is not supported: -dn- is create-only.
    let r = refused_without_change!(
        host,
        400,
        Some("mutability"),
        host.patch(
            &id,
            &patch(json!([{"op": "Replace", "path": ext("-dn-"), "value": host.dn("p2")}]))
        )
    );
    assert!(r.detail().contains("set on create only"), "{r:#?}");
    // Attributes the connector does not expose, including Entra's value paths.
    refused_without_change!(
        host,
        400,
        Some("invalidPath"),
        host.patch(
            &id,
            &patch(
                json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "x@y"}])
            )
        )
    );
    refused_without_change!(
        host,
        400,
        Some("invalidPath"),
        host.patch(
            &id,
            &patch(json!([{"op": "Replace", "path": "userName", "value": "x"}]))
        )
    );
    // All or nothing: a good operation next to a bad one is not applied.
    refused_without_change!(
        host,
        400,
        Some("invalidPath"),
        host.patch(
            &id,
            &patch(json!([
                {"op": "Replace", "path": ext("sn"), "value": "Changed"},
                {"op": "Replace", "path": ext("nonexistent"), "value": "x"},
            ]))
        )
    );
    refused_without_change!(host, 400, Some("invalidValue"), host.patch(&id, &patch(json!([
        {"op": "Replace", "path": ext("sn"), "value": "Changed"},
        {"op": "Replace", "path": ext("objectClass"), "value": ["inetOrgPerson", "noSuchClass"]},
    ]))));
    refused_without_change!(
        host,
        400,
        Some("noTarget"),
        host.patch(&id, &patch(json!([{"op": "remove"}])))
    );
    refused_without_change!(
        host,
        400,
        Some("invalidSyntax"),
        host.patch(&id, &patch(json!([{"op": "move", "path": "x"}])))
    );
    // Removing a MUST attribute is the directory's to refuse, with its message.
    let r = refused_without_change!(
        host,
        400,
        Some("invalidValue"),
        host.patch(&id, &patch(json!([{"op": "Remove", "path": ext("sn")}])))
    );
    assert!(r.detail().contains("LDAP 65"), "{r:#?}");
}

#[tokio::test]
async fn an_unreachable_target_gives_503_and_the_host_keeps_answering() {
    let (ou, probe) = crate::support::new_ou("down").await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let text = crate::support::config_text(
        &format!("ldap://127.0.0.1:{closed}"),
        &ou,
        &Profile::inetorgperson(),
        "timeout_seconds = 2",
    );
    let host = reference_host::Host::new(crate::support::config(&text), std::path::Path::new("."))
        .unwrap();
    assert!(host.import_all().await.is_err());
    let app = host.app();
    let r = send(
        &app,
        "GET",
        "/ecma2host_LDAP/scim/Users?filter=PLACEHOLDER+eq+%22x%22",
        None,
        Some(TOKEN),
        "",
    )
    .await;
    r.assert_error(503, None);
    assert!(r.detail().contains("currently importing"), "{r:#?}");
    // Once the space is ready, writes to the unreachable target answer 503 and write nothing.
    host.service("LDAP")
        .unwrap()
        .space()
        .import(Vec::new())
        .await
        .unwrap();
    let before = probe.snapshot(&ou).await;
    let body = json!({"schemas": [EXT], EXT: {"-dn-": format!("cn=x,{ou}"), "cn": "x", "sn": "x"}});
    let r = send(
        &app,
        "POST",
        "/ecma2host_LDAP/scim/Users",
        Some(body.to_string()),
        Some(TOKEN),
        "application/scim+json",
    )
    .await;
    r.assert_error(503, None);
    assert!(!r.detail().contains(crate::slapd::SERVICE_PASSWORD));
    assert_eq!(probe.snapshot(&ou).await, before);
}
