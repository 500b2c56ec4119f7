//! What Entra sends for one in-scope user, given the mappings' values and what the matching
//! queries found ("How Application Provisioning works in Microsoft Entra ID", *Provisioning
//! cycles*): the matching queries in precedence order; then a create with every non-null
//! mapped attribute, or an update with only the attributes whose value differs from the
//! target's, never those applied only on create.

use indexmap::IndexMap;

use crate::expr::Value;
use crate::mapping::Mapped;

/// One matching query: `filter=<target> eq "<value>"`.
#[derive(Clone, Debug, PartialEq)]
pub struct MatchingQuery {
    /// The target attribute.
    pub target: String,
    /// The value looked for.
    pub value: String,
    /// Its precedence.
    pub precedence: u32,
}

/// The matching queries for a user, in precedence order; mappings whose value is null or
/// empty are skipped (Entra cannot match on nothing).
pub fn matching_queries(mapped: &[Mapped]) -> Vec<MatchingQuery> {
    let mut q: Vec<MatchingQuery> = mapped
        .iter()
        .filter_map(|m| {
            let precedence = m.matching_precedence?;
            let value = m.value.text().filter(|v| !v.is_empty())?;
            Some(MatchingQuery {
                target: m.target.clone(),
                value,
                precedence,
            })
        })
        .collect();
    q.sort_by_key(|q| q.precedence);
    q
}

/// The attributes of a create, by target attribute, as JSON.
pub fn create_attributes(mapped: &[Mapped]) -> IndexMap<String, serde_json::Value> {
    mapped
        .iter()
        .filter(|m| m.on_create())
        .map(|m| (m.target.clone(), m.value.to_json()))
        .collect()
}

/// One attribute an update changes.
#[derive(Clone, Debug, PartialEq)]
pub struct UpdateChange {
    /// The target attribute.
    pub target: String,
    /// The new value (null: the attribute is removed).
    pub value: Value,
    /// Whether the target had a value (Entra's default dialect then says Replace, else Add).
    pub had_value: bool,
}

/// The changes of an update: every mapping applied always, not ignored, whose value differs
/// from the target's `current` one (text compared exactly; multi-values as sets).
/// `current` is keyed by target attribute, compared without regard to case.
pub fn update_changes(mapped: &[Mapped], current: &IndexMap<String, Value>) -> Vec<UpdateChange> {
    mapped
        .iter()
        .filter(|m| m.on_update())
        .filter_map(|m| {
            let now = current
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(&m.target))
                .map_or(Value::Null, |(_, v)| v.clone());
            if same(&now, &m.value) {
                return None;
            }
            Some(UpdateChange {
                target: m.target.clone(),
                value: m.value.clone(),
                had_value: !now.is_null_or_empty(),
            })
        })
        .collect()
}

fn same(a: &Value, b: &Value) -> bool {
    let texts = |v: &Value| {
        let mut t: Vec<String> = v.values().iter().filter_map(Value::text).collect();
        t.sort();
        t
    };
    if a.is_null_or_empty() || b.is_null_or_empty() {
        return a.is_null_or_empty() && b.is_null_or_empty();
    }
    texts(a) == texts(b)
}
