//! Property-based fuzzing of what a hostile request reaches first: the filter parser, PATCH
//! bodies (envelope and normalisation), user resources and DNs. Inputs are drawn both at random
//! and from the grammar's own tokens (so that deep, almost-valid inputs are common), and each
//! property says more than "does not panic" where it can: a filter or DN that parses prints
//! back to text that parses to the same value.
//!
//! proptest rather than bolero or cargo-fuzz: no nightly toolchain exists here, and bolero's
//! stable engine is random generation much like proptest's, without proptest's shrinking to a
//! minimal failing input (kept in `proptest-regressions/` to be replayed). How many inputs:
//! `PROPTEST_CASES` (default 2,000 per property: `scripts/test` stays within seconds). The long
//! run, a million inputs per property:
//!
//! ```sh
//! PROPTEST_CASES=1000000 cargo test --release -p scim-proto --test it fuzz::
//! ```

use proptest::prelude::*;
use scim_proto::dn::Dn;
use scim_proto::filter::Filter;
use scim_proto::{PatchRequest, User};
use serde_json::Value;

/// `PROPTEST_CASES`, or 2,000.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000)
}

/// Text made of the filter grammar's tokens, and a few characters of anything.
fn filter_text() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("userName".to_owned()),
        Just("emails[type eq \"work\"].value".to_owned()),
        Just("urn:ietf:params:scim:schemas:extension:ECMA2Host:2.0:User:-dn-".to_owned()),
        Just("name.familyName".to_owned()),
        Just(" eq ".to_owned()),
        Just(" ne ".to_owned()),
        Just(" co ".to_owned()),
        Just(" sw ".to_owned()),
        Just(" gt ".to_owned()),
        Just(" and ".to_owned()),
        Just(" or ".to_owned()),
        Just("not ".to_owned()),
        Just(" pr".to_owned()),
        Just("(".to_owned()),
        Just(")".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just(".".to_owned()),
        Just("\"".to_owned()),
        Just("\\".to_owned()),
        Just("true".to_owned()),
        Just("null".to_owned()),
        Just("42".to_owned()),
        Just("-1.5e3".to_owned()),
        "\"[^\"\\\\]{0,8}\"",
        "[a-zA-Z0-9:._-]{1,12}",
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(token, 0..24).prop_map(|t| t.concat())
}

/// Text made of a DN's tokens, and a few characters of anything.
fn dn_text() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("cn=".to_owned()),
        Just("OU=".to_owned()),
        Just("dc=".to_owned()),
        Just("1.2.840.113556.1.4.1=".to_owned()),
        Just(",".to_owned()),
        Just("+".to_owned()),
        Just("\\".to_owned()),
        Just("\\,".to_owned()),
        Just("\\2C".to_owned()),
        Just("\\zz".to_owned()),
        Just("#04024869".to_owned()),
        Just("\"".to_owned()),
        Just(" ".to_owned()),
        Just("=".to_owned()),
        "[a-zA-Z0-9 ]{1,8}",
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(token, 0..16).prop_map(|t| t.concat())
}

/// JSON whose member names are the ones SCIM bodies use, nested a few levels.
fn json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("schemas".to_owned()),
        Just("Operations".to_owned()),
        Just("op".to_owned()),
        Just("path".to_owned()),
        Just("value".to_owned()),
        Just("userName".to_owned()),
        Just("active".to_owned()),
        Just("emails".to_owned()),
        Just("name".to_owned()),
        Just("type".to_owned()),
        Just("primary".to_owned()),
        Just("externalId".to_owned()),
        Just("urn:ietf:params:scim:schemas:extension:ECMA2Host:2.0:User".to_owned()),
        Just("-dn-".to_owned()),
        "[a-zA-Z:.-]{0,10}",
    ];
    let string = prop_oneof![
        Just("urn:ietf:params:scim:api:messages:2.0:PatchOp".to_owned()),
        Just("urn:ietf:params:scim:schemas:core:2.0:User".to_owned()),
        Just("Replace".to_owned()),
        Just("add".to_owned()),
        Just("remove".to_owned()),
        Just("False".to_owned()),
        Just("emails[type eq \"work\"].value".to_owned()),
        Just("urn:ietf:params:scim:schemas:extension:ECMA2Host:2.0:User:mail".to_owned()),
        ".{0,12}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        string.prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

/// A PATCH body with the right envelope (so that normalisation runs) and made-up operations.
fn patch_body() -> impl Strategy<Value = Value> {
    let op = prop_oneof![
        Just("add"),
        Just("Add"),
        Just("replace"),
        Just("Replace"),
        Just("remove"),
        Just("Remove"),
        Just("frobnicate"),
    ];
    let path = prop_oneof![
        Just(None),
        Just(Some("active".to_owned())),
        Just(Some("emails[type eq \"work\"].value".to_owned())),
        Just(Some(
            "urn:ietf:params:scim:schemas:extension:ECMA2Host:2.0:User:mail".to_owned()
        )),
        Just(Some("name.familyName".to_owned())),
        filter_text().prop_map(Some),
    ];
    let operation = (op, path, prop::option::of(json())).prop_map(|(op, path, value)| {
        let mut o = serde_json::Map::new();
        o.insert("op".into(), Value::from(op));
        if let Some(p) = path {
            o.insert("path".into(), Value::from(p));
        }
        if let Some(v) = value {
            o.insert("value".into(), v);
        }
        Value::Object(o)
    });
    prop::collection::vec(operation, 1..5).prop_map(|ops| {
        serde_json::json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": ops,
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn a_filter_that_parses_prints_back_to_itself(
        text in prop_oneof![filter_text(), any::<String>()]
    ) {
        if let Ok(filter) = Filter::parse(&text) {
            let printed = filter.to_string();
            let again = Filter::parse(&printed);
            prop_assert_eq!(again.as_ref(), Ok(&filter), "{:?} printed as {:?}", text, printed);
        }
    }

    #[test]
    fn a_dn_that_parses_prints_back_to_itself(text in prop_oneof![dn_text(), any::<String>()]) {
        if let Ok(dn) = Dn::parse(&text) {
            let printed = dn.to_string();
            let again = Dn::parse(&printed);
            prop_assert_eq!(again.as_ref(), Ok(&dn), "{:?} printed as {:?}", text, printed);
            // Normalising is idempotent.
            let once = scim_proto::dn::normalize(&text);
            prop_assert_eq!(scim_proto::dn::normalize(&once), once);
        }
    }

    #[test]
    fn any_patch_body_is_taken_or_refused_without_a_panic(
        body in prop_oneof![json(), patch_body()]
    ) {
        if let Ok(request) = serde_json::from_value::<PatchRequest>(body)
            && request.check_envelope().is_ok()
        {
            let _ = request.normalize();
        }
    }

    #[test]
    fn a_user_that_parses_writes_back_to_itself(body in json()) {
        if let Ok(user) = serde_json::from_value::<User>(body) {
            let written = serde_json::to_value(&user).unwrap();
            let again: User = serde_json::from_value(written.clone()).unwrap();
            prop_assert_eq!(again, user, "written as {}", written);
        }
    }
}
