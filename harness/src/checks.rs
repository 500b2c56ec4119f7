//! Named checks. Each is a small function that says what it expected and what it got, and each
//! names the requirement it stands for — never a level: the catalogue
//! (`features/requirements.toml`) is the one home of levels, and the World looks the level up
//! when a check fails (a MUST fails the step, a SHOULD or MAY becomes a warning). Unit tests
//! below show that every check can fail.

use reports::Exchange;
use scim_proto::{MEDIA_TYPE, urn};
use serde_json::Value;

use crate::probe::Snapshot;

/// A check that did not hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckFailure {
    /// The requirement it stands for (its level is the catalogue's).
    pub requirement: &'static str,
    /// "expected X, got Y".
    pub message: String,
}

impl std::fmt::Display for CheckFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.requirement)
    }
}

fn fail(requirement: &'static str, message: String) -> Result<(), CheckFailure> {
    Err(CheckFailure {
        requirement,
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
    fail(requirement, format!("expected {wanted}, got {}", got(x)))
}

/// The answer is a server error (any 5xx): what Entra retries. Which 5xx a host picks is its
/// own business (ECMA2Host answers 503 for an unreachable target, a gateway 502 or 504).
pub fn server_error(x: &Exchange, requirement: &'static str) -> Result<(), CheckFailure> {
    if x.status.is_some_and(|s| (500..600).contains(&s)) {
        return Ok(());
    }
    fail(
        requirement,
        format!("expected a 5xx, so that Entra retries, got {}", got(x)),
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
        format!(
            "expected a SCIM Error body (schemas [{}], status \"{status}\"), got {seen}",
            urn::ERROR
        ),
    )
}

/// Secrets shorter than this are looked for in answers only as whole words (see
/// [`redact_secrets`]).
pub const SHORT_SECRET: usize = 8;

/// `text` with every secret, of any length, replaced by `<redacted>` wherever it occurs. For
/// evidence and messages: a report may lose readability to a very short secret, never show one.
pub fn redact(text: &str, secrets: &[ecma_vocab::Secret]) -> String {
    let mut out = text.to_owned();
    // Longest first, so a secret that contains another is replaced whole.
    let mut sorted: Vec<&str> = secrets
        .iter()
        .map(|s| s.expose())
        .filter(|s| !s.is_empty())
        .collect();
    sorted.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for needle in sorted {
        if out.contains(needle) {
            out = out.replace(needle, "<redacted>");
        }
    }
    out
}

/// Words SCIM hosts, directories and databases use in their own messages. A secret that is one
/// of them (or shorter than 4 characters) cannot be told apart from ordinary text, so answers
/// are not searched for it — the run says so — though it is still redacted everywhere.
const COMMON_WORDS: &[&str] = &[
    "secret",
    "password",
    "passwd",
    "token",
    "bearer",
    "admin",
    "administrator",
    "root",
    "user",
    "users",
    "test",
    "tests",
    "ldap",
    "postgres",
    "mysql",
    "mariadb",
    "sqlite",
    "changeme",
    "default",
    "guest",
    "manager",
    "directory",
    "connector",
    "host",
    "scim",
    "error",
    "invalid",
    "required",
    "missing",
];

/// Whether answers can be searched for `secret` without mistaking ordinary text for it.
pub fn detectable(secret: &ecma_vocab::Secret) -> bool {
    let s = secret.expose();
    s.chars().count() >= 4 && !COMMON_WORDS.iter().any(|w| w.eq_ignore_ascii_case(s))
}

/// Whether `secret` occurs in `text` as a leak: anywhere for a secret of 8 characters or more;
/// for a shorter one only as a whole word (not inside a longer run of letters and digits) and
/// only when the request itself did not carry it, so that a host answering with the word
/// `secret` or echoing a value it was sent is not blamed for a password that happens to read
/// the same.
fn leaks(text: &str, secret: &str, request: &str) -> bool {
    if secret.is_empty() {
        return false;
    }
    if secret.chars().count() >= SHORT_SECRET {
        return text.contains(secret);
    }
    let whole = |hay: &str| {
        hay.match_indices(secret).any(|(at, _)| {
            let before = hay[..at].chars().next_back();
            let after = hay[at + secret.len()..].chars().next();
            !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
        })
    };
    whole(text) && !whole(request)
}

/// ECMA-ERR-008: no answer reveals a secret (the token, the target's password) in its body or
/// headers. Every [detectable] secret is looked for — short ones as whole words the request did
/// not carry — and every secret is replaced by `<redacted>` in the exchange before it becomes
/// evidence, so a leaking host cannot leak into a report either.
pub fn redact_secrets(
    x: &mut Exchange,
    secrets: &[ecma_vocab::Secret],
) -> Result<(), CheckFailure> {
    let request = format!("{} {}", x.url, x.request_body.as_deref().unwrap_or(""));
    let mut leaked = Vec::new();
    for secret in secrets.iter().filter(|s| detectable(s)) {
        let needle = secret.expose();
        if x.response_body
            .as_deref()
            .is_some_and(|b| leaks(b, needle, &request))
        {
            leaked.push("the body");
        }
        if x.response_headers
            .iter()
            .any(|(_, v)| leaks(v, needle, &request))
        {
            leaked.push("a header");
        }
    }
    if let Some(body) = &mut x.response_body {
        *body = redact(body, secrets);
    }
    for (_, value) in &mut x.response_headers {
        *value = redact(value, secrets);
    }
    if leaked.is_empty() {
        return Ok(());
    }
    leaked.dedup();
    fail(
        "ECMA-ERR-008",
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
        format!(
            "expected the target unchanged, but {}",
            differences.join("; ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use reports::Level;
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
    fn any_5xx_is_a_server_error_and_nothing_else_is() {
        for s in [500, 502, 503, 504, 599] {
            assert!(
                server_error(&x(Some(s), "", MEDIA_TYPE), "R").is_ok(),
                "{s}"
            );
        }
        for s in [Some(200), Some(429), Some(499), Some(600), None] {
            assert!(server_error(&x(s, "", MEDIA_TYPE), "R").is_err(), "{s:?}");
        }
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
    fn the_media_type_is_checked() {
        assert!(media_type(&x(Some(200), "{}", "application/scim+json; charset=utf-8")).is_ok());
        let e = media_type(&x(Some(200), "{}", "application/json")).unwrap_err();
        assert_eq!(e.requirement, "ECMA-ERR-003");
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
    fn secrets_of_any_length_are_found_and_redacted_without_blaming_words_or_echoes() {
        let short = ecma_vocab::Secret::new("Pw9z");
        let mut leaky = x(
            Some(200),
            r#"{"detail":"bind as admin with Pw9z failed"}"#,
            MEDIA_TYPE,
        );
        let e = redact_secrets(&mut leaky, std::slice::from_ref(&short)).unwrap_err();
        assert_eq!(e.requirement, "ECMA-ERR-008");
        assert!(!leaky.response_body.as_deref().unwrap().contains("Pw9z"));
        // Inside a longer word it is not a leak, but it is still redacted.
        let mut word = x(Some(200), r#"{"id":"cn=Pw9z2,dc=x"}"#, MEDIA_TYPE);
        assert!(redact_secrets(&mut word, std::slice::from_ref(&short)).is_ok());
        assert_eq!(
            word.response_body.as_deref(),
            Some(r#"{"id":"cn=<redacted>2,dc=x"}"#)
        );
        // An echo of what the request carried is not a leak.
        let mut echo = x(Some(201), r#"{"sn":"Pw9z"}"#, MEDIA_TYPE);
        echo.request_body = Some(r#"{"sn":"Pw9z"}"#.into());
        assert!(redact_secrets(&mut echo, std::slice::from_ref(&short)).is_ok());
        // A header leaks too.
        let mut header = x(Some(200), "{}", MEDIA_TYPE);
        header
            .response_headers
            .push(("x-debug".into(), "Pw9z".into()));
        assert!(redact_secrets(&mut header, std::slice::from_ref(&short)).is_err());
        assert_eq!(redact("a Pw9z b", &[short]), "a <redacted> b");
        // A common word cannot be told from text: not searched for, still redacted.
        let word = ecma_vocab::Secret::new("secret");
        assert!(!detectable(&word) && !detectable(&ecma_vocab::Secret::new("abc")));
        let mut honest = x(
            Some(401),
            r#"{"detail":"Bearer <secret token> needed"}"#,
            MEDIA_TYPE,
        );
        assert!(redact_secrets(&mut honest, std::slice::from_ref(&word)).is_ok());
        assert!(!honest.response_body.as_deref().unwrap().contains("secret"));
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

    /// Checks name requirements, the catalogue gives levels: every requirement named in the
    /// harness's code exists there, and a check whose failure fails the step directly (`?`
    /// rather than `World::check`) names a MUST — a SHOULD must only ever warn.
    #[test]
    fn every_requirement_named_in_code_is_in_the_catalogue_and_direct_failures_are_musts() {
        let suite = crate::suite::Suite::embedded().unwrap();
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let id = regex::Regex::new(r#""(ECMA-[A-Z]+-\d{3})""#).unwrap();
        let mut files = vec![src.join("checks.rs"), src.join("world.rs")];
        for dir in [src.join("steps")] {
            for e in std::fs::read_dir(dir).unwrap() {
                files.push(e.unwrap().path());
            }
        }
        let mut problems = Vec::new();
        let mut named = 0;
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            // Statements, roughly: enough to see whether a check goes through `check(` or `?`.
            for statement in text.split(';') {
                for m in id.captures_iter(statement) {
                    named += 1;
                    let req = &m[1];
                    match suite.level(req) {
                        None => problems
                            .push(format!("{}: {req} is not in the catalogue", file.display())),
                        Some(level)
                            if level != Level::Must
                                && statement.contains(")?")
                                && !statement.contains(".check") =>
                        {
                            problems.push(format!(
                                "{}: {req} is {} but fails the step directly: {}",
                                file.display(),
                                level.name(),
                                statement.trim()
                            ))
                        }
                        _ => {}
                    }
                }
            }
        }
        assert!(named > 20, "{named}");
        assert!(problems.is_empty(), "{problems:#?}");
    }
}
