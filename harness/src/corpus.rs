//! The bad-input corpus (ECMA-ROBUST-018): requests no correct provisioning service sends —
//! malformed JSON, wrong types, invalid encodings, filter and DN injection, PATCH abuse, ids
//! that try to leave `/Users`, method and header abuse — each stating the answer a host must
//! give. One file per class in `features/robustness/corpus/<class>.toml`; a scenario per class
//! sends every case and reports the ones answered wrongly as a table.
//!
//! A file:
//!
//! ```toml
//! class = "Malformed JSON"      # the class, as the report names it
//! method = "POST"               # defaults for the cases below
//! path = "/Users"
//! content_type = "application/scim+json"
//! answer = "error"
//!
//! [[case]]
//! name = "truncated after the first key"
//! body = '{"schemas":'
//!
//! [[case]]
//! name = "a byte that is not UTF-8"
//! body_hex = "7b22757365724e616d65223a2261ff227d"
//!
//! [[generate]]
//! kind = "truncations"          # a valid create cut at `count` points
//! count = 24
//! ```
//!
//! Case keys: `name`; `method`, `path`, `content_type` (`""` sends none) and `answer` override
//! the file's; `headers = [["Name", "value"], …]` are sent in order, duplicates kept (with an
//! `Authorization` among them the connector's token is not added); `body` (text with
//! placeholders) or `body_hex` (bytes as they are). Placeholders, in paths, headers and bodies:
//! `{id}` the bystander's id as is and `{id_path}` percent-encoded; `{new}` a name for a user
//! no case may leave behind (it ends with the scenario's suffix, so the probe sees it);
//! `{new_dn}` that user's DN; `{container}` the run's container; `{attr}` the filter path of
//! the profile's matching attribute, `{value}` the bystander's value of it, `{head}` its start
//! before the scenario's suffix (the same in every run); `{create}` a whole valid create of `{new}`; `{user_urn}`, `{ext_urn}`, `{patch_urn}`;
//! `{token}` the connector's token; `{repeat:N:TEXT}` TEXT N times (N up to 16 Mi; TEXT
//! without `}`); `{rbraces:N}`; `{clauses:N}` and `{nest:N}` (filters: N clauses that match
//! nobody, one in N parentheses); `{bad_ops:N}` and `{same_ops:N}` (PATCH operations with an
//! unknown op, or setting `{attr}` to the value it has); `{value_star}` and `{value_wild}`
//! (the bystander's value with its last character replaced by `*` or `_`); `{create_ext}`
//! (the create's extension object); in bodies, `{byte:HH}` (one byte as is).
//!
//! Generators make what a file should not spell out: `truncations` (a valid create cut at
//! `count` evenly spaced points), `wrong-types` (each attribute of a valid create, and of a
//! PATCH value, given each JSON type it does not have).
//!
//! Answers (`answer`), besides what every case must get — an answer within the request
//! timeout, never a 5xx (ECMA-ERR-012's 501 aside), the target unchanged (ECMA-ERR-004), and
//! the host answering a GET of the bystander correctly afterwards (ECMA-ROBUST-013):
//! - `error`: a 4xx;
//! - `no-match`: a 200 ListResponse with no resource, or a 4xx (a filter whose value holds
//!   the target's own wildcards or query syntax matches it literally);
//! - `served-or-error`: any 2xx or 4xx (input a host may accept or refuse);
//! - `not-implemented`: a 4xx or 501 (a method or endpoint no host need implement).
//!
//! Written here rather than taken from a fuzzing crate: the cases are the suite's checks,
//! each with its expected answer, run against any host; fuzzing our own parsers is separate.

use std::collections::BTreeMap;

use serde::Deserialize;

/// What a case's answer must be (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Answer {
    /// A 4xx.
    Error,
    /// A 200 ListResponse with no resource, or a 4xx.
    NoMatch,
    /// A 2xx or a 4xx.
    ServedOrError,
    /// A 4xx (404, 405 …) or 501.
    NotImplemented,
}

impl Answer {
    /// `Err(why)` when `status` (with the answer's JSON body) is not this class.
    pub fn check(self, status: u16, body: Option<&serde_json::Value>) -> Result<(), String> {
        let four = (400..500).contains(&status);
        let ok = match self {
            Answer::Error => four,
            Answer::NoMatch => {
                four || (status == 200
                    && body.is_some_and(|b| {
                        b["totalResults"].as_u64() == Some(0)
                            && b["Resources"].as_array().is_none_or(Vec::is_empty)
                    }))
            }
            Answer::ServedOrError => four || (200..300).contains(&status),
            Answer::NotImplemented => four || status == 501,
        };
        if ok {
            return Ok(());
        }
        Err(match self {
            Answer::Error => format!("expected a 4xx Error, got {status}"),
            Answer::NoMatch if status == 200 => format!(
                "expected no match (the value taken literally), got 200 with totalResults {}",
                body.map_or("(no JSON)".to_owned(), |b| b["totalResults"].to_string())
            ),
            Answer::NoMatch => format!("expected 200 with no match or a 4xx, got {status}"),
            Answer::ServedOrError => format!("expected a 2xx or a 4xx, got {status}"),
            Answer::NotImplemented => format!("expected a 4xx or 501, got {status}"),
        })
    }

    /// The class's name in files and reports.
    pub fn name(self) -> &'static str {
        match self {
            Answer::Error => "error",
            Answer::NoMatch => "no-match",
            Answer::ServedOrError => "served-or-error",
            Answer::NotImplemented => "not-implemented",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    class: String,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    content_type: Option<String>,
    #[serde(default)]
    answer: Option<Answer>,
    #[serde(default, rename = "case")]
    cases: Vec<CaseSpec>,
    #[serde(default)]
    generate: Vec<Generate>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseSpec {
    name: String,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    content_type: Option<String>,
    #[serde(default)]
    headers: Vec<[String; 2]>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    body_hex: Option<String>,
    #[serde(default)]
    filter: Option<String>,
    #[serde(default)]
    dn: Option<String>,
    #[serde(default)]
    answer: Option<Answer>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Generate {
    kind: GenerateKind,
    #[serde(default)]
    count: Option<usize>,
}

#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum GenerateKind {
    Truncations,
    WrongTypes,
}

/// One request of the corpus, before its placeholders are filled in.
#[derive(Clone, Debug, PartialEq)]
pub struct Case {
    /// What it is (`truncated after the first key`).
    pub name: String,
    /// The method, as sent.
    pub method: String,
    /// The target after the SCIM base's path, with placeholders.
    pub path: String,
    /// A filter (with placeholders) sent as `?filter=` after `path`, encoded as Entra encodes
    /// one (`+` for spaces, everything but unreserved characters percent-encoded).
    pub filter: Option<String>,
    /// Headers, with placeholders; `Content-Type` first when the case has one.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Body,
    /// The answer it must get.
    pub answer: Answer,
}

/// A case's body.
#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    /// None.
    Empty,
    /// Text with placeholders.
    Text(String),
    /// Bytes as they are.
    Bytes(Vec<u8>),
    /// Generated from the valid create of `{new}` when the case is sent.
    Generated(Generated),
}

/// A body made from the run's own valid requests.
#[derive(Clone, Debug, PartialEq)]
pub enum Generated {
    /// The create cut at `at` of `of` evenly spaced points (1 ≤ at < of).
    Truncated {
        /// Which point.
        at: usize,
        /// How many points.
        of: usize,
    },
    /// The create with its `-dn-` given this text (with placeholders); not made where the
    /// profile's create has no `-dn-`.
    CreateWithDn(String),
    /// The create with the extension attribute number `attribute` (in the create's order;
    /// `None` for `active`) given `value` instead.
    CreateWithType {
        /// The attribute's index among the extension's, or `None` for core `active`.
        attribute: Option<usize>,
        /// The value of the wrong type.
        value: serde_json::Value,
    },
    /// A PATCH replacing the bystander's extension attribute number `attribute` with `value`.
    PatchWithType {
        /// The attribute's index among the bystander's create's.
        attribute: usize,
        /// The value of the wrong type.
        value: serde_json::Value,
    },
}

/// One class of the corpus.
#[derive(Clone, Debug, PartialEq)]
pub struct Corpus {
    /// The file's stem (`json`), as scenarios name it.
    pub name: String,
    /// The class, as the report names it.
    pub class: String,
    /// Its cases, in file order, generated ones last.
    pub cases: Vec<Case>,
}

/// How many attributes a create may carry that `wrong-types` varies; cases are made for the
/// first this many (the profile's create decides how many there are).
pub const TYPED_ATTRIBUTES: usize = 12;

/// The JSON values `wrong-types` tries, by name: each attribute gets those whose type differs
/// from its own value's.
fn wrong_values() -> Vec<(&'static str, serde_json::Value)> {
    use serde_json::json;
    vec![
        ("a number", json!(42)),
        ("a Boolean", json!(true)),
        ("an object", json!({"value": "x"})),
        ("an array of objects", json!([{"value": "x"}])),
    ]
}

impl Corpus {
    /// Parses one corpus file; `name` is its stem. Errors name the case.
    pub fn parse(name: &str, text: &str) -> Result<Corpus, String> {
        let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut cases = Vec::new();
        for spec in file.cases {
            let field = |own: Option<String>, default: &Option<String>, key: &str| {
                own.or_else(|| default.clone())
                    .ok_or_else(|| format!("case {:?} has no {key} (nor the file)", spec.name))
            };
            let method = field(spec.method, &file.method, "method")?;
            let path = match &spec.filter {
                Some(_) => "/Users".to_owned(),
                None => field(spec.path, &file.path, "path")?,
            };
            let answer = spec
                .answer
                .or(file.answer)
                .ok_or_else(|| format!("case {:?} has no answer (nor the file)", spec.name))?;
            let mut headers = Vec::new();
            match spec.content_type.or_else(|| file.content_type.clone()) {
                Some(ct) if ct.is_empty() => {}
                Some(ct) => headers.push(("Content-Type".to_owned(), ct)),
                None => {}
            }
            headers.extend(spec.headers.into_iter().map(|[n, v]| (n, v)));
            let body = match (spec.body, spec.body_hex, spec.dn) {
                (Some(text), None, None) => Body::Text(text),
                (None, Some(hex), None) => Body::Bytes(
                    unhex(&hex)
                        .ok_or_else(|| format!("case {:?}: body_hex is not hex", spec.name))?,
                ),
                (None, None, Some(dn)) => Body::Generated(Generated::CreateWithDn(dn)),
                (None, None, None) => Body::Empty,
                _ => {
                    return Err(format!(
                        "case {:?} has more than one of body, body_hex and dn",
                        spec.name
                    ));
                }
            };
            cases.push(Case {
                name: spec.name,
                method,
                path,
                filter: spec.filter,
                headers,
                body,
                answer,
            });
        }
        let json = vec![("Content-Type".to_owned(), scim_proto::MEDIA_TYPE.to_owned())];
        for g in file.generate {
            match g.kind {
                GenerateKind::Truncations => {
                    let of = g.count.unwrap_or(24).max(2);
                    for at in 1..of {
                        cases.push(Case {
                            name: format!("a valid create cut at {at}/{of} of its length"),
                            method: "POST".into(),
                            path: "/Users".into(),
                            filter: None,
                            headers: json.clone(),
                            body: Body::Generated(Generated::Truncated { at, of }),
                            answer: Answer::Error,
                        });
                    }
                }
                GenerateKind::WrongTypes => {
                    for (what, value) in wrong_values() {
                        if value.is_boolean() {
                            continue;
                        }
                        cases.push(Case {
                            name: format!("a create whose active is {what}"),
                            method: "POST".into(),
                            path: "/Users".into(),
                            filter: None,
                            headers: json.clone(),
                            body: Body::Generated(Generated::CreateWithType {
                                attribute: None,
                                value,
                            }),
                            answer: Answer::Error,
                        });
                    }
                    for i in 0..TYPED_ATTRIBUTES {
                        for (what, value) in wrong_values() {
                            cases.push(Case {
                                name: format!("a create whose attribute #{} is {what}", i + 1),
                                method: "POST".into(),
                                path: "/Users".into(),
                                filter: None,
                                headers: json.clone(),
                                body: Body::Generated(Generated::CreateWithType {
                                    attribute: Some(i),
                                    value: value.clone(),
                                }),
                                answer: Answer::Error,
                            });
                            cases.push(Case {
                                name: format!(
                                    "a PATCH setting the bystander's attribute #{} to {what}",
                                    i + 1
                                ),
                                method: "PATCH".into(),
                                path: "/Users/{id_path}".into(),
                                filter: None,
                                headers: json.clone(),
                                body: Body::Generated(Generated::PatchWithType {
                                    attribute: i,
                                    value,
                                }),
                                answer: Answer::Error,
                            });
                        }
                    }
                }
            }
        }
        if cases.is_empty() {
            return Err("no case".into());
        }
        Ok(Corpus {
            name: name.to_owned(),
            class: file.class,
            cases,
        })
    }
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok())
        .collect()
}

/// What a case's placeholders stand for in one scenario. Its `Debug` shows the names only
/// (`{token}` is among the values).
#[derive(Clone, Default)]
pub struct Values {
    /// Name → text (`id`, `new`, `attr`, …; see the module doc).
    pub named: BTreeMap<&'static str, String>,
}

impl std::fmt::Debug for Values {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.named.keys()).finish()
    }
}

/// The most `{repeat:N:TEXT}` may make, in bytes.
pub const REPEAT_LIMIT: usize = 16 << 20;

impl Values {
    /// `text` with every placeholder filled in. Errors: an unknown placeholder, or a repeat
    /// over [`REPEAT_LIMIT`].
    pub fn fill(&self, text: &str) -> Result<String, String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else {
                out.push_str(&rest[open..]);
                return Ok(out);
            };
            let key = &after[..close];
            if let Some(spec) = key.strip_prefix("repeat:") {
                let (n, what) = spec
                    .split_once(':')
                    .ok_or_else(|| format!("{{{key}}}: expected {{repeat:N:TEXT}}"))?;
                let n: usize = n
                    .parse()
                    .map_err(|_| format!("{{{key}}}: {n:?} is not a count"))?;
                if n.saturating_mul(what.len()) > REPEAT_LIMIT {
                    return Err(format!("{{{key}}}: over {REPEAT_LIMIT} bytes"));
                }
                out.push_str(&what.repeat(n));
            } else if let Some((kind, n)) = key.split_once(':')
                && matches!(
                    kind,
                    "clauses" | "nest" | "bad_ops" | "same_ops" | "rbraces"
                )
            {
                let n: usize = n
                    .parse()
                    .map_err(|_| format!("{{{key}}}: {n:?} is not a count"))?;
                out.push_str(&self.generated(kind, n)?);
            } else if let Some(v) = self.named.get(key) {
                out.push_str(v);
            } else if looks_like_a_placeholder(key) {
                return Err(format!(
                    "unknown placeholder {{{key}}} ({{byte:HH}} only in bodies)"
                ));
            } else {
                // Not a placeholder: JSON's own braces.
                out.push('{');
                rest = after;
                continue;
            }
            rest = &after[close + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// A key a file means as a placeholder (`{nope}`, `{clause:5}`, `{byte:ff}`) rather than JSON
/// (`{"a":`, `{}`, `{schemas:["…`): lower-case name, then `:`-separated plain arguments.
fn looks_like_a_placeholder(key: &str) -> bool {
    let mut parts = key.split(':');
    let name_ok = parts
        .next()
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
    name_ok
        && parts.all(|a| {
            a.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'-'))
        })
}

/// What a filter in a query keeps as is: RFC 3986 unreserved characters and the space (which
/// becomes `+`).
const QUERY_KEEP: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b' ');

/// The most a counted placeholder (`{clauses:N}`, …) may count.
pub const COUNT_LIMIT: usize = 100_000;

/// `filter` as a query parameter value, encoded as Entra encodes it.
pub fn query(filter: &str) -> String {
    percent_encoding::utf8_percent_encode(filter, QUERY_KEEP)
        .to_string()
        .replace(' ', "+")
}

impl Values {
    /// `{clauses:N}` (N `or`-joined clauses on `{attr}` that match nobody), `{nest:N}` (one
    /// such clause in N pairs of parentheses), `{bad_ops:N}` (N PATCH operations with an
    /// unknown `op`), `{same_ops:N}` (N operations replacing `{attr}` with the value it has),
    /// `{rbraces:N}` (N closing braces, which `{repeat:…}` cannot hold).
    fn generated(&self, kind: &str, n: usize) -> Result<String, String> {
        if n > COUNT_LIMIT {
            return Err(format!("{{{kind}:{n}}}: over {COUNT_LIMIT}"));
        }
        let attr = self.named.get("attr").map_or("", String::as_str);
        let value = serde_json::to_string(self.named.get("value").map_or("", String::as_str))
            .map_err(|e| e.to_string())?;
        let nobody = |i: usize| format!("{attr} eq \"nobody-{i}\"");
        Ok(match kind {
            "clauses" => (0..n).map(nobody).collect::<Vec<_>>().join(" or "),
            "nest" => format!("{}{}{}", "(".repeat(n), nobody(0), ")".repeat(n)),
            "rbraces" => "}".repeat(n),
            "bad_ops" => {
                vec![format!(r#"{{"op":"frobnicate","path":"{attr}","value":"x"}}"#); n].join(",")
            }
            _ => {
                vec![format!(r#"{{"op":"Replace","path":"{attr}","value":{value}}}"#); n].join(",")
            }
        })
    }

    /// [`fill`](Self::fill) for a body: also `{byte:HH}`, one byte as is (invalid UTF-8
    /// included).
    pub fn fill_bytes(&self, text: &str) -> Result<Vec<u8>, String> {
        let mut out = Vec::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find("{byte:") {
            out.extend(self.fill(&rest[..at])?.into_bytes());
            let hex = rest
                .get(at + 6..at + 8)
                .filter(|_| rest.get(at + 8..at + 9) == Some("}"))
                .ok_or_else(|| "expected {byte:HH}".to_owned())?;
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!("{{byte:{hex}}}: expected two hex digits"));
            }
            out.push(u8::from_str_radix(hex, 16).map_err(|_| format!("{{byte:{hex}}}"))?);
            rest = &rest[at + 9..];
        }
        out.extend(self.fill(rest)?.into_bytes());
        Ok(out)
    }
}

/// The shipped corpus files' paths, as `Suite` holds them: `robustness/corpus/<name>.toml`.
pub fn name_of(path: &str) -> Option<&str> {
    path.strip_prefix("robustness/corpus/")?
        .strip_suffix(".toml")
        .filter(|n| !n.contains('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_gives_its_cases_with_the_file_s_defaults_and_generated_ones() {
        let corpus = Corpus::parse(
            "json",
            r#"
class = "Malformed JSON"
method = "POST"
path = "/Users"
content_type = "application/scim+json"
answer = "error"

[[case]]
name = "truncated"
body = '{"schemas":'

[[case]]
name = "not UTF-8"
body_hex = "7b ff 7d"
content_type = ""
answer = "served-or-error"

[[generate]]
kind = "truncations"
count = 4
"#,
        )
        .unwrap();
        assert_eq!(corpus.cases.len(), 2 + 3);
        assert_eq!(corpus.cases[0].headers[0].1, "application/scim+json");
        assert_eq!(corpus.cases[1].body, Body::Bytes(vec![0x7b, 0xff, 0x7d]));
        assert!(corpus.cases[1].headers.is_empty());
        assert_eq!(corpus.cases[1].answer, Answer::ServedOrError);
        assert_eq!(
            corpus.cases[4].body,
            Body::Generated(Generated::Truncated { at: 3, of: 4 })
        );
    }

    #[test]
    fn files_that_cannot_be_used_say_why() {
        let no_answer = Corpus::parse(
            "x",
            "class = \"c\"\n[[case]]\nname = \"a\"\nmethod = \"GET\"\npath = \"/\"\n",
        );
        assert!(no_answer.unwrap_err().contains("has no answer"));
        let unknown = Corpus::parse("x", "class = \"c\"\nanswr = \"error\"\n");
        assert!(unknown.unwrap_err().contains("answr"));
        let bad_hex = Corpus::parse(
            "x",
            "class = \"c\"\nanswer = \"error\"\nmethod = \"GET\"\npath = \"/\"\n[[case]]\nname = \"a\"\nbody_hex = \"7\"\n",
        );
        assert!(bad_hex.unwrap_err().contains("not hex"));
    }

    #[test]
    fn placeholders_are_filled_and_json_braces_left() {
        let mut v = Values::default();
        v.named.insert("id", "u-1".into());
        assert_eq!(
            v.fill(r#"{"id":"{id}","x":{repeat:3:ab}}"#).unwrap(),
            r#"{"id":"u-1","x":ababab}"#
        );
        assert_eq!(v.fill("{}").unwrap(), "{}");
        assert!(
            v.fill("{nope}")
                .unwrap_err()
                .contains("unknown placeholder")
        );
        assert!(v.fill("{repeat:99999999999:x}").is_err());
        assert!(
            v.fill("{clause:5}")
                .unwrap_err()
                .contains("unknown placeholder")
        );
        assert!(v.fill("{byte:ff}").unwrap_err().contains("only in bodies"));
        assert!(v.fill("{nest:-1}").unwrap_err().contains("not a count"));
        assert!(v.fill_bytes("{byte:+f}").is_err());
        assert_eq!(v.fill_bytes("a{byte:ff}").unwrap(), b"a\xff");
        assert_eq!(v.fill("{schemas:[1]}").unwrap(), "{schemas:[1]}");
    }

    /// Every shipped case can be made: its placeholders are known and its sizes in bounds.
    /// (Generated bodies need a run's create; they are made by the scenarios.)
    #[test]
    fn every_shipped_case_fills_in() {
        let suite = crate::suite::Suite::embedded().unwrap();
        let mut v = Values::default();
        for key in [
            "id",
            "id_path",
            "new",
            "new_dn",
            "container",
            "attr",
            "head",
            "value",
            "create",
            "create_ext",
            "value_star",
            "value_wild",
            "user_urn",
            "ext_urn",
            "patch_urn",
            "token",
        ] {
            v.named.insert(key, format!("<{key}>"));
        }
        let mut total = 0;
        for corpus in suite.corpora.values() {
            for case in &corpus.cases {
                let made = v.fill(&case.path).and_then(|_| {
                    for (_, value) in &case.headers {
                        v.fill(value)?;
                    }
                    if let Some(f) = &case.filter {
                        v.fill(f)?;
                    }
                    match &case.body {
                        Body::Text(t) => v.fill_bytes(t).map(|_| ()),
                        Body::Generated(Generated::CreateWithDn(dn)) => v.fill(dn).map(|_| ()),
                        _ => Ok(()),
                    }
                });
                assert!(made.is_ok(), "{} / {}: {made:?}", corpus.name, case.name);
                total += 1;
            }
        }
        assert_eq!(
            suite.corpora.keys().collect::<Vec<_>>(),
            ["dn", "filters", "http", "ids", "json", "patch", "types"]
        );
        // Generated wrong-type cases are made per profile; the rest is fixed.
        assert!(total >= 250, "{total} cases");
    }

    #[test]
    fn answers_are_classes_of_status() {
        let empty = serde_json::json!({"totalResults": 0, "Resources": []});
        let one = serde_json::json!({"totalResults": 1, "Resources": [{}]});
        assert!(Answer::Error.check(400, None).is_ok());
        assert!(Answer::Error.check(500, None).is_err());
        assert!(Answer::Error.check(201, None).is_err());
        assert!(Answer::NoMatch.check(200, Some(&empty)).is_ok());
        assert!(Answer::NoMatch.check(200, Some(&one)).is_err());
        assert!(Answer::NoMatch.check(400, None).is_ok());
        assert!(Answer::ServedOrError.check(204, None).is_ok());
        assert!(Answer::ServedOrError.check(503, None).is_err());
        assert!(Answer::NotImplemented.check(501, None).is_ok());
        assert!(Answer::NotImplemented.check(400, None).is_ok());
        assert!(Answer::NotImplemented.check(200, None).is_err());
        assert!(Answer::NotImplemented.check(500, None).is_err());
    }
}
