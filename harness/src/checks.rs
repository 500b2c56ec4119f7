//! Named checks. Each is a small function that says what it expected and what it got, and each
//! names the requirement it stands for; the World decides what a failure means by the
//! requirement's level (MUST fails the scenario, SHOULD warns). Unit tests below show that every
//! check can fail.

use reports::{Exchange, Level};
use scim_proto::{MEDIA_TYPE, urn};
use serde_json::Value;

use crate::probe::Snapshot;

/// A check that did not hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckFailure {
    /// The requirement it stands for.
    pub requirement: &'static str,
    /// Its level.
    pub level: Level,
    /// "expected X, got Y".
    pub message: String,
}

impl std::fmt::Display for CheckFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({} {})",
            self.message,
            self.level.name(),
            self.requirement
        )
    }
}

fn fail(requirement: &'static str, level: Level, message: String) -> Result<(), CheckFailure> {
    Err(CheckFailure {
        requirement,
        level,
        message,
    })
}

/// What an exchange's answer was, for messages: `500`, or `no answer (connection refused)`.
pub fn got(x: &Exchange) -> String {
    match (x.status, &x.error) {
        (Some(s), _) => {
            let detail = x
                .response_body
                .as_deref()
                .and_then(|b| serde_json::from_str::<Value>(b).ok())
                .and_then(|v| v["detail"].as_str().map(str::to_owned));
            match detail {
                Some(d) => format!("{s} ({d})"),
                None => s.to_string(),
            }
        }
        (None, Some(e)) => format!("no answer: {e}"),
        (None, None) => "no answer".into(),
    }
}

/// The answer's status is one of `expected`.
pub fn status(
    x: &Exchange,
    expected: &[u16],
    requirement: &'static str,
) -> Result<(), CheckFailure> {
    if x.status.is_some_and(|s| expected.contains(&s)) {
        return Ok(());
    }
    let wanted = expected
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(" or ");
    fail(
        requirement,
        Level::Must,
        format!("expected {wanted}, got {}", got(x)),
    )
}

/// The answer's body as JSON.
pub fn json(x: &Exchange) -> Option<Value> {
    x.response_body
        .as_deref()
        .and_then(|b| serde_json::from_str(b).ok())
}

/// ECMA-ERR-001: an error answer is a SCIM Error body whose `status` is the HTTP status as a
/// string.
pub fn scim_error_body(x: &Exchange) -> Result<(), CheckFailure> {
    let Some(status) = x.status.filter(|s| *s >= 400) else {
        return Ok(());
    };
    let body = json(x);
    let schemas_ok = body.as_ref().is_some_and(|b| {
        b["schemas"]
            .as_array()
            .is_some_and(|a| a.iter().any(|s| s == urn::ERROR))
    });
    let status_ok = body
        .as_ref()
        .is_some_and(|b| b["status"].as_str() == Some(status.to_string().as_str()));
    if schemas_ok && status_ok {
        return Ok(());
    }
    let seen = match &body {
        None => "a body that is not JSON".to_owned(),
        Some(b) => format!("schemas {} and status {}", b["schemas"], b["status"]),
    };
    fail(
        "ECMA-ERR-001",
        Level::Must,
        format!(
            "expected a SCIM Error body (schemas [{}], status \"{status}\"), got {seen}",
            urn::ERROR
        ),
    )
}

/// ECMA-ERR-008: no answer reveals a secret. Secrets found are replaced by `<redacted>` in the
/// exchange before it becomes evidence, so a leaking host cannot leak into a report either.
/// Secrets shorter than 8 characters are not looked for: a password like `secret` is also an
/// English word that error messages use.
pub fn redact_secrets(
    x: &mut Exchange,
    secrets: &[ecma_vocab::Secret],
) -> Result<(), CheckFailure> {
    let mut leaked = Vec::new();
    for secret in secrets.iter().filter(|s| s.len() >= 8) {
        let needle = secret.expose();
        if let Some(body) = &mut x.response_body
            && body.contains(needle)
        {
            *body = body.replace(needle, "<redacted>");
            leaked.push("the body");
        }
        for (_, value) in &mut x.response_headers {
            if value.contains(needle) {
                *value = value.replace(needle, "<redacted>");
                leaked.push("a header");
            }
        }
    }
    if leaked.is_empty() {
        return Ok(());
    }
    leaked.dedup();
    fail(
        "ECMA-ERR-008",
        Level::Must,
        format!(
            "expected no secret in the answer, found the token or the target password in {}",
            leaked.join(" and ")
        ),
    )
}

/// ECMA-ERR-003: every answer with a body is `application/scim+json`.
pub fn media_type(x: &Exchange) -> Result<(), CheckFailure> {
    if x.status.is_none() || x.response_body.is_none() {
        return Ok(());
    }
    let ct = x
        .response_headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.split(';').next().unwrap_or("").trim().to_owned());
    match ct.as_deref() {
        Some(MEDIA_TYPE) => Ok(()),
        other => fail(
            "ECMA-ERR-003",
            Level::Should,
            format!(
                "expected Content-Type {MEDIA_TYPE}, got {}",
                other.unwrap_or("none")
            ),
        ),
    }
}

/// ECMA-MATCH-006: a ListResponse with `totalResults`, and `Resources` when it is not zero.
pub fn list_response(x: &Exchange) -> Result<Value, CheckFailure> {
    let body = json(x).unwrap_or(Value::Null);
    let is_list = body["schemas"]
        .as_array()
        .is_some_and(|a| a.iter().any(|s| s == urn::LIST_RESPONSE));
    let total = body["totalResults"].as_u64();
    let resources = body["Resources"].as_array().map_or(0, Vec::len);
    match total {
        Some(t) if is_list && (t == 0 || resources > 0) => Ok(body),
        _ => Err(CheckFailure {
            requirement: "ECMA-MATCH-006",
            level: Level::Must,
            message: format!(
                "expected a ListResponse (schemas [{}], totalResults, Resources), got {}",
                urn::LIST_RESPONSE,
                reports::terminal::shorten(x.response_body.as_deref().unwrap_or("no body"))
            ),
        }),
    }
}

/// ECMA-CREATE-002: the 201 body has a non-empty string `id`.
pub fn created_id(x: &Exchange) -> Result<String, CheckFailure> {
    match json(x)
        .as_ref()
        .and_then(|b| b["id"].as_str())
        .filter(|id| !id.is_empty())
    {
        Some(id) => Ok(id.to_owned()),
        None => Err(CheckFailure {
            requirement: "ECMA-CREATE-002",
            level: Level::Must,
            message: "expected a non-empty string id in the 201 body, got none".into(),
        }),
    }
}

/// ECMA-READ-004: no secret-bearing attribute in a returned resource.
pub fn no_password(body: &Value, attributes: &[String]) -> Result<(), CheckFailure> {
    let ext = &body[urn::ECMA2HOST_USER];
    let mut found: Vec<&str> = attributes
        .iter()
        .filter(|a| ext.get(a.as_str()).is_some())
        .map(String::as_str)
        .collect();
    if body.get("password").is_some() {
        found.push("password");
    }
    if found.is_empty() {
        return Ok(());
    }
    fail(
        "ECMA-READ-004",
        Level::Must,
        format!(
            "expected no password attributes in the answer, got {}",
            found.join(", ")
        ),
    )
}

/// ECMA-ERR-004: the target's state did not change.
pub fn unchanged(before: &Snapshot, after: &Snapshot) -> Result<(), CheckFailure> {
    if before == after {
        return Ok(());
    }
    let mut differences = Vec::new();
    for dn in before
        .keys()
        .chain(after.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        match (before.get(dn), after.get(dn)) {
            (Some(_), None) => differences.push(format!("{dn} was removed")),
            (None, Some(_)) => differences.push(format!("{dn} appeared")),
            (Some(b), Some(a)) if a != b => {
                for attr in b
                    .keys()
                    .chain(a.keys())
                    .collect::<std::collections::BTreeSet<_>>()
                {
                    if b.get(attr) != a.get(attr) {
                        differences.push(format!(
                            "{dn}: {attr} {:?} became {:?}",
                            b.get(attr),
                            a.get(attr)
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    fail(
        "ECMA-ERR-004",
        Level::Must,
        format!(
            "expected the target unchanged, but {}",
            differences.join("; ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn x(status: Option<u16>, body: &str, content_type: &str) -> Exchange {
        Exchange {
            method: "GET".into(),
            url: "https://h/ecma2host_X/scim/Users".into(),
            status,
            response_headers: vec![("content-type".into(), content_type.into())],
            response_body: (!body.is_empty()).then(|| body.to_owned()),
            error: status.is_none().then(|| "Connection refused".to_owned()),
            ..Exchange::default()
        }
    }

    #[test]
    fn status_says_what_it_expected_and_what_came() {
        assert!(status(&x(Some(201), "", MEDIA_TYPE), &[201], "R").is_ok());
        let e = status(
            &x(Some(500), r#"{"detail":"boom"}"#, MEDIA_TYPE),
            &[201],
            "R",
        )
        .unwrap_err();
        assert_eq!(e.message, "expected 201, got 500 (boom)");
        let e = status(&x(None, "", ""), &[200, 204], "R").unwrap_err();
        assert_eq!(
            e.message,
            "expected 200 or 204, got no answer: Connection refused"
        );
    }

    #[test]
    fn error_bodies_must_be_scim_errors() {
        let good = format!(r#"{{"schemas":["{}"],"status":"404"}}"#, urn::ERROR);
        assert!(scim_error_body(&x(Some(404), &good, MEDIA_TYPE)).is_ok());
        assert!(
            scim_error_body(&x(Some(200), "not json", MEDIA_TYPE)).is_ok(),
            "only errors are checked"
        );
        assert!(scim_error_body(&x(Some(404), "Not Found", "text/plain")).is_err());
        let numeric = format!(r#"{{"schemas":["{}"],"status":404}}"#, urn::ERROR);
        assert!(
            scim_error_body(&x(Some(404), &numeric, MEDIA_TYPE)).is_err(),
            "status must be a string"
        );
        let wrong = format!(r#"{{"schemas":["{}"],"status":"400"}}"#, urn::ERROR);
        assert!(scim_error_body(&x(Some(404), &wrong, MEDIA_TYPE)).is_err());
    }

    #[test]
    fn the_media_type_is_a_should() {
        assert!(media_type(&x(Some(200), "{}", "application/scim+json; charset=utf-8")).is_ok());
        let e = media_type(&x(Some(200), "{}", "application/json")).unwrap_err();
        assert_eq!((e.level, e.requirement), (Level::Should, "ECMA-ERR-003"));
    }

    #[test]
    fn list_responses_need_their_members() {
        let zero = format!(
            r#"{{"schemas":["{}"],"totalResults":0,"Resources":[]}}"#,
            urn::LIST_RESPONSE
        );
        assert!(list_response(&x(Some(200), &zero, MEDIA_TYPE)).is_ok());
        let no_total = format!(r#"{{"schemas":["{}"],"Resources":[]}}"#, urn::LIST_RESPONSE);
        assert!(list_response(&x(Some(200), &no_total, MEDIA_TYPE)).is_err());
        let missing = format!(
            r#"{{"schemas":["{}"],"totalResults":1}}"#,
            urn::LIST_RESPONSE
        );
        assert!(list_response(&x(Some(200), &missing, MEDIA_TYPE)).is_err());
        assert!(list_response(&x(Some(200), r#"{"totalResults":0}"#, MEDIA_TYPE)).is_err());
    }

    #[test]
    fn ids_and_passwords() {
        assert_eq!(
            created_id(&x(Some(201), r#"{"id":"a"}"#, MEDIA_TYPE)).unwrap(),
            "a"
        );
        assert!(created_id(&x(Some(201), r#"{"id":""}"#, MEDIA_TYPE)).is_err());
        assert!(created_id(&x(Some(201), r#"{"id":5}"#, MEDIA_TYPE)).is_err());
        let body = json!({urn::ECMA2HOST_USER: {"cn": "a", "userPassword": "x"}});
        assert!(no_password(&body, &["userPassword".into()]).is_err());
        assert!(
            no_password(
                &json!({urn::ECMA2HOST_USER: {"cn": "a"}}),
                &["userPassword".into()]
            )
            .is_ok()
        );
    }

    #[test]
    fn secrets_in_answers_fail_and_are_redacted() {
        let secret = ecma_vocab::Secret::new("s3cret-token-value");
        let mut clean = x(Some(200), "{}", MEDIA_TYPE);
        assert!(redact_secrets(&mut clean, std::slice::from_ref(&secret)).is_ok());
        let mut leaky = x(
            Some(500),
            r#"{"detail":"bind with s3cret-token-value failed"}"#,
            MEDIA_TYPE,
        );
        let e = redact_secrets(&mut leaky, std::slice::from_ref(&secret)).unwrap_err();
        assert_eq!(e.requirement, "ECMA-ERR-008");
        assert_eq!(
            leaky.response_body.as_deref(),
            Some(r#"{"detail":"bind with <redacted> failed"}"#)
        );
    }

    #[test]
    fn unchanged_names_the_difference() {
        let mut a = Snapshot::new();
        a.insert(
            "cn=a".into(),
            [("sn".to_owned(), vec!["X".to_owned()])]
                .into_iter()
                .collect(),
        );
        assert!(unchanged(&a, &a.clone()).is_ok());
        let mut b = a.clone();
        b.get_mut("cn=a")
            .unwrap()
            .insert("sn".into(), vec!["Y".into()]);
        b.insert("cn=b".into(), Default::default());
        let e = unchanged(&a, &b).unwrap_err();
        assert!(
            e.message.contains("cn=a: sn") && e.message.contains("cn=b appeared"),
            "{}",
            e.message
        );
        assert!(
            unchanged(&a, &Snapshot::new())
                .unwrap_err()
                .message
                .contains("cn=a was removed")
        );
    }
}
