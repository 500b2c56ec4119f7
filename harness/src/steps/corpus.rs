//! The bad-input corpus's steps (ECMA-ROBUST-018; the corpus itself is [`crate::corpus`]):
//! send every case of a class, then judge them together, so that the report holds one
//! scenario per class with a table of the cases answered wrongly.

use cucumber::step::{Context, Step};
use serde_json::Value;

use super::{arg, step};
use crate::corpus::{Answer, Body, Case, Generated, Values};
use crate::provisioning::{Auth, RawRequest, entra};
use crate::world::{CorpusResult, EcmaWorld, Failure, StepResult};

/// `When` steps.
pub static WHEN: &[(&str, Step<EcmaWorld>)] = &[(
    r#"^the provisioning service sends every request of the "([a-z0-9-]+)" corpus$"#,
    step!(send_corpus),
)];

/// `Then` steps.
pub static THEN: &[(&str, Step<EcmaWorld>)] = &[(
    r"^each was answered as its case says, within the request timeout, and changed nothing in the target$",
    step!(answered_as_said),
)];

/// The user every case may be about, created by the scenario's `Given`.
const BYSTANDER: &str = "bystander";
/// The user no case may leave behind.
const INTRUDER: &str = "intruder";

/// The placeholders' values for this scenario (see [`crate::corpus`]).
fn values(w: &mut EcmaWorld) -> Result<(Values, Bases), Failure> {
    let run = w.run()?;
    let id = w.id_of(BYSTANDER)?;
    let matching = w.logical(&run.profile.matching_attribute)?;
    let bystander = w.user(BYSTANDER)?;
    let value = match bystander.values.get(&matching.target) {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    let original = bystander.original.clone();
    let create = w.create_attributes(INTRUDER, &[])?;
    let intruder = w.user(INTRUDER)?;
    let (new, new_dn) = (intruder.name.clone(), intruder.dn.clone());
    let create_body = match entra::create(&create).body {
        Some(crate::provisioning::Body::Json(v)) => v,
        _ => return Err(Failure::new("a create without a JSON body")),
    };
    // The value before the scenario's suffix (`bystander` of `bystander.r1a2b3c-7@…`): the
    // same in every run, so that two runs' evidence compares; half the value when the suffix
    // is not in it.
    let suffix_at = value
        .find(&w.suffix)
        .map(|at| value[..at].trim_end_matches(['-', '.', '_']).len());
    let mut half = suffix_at.filter(|n| *n > 0).unwrap_or(value.len() / 2);
    while !value.is_char_boundary(half) {
        half -= 1;
    }
    // The value with its last character replaced by a wildcard of the target's own.
    let but_last = value
        .char_indices()
        .last()
        .map_or("", |(i, _)| &value[..i])
        .to_owned();
    let ext = create_body
        .get(scim_proto::urn::ECMA2HOST_USER)
        .map(Value::to_string)
        .unwrap_or_default();
    let mut v = Values::default();
    let id_path = entra::user_path(&id)
        .trim_start_matches("/Users/")
        .to_owned();
    for (key, text) in [
        ("id", id),
        ("id_path", id_path),
        ("new", new),
        ("new_dn", new_dn),
        ("container", run.container.clone()),
        ("attr", entra::urn_of(&matching.target)),
        ("head", value[..half].to_owned()),
        ("value", value),
        ("create", create_body.to_string()),
        ("create_ext", ext),
        ("value_star", format!("{but_last}*")),
        ("value_wild", format!("{but_last}_")),
        ("user_urn", scim_proto::urn::CORE_USER.to_owned()),
        ("ext_urn", scim_proto::urn::ECMA2HOST_USER.to_owned()),
        ("patch_urn", scim_proto::urn::PATCH_OP.to_owned()),
        ("token", run.service.token_text().to_owned()),
    ] {
        v.named.insert(key, text);
    }
    Ok((
        v,
        Bases {
            create: create_body,
            bystander: original,
        },
    ))
}

/// The valid requests generated cases start from.
struct Bases {
    /// A valid create of the intruder.
    create: Value,
    /// The bystander's target attributes as created.
    bystander: indexmap::IndexMap<String, Value>,
}

/// True when `wrong` is a value the attribute's own `value` allows (same JSON type, a Boolean
/// for `"True"`, a number for `"1001"`): such a case is not made.
fn same_kind(value: &Value, wrong: &Value) -> bool {
    let text = value.as_str().unwrap_or_default();
    std::mem::discriminant(value) == std::mem::discriminant(wrong)
        || (wrong.is_boolean() && matches!(text.to_ascii_lowercase().as_str(), "true" | "false"))
        || (wrong.is_number() && text.parse::<f64>().is_ok())
        || (value.is_array() && wrong.is_array())
}

/// The request a case makes here; `Ok(None)` when the profile has nothing for it (a typed
/// attribute beyond the ones its create carries).
fn build(case: &Case, values: &Values, bases: &Bases) -> Result<Option<RawRequest>, String> {
    let mut path = values.fill(&case.path)?;
    if let Some(filter) = &case.filter {
        path.push_str("?filter=");
        path.push_str(&crate::corpus::query(&values.fill(filter)?));
    }
    let headers = case
        .headers
        .iter()
        .map(|(n, v)| Ok((n.clone(), values.fill(v)?)))
        .collect::<Result<Vec<_>, String>>()?;
    let body = match &case.body {
        Body::Empty => Vec::new(),
        Body::Text(t) => values.fill_bytes(t)?,
        Body::Bytes(b) => b.clone(),
        Body::Generated(Generated::CreateWithDn(dn)) => {
            let mut body = bases.create.clone();
            let attributes = body
                .get_mut(scim_proto::urn::ECMA2HOST_USER)
                .and_then(Value::as_object_mut);
            match attributes {
                Some(a) if a.contains_key("-dn-") => {
                    a.insert("-dn-".into(), Value::String(values.fill(dn)?));
                }
                _ => return Ok(None),
            }
            body.to_string().into_bytes()
        }
        Body::Generated(g) => match generated(g, bases) {
            Some(b) => b,
            None => return Ok(None),
        },
    };
    Ok(Some(RawRequest {
        method: case.method.clone(),
        target: path,
        headers,
        body,
    }))
}

fn generated(g: &Generated, bases: &Bases) -> Option<Vec<u8>> {
    let ext = scim_proto::urn::ECMA2HOST_USER;
    match g {
        Generated::Truncated { at, of } => {
            let text = bases.create.to_string().into_bytes();
            Some(text[..text.len() * at / of].to_vec())
        }
        Generated::CreateWithType {
            attribute: None,
            value,
        } => {
            let mut body = bases.create.clone();
            body["active"] = value.clone();
            Some(body.to_string().into_bytes())
        }
        Generated::CreateWithType {
            attribute: Some(i),
            value,
        } => {
            let mut body = bases.create.clone();
            let attributes = body.get_mut(ext)?.as_object_mut()?;
            let key = attributes.keys().nth(*i)?.clone();
            if same_kind(&attributes[&key], value) {
                return None;
            }
            attributes.insert(key, value.clone());
            Some(body.to_string().into_bytes())
        }
        Generated::CreateWithDn(_) => None,
        Generated::PatchWithType { attribute, value } => {
            let (key, own) = bases.bystander.get_index(*attribute)?;
            if same_kind(own, value) {
                return None;
            }
            let body = serde_json::json!({
                "schemas": [scim_proto::urn::PATCH_OP],
                "Operations": [{"op": "Replace", "path": entra::urn_of(key), "value": value}],
            });
            Some(body.to_string().into_bytes())
        }
    }
}

/// `METHOD /target` cut for a table row.
fn shown(request: &RawRequest) -> String {
    let mut target = request.target.clone();
    if target.len() > 80 {
        let mut end = 80;
        while !target.is_char_boundary(end) {
            end -= 1;
        }
        target = format!("{}… ({} bytes)", &target[..end], request.target.len());
    }
    format!("{} {target}", request.method)
}

async fn send_corpus(w: &mut EcmaWorld, ctx: Context) -> StepResult {
    let name = arg(&ctx, 1)?;
    let run = w.run()?;
    let corpus = run.corpora.get(&name).cloned().ok_or_else(|| {
        Failure::new(format!(
            "no corpus {name:?} (features/robustness/corpus/{name}.toml)"
        ))
    })?;
    let (values, bases) = values(w)?;
    let bystander_id = w.id_of(BYSTANDER)?;
    let versions = run.probe.version_attributes();
    // The state after one case is the state before the next: read once per case.
    let mut before = w.snapshot().await?;
    let mut result = CorpusResult {
        class: corpus.class.clone(),
        ..CorpusResult::default()
    };
    for (i, case) in corpus.cases.iter().enumerate() {
        let row = |why: &str, request: Option<&RawRequest>| {
            format!(
                "{:>3}. {} [{}]: {why}",
                i + 1,
                case.name,
                request.map_or_else(|| case.method.clone(), shown)
            )
        };
        let request = match build(case, &values, &bases) {
            Ok(Some(r)) => r,
            Ok(None) => {
                result.not_sent += 1;
                continue;
            }
            Err(e) => {
                result
                    .wrong
                    .push(row(&format!("cannot be made: {e}"), None));
                continue;
            }
        };
        let x = run.service.send_raw(&request).await;
        result.sent += 1;
        let mut evidence = x.clone();
        let leaked = crate::checks::redact_secrets(&mut evidence, &run.secrets);
        evidence.cut_bodies(reports::BODY_LIMIT);
        w.evidence.exchanges.push(evidence);
        let mut why = Vec::new();
        // A MUST check fails the case; a SHOULD one warns the scenario, as everywhere.
        let checked = [
            w.check(leaked).map(|_| ()),
            w.check(crate::checks::latency(&x)).map(|_| ()),
            w.check(crate::checks::media_type(&x)).map(|_| ()),
            w.check(crate::checks::scim_error_body(&x)).map(|_| ()),
        ];
        for result in checked {
            if let Err(f) = result {
                why.push(format!(
                    "{}: {}",
                    f.requirement.unwrap_or("ECMA-ROBUST-018"),
                    f.message
                ));
            }
        }
        match x.status {
            None => why.push(format!(
                "no answer ({})",
                x.error.as_deref().unwrap_or("the connection ended")
            )),
            Some(501) if case.answer == Answer::NotImplemented => {}
            Some(s) if s >= 500 => why.push(format!(
                "{s}: a server error, for a request that is the client's fault"
            )),
            Some(s) => {
                if let Err(e) = case.answer.check(s, crate::checks::json(&x).as_ref()) {
                    why.push(e);
                }
            }
        }
        let after = w.snapshot().await?;
        if let Err(f) = crate::checks::unchanged(&before, &after, &versions) {
            why.push(format!("ECMA-ERR-004: {}", f.message));
        }
        before = after;
        // The host goes on answering (ECMA-ROBUST-013): the bystander, by id.
        let live = run
            .service
            .send(&entra::get(&bystander_id), &Auth::Token)
            .await;
        let alive = live.status == Some(200)
            && crate::checks::json(&live).is_some_and(|b| b["id"] == bystander_id.as_str());
        if !alive {
            why.push(format!(
                "ECMA-ROBUST-013: then GET of the bystander → {}",
                live.summary()
            ));
        }
        if !why.is_empty() {
            result.wrong.push(row(&why.join("; "), Some(&request)));
        }
        if !alive {
            let left = corpus.cases.len() - i - 1;
            if left > 0 {
                result.wrong.push(format!(
                    "     the other {left} case(s) were not sent: the host stopped answering"
                ));
            }
            break;
        }
    }
    w.corpus = Some(result);
    Ok(())
}

async fn answered_as_said(w: &mut EcmaWorld, _ctx: Context) -> StepResult {
    let result = w
        .corpus
        .clone()
        .ok_or_else(|| Failure::new("no corpus was sent"))?;
    if result.sent == 0 {
        return Err(Failure::new(format!(
            "no case of {} could be sent under this profile",
            result.class
        )));
    }
    if result.wrong.is_empty() {
        return Ok(());
    }
    let answered_wrongly = result
        .wrong
        .iter()
        .filter(|l| !l.starts_with("     "))
        .count();
    Err(crate::checks::failed(
        "ECMA-ROBUST-018",
        format!(
            "{answered_wrongly} of {} cases of {} were answered wrongly{}:\n{}",
            result.sent,
            result.class,
            if result.not_sent > 0 {
                format!(" ({} not made for this profile)", result.not_sent)
            } else {
                String::new()
            },
            result.wrong.join("\n")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wrong_types_skip_what_the_attribute_allows() {
        assert!(same_kind(&json!("True"), &json!(false)));
        assert!(same_kind(&json!("1001"), &json!(42)));
        assert!(same_kind(&json!(["a"]), &json!([{"value": "x"}])));
        assert!(!same_kind(&json!("Smith"), &json!(42)));
        assert!(!same_kind(&json!("Smith"), &json!({"value": "x"})));
        assert!(!same_kind(&json!(true), &json!(42)));
    }
}
