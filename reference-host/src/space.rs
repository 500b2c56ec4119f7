//! The connector space: the host's in-memory picture of its target, as ECMA2Host keeps one.
//!
//! Filled by a full import at start-up and every autosync interval, updated on every successful
//! export, and indexed by `(attribute, normalised value)` so that Entra's `eq` matching queries
//! are answered without touching the target or scanning the space.
//!
//! Concurrency: one std `RwLock`, held only for in-memory work and never across an `.await`.
//! A full import reads the target with no lock held and builds the new space off to the side;
//! exports that land meanwhile are recorded in a journal and replayed onto the new space just
//! before it replaces the old one, so an import never resurrects a deleted object or loses a
//! created one.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use scim_proto::filter::{CompValue, CompareOp, Filter};
use scim_proto::value::Scalar;
use scim_proto::{AttrPath, urn};

use crate::connector::{AttrRole, AttributeDef, Connector, CsEntry};

/// Whether the space can answer queries yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Readiness {
    /// The first full import has not finished; answering now would tell Entra that existing
    /// objects do not exist, and Entra would create duplicates (ECMA-IMPORT-005).
    Importing {
        /// Why the last attempt failed, if one did.
        last_error: Option<String>,
    },
    /// The space holds the target.
    Ready,
}

/// Where "disabled" is recorded: the Set-attribute-value flow's attribute and the value that
/// means disabled.
#[derive(Clone, Debug)]
pub struct ActiveRule {
    /// The attribute.
    pub attribute: String,
    /// Its value when disabled.
    pub disabled_value: bool,
}

/// The connector space of one connector.
pub struct ConnectorSpace {
    connector: Arc<dyn Connector>,
    active_rule: Option<ActiveRule>,
    state: RwLock<State>,
}

#[derive(Default)]
struct Contents {
    entries: BTreeMap<String, Arc<CsEntry>>,
    index: HashMap<(String, String), BTreeSet<String>>,
}

struct State {
    readiness: Readiness,
    contents: Contents,
    journal: Option<Vec<JournalOp>>,
}

enum JournalOp {
    Upsert(Arc<CsEntry>),
    Remove(String),
}

/// A filter attribute resolved against the connector's schema.
enum Resolved<'a> {
    Id,
    Dn,
    Active,
    Attr(&'a AttributeDef),
    Unknown,
}

impl ConnectorSpace {
    /// An empty space, not yet ready.
    pub fn new(connector: Arc<dyn Connector>, active_rule: Option<ActiveRule>) -> Self {
        ConnectorSpace {
            connector,
            active_rule,
            state: RwLock::new(State {
                readiness: Readiness::Importing { last_error: None },
                contents: Contents::default(),
                journal: None,
            }),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the space can answer.
    pub fn readiness(&self) -> Readiness {
        self.read().readiness.clone()
    }

    /// How many objects the space holds.
    pub fn len(&self) -> usize {
        self.read().contents.entries.len()
    }

    /// True when the space holds no object.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The key an id is stored under.
    pub fn key(&self, id: &str) -> String {
        self.connector.anchor_key(id)
    }

    /// The entry with this id.
    pub fn get(&self, id: &str) -> Option<Arc<CsEntry>> {
        let key = self.key(id);
        self.read().contents.entries.get(&key).cloned()
    }

    /// Whether an entry counts as active under the connector's deprovisioning settings.
    pub fn is_active(&self, entry: &CsEntry) -> bool {
        match &self.active_rule {
            None => true,
            Some(rule) => {
                let value = entry
                    .attributes
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(&rule.attribute))
                    .map(|(_, v)| v.as_slice());
                value != Some(&[Scalar::Boolean(rule.disabled_value)][..])
            }
        }
    }

    /// Records an exported add or update.
    pub fn upsert(&self, entry: CsEntry) -> Arc<CsEntry> {
        let entry = Arc::new(entry);
        let key = self.key(&entry.anchor);
        let mut state = self.write();
        if let Some(journal) = &mut state.journal {
            journal.push(JournalOp::Upsert(entry.clone()));
        }
        self.insert(&mut state.contents, key, entry.clone());
        entry
    }

    /// Records an exported update by applying `change` to the entry as the space holds it now,
    /// so concurrent updates of different attributes of one object all stay visible. Returns
    /// the new entry, or `None` when the object left the space meanwhile (it is not brought
    /// back).
    pub fn update(
        &self,
        id: &str,
        change: impl FnOnce(&CsEntry) -> CsEntry,
    ) -> Option<Arc<CsEntry>> {
        let key = self.key(id);
        let mut state = self.write();
        let current = state.contents.entries.get(&key)?.clone();
        let updated = Arc::new(change(&current));
        if let Some(journal) = &mut state.journal {
            journal.push(JournalOp::Upsert(updated.clone()));
        }
        self.insert(&mut state.contents, key, updated.clone());
        Some(updated)
    }

    /// Records an exported delete (or an object found missing).
    pub fn remove(&self, id: &str) {
        let key = self.key(id);
        let mut state = self.write();
        if let Some(journal) = &mut state.journal {
            journal.push(JournalOp::Remove(key.clone()));
        }
        self.delete(&mut state.contents, &key);
    }

    /// Empties the space and marks it importing, as it is at start-up: a restart of the host.
    pub fn reset(&self) {
        let mut state = self.write();
        state.contents = Contents::default();
        state.journal = None;
        state.readiness = Readiness::Importing { last_error: None };
    }

    /// Starts recording exports for an import that is about to read the target.
    pub fn begin_import(&self) {
        self.write().journal = Some(Vec::new());
    }

    /// Replaces the contents with an import's result, replaying the exports recorded since
    /// [`begin_import`](Self::begin_import). The new index is built before the lock is taken.
    pub fn finish_import(&self, entries: Vec<CsEntry>) {
        let mut fresh = Contents::default();
        for entry in entries {
            let key = self.key(&entry.anchor);
            self.insert(&mut fresh, key, Arc::new(entry));
        }
        let mut state = self.write();
        for op in state.journal.take().unwrap_or_default() {
            match op {
                JournalOp::Upsert(entry) => {
                    let key = self.key(&entry.anchor);
                    self.insert(&mut fresh, key, entry);
                }
                JournalOp::Remove(key) => self.delete(&mut fresh, &key),
            }
        }
        state.contents = fresh;
        state.readiness = Readiness::Ready;
    }

    /// Abandons an import. Before the first import has succeeded, the reason is kept for the
    /// answers the host gives while it is not ready.
    pub fn abort_import(&self, reason: String) {
        let mut state = self.write();
        state.journal = None;
        if let Readiness::Importing { last_error } = &mut state.readiness {
            *last_error = Some(reason);
        }
    }

    fn insert(&self, contents: &mut Contents, key: String, entry: Arc<CsEntry>) {
        self.delete(contents, &key);
        for (attr, value) in self.index_keys(&entry) {
            contents
                .index
                .entry((attr, value))
                .or_default()
                .insert(key.clone());
        }
        contents.entries.insert(key, entry);
    }

    fn delete(&self, contents: &mut Contents, key: &str) {
        let Some(old) = contents.entries.remove(key) else {
            return;
        };
        for index_key in self.index_keys(&old) {
            if let Some(keys) = contents.index.get_mut(&index_key) {
                keys.remove(key);
                if keys.is_empty() {
                    contents.index.remove(&index_key);
                }
            }
        }
    }

    fn index_keys(&self, entry: &CsEntry) -> Vec<(String, String)> {
        let schema = self.connector.schema();
        let mut keys = vec![("-dn-".to_owned(), self.connector.normalize_dn(&entry.dn))];
        for (name, values) in &entry.attributes {
            let Some(def) = schema.get(name) else {
                continue;
            };
            for v in values {
                keys.push((name.to_ascii_lowercase(), self.normalize(def, v)));
            }
        }
        keys
    }

    /// The entries `filter` selects, in id order. Filters are checked for supported operators
    /// before this is called ([`check_filter`]).
    pub fn select(&self, filter: Option<&Filter>) -> Vec<Arc<CsEntry>> {
        let state = self.read();
        let contents = &state.contents;
        let Some(filter) = filter else {
            return contents.entries.values().cloned().collect();
        };
        match self.candidates(contents, filter) {
            Some(keys) => keys
                .iter()
                .filter_map(|k| contents.entries.get(k))
                .filter(|e| self.matches(e, filter))
                .cloned()
                .collect(),
            None => contents
                .entries
                .values()
                .filter(|e| self.matches(e, filter))
                .cloned()
                .collect(),
        }
    }

    /// A value as the index stores it and filters compare it.
    fn normalize(&self, def: &AttributeDef, v: &Scalar) -> String {
        normalize_scalar(def, v, |s| self.connector.match_key(def, s))
    }

    /// Keys that can match, from the index, when the filter allows it; `None` means "scan".
    fn candidates(&self, contents: &Contents, filter: &Filter) -> Option<BTreeSet<String>> {
        match filter {
            Filter::Compare {
                path,
                op: CompareOp::Eq,
                value,
            } => match self.resolve(path) {
                Resolved::Id => {
                    let CompValue::Str(s) = value else {
                        return Some(BTreeSet::new());
                    };
                    let key = self.key(s);
                    Some(
                        contents
                            .entries
                            .contains_key(&key)
                            .then_some(key)
                            .into_iter()
                            .collect(),
                    )
                }
                Resolved::Dn => {
                    let CompValue::Str(s) = value else {
                        return Some(BTreeSet::new());
                    };
                    let k = ("-dn-".to_owned(), self.connector.normalize_dn(s));
                    Some(contents.index.get(&k).cloned().unwrap_or_default())
                }
                Resolved::Attr(def) => {
                    let Some(v) = comp_scalar(value) else {
                        return Some(BTreeSet::new());
                    };
                    let k = (def.name.to_ascii_lowercase(), self.normalize(def, &v));
                    Some(contents.index.get(&k).cloned().unwrap_or_default())
                }
                Resolved::Unknown => Some(BTreeSet::new()),
                Resolved::Active => None,
            },
            Filter::And(a, b) => match (self.candidates(contents, a), self.candidates(contents, b))
            {
                (Some(x), Some(y)) => Some(x.intersection(&y).cloned().collect()),
                (x, y) => x.or(y),
            },
            Filter::Or(a, b) => {
                match (self.candidates(contents, a), self.candidates(contents, b)) {
                    (Some(x), Some(y)) => Some(x.union(&y).cloned().collect()),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    fn resolve(&self, path: &AttrPath) -> Resolved<'_> {
        if path.sub_attr.is_some() {
            return Resolved::Unknown;
        }
        let core = path.in_schema(urn::CORE_USER, true);
        if core && path.name.is("id") {
            return Resolved::Id;
        }
        if core && path.name.is("active") {
            return Resolved::Active;
        }
        if !path.in_schema(urn::ECMA2HOST_USER, true) {
            return Resolved::Unknown;
        }
        match self.connector.schema().get(path.name.as_str()) {
            Some(def) if def.role == AttrRole::Dn => Resolved::Dn,
            Some(def)
                if matches!(
                    def.role,
                    AttrRole::Normal | AttrRole::Anchor | AttrRole::Key
                ) =>
            {
                Resolved::Attr(def)
            }
            _ => Resolved::Unknown,
        }
    }

    fn matches(&self, entry: &CsEntry, filter: &Filter) -> bool {
        match filter {
            Filter::And(a, b) => self.matches(entry, a) && self.matches(entry, b),
            Filter::Or(a, b) => self.matches(entry, a) || self.matches(entry, b),
            Filter::Not(f) => !self.matches(entry, f),
            // No attribute an ECMA host exposes is multi-valued and complex.
            Filter::ValuePath { .. } => false,
            Filter::Present(path) => match self.resolve(path) {
                Resolved::Id | Resolved::Dn | Resolved::Active => true,
                Resolved::Attr(def) => entry
                    .attributes
                    .get(&def.name)
                    .is_some_and(|v| !v.is_empty()),
                Resolved::Unknown => false,
            },
            Filter::Compare { path, op, value } => {
                let (def, values): (Option<&AttributeDef>, Vec<String>) = match self.resolve(path) {
                    Resolved::Id => (None, vec![self.key(&entry.anchor)]),
                    Resolved::Dn => (None, vec![self.connector.normalize_dn(&entry.dn)]),
                    Resolved::Active => (None, vec![self.is_active(entry).to_string()]),
                    Resolved::Attr(def) => (
                        Some(def),
                        entry.attributes.get(&def.name).map_or(Vec::new(), |vs| {
                            vs.iter().map(|v| self.normalize(def, v)).collect()
                        }),
                    ),
                    Resolved::Unknown => (None, Vec::new()),
                };
                let wanted = match (self.resolve(path), value) {
                    (Resolved::Id, CompValue::Str(s)) => self.key(s),
                    (Resolved::Dn, CompValue::Str(s)) => self.connector.normalize_dn(s),
                    (_, v) => match (def, comp_scalar(v)) {
                        (Some(def), Some(s)) => self.normalize(def, &s),
                        (None, Some(s)) => plain(&s),
                        (_, None) => return *op == CompareOp::Ne && !values.is_empty(),
                    },
                };
                let test = |v: &String| match op {
                    CompareOp::Eq | CompareOp::Ne => *v == wanted,
                    CompareOp::Co => v.contains(&wanted),
                    CompareOp::Sw => v.starts_with(&wanted),
                    CompareOp::Ew => v.ends_with(&wanted),
                    // Refused by check_filter before evaluation.
                    CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le => false,
                };
                if *op == CompareOp::Ne {
                    !values.iter().any(test)
                } else {
                    values.iter().any(test)
                }
            }
        }
    }
}

/// Operators the host does not evaluate: ordering comparisons (LDAP and SQL order strings
/// differently, so an answer would be unreliable). A filter using one is refused with 400
/// `invalidFilter` rather than answered wrongly (ECMA-MATCH-014).
pub fn check_filter(filter: &Filter) -> Result<(), String> {
    match filter {
        Filter::Compare {
            op: op @ (CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le),
            ..
        } => Err(format!(
            "the operator {:?} is not supported by this host",
            op.keyword()
        )),
        Filter::And(a, b) | Filter::Or(a, b) => {
            check_filter(a)?;
            check_filter(b)
        }
        Filter::Not(f) => check_filter(f),
        Filter::ValuePath { filter, then, .. } => {
            check_filter(filter)?;
            then.as_deref().map_or(Ok(()), check_filter)
        }
        _ => Ok(()),
    }
}

fn comp_scalar(v: &CompValue) -> Option<Scalar> {
    match v {
        CompValue::Str(s) => Some(Scalar::String(s.clone())),
        CompValue::Bool(b) => Some(Scalar::Boolean(*b)),
        CompValue::Num(n) => Some(
            n.as_i64()
                .map_or_else(|| Scalar::String(n.to_string()), Scalar::Integer),
        ),
        CompValue::Null => None,
    }
}

/// A value as the index stores it: strings as `text` prepares them (the connector's
/// matching, [`Connector::match_key`]), booleans and integers in one spelling whatever way they
/// were written (`"TRUE"`, `true`, `"10011"`, `10011`).
fn normalize_scalar(def: &AttributeDef, v: &Scalar, text: impl Fn(&str) -> String) -> String {
    use scim_proto::schema::AttrType;
    match (def.kind, v) {
        (AttrType::Boolean, Scalar::String(s)) if s.eq_ignore_ascii_case("true") => "true".into(),
        (AttrType::Boolean, Scalar::String(s)) if s.eq_ignore_ascii_case("false") => "false".into(),
        (AttrType::Integer, Scalar::String(s)) => s
            .trim()
            .parse::<i64>()
            .map_or_else(|_| s.clone(), |i| i.to_string()),
        (_, Scalar::String(s)) => text(s),
        (_, Scalar::Boolean(b)) => b.to_string(),
        (_, Scalar::Integer(i)) => i.to_string(),
    }
}

fn plain(v: &Scalar) -> String {
    match v {
        Scalar::String(s) => s.to_lowercase(),
        Scalar::Boolean(b) => b.to_string(),
        Scalar::Integer(i) => i.to_string(),
    }
}
