//! Resources and messages: each RFC and Entra example reads into its type and writes back to
//! the same JSON.

use rstest::rstest;
use scim_proto::schema::{ResourceType, Schema, ServiceProviderConfig};
use scim_proto::{ErrorResponse, Group, ListResponse, ScimType, User, urn};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::{fixture, fixtures_in};

/// Reads `name` as `T`, writes it back and checks nothing was lost or added.
fn round_trip<T: DeserializeOwned + Serialize>(name: &str) -> T {
    let text = fixture(name);
    let parsed: T = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let original: Value = serde_json::from_str(&text).unwrap();
    let written = serde_json::to_value(&parsed).unwrap();
    assert_eq!(written, original, "{name} did not survive a round trip");
    parsed
}

#[rstest]
#[case::minimal("rfc/rfc7643-8.1-minimal-user.json")]
#[case::full("rfc/rfc7643-8.2-full-user.json")]
#[case::enterprise("rfc/rfc7643-8.3-enterprise-user.json")]
#[case::entra_create("entra/create-user.json")]
#[case::entra_created("entra/created-user-response.json")]
#[case::ecma_create("entra/ecma-create-user.json")]
fn users_round_trip(#[case] name: &str) {
    let user: User = round_trip(name);
    assert!(user.has_schema(urn::CORE_USER), "{name}");
}

#[test]
fn the_full_user_reads_every_rfc_member_into_its_field() {
    let u: User = round_trip("rfc/rfc7643-8.2-full-user.json");
    assert_eq!(u.name.unwrap().honorific_suffix.as_deref(), Some("III"));
    let emails = u.emails.unwrap();
    assert_eq!(emails[0].kind.as_deref(), Some("work"));
    assert_eq!(emails[0].primary, Some(true));
    assert_eq!(
        u.addresses.unwrap()[1].street_address.as_deref(),
        Some("456 Hollywood Blvd")
    );
    assert_eq!(u.groups.unwrap().len(), 3);
    assert_eq!(u.password.as_deref(), Some("t1meMa$heen"));
    assert_eq!(
        u.meta.unwrap().version.as_deref(),
        Some("W/\"a330bc54f0671c9\"")
    );
    assert!(
        u.other.is_empty(),
        "unmodelled members: {:?}",
        u.other.keys()
    );
}

#[test]
fn the_enterprise_extension_reads_as_its_type() {
    let u: User = round_trip("rfc/rfc7643-8.3-enterprise-user.json");
    let e = u.enterprise.unwrap();
    assert_eq!(e.cost_center.as_deref(), Some("4130"));
    assert_eq!(
        e.manager.unwrap().display_name.as_deref(),
        Some("John Smith")
    );
}

#[test]
fn the_ecma_extension_keeps_target_names_and_order() {
    let u: User = round_trip("entra/ecma-create-user.json");
    let ext = u.ecma2host.unwrap();
    let keys: Vec<&str> = ext.0.keys().map(String::as_str).collect();
    assert_eq!(keys[..3], ["-dn-", "objectClass", "cn"]);
    assert_eq!(
        ext.get("OBJECTCLASS"),
        Some(&json!(["inetOrgPerson", "posixAccount", "shadowAccount"]))
    );
    assert_eq!(ext.get("uidNumber"), Some(&json!("10011")));
}

#[test]
fn entra_create_keeps_roles_and_meta() {
    let u: User = round_trip("entra/create-user.json");
    assert_eq!(u.active, Some(true));
    assert_eq!(u.roles, Some(vec![]));
    assert_eq!(u.meta.unwrap().resource_type.as_deref(), Some("User"));
}

#[test]
fn historical_entra_bodies_with_nulls_still_read() {
    // Reconstructed from the research note (§1.5): explicit nulls for lists and scalars, and the
    // historical typo in the enterprise URN, which must not stop the body from reading.
    let u: User =
        serde_json::from_str(&fixture("entra/create-user-historical-nulls.json")).unwrap();
    assert_eq!((u.addresses, u.phone_numbers), (None, None));
    assert_eq!(u.title, None);
    assert_eq!(u.other.get("manager"), Some(&Value::Null));
}

#[test]
fn active_accepts_the_strings_entra_sends() {
    let u: User =
        serde_json::from_value(json!({"schemas": [urn::CORE_USER], "active": "True"})).unwrap();
    assert_eq!(u.active, Some(true));
    let e = serde_json::from_value::<User>(json!({"active": "maybe"})).unwrap_err();
    assert!(e.to_string().contains("\"True\"/\"False\""), "{e}");
}

#[test]
fn top_level_urn_keys_are_kept_in_order() {
    let key = format!("{}:sn", urn::ECMA2HOST_USER);
    let u: User =
        serde_json::from_value(json!({"schemas": [urn::CORE_USER], key.clone(): "Simon", "zz": 1}))
            .unwrap();
    assert_eq!(u.other.keys().collect::<Vec<_>>(), [&key, &"zz".to_owned()]);
}

#[rstest]
#[case::rfc("rfc/rfc7643-8.4-group.json")]
#[case::entra("entra/create-group.json")]
fn groups_round_trip(#[case] name: &str) {
    let g: Group = round_trip(name);
    assert!(g.display_name.is_some());
}

#[test]
fn discovery_documents_read() {
    let spc: ServiceProviderConfig = round_trip("rfc/rfc7643-8.5-service-provider-config.json");
    assert!(spc.patch.supported);
    assert_eq!(spc.bulk.max_payload_size, 1_048_576);
    assert_eq!(spc.authentication_schemes[0].kind, "oauthbearertoken");
    let types: Vec<ResourceType> = round_trip("rfc/rfc7643-8.6-resource-types.json");
    assert_eq!(types[0].endpoint, "/Users");
    assert!(types[0].schema_extensions[0].required);
    // The RFC omits caseExact and uniqueness on complex attributes, so only reading is checked.
    let schema: Schema =
        serde_json::from_str(&fixture("rfc/rfc7643-8.7.2-enterprise-schema.json")).unwrap();
    assert_eq!(
        schema.attributes[2].sub_attributes[1].reference_types,
        ["User"]
    );
}

#[rstest]
#[case::zero("entra/list-zero.json", 0)]
#[case::one("entra/list-one.json", 1)]
fn list_responses_round_trip(#[case] name: &str, #[case] total: u64) {
    let list: ListResponse<User> = round_trip(name);
    assert_eq!(list.total_results, total);
    assert_eq!(list.resources.len() as u64, total);
}

#[test]
fn an_empty_page_still_writes_resources() {
    let page = ListResponse::<User>::page(vec![], 0, 1);
    let v = serde_json::to_value(page).unwrap();
    assert_eq!(v["Resources"], json!([]));
    assert_eq!(v["totalResults"], json!(0));
    assert_eq!(v["schemas"], json!([urn::LIST_RESPONSE]));
}

#[test]
fn errors_write_status_as_a_string_and_read_either() {
    let e: ErrorResponse = round_trip("entra/error-404.json");
    assert_eq!(e.status, 404);
    let e: ErrorResponse = round_trip("rfc/rfc7644-3.12-error-409.json");
    assert_eq!(e.scim_type, Some(ScimType::Mutability));
    let n: ErrorResponse =
        serde_json::from_value(json!({"schemas": [urn::ERROR], "status": 409})).unwrap();
    assert_eq!(serde_json::to_value(n).unwrap()["status"], json!("409"));
}

#[test]
fn every_resource_fixture_is_exercised() {
    // A new fixture must be added to a case above (or to patches.rs); this keeps the list honest.
    let covered = [
        "rfc/rfc7643-8.1-minimal-user.json",
        "rfc/rfc7643-8.2-full-user.json",
        "rfc/rfc7643-8.3-enterprise-user.json",
        "rfc/rfc7643-8.4-group.json",
        "rfc/rfc7643-8.5-service-provider-config.json",
        "rfc/rfc7643-8.6-resource-types.json",
        "rfc/rfc7643-8.7.2-enterprise-schema.json",
        "rfc/rfc7644-3.12-error-409.json",
        "entra/create-user.json",
        "entra/create-user-historical-nulls.json",
        "entra/created-user-response.json",
        "entra/ecma-create-user.json",
        "entra/create-group.json",
        "entra/list-zero.json",
        "entra/list-one.json",
        "entra/error-404.json",
    ];
    let patches = crate::patches::COVERED;
    for name in fixtures_in("rfc").into_iter().chain(fixtures_in("entra")) {
        assert!(
            covered.contains(&name.as_str()) || patches.contains(&name.as_str()),
            "fixture {name} is not used by any test"
        );
    }
}
