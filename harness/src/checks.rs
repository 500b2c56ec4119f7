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

/// A step's failure standing for `requirement` (its level is the catalogue's).
pub fn failed(requirement: &'static str, message: String) -> crate::world::Failure {
    crate::world::Failure::from(CheckFailure {
        requirement,
        message,
    })
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
/// A 4xx to a request by id also says which id was sent and how: ids are opaque, so the suite
/// sends the id the host returned, percent-encoded as one path segment (RFC 3986 §3.3); a
/// host that cannot find its own id that way has the fault, and the message shows both forms.
pub fn got(x: &Exchange) -> String {
    match (x.status, &x.error) {
        (Some(s), _) => {
            let detail = x
                .response_body
                .as_deref()
                .and_then(|b| serde_json::from_str::<Value>(b).ok())
                .and_then(|v| v["detail"].as_str().map(str::to_owned));
            let answer = match detail {
                Some(d) => format!("{s} ({d})"),
                None => s.to_string(),
            };
            match id_sent(x).filter(|_| (400..500).contains(&s)) {
                Some((id, segment)) => format!(
                    "{answer} for id {id:?}, sent percent-encoded as one path segment: /Users/{segment}"
                ),
                None => answer,
            }
        }
        (None, Some(e)) => format!("no answer: {e}"),
        (None, None) => "no answer".into(),
    }
}

/// The id of a request to `/Users/{id}`, decoded, and the path segment it was sent as.
fn id_sent(x: &Exchange) -> Option<(String, String)> {
    let path = x.url.split('?').next()?;
    let segment = path.split_once("/Users/")?.1;
    if segment.is_empty() || segment.contains('/') {
        return None;
    }
    let id = percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned();
    Some((id, segment.to_owned()))
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

/// `text` with every secret, of any length, replaced by `<redacted>` wherever it occurs — and
/// for a secret of 8 characters or more also the near-copies the suite sends as wrong tokens
/// (upper case, lower case, without its last character), which a host may echo back. For
/// evidence and messages: a report may lose readability to a very short secret, never show one.
pub fn redact(text: &str, secrets: &[ecma_vocab::Secret]) -> String {
    let mut out = text.to_owned();
    let mut forms: Vec<String> = Vec::new();
    for s in secrets.iter().map(|s| s.expose()).filter(|s| !s.is_empty()) {
        forms.push(s.to_owned());
        if s.chars().count() >= SHORT_SECRET {
            forms.push(s.to_uppercase());
            forms.push(s.to_lowercase());
            forms.push(s.chars().take(s.chars().count() - 1).collect());
        }
    }
    // Longest first, so a secret that contains another is replaced whole.
    let mut sorted: Vec<&str> = forms.iter().map(String::as_str).collect();
    sorted.dedup();
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

/// Whether answers can be searched for `secret` without mistaking ordinary text for it: 4
/// characters or more, not only digits (numbers fill answers: counts, uidNumbers, dates), and
/// not a word hosts use in messages.
pub fn detectable(secret: &ecma_vocab::Secret) -> bool {
    let s = secret.expose();
    s.chars().count() >= 4
        && !s.chars().all(|c| c.is_ascii_digit())
        && !COMMON_WORDS.iter().any(|w| w.eq_ignore_ascii_case(s))
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
        // Headers carry dates, lengths and tags that a short secret can read like; a short
        // secret is looked for in the body only.
        if needle.chars().count() >= SHORT_SECRET
            && x.response_headers
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

/// How long Entra waits for one answer, in milliseconds: "the ability to provide responses
/// within 60 seconds" (Microsoft, "Tutorial: Develop and plan provisioning for a SCIM
/// endpoint"; ECMA-PERF-001).
pub const ENTRA_ANSWER_LIMIT_MS: u64 = 60_000;

/// ECMA-PERF-001: the request was answered (or given up on) in less than
/// [`ENTRA_ANSWER_LIMIT_MS`]. Every request the provisioning service sends as Entra (not the
/// run's hooks) is held to it.
pub fn latency(x: &Exchange) -> Result<(), CheckFailure> {
    if x.duration_ms < ENTRA_ANSWER_LIMIT_MS {
        return Ok(());
    }
    let path = x.url.find("/scim").map_or(x.url.as_str(), |i| &x.url[i..]);
    fail(
        "ECMA-PERF-001",
        format!(
            "{} {path} took {:.1} s ({}); Entra gives up on a request after {} s",
            x.method,
            x.duration_ms as f64 / 1000.0,
            got(x),
            ENTRA_ANSWER_LIMIT_MS / 1000
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

/// A query parameter of the exchange's URL, as a number.
fn query_number(x: &Exchange, name: &str) -> Option<u64> {
    let query = x.url.split_once('?')?.1;
    form_urlencoded_pairs(query)
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.parse().ok())
}

fn form_urlencoded_pairs(query: &str) -> impl Iterator<Item = (String, String)> + '_ {
    query.split('&').filter_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(&s.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        };
        Some((decode(k), decode(v)))
    })
}

/// ECMA-MATCH-006: a ListResponse (RFC 7644 §3.4.2) whose numbers agree with what it holds and
/// what was asked: `totalResults` present and never below the resources returned, `Resources`
/// when it is not zero, no more resources than `count` asked for, `startIndex` (when given)
/// the one asked for, and `itemsPerPage` whenever fewer than all results are returned.
pub fn list_response(x: &Exchange) -> Result<Value, CheckFailure> {
    let body = json(x).unwrap_or(Value::Null);
    let shown = || reports::terminal::shorten(x.response_body.as_deref().unwrap_or("no body"));
    let is_list = body["schemas"]
        .as_array()
        .is_some_and(|a| a.iter().any(|s| s == urn::LIST_RESPONSE));
    let total = body["totalResults"].as_u64();
    let resources = body["Resources"].as_array().map_or(0, Vec::len) as u64;
    let Some(total) = total.filter(|t| is_list && (*t == 0 || resources > 0)) else {
        return Err(CheckFailure {
            requirement: "ECMA-MATCH-006",
            message: format!(
                "expected a ListResponse (schemas [{}], totalResults, Resources), got {}",
                urn::LIST_RESPONSE,
                shown()
            ),
        });
    };
    let asked_start = query_number(x, "startIndex").unwrap_or(1).max(1);
    let asked_count = query_number(x, "count");
    let wrong = |what: String| {
        Err(CheckFailure {
            requirement: "ECMA-MATCH-006",
            message: format!("{what}, in {}", shown()),
        })
    };
    if resources > total {
        return wrong(format!(
            "expected totalResults ({total}) to count at least the {resources} resources returned"
        ));
    }
    if let Some(count) = asked_count
        && resources > count
    {
        return wrong(format!(
            "expected at most count={count} resources, got {resources}"
        ));
    }
    if let Some(start) = body["startIndex"].as_u64()
        && start != asked_start
    {
        return wrong(format!(
            "expected startIndex {asked_start} (as asked), got {start}"
        ));
    }
    let rest = total.saturating_sub(asked_start - 1);
    if resources < rest && body["itemsPerPage"].as_u64() != Some(resources) {
        return wrong(format!(
            "{resources} of {rest} remaining results returned without itemsPerPage = {resources} (RFC 7644 §3.4.2.4)"
        ));
    }
    Ok(body)
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

/// ECMA-CREATE-005: a 201 says where the user is — a `Location` header (RFC 7231 §7.1.2
/// allows a relative reference) and an absolute `meta.location` (RFC 7643 §3.1) that name the
/// same resource, ending in `/Users/<id>` with the id as one percent-encoded segment (RFC 7644
/// §3.3, RFC 3986 §3.3), and `meta.resourceType` `User`. A host behind a gateway may name its
/// own base rather than the one the client used (`base`, for messages).
pub fn created_location(x: &Exchange, base: &str) -> Result<(), CheckFailure> {
    let fail = |message: String| CheckFailure {
        requirement: "ECMA-CREATE-005",
        message,
    };
    let body = json(x).unwrap_or(Value::Null);
    let id = body["id"].as_str().unwrap_or_default();
    let header = x
        .response_headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("location"))
        .map(|(_, v)| v.clone())
        .ok_or_else(|| fail("expected a Location header on the 201, got none".into()))?;
    let meta = body["meta"]["location"].as_str().unwrap_or_default();
    // The id a URL names as its last segment after /Users/.
    let names_id = |url: &str| {
        url.rsplit_once("/Users/")
            .map(|(_, s)| s)
            .filter(|s| !s.contains('/'))
            .is_some_and(|s| percent_encoding::percent_decode_str(s).decode_utf8_lossy() == id)
    };
    let absolute = meta.starts_with("https://") || meta.starts_with("http://");
    if !absolute || !names_id(meta) {
        return Err(fail(format!(
            "expected meta.location to be an absolute URL ending in /Users/ and the id {id:?} as one segment (as {base}/Users/…), got {meta:?}"
        )));
    }
    if !names_id(&header) || !meta.ends_with(header.as_str()) {
        return Err(fail(format!(
            "expected the Location header to name the resource meta.location names ({meta:?}), got {header:?}"
        )));
    }
    if body["meta"]["resourceType"] != "User" {
        return Err(fail(format!(
            "expected meta.resourceType \"User\", got {}",
            body["meta"]["resourceType"]
        )));
    }
    Ok(())
}

/// ECMA-READ-004: no secret-bearing attribute in a returned resource.
///
/// Looks at the resource itself and at every resource of a ListResponse, and — for
/// [`no_password_value`] — at the whole body.
pub fn no_password(body: &Value, attributes: &[String]) -> Result<(), CheckFailure> {
    let resources: Vec<&Value> = match body["Resources"].as_array() {
        Some(list) => list.iter().collect(),
        None => vec![body],
    };
    let mut found: Vec<&str> = Vec::new();
    for resource in resources {
        // Attribute names are case-insensitive (RFC 7643 §2.1), nested or as URN keys.
        let object = resource.as_object();
        let mut names: Vec<String> = object
            .into_iter()
            .flatten()
            .map(|(k, _)| k.to_ascii_lowercase())
            .collect();
        names.extend(
            object
                .into_iter()
                .flatten()
                .filter(|(k, _)| k.eq_ignore_ascii_case(urn::ECMA2HOST_USER))
                .flat_map(|(_, v)| v.as_object().into_iter().flatten())
                .map(|(k, _)| k.to_ascii_lowercase()),
        );
        let ext_prefix = format!("{}:", urn::ECMA2HOST_USER.to_ascii_lowercase());
        for a in attributes {
            let a_low = a.to_ascii_lowercase();
            if names
                .iter()
                .any(|n| *n == a_low || n.strip_prefix(&ext_prefix) == Some(a_low.as_str()))
            {
                found.push(a.as_str());
            }
        }
        if names.iter().any(|n| n == "password") {
            found.push("password");
        }
    }
    found.dedup();
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

/// ECMA-DISC-004: an attribute definition carries `name`, `type`, `multiValued`, `required`,
/// `caseExact`, `mutability`, `returned` and `uniqueness`, none `null`, keywords as RFC 7643
/// §7 spells them.
pub fn attribute_definition(d: &Value) -> Result<(), CheckFailure> {
    let name = d["name"].as_str().unwrap_or("?");
    let mut wrong = Vec::new();
    for key in [
        "name",
        "type",
        "multiValued",
        "required",
        "caseExact",
        "mutability",
        "returned",
        "uniqueness",
    ] {
        if d.get(key).is_none_or(Value::is_null) {
            wrong.push(format!("no {key}"));
        }
    }
    for (key, allowed) in [
        (
            "type",
            &[
                "string",
                "boolean",
                "decimal",
                "integer",
                "dateTime",
                "binary",
                "reference",
                "complex",
            ][..],
        ),
        (
            "mutability",
            &["readOnly", "readWrite", "immutable", "writeOnly"][..],
        ),
        ("returned", &["always", "never", "default", "request"][..]),
        ("uniqueness", &["none", "server", "global"][..]),
    ] {
        if let Some(v) = d[key].as_str()
            && !allowed.contains(&v)
        {
            wrong.push(format!(
                "{key} {v:?} (expected one of {})",
                allowed.join(", ")
            ));
        }
    }
    if wrong.is_empty() {
        return Ok(());
    }
    fail(
        "ECMA-DISC-004",
        format!("the definition of {name}: {}", wrong.join("; ")),
    )
}

/// ECMA-DISC-005: a definition describes the target as the profile says the host is
/// configured: `type`, `multiValued`, and for a write-only attribute `mutability` `writeOnly`
/// and `returned` `never` (for any other, not those).
pub fn definition_matches(
    d: &Value,
    wanted: &crate::profile::ExpectedDefinition,
) -> Result<(), CheckFailure> {
    let name = d["name"].as_str().unwrap_or("?");
    let kind = serde_json::to_value(wanted.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let mut wrong = Vec::new();
    if d["type"].as_str() != Some(kind.as_str()) {
        wrong.push(format!("type {} (expected {kind:?})", d["type"]));
    }
    if d["multiValued"].as_bool() != Some(wanted.multi_valued) {
        wrong.push(format!(
            "multiValued {} (expected {})",
            d["multiValued"], wanted.multi_valued
        ));
    }
    let write_only = d["mutability"] == "writeOnly" || d["returned"] == "never";
    if write_only != wanted.write_only {
        wrong.push(format!(
            "mutability {} and returned {} (expected {})",
            d["mutability"],
            d["returned"],
            if wanted.write_only {
                "writeOnly and never: it is a password"
            } else {
                "a readable attribute"
            }
        ));
    }
    if wrong.is_empty() {
        return Ok(());
    }
    fail(
        "ECMA-DISC-005",
        format!("the definition of {name}: {}", wrong.join("; ")),
    )
}

/// ECMA-READ-004: no password value the scenario sent comes back, under any name.
pub fn no_password_value(x: &Exchange, sent: &[String]) -> Result<(), CheckFailure> {
    let Some(body) = &x.response_body else {
        return Ok(());
    };
    if sent
        .iter()
        .any(|p| !p.is_empty() && body.contains(p.as_str()))
    {
        return fail(
            "ECMA-READ-004",
            "expected no password in the answer, found a password this scenario set".into(),
        );
    }
    Ok(())
}

/// ECMA-AUTH-001: a refused request shows nothing of the connector's data: no resource, no
/// list of resources, no extension attributes, and none of `known` (the user's id, DN, name)
/// unless the request itself carried it (an echo gives nothing away).
pub fn no_resource_data(x: &Exchange, known: &[String]) -> Result<(), CheckFailure> {
    let body = json(x).unwrap_or(Value::Null);
    let mut found = Vec::new();
    if body.get("id").is_some() {
        found.push("an id".to_owned());
    }
    if body["Resources"].as_array().is_some_and(|r| !r.is_empty()) {
        found.push("Resources".to_owned());
    }
    if body.get(urn::ECMA2HOST_USER).is_some() || body.get("attributes").is_some() {
        found.push("attributes".to_owned());
    }
    // What the request itself carried may be echoed; what it did not, the host gave away.
    let text = x.response_body.as_deref().unwrap_or("");
    let asked = format!(
        "{} {}",
        percent_encoding::percent_decode_str(&x.url.replace('+', " ")).decode_utf8_lossy(),
        x.request_body.as_deref().unwrap_or("")
    );
    // A short id (`4`) would be found in any number; ids, names and DNs of 8 characters or
    // more are looked for, as whole words.
    let whole = |hay: &str, k: &str| {
        hay.match_indices(k).any(|(at, _)| {
            let before = hay[..at].chars().next_back();
            let after = hay[at + k.len()..].chars().next();
            !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
        })
    };
    found.extend(
        known
            .iter()
            .filter(|k| k.chars().count() >= 8 && whole(text, k) && !whole(&asked, k))
            .map(|k| format!("{k:?}")),
    );
    if found.is_empty() {
        return Ok(());
    }
    fail(
        "ECMA-AUTH-001",
        format!(
            "expected no resource data in the refusal, found {}",
            found.join(", ")
        ),
    )
}

/// ECMA-ERR-004, by the target's own log: the host wrote nothing (`writes` are what it wrote
/// during the request).
pub fn no_writes(writes: &[String]) -> Result<(), CheckFailure> {
    if writes.is_empty() {
        return Ok(());
    }
    fail(
        "ECMA-ERR-004",
        format!(
            "expected the target unchanged, but its log shows the host wrote: {}",
            writes.join("; ")
        ),
    )
}

/// ECMA-ERR-004: the target's state did not change.
///
/// `versions` are the attributes that change on every write (entryCSN, a row version): when
/// only they differ, the message says the object was rewritten with the values it had.
pub fn unchanged(
    before: &Snapshot,
    after: &Snapshot,
    versions: &[String],
) -> Result<(), CheckFailure> {
    if before == after {
        return Ok(());
    }
    let mut rewritten = true;
    let mut differences = Vec::new();
    for dn in before
        .keys()
        .chain(after.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        match (before.get(dn), after.get(dn)) {
            (Some(_), None) => {
                rewritten = false;
                differences.push(format!("{dn} was removed"));
            }
            (None, Some(_)) => {
                rewritten = false;
                differences.push(format!("{dn} appeared"));
            }
            (Some(b), Some(a)) if a != b => {
                for attr in b
                    .keys()
                    .chain(a.keys())
                    .collect::<std::collections::BTreeSet<_>>()
                {
                    if b.get(attr) != a.get(attr) {
                        rewritten &= versions.contains(attr);
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
    let how = if rewritten {
        "it was written to although no value changed: "
    } else {
        ""
    };
    fail(
        "ECMA-ERR-004",
        format!(
            "expected the target unchanged, but {how}{}\n{}",
            differences.join("; "),
            reports::textdiff::states(before, after, "before the request", "after it")
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
    fn a_refusal_of_an_id_says_which_id_was_sent_and_how() {
        let mut e = x(Some(404), r#"{"detail":"no such user"}"#, MEDIA_TYPE);
        e.url = "https://h/ecma2host_X/scim/Users/cn%3Da%2Cdc%3Dx".into();
        assert_eq!(
            got(&e),
            "404 (no such user) for id \"cn=a,dc=x\", sent percent-encoded as one path segment: /Users/cn%3Da%2Cdc%3Dx"
        );
        e.status = Some(500);
        assert_eq!(got(&e), "500 (no such user)");
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
        let l = |body: Value, url: &str| {
            let mut e = x(Some(200), &body.to_string(), MEDIA_TYPE);
            e.url = url.into();
            list_response(&e)
        };
        let one = json!({"id": "a"});
        let schemas = json!([urn::LIST_RESPONSE]);
        let u = "https://h/scim/Users?filter=x";
        assert!(
            l(
                json!({"schemas": schemas, "totalResults": 1, "Resources": [one]}),
                u
            )
            .is_ok()
        );
        // A total below what came back, or above it without paging, is wrong.
        assert!(
            l(
                json!({"schemas": schemas, "totalResults": 0, "Resources": [one]}),
                u
            )
            .is_err()
        );
        assert!(
            l(
                json!({"schemas": schemas, "totalResults": 5, "Resources": [one]}),
                u
            )
            .is_err()
        );
        assert!(
            l(
                json!({"schemas": schemas, "totalResults": 5, "itemsPerPage": 1, "Resources": [one]}),
                u
            )
            .is_ok(),
            "paged by the server, and saying so"
        );
        // Paging as asked.
        let p = "https://h/scim/Users?startIndex=3&count=1";
        assert!(
            l(
                json!({"schemas": schemas, "totalResults": 3, "startIndex": 3, "itemsPerPage": 1, "Resources": [one]}),
                p
            )
            .is_ok()
        );
        assert!(
            l(
                json!({"schemas": schemas, "totalResults": 3, "startIndex": 1, "itemsPerPage": 1, "Resources": [one]}),
                p
            )
            .is_err()
        );
        assert!(
            l(
                json!({"schemas": schemas, "totalResults": 3, "Resources": [one, one]}),
                "https://h/scim/Users?count=1"
            )
            .is_err()
        );
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
        let body = json!({urn::ECMA2HOST_USER: {"cn": "a", "USERPASSWORD": "{SSHA}x"}});
        assert!(
            no_password(&body, &["userPassword".into()]).is_err(),
            "any case"
        );
        let body = json!({"Resources": [{format!("{}:userpassword", urn::ECMA2HOST_USER): "x"}]});
        assert!(
            no_password(&body, &["userPassword".into()]).is_err(),
            "URN key, in a list"
        );
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
        // A header leaks a long secret; a short one is looked for in the body only.
        let long = ecma_vocab::Secret::new("Pw9z-Pw9z-Pw9z");
        let mut header = x(Some(200), "{}", MEDIA_TYPE);
        header
            .response_headers
            .push(("x-debug".into(), "Pw9z-Pw9z-Pw9z".into()));
        assert!(redact_secrets(&mut header, std::slice::from_ref(&long)).is_err());
        let mut header = x(Some(200), "{}", MEDIA_TYPE);
        header.response_headers.push(("date".into(), "Pw9z".into()));
        assert!(redact_secrets(&mut header, std::slice::from_ref(&short)).is_ok());
        assert!(!detectable(&ecma_vocab::Secret::new("2025")));
        assert_eq!(redact("a Pw9z b", &[short]), "a <redacted> b");
        // A long secret's near-copies (the wrong tokens the suite sends) are redacted too.
        let token = ecma_vocab::Secret::new("Token-Value-42");
        assert_eq!(
            redact("TOKEN-VALUE-42 token-value-42 Token-Value-4", &[token]),
            "<redacted> <redacted> <redacted>"
        );
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
    fn a_rewrite_of_identical_values_is_a_change_and_is_called_one() {
        let entry = |csn: &str| -> Snapshot {
            [(
                "cn=a".to_owned(),
                [
                    ("sn".to_owned(), vec!["X".to_owned()]),
                    ("entrycsn".to_owned(), vec![csn.to_owned()]),
                ]
                .into_iter()
                .collect(),
            )]
            .into_iter()
            .collect()
        };
        let e = unchanged(&entry("1"), &entry("2"), &["entrycsn".into()]).unwrap_err();
        assert!(
            e.message.contains("written to although no value changed"),
            "{}",
            e.message
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
        assert!(unchanged(&a, &a.clone(), &[]).is_ok());
        let mut b = a.clone();
        b.get_mut("cn=a")
            .unwrap()
            .insert("sn".into(), vec!["Y".into()]);
        b.insert("cn=b".into(), Default::default());
        let e = unchanged(&a, &b, &[]).unwrap_err();
        assert!(
            e.message.contains("cn=a: sn") && e.message.contains("cn=b appeared"),
            "{}",
            e.message
        );
        assert!(
            unchanged(&a, &Snapshot::new(), &[])
                .unwrap_err()
                .message
                .contains("cn=a was removed")
        );
    }

    /// Checks name requirements, the catalogue gives levels: every requirement named in the
    /// harness's code exists there, a step that fails directly (`?` rather than
    /// `World::check`) names a MUST, and the checks here that stand for a SHOULD are only ever
    /// called through `World::check` — a SHOULD must only ever warn.
    #[test]
    fn every_requirement_named_in_code_is_in_the_catalogue_and_direct_failures_are_musts() {
        let suite = crate::suite::Suite::embedded().unwrap();
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let id = regex::Regex::new(r#""(ECMA-[A-Z]+-\d{3})""#).unwrap();
        let mut callers = vec![src.join("world.rs")];
        for e in std::fs::read_dir(src.join("steps")).unwrap() {
            callers.push(e.unwrap().path());
        }
        let mut problems = Vec::new();
        // Call sites: a statement that names a requirement and fails with `?` names a MUST.
        for file in &callers {
            let text = std::fs::read_to_string(file).unwrap();
            for statement in text.split(';') {
                for m in id.captures_iter(statement) {
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
        // This file: every requirement a check stands for exists; the SHOULD ones belong to
        // checks that every caller routes through `World::check`.
        let text = std::fs::read_to_string(src.join("checks.rs")).unwrap();
        let code = &text[..text.find("#[cfg(test)]").unwrap()];
        let mut should = Vec::new();
        for m in id.captures_iter(code) {
            match suite.level(&m[1]) {
                None => problems.push(format!("checks.rs: {} is not in the catalogue", &m[1])),
                Some(Level::Must) => {}
                Some(_) => should.push(m[1].to_owned()),
            }
        }
        assert_eq!(
            should,
            ["ECMA-ERR-003", "ECMA-DISC-005"],
            "update the list below"
        );
        for function in ["media_type(", "definition_matches("] {
            for file in &callers {
                let text = std::fs::read_to_string(file).unwrap();
                for line in text.lines().filter(|l| l.contains(function)) {
                    if !line.contains("check(") {
                        problems.push(format!(
                            "{}: {function} is a SHOULD check, called without World::check: {}",
                            file.display(),
                            line.trim()
                        ));
                    }
                }
            }
        }
        assert!(problems.is_empty(), "{problems:#?}");
    }
}
