//! Filters: every example of RFC 7644 §3.4.2.2, the forms Entra sends, and malformed input.

use rstest::rstest;
use scim_proto::{AttrPath, CompValue, CompareOp, Filter, FilterErrorKind, urn};

#[rstest]
#[case(r#"userName eq "bjensen""#)]
#[case(r#"name.familyName co "O'Malley""#)]
#[case(r#"userName sw "J""#)]
#[case(r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#)]
#[case(r#"title pr"#)]
#[case(r#"meta.lastModified gt "2011-05-13T04:42:34Z""#)]
#[case(r#"meta.lastModified ge "2011-05-13T04:42:34Z""#)]
#[case(r#"meta.lastModified lt "2011-05-13T04:42:34Z""#)]
#[case(r#"meta.lastModified le "2011-05-13T04:42:34Z""#)]
#[case(r#"title pr and userType eq "Employee""#)]
#[case(r#"title pr or userType eq "Intern""#)]
#[case(r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#)]
#[case(r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#)]
#[case(
    r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#
)]
#[case(r#"userType eq "Employee" and (emails.type eq "work")"#)]
#[case(r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#)]
#[case(r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#)]
fn rfc_7644_examples_parse_and_print_back(#[case] src: &str) {
    let f = Filter::parse(src).unwrap_or_else(|e| panic!("{src}: {e}"));
    // Printing adds no information and loses none: reparsing gives the same tree.
    assert_eq!(Filter::parse(&f.to_string()).unwrap(), f, "{src}");
}

#[test]
fn grouping_keeps_or_inside_and() {
    let f =
        Filter::parse(r#"userType eq "Employee" and (emails.type eq "work" or title pr)"#).unwrap();
    let Filter::And(_, right) = &f else {
        panic!("{f:?}")
    };
    assert!(matches!(**right, Filter::Or(..)));
}

#[test]
fn entra_test_connection_query_on_an_ecma_attribute() {
    // Entra's wire form: `+` for spaces is undone by URL decoding before the parser sees it.
    let src = format!(
        "{}:mail eq \"8646d011-1693-4cd3-9ee6-0d7482ca2219\"",
        urn::ECMA2HOST_USER
    );
    let f = Filter::parse(&src).unwrap();
    assert_eq!(
        f,
        Filter::eq(
            AttrPath::qualified(urn::ECMA2HOST_USER, "mail"),
            "8646d011-1693-4cd3-9ee6-0d7482ca2219"
        )
    );
}

#[rstest]
#[case::placeholder(
    r#"PLACEHOLDER eq "8646d011-1693-4cd3-9ee6-0d7482ca2219""#,
    "PLACEHOLDER"
)]
#[case::dn(r#"urn:ietf:params:scim:schemas:extension:ECMA2Host:2.0:User:-dn- eq "cn=bsimon,dc=contoso,dc=lab""#, "-dn-")]
#[case::underscore(r#"_distinguishedName eq "cn=x""#, "_distinguishedName")]
#[case::hyphenated(
    r#"urn:ietf:params:scim:schemas:extension:ECMA2Host:2.0:User:msDS-UserAccountDisabled eq true"#,
    "msDS-UserAccountDisabled"
)]
#[case::id(r#"id eq "2441309d85324e7793ae""#, "id")]
fn ecma_attribute_names_parse(#[case] src: &str, #[case] name: &str) {
    let Filter::Compare {
        path,
        op: CompareOp::Eq,
        ..
    } = Filter::parse(src).unwrap()
    else {
        panic!("{src}")
    };
    assert_eq!(path.name.as_str(), name);
}

#[test]
fn entra_uniqueness_filter_on_a_value_path_sub_attribute() {
    let f = Filter::parse(r#"emails[type eq "work"].value eq "user@contoso.com""#).unwrap();
    let Filter::ValuePath {
        path,
        then: Some(then),
        ..
    } = f
    else {
        panic!()
    };
    assert_eq!(path.name.as_str(), "emails");
    assert!(matches!(*then, Filter::Compare { ref path, .. } if path.name.is("value")));
}

#[test]
fn keywords_and_operators_ignore_case() {
    let a = Filter::parse(r#"cn EQ "x" And sn eq "y""#).unwrap();
    let b = Filter::parse(r#"cn eq "x" and sn eq "y""#).unwrap();
    assert_eq!(a, b);
}

#[test]
fn older_entra_samples_with_bare_values_read_as_strings() {
    let f = Filter::parse("externalId eq jyoung").unwrap();
    assert_eq!(f, Filter::eq(AttrPath::bare("externalId"), "jyoung"));
}

#[rstest]
#[case::star(r#"cn eq "*)(uid=*""#, "*)(uid=*")]
#[case::backslash(r#"cn eq "a\\b""#, "a\\b")]
#[case::nul(r#"cn eq "a\u0000b""#, "a\0b")]
#[case::quote(r#"cn eq "O\"Neil""#, "O\"Neil")]
#[case::sql(r#"cn eq "'; DROP TABLE users; --""#, "'; DROP TABLE users; --")]
#[case::unicode(r#"cn eq "Zoë 王 😀""#, "Zoë 王 😀")]
fn metacharacters_are_plain_string_content(#[case] src: &str, #[case] value: &str) {
    let Filter::Compare {
        value: CompValue::Str(got),
        ..
    } = Filter::parse(src).unwrap()
    else {
        panic!()
    };
    assert_eq!(got, value);
}

#[test]
fn literals_are_typed() {
    let vals: Vec<CompValue> = [
        "a eq true",
        "a eq FALSE",
        "a eq null",
        "a eq 42",
        "a eq -1.5e3",
    ]
    .iter()
    .map(|s| match Filter::parse(s).unwrap() {
        Filter::Compare { value, .. } => value,
        f => panic!("{f:?}"),
    })
    .collect();
    assert_eq!(vals[0], CompValue::Bool(true));
    assert_eq!(vals[1], CompValue::Bool(false));
    assert_eq!(vals[2], CompValue::Null);
    assert!(matches!(&vals[3], CompValue::Num(n) if n.as_i64() == Some(42)));
    assert!(matches!(&vals[4], CompValue::Num(n) if n.as_f64() == Some(-1500.0)));
}

#[rstest]
#[case::empty("", 0, "the filter is empty")]
#[case::spaces("   ", 3, "the filter is empty")]
#[case::no_value("userName eq", 11, "expected a comparison value")]
#[case::no_operator("userName", 8, "expected a comparison operator")]
#[case::bad_operator(r#"userName is "x""#, 9, "found \"is\"")]
#[case::trailing(r#"a eq "1" b eq "2""#, 9, "expected \"and\", \"or\" or the end")]
#[case::unclosed_group(r#"(a eq "1""#, 9, "expected \")\"")]
#[case::stray_close(r#"a eq "1")"#, 8, "found \")\"")]
#[case::unterminated(r#"a eq "abc"#, 5, "no closing quote")]
#[case::bad_escape(r#"a eq "\q""#, 5, "not a valid JSON string")]
#[case::bad_name(r#"a%b eq "1""#, 0, "not allowed in attribute names")]
#[case::not_without_group(r#"not a eq "1""#, 4, "expected \"(\"")]
#[case::nested_value_path(r#"emails[x[y eq "1"]]"#, 7, "cannot contain another value path")]
#[case::unclosed_value_path(r#"emails[type eq "work""#, 21, "expected \"]\"")]
#[case::dangling_and(r#"a eq "1" and"#, 12, "expected an attribute path")]
fn malformed_filters_say_where_and_why(
    #[case] src: &str,
    #[case] offset: usize,
    #[case] message: &str,
) {
    let e = Filter::parse(src).unwrap_err();
    assert_eq!(e.offset, offset, "{src}: {e}");
    assert!(e.to_string().contains(message), "{src}: {e}");
}

#[test]
fn hostile_nesting_is_refused_not_overflowed() {
    let src = format!("{}a pr{}", "not (".repeat(10_000), ")".repeat(10_000));
    assert_eq!(
        Filter::parse(&src).unwrap_err().kind,
        FilterErrorKind::TooDeep
    );
    let src = format!("{}a pr{}", "(".repeat(10_000), ")".repeat(10_000));
    assert_eq!(
        Filter::parse(&src).unwrap_err().kind,
        FilterErrorKind::TooDeep
    );
}
