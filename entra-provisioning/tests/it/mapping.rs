//! Mapping files, scoping filters and what Entra sends from them.

use entra_provisioning::export::{create_attributes, matching_queries, update_changes};
use entra_provisioning::expr::{Env, Value};
use entra_provisioning::mapping::{Apply, Mappings, user_from_json};
use entra_provisioning::scoping::{self, Operator};
use indexmap::IndexMap;
use rstest::rstest;
use serde_json::json;
use time::macros::datetime;

const EXT: &str = "urn:ietf:params:scim:schemas:extension:ECMA2Host:2.0:User";

fn posix() -> Mappings {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/mappings/openldap-posix.toml"
    ))
    .unwrap();
    Mappings::from_toml(&text).unwrap()
}

fn alice() -> IndexMap<String, Value> {
    user_from_json(&json!({
        "userPrincipalName": "Alice.Smith@contoso.lab",
        "displayName": "Alice Smith",
        "surname": "Smith",
        "employeeId": "20001",
        "department": "Sales"
    }))
    .unwrap()
}

fn ext(name: &str) -> String {
    format!("{EXT}:{name}")
}

#[test]
fn the_seed_posix_mappings_give_what_the_walkthrough_describes() {
    let mappings = posix();
    let user = alice();
    let env = Env::new(&user, datetime!(2026-12-02 12:00 UTC), 1);
    let mapped = mappings.evaluate(&env).unwrap();
    let create = create_attributes(&mapped);
    assert_eq!(
        create[&ext("-dn-")],
        json!("CN=Alice.Smith,DC=Contoso,DC=lab")
    );
    assert_eq!(
        create[&ext("objectClass")],
        json!(["inetOrgPerson", "posixAccount", "shadowAccount"])
    );
    assert_eq!(create[&ext("cn")], json!("Alice Smith"));
    assert_eq!(create[&ext("uid")], json!("alice.smith"));
    assert_eq!(create[&ext("homeDirectory")], json!("/home/alice.smith"));
    assert_eq!(create[&ext("gidNumber")], json!("10000"));
    assert_eq!(create[&ext("uidNumber")], json!("20001"));
    let password = mapped
        .iter()
        .find(|m| m.target == ext("userPassword"))
        .unwrap();
    assert!(password.redacted && password.shown() == "[Redact]");
    assert_eq!(password.value.text().unwrap().chars().count(), 16);
    let queries = matching_queries(&mapped);
    assert_eq!(queries.len(), 1);
    assert_eq!(
        (queries[0].target.as_str(), queries[0].value.as_str()),
        (ext("mail").as_str(), "Alice.Smith@contoso.lab")
    );
}

#[test]
fn an_update_sends_only_changed_attributes_and_never_create_only_ones() {
    let mappings = posix();
    let user = alice();
    let env = Env::new(&user, datetime!(2026-12-02 12:00 UTC), 1);
    let mapped = mappings.evaluate(&env).unwrap();
    // The target as the create left it, but a different -dn- and objectClass order, which
    // are create-only and must not be sent, and sn changed out of band.
    let mut current: IndexMap<String, Value> = create_attributes(&mapped)
        .into_iter()
        .map(|(k, v)| (k, Value::from_json(&v)))
        .collect();
    current.insert(
        ext("-dn-"),
        Value::Str("CN=elsewhere,DC=Contoso,DC=lab".into()),
    );
    current.insert(ext("userPassword"), Value::Null);
    current.insert(ext("sn"), Value::Str("Smyth".into()));
    current.insert(ext("uidNumber"), Value::Multi(vec![Value::Int(20001)]));
    let changes = update_changes(&mapped, &current);
    let targets: Vec<&str> = changes.iter().map(|c| c.target.as_str()).collect();
    assert_eq!(targets, [ext("sn").as_str()]);
    assert!(changes[0].had_value);
    assert_eq!(changes[0].value, Value::Str("Smith".into()));
}

#[test]
fn a_value_that_became_null_is_sent_as_a_change_to_null() {
    let mappings = posix();
    let mut user = alice();
    user.shift_remove("displayName");
    let env = Env::new(&user, datetime!(2026-12-02 12:00 UTC), 1);
    let mapped = mappings.evaluate(&env).unwrap();
    assert!(
        !create_attributes(&mapped).contains_key(&ext("cn")),
        "null is left out of a create"
    );
    let mut current = IndexMap::new();
    current.insert(ext("cn"), Value::Str("Alice Smith".into()));
    let changes = update_changes(&mapped, &current);
    let cn = changes.iter().find(|c| c.target == ext("cn")).unwrap();
    assert_eq!(cn.value, Value::Null);
}

#[test]
fn default_if_null_and_ignore_flow() {
    let text = format!(
        r#"
[[mapping]]
type = "direct"
source = "department"
target = "{EXT}:departmentNumber"
default = "none"

[[mapping]]
type = "expression"
expression = 'IgnoreFlowIfNullOrEmpty([jobTitle])'
target = "{EXT}:title"

[[mapping]]
type = "direct"
source = "mail"
target = "{EXT}:mail"
matching_precedence = 2

[[mapping]]
type = "direct"
source = "employeeId"
target = "{EXT}:employeeNumber"
matching_precedence = 1
"#
    );
    let mappings = Mappings::from_toml(&text).unwrap();
    let user = user_from_json(&json!({"mail": "m@x", "employeeId": "7"})).unwrap();
    let env = Env::new(&user, datetime!(2026-12-02 12:00 UTC), 1);
    let mapped = mappings.evaluate(&env).unwrap();
    let create = create_attributes(&mapped);
    assert_eq!(create[&ext("departmentNumber")], json!("none"));
    assert!(!create.contains_key(&ext("title")), "ignored on create");
    let changes = update_changes(&mapped, &IndexMap::new());
    assert!(
        changes.iter().all(|c| c.target != ext("title")),
        "ignored on update"
    );
    let order: Vec<String> = matching_queries(&mapped)
        .into_iter()
        .map(|q| q.value)
        .collect();
    assert_eq!(order, ["7", "m@x"], "precedence 1 first");
    assert_eq!(mappings.mappings[0].apply, Apply::Always);
}

#[rstest]
#[case(
    "[[mapping]]\ntype = \"direct\"\ntarget = \"x\"\n",
    "a source is needed"
)]
#[case(
    "[[mapping]]\ntype = \"constant\"\nvalue = \"1\"\nsource = \"a\"\ntarget = \"x\"\n",
    "source does not belong"
)]
#[case(
    "[[mapping]]\ntype = \"expression\"\nexpression = 'Word([a], 1)'\ntarget = \"x\"\n",
    "at offset 0"
)]
#[case(
    "[[mapping]]\ntype = \"direct\"\nsource = \"a\"\ntarget = \"x\"\n[[mapping]]\ntype = \"direct\"\nsource = \"b\"\ntarget = \"X\"\n",
    "same target"
)]
#[case(
    "[[mapping]]\ntype = \"direct\"\nsource = \"a\"\ntarget = \"x\"\nmatching_precedence = 0\n",
    "starts at 1"
)]
#[case(
    "[[mapping]]\ntype = \"direct\"\nsource = \"a\"\ntarget = \"x\"\nmatching_precedence = 1\n[[mapping]]\ntype = \"direct\"\nsource = \"b\"\ntarget = \"y\"\nmatching_precedence = 1\n",
    "same matching precedence"
)]
#[case(
    "[[mapping]]\ntype = \"expression\"\nexpression = 'SelectUniqueValue([a], [b])'\ntarget = \"x\"\nmatching_precedence = 1\n",
    "SelectUniqueValue cannot"
)]
#[case(
    "[[mapping]]\ntype = \"direct\"\nsource = \"a\"\ntarget = \"x\"\nunknown = 1\n",
    "unknown field"
)]
#[case(
    "[[mapping]]\ntype = \"expression\"\nexpression = 'Redact([employeeId])'\ntarget = \"x\"\nmatching_precedence = 1\n",
    "cannot be matched on"
)]
#[case(
    "[[scoping]]\nclauses = [{ attribute = \"a\", operator = \"LIKE\", value = \"b\" }]\n",
    "not an operator"
)]
#[case(
    "[[scoping]]\nclauses = [{ attribute = \"a\", operator = \"IS NULL\", value = \"b\" }]\n",
    "takes no value"
)]
#[case(
    "[[scoping]]\nclauses = [{ attribute = \"a\", operator = \"EQUALS\" }]\n",
    "needs a value"
)]
#[case(
    "[[scoping]]\nclauses = [{ attribute = \"a\", operator = \"Greater_Than\", value = \"b\" }]\n",
    "compares integers"
)]
#[case(
    "[[scoping]]\nclauses = [{ attribute = \"a\", operator = \"REGEX MATCH\", value = \"(\" }]\n",
    "cannot be read"
)]
#[case("[[scoping]]\nclauses = []\n", "at least one clause")]
fn bad_mapping_files_are_refused_with_the_reason(#[case] text: &str, #[case] message: &str) {
    let err = Mappings::from_toml(text).unwrap_err().to_string();
    assert!(err.contains(message), "{err}");
}

fn in_scope(clauses: &str, user: serde_json::Value) -> bool {
    let mappings = Mappings::from_toml(&format!("[[scoping]]\nclauses = [{clauses}]\n")).unwrap();
    scoping::evaluate(&mappings.scoping, &user_from_json(&user).unwrap())
        .unwrap()
        .in_scope
}

#[rstest]
#[case(r#"{ attribute = "d", operator = "EQUALS", value = "Sales" }"#, json!({"d": "Sales"}), true)]
#[case(r#"{ attribute = "d", operator = "EQUALS", value = "Sales" }"#, json!({"d": "sales"}), false)]
#[case(r#"{ attribute = "d", operator = "EQUALS", value = "Sales" }"#, json!({}), false)]
#[case(r#"{ attribute = "d", operator = "NOT EQUALS", value = "Sales" }"#, json!({"d": "HR"}), true)]
#[case(r#"{ attribute = "d", operator = "NOT EQUALS", value = "Sales" }"#, json!({}), false)]
#[case(r#"{ attribute = "t", operator = "IS NULL" }"#, json!({}), true)]
#[case(r#"{ attribute = "t", operator = "IS NULL" }"#, json!({"t": ""}), true)]
#[case(r#"{ attribute = "t", operator = "IS NOT NULL" }"#, json!({"t": "x"}), true)]
#[case(r#"{ attribute = "t", operator = "IS NOT NULL" }"#, json!({}), false)]
#[case(r#"{ attribute = "e", operator = "IS TRUE" }"#, json!({"e": true}), true)]
#[case(r#"{ attribute = "e", operator = "IS TRUE" }"#, json!({"e": "True"}), true)]
#[case(r#"{ attribute = "e", operator = "IS FALSE" }"#, json!({"e": false}), true)]
#[case(r#"{ attribute = "e", operator = "IS FALSE" }"#, json!({}), false)]
#[case(r#"{ attribute = "upn", operator = "REGEX MATCH", value = '.*\@domain.com' }"#, json!({"upn": "a@domain.com"}), true)]
#[case(r#"{ attribute = "upn", operator = "NOT REGEX MATCH", value = '.*\@domain.com' }"#, json!({"upn": "a@domain.com"}), false)]
#[case(r#"{ attribute = "upn", operator = "NOT REGEX MATCH", value = '.*\@domain.com' }"#, json!({}), false)]
#[case(r#"{ attribute = "w", operator = "REGEX MATCH", value = '(1[0-9][0-9][0-9][0-9][0-9][0-9])' }"#, json!({"w": "1500000"}), true)]
#[case(r#"{ attribute = "n", operator = "Greater_Than", value = "5" }"#, json!({"n": 6}), true)]
#[case(r#"{ attribute = "n", operator = "Greater_Than", value = "5" }"#, json!({"n": "5"}), false)]
#[case(r#"{ attribute = "n", operator = "Greater_Than_OR_EQUALS", value = "5" }"#, json!({"n": "5"}), true)]
#[case(r#"{ attribute = "n", operator = "Greater_Than", value = "5" }"#, json!({"n": "six"}), false)]
#[case(r#"{ attribute = "t", operator = "Includes", value = "gine" }"#, json!({"t": "Engineer"}), true)]
#[case(r#"{ attribute = "t", operator = "Includes", value = "GINE" }"#, json!({"t": "Engineer"}), false)]
#[case(r#"{ attribute = "m", operator = "ENDS_WITH", value = "@contoso.lab" }"#, json!({"m": "a@contoso.lab"}), true)]
#[case(r#"{ attribute = "c", operator = "&", value = "NZ,AU" }"#, json!({"c": "AU"}), true)]
#[case(r#"{ attribute = "c", operator = "!&", value = "NZ,AU" }"#, json!({"c": "AU"}), false)]
#[case(r#"{ attribute = "d", operator = "EQUALS", value = "Sales" }, { attribute = "c", operator = "EQUALS", value = "NZ" }"#, json!({"d": "Sales", "c": "AU"}), false)]
fn scoping_clauses(#[case] clauses: &str, #[case] user: serde_json::Value, #[case] expected: bool) {
    assert_eq!(
        in_scope(clauses, user.clone()),
        expected,
        "{clauses} on {user}"
    );
}

#[test]
fn filters_are_ored_and_no_filter_means_everyone() {
    let text = r#"
[[scoping]]
clauses = [{ attribute = "d", operator = "EQUALS", value = "Sales" }]
[[scoping]]
clauses = [{ attribute = "d", operator = "EQUALS", value = "HR" }]
"#;
    let mappings = Mappings::from_toml(text).unwrap();
    let hr = user_from_json(&json!({"d": "HR"})).unwrap();
    let it = user_from_json(&json!({"d": "IT"})).unwrap();
    let scope = scoping::evaluate(&mappings.scoping, &hr).unwrap();
    assert!(scope.in_scope);
    assert_eq!(
        scope.filters.iter().map(|f| f[0].holds).collect::<Vec<_>>(),
        [false, true]
    );
    assert!(!scoping::evaluate(&mappings.scoping, &it).unwrap().in_scope);
    assert!(scoping::evaluate(&[], &it).unwrap().in_scope);
}

#[test]
fn a_clause_on_a_multi_valued_attribute_is_an_error() {
    let mappings = Mappings::from_toml(
        "[[scoping]]\nclauses = [{ attribute = \"otherMails\", operator = \"IS NOT NULL\" }]\n",
    )
    .unwrap();
    let user = user_from_json(&json!({"otherMails": ["a@x", "b@x"]})).unwrap();
    let err = scoping::evaluate(&mappings.scoping, &user).unwrap_err();
    assert!(err.message.contains("multi-valued"), "{err}");
}

#[test]
fn operator_names_are_read_as_the_portal_and_the_graph_api_write_them() {
    assert_eq!(
        Operator::from_name("IS NOT NULL"),
        Some(Operator::IsNotNull)
    );
    assert_eq!(
        Operator::from_name("is_not_null"),
        Some(Operator::IsNotNull)
    );
    assert_eq!(
        Operator::from_name("GREATER_THAN"),
        Some(Operator::GreaterThan)
    );
    assert_eq!(
        Operator::from_name("REGEX MATCH"),
        Some(Operator::RegexMatch)
    );
    assert_eq!(Operator::from_name("LIKE"), None);
}

#[test]
fn the_seed_scoping_filter_takes_sales_and_skips_engineering() {
    let mappings = posix();
    assert!(
        scoping::evaluate(&mappings.scoping, &alice())
            .unwrap()
            .in_scope
    );
    let bob = user_from_json(&json!({
        "userPrincipalName": "Bob.Jones@contoso.lab",
        "department": "Engineering"
    }))
    .unwrap();
    let scope = scoping::evaluate(&mappings.scoping, &bob).unwrap();
    assert!(!scope.in_scope);
    assert!(!scope.filters[0][0].holds, "department is not Sales");
    assert!(scope.filters[0][1].holds, "the UPN matches");
}
