//! PATCH bodies from RFC 7644 §3.5.2 and from Entra in both dialects, normalised.

use rstest::rstest;
use scim_proto::{PatchOperation, PatchRequest, urn};
use serde_json::Value;

use crate::fixture;

/// Fixtures this module reads (see `resources::every_resource_fixture_is_exercised`).
pub const COVERED: &[&str] = &[
    "rfc/rfc7644-3.5.2.1-add-member.json",
    "rfc/rfc7644-3.5.2.1-add-pathless.json",
    "rfc/rfc7644-3.5.2.2-remove-member.json",
    "rfc/rfc7644-3.5.2.2-remove-all-members.json",
    "rfc/rfc7644-3.5.2.2-remove-filtered-emails.json",
    "rfc/rfc7644-3.5.2.2-remove-then-add.json",
    "rfc/rfc7644-3.5.2.3-replace-members.json",
    "rfc/rfc7644-3.5.2.3-replace-work-address.json",
    "rfc/rfc7644-3.5.2.3-replace-street.json",
    "rfc/rfc7644-3.5.2.3-replace-pathless.json",
    "entra/patch-multi-valued.json",
    "entra/patch-single-valued.json",
    "entra/disable-tutorial.json",
    "entra/disable-default.json",
    "entra/disable-scim2020.json",
    "entra/add-single-default.json",
    "entra/add-single-scim2020.json",
    "entra/replace-many-default.json",
    "entra/replace-many-scim2020.json",
    "entra/remove-member-default.json",
    "entra/remove-member-scim2020.json",
    "entra/add-members.json",
    "entra/manager-add.json",
    "entra/roles-add.json",
    "entra/group-replace-displayname.json",
    "entra/ecma-replace-many-default.json",
    "entra/ecma-replace-many-scim2020.json",
];

fn normalize(name: &str) -> Vec<PatchOperation> {
    let req: PatchRequest =
        serde_json::from_str(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    // The body must also survive a round trip through the wire types.
    let again: PatchRequest = serde_json::from_value(serde_json::to_value(&req).unwrap()).unwrap();
    assert_eq!(again, req);
    req.normalize().unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// `op target` plus ` = value` when there is one: one line per operation.
fn lines(ops: &[PatchOperation]) -> Vec<String> {
    ops.iter()
        .map(|o| match &o.value {
            Some(v) => format!("{} {} = {}", o.op, o.target, compact(v)),
            None => format!("{} {}", o.op, o.target),
        })
        .collect()
}

fn compact(v: &Value) -> String {
    match v {
        Value::Array(a) => format!("[{} values]", a.len()),
        Value::Object(_) => "{…}".into(),
        v => v.to_string(),
    }
}

#[rstest]
#[case::add_member("rfc/rfc7644-3.5.2.1-add-member.json", &["add members = [1 values]"])]
#[case::add_pathless("rfc/rfc7644-3.5.2.1-add-pathless.json", &["add emails = [1 values]", "add nickname = \"Babs\""])]
#[case::remove_member("rfc/rfc7644-3.5.2.2-remove-member.json", &["remove members[value eq \"2819c223-7f76-453a-919d-413861904646\"]"])]
#[case::remove_all("rfc/rfc7644-3.5.2.2-remove-all-members.json", &["remove members"])]
#[case::remove_filtered("rfc/rfc7644-3.5.2.2-remove-filtered-emails.json", &["remove emails[type eq \"work\" and value ew \"example.com\"]"])]
#[case::remove_then_add("rfc/rfc7644-3.5.2.2-remove-then-add.json", &["remove members[value eq \"2819c223...919d-413861904646\"]", "add members = [1 values]"])]
#[case::replace_members("rfc/rfc7644-3.5.2.3-replace-members.json", &["replace members = [2 values]"])]
#[case::replace_address("rfc/rfc7644-3.5.2.3-replace-work-address.json", &["replace addresses[type eq \"work\"] = {…}"])]
#[case::replace_street("rfc/rfc7644-3.5.2.3-replace-street.json", &["replace addresses[type eq \"work\"].streetAddress = \"1111 Broadway Ave\""])]
#[case::replace_pathless("rfc/rfc7644-3.5.2.3-replace-pathless.json", &["replace emails = [2 values]", "replace nickname = \"Babs\""])]
#[case::entra_multi("entra/patch-multi-valued.json", &["replace emails[type eq \"work\"].value = \"updatedEmail@microsoft.com\"", "replace name.familyName = \"updatedFamilyName\""])]
#[case::entra_single("entra/patch-single-valued.json", &["replace userName = \"5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com\""])]
#[case::disable_tutorial("entra/disable-tutorial.json", &["replace active = false"])]
#[case::disable_default("entra/disable-default.json", &["replace active = false"])]
#[case::disable_scim2020("entra/disable-scim2020.json", &["replace active = false"])]
#[case::add_default("entra/add-single-default.json", &["add nickName = \"Babs\""])]
#[case::add_scim2020("entra/add-single-scim2020.json", &["add nickName = \"Babs\""])]
#[case::remove_member_default("entra/remove-member-default.json", &["remove members = [1 values]"])]
#[case::remove_member_scim2020("entra/remove-member-scim2020.json", &["remove members[value eq \"7f4bc1a3-285e-48ae-8202-5accb43efb0e\"]"])]
#[case::add_members("entra/add-members.json", &["add members = [1 values]"])]
#[case::manager("entra/manager-add.json", &["add manager = [1 values]"])]
#[case::roles("entra/roles-add.json", &["add roles = [1 values]"])]
#[case::group_rename("entra/group-replace-displayname.json", &["replace displayName = \"1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName\""])]
fn bodies_normalise(#[case] name: &str, #[case] expected: &[&str]) {
    assert_eq!(lines(&normalize(name)), expected, "{name}");
}

#[test]
fn replace_many_means_the_same_in_both_dialects() {
    // entra-default: one op per attribute with a path; entra-scim2020: one value-path op plus a
    // path-less op with dotted and URN-qualified keys. Same attributes, same values.
    let mut default = lines(&normalize("entra/replace-many-default.json"));
    let mut scim2020 = lines(&normalize("entra/replace-many-scim2020.json"));
    // The flagged dialect does not send externalId in the sample; compare the rest.
    default.retain(|l| !l.contains("externalId"));
    default.sort();
    scim2020.sort();
    assert_eq!(default, scim2020);
    assert!(scim2020.contains(&format!(
        "replace {}:employeeNumber = \"Aklq\"",
        urn::ENTERPRISE_USER
    )));
    assert!(scim2020.contains(&"replace name.givenName = \"Kkom\"".to_owned()));
}

#[test]
fn ecma_attribute_updates_mean_the_same_in_both_dialects() {
    let default = normalize("entra/ecma-replace-many-default.json");
    let scim2020 = normalize("entra/ecma-replace-many-scim2020.json");
    let attrs = |ops: &[PatchOperation]| -> Vec<(String, Option<Value>)> {
        ops.iter()
            .map(|o| (o.target.attr().name.to_string(), o.value.clone()))
            .collect()
    };
    assert_eq!(attrs(&default), attrs(&scim2020));
    for op in default.iter().chain(&scim2020) {
        assert!(
            op.target.attr().in_schema(urn::ECMA2HOST_USER, false),
            "{}",
            op.target
        );
    }
}
