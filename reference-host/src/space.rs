//! The connector space: the host's in-memory picture of its target, as ECMA2Host keeps one.
//!
//! Filled by a full import at start-up and every autosync interval, updated on every successful
//! export, and indexed by `(attribute, normalised value)` so that Entra's `eq` matching queries
//! are answered without touching the target or scanning the space.
//!
//! Only the attributes queries match on are indexed: the DN always, and any other attribute
//! from the first `eq` query that names it (that query scans; the index is then built once and
//! kept by every import after). Entra matches on one or two attributes, so the index holds two
//! or three keys per object rather than one per value of every attribute. Keys (the anchors)
//! are shared between the objects and the index, not copied.
//!
//! Objects are kept packed (`space/packed.rs`): one allocation of a few hundred bytes each instead
//! of a `CsEntry`'s twenty, unpacked when a request reads one.
//!
//! Concurrency: one std `RwLock`, held only for in-memory work and never across an `.await`.
//! A full import applies the target to the live space page by page: the lock is held for one
//! page's objects at a time (the unchanged ones are left as they are), and at the end for the
//! removal of what the target no longer holds, in batches (found in chunks of 10,000).
//! Objects an export wrote while the
//! import ran are left as the export made them, so an import never resurrects a deleted object
//! or loses a created one. Memory stays that of one space (not two side by side), and readers
//! never wait for more than a page.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use scim_proto::filter::{CompValue, CompareOp, Filter};
use scim_proto::value::Scalar;
use scim_proto::{AttrPath, urn};

use crate::connector::{AttrRole, AttributeDef, Connector, CsEntry};

mod packed;

use packed::{Packed, ScalarRef};

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

/// The anchors (keys) holding one indexed value: nearly always one.
#[derive(Clone, Debug)]
enum Keys {
    One(Arc<str>),
    Many(BTreeSet<Arc<str>>),
}

impl Keys {
    fn insert(&mut self, key: Arc<str>) {
        match self {
            Keys::One(k) if *k == key => {}
            Keys::One(k) => *self = Keys::Many(BTreeSet::from([k.clone(), key])),
            Keys::Many(set) => {
                set.insert(key);
            }
        }
    }

    /// Removes `key`; true when none is left.
    fn remove(&mut self, key: &str) -> bool {
        match self {
            Keys::One(k) => &**k == key,
            Keys::Many(set) => {
                set.remove(key);
                set.is_empty()
            }
        }
    }

    fn to_set(&self) -> BTreeSet<Arc<str>> {
        match self {
            Keys::One(k) => BTreeSet::from([k.clone()]),
            Keys::Many(set) => set.clone(),
        }
    }
}

/// Objects removed per hold of the lock at the end of an import.
pub const REMOVAL_BATCH: usize = 1000;

/// Objects looked at per hold of the read lock when an import looks for what it did not see.
const SCAN_CHUNK: usize = 10_000;

/// Objects an import has seen from which its table is freed on a thread of its own.
const FREED_ELSEWHERE_FROM: usize = 10_000;

/// Frees `value` on a thread of its own: a space's worth of objects takes long enough to free
/// that a runtime worker would stall the requests queued on it.
fn drop_elsewhere<T: Send + 'static>(value: T) {
    // Without a thread to be had, the closure, and the value with it, is dropped here.
    let _ = std::thread::Builder::new()
        .name("space-drop".into())
        .spawn(move || drop(value));
}

/// The index key of the DN.
const DN: &str = "-dn-";

/// The name [`indexed_values`] gives the object's DN: no attribute's name is empty.
const THE_DN: &str = "";

/// Objects by key, and the index: attribute (lower case, [`DN`] for the DN) → normalised
/// value → keys. Only the attributes in `indexed` have an index. A value equal to the key it
/// leads to (the DN of an object anchored on its DN) shares the key's allocation.
#[derive(Default)]
struct Contents {
    entries: BTreeMap<Arc<str>, Packed>,
    index: HashMap<String, HashMap<Arc<str>, Keys>>,
    indexed: BTreeSet<String>,
}

struct State {
    readiness: Readiness,
    contents: Contents,
    /// While an import runs: the keys exports have written since it began.
    touched: Option<HashSet<Arc<str>>>,
}

impl Contents {
    /// Empty, indexing the DN only.
    fn with_dn_index() -> Self {
        Contents::indexing(BTreeSet::new())
    }

    /// Empty, indexing `attributes` and the DN.
    fn indexing(mut attributes: BTreeSet<String>) -> Self {
        attributes.insert(DN.to_owned());
        Contents {
            indexed: attributes,
            ..Contents::default()
        }
    }

    /// The keys holding `value` (normalised) in `attribute` (lower case, indexed).
    fn lookup(&self, attribute: &str, value: &str) -> BTreeSet<Arc<str>> {
        self.index
            .get(attribute)
            .and_then(|values| values.get(value))
            .map(Keys::to_set)
            .unwrap_or_default()
    }
}

/// A full import in progress ([`ConnectorSpace::begin_import`]): the objects it has seen, and
/// the page each came in, to name both when the target returns one twice.
pub struct ImportBuilder {
    pages: HashMap<Arc<str>, usize>,
    page: usize,
}

impl ImportBuilder {
    /// How many objects it has seen.
    pub fn len(&self) -> usize {
        self.pages.len()
    }

    /// True when it has seen none.
    pub fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }

    /// How many objects it can note before its table grows (an eighth more than the space
    /// held when the import began).
    pub fn capacity(&self) -> usize {
        self.pages.capacity()
    }
}

impl Drop for ImportBuilder {
    /// A large table is freed on a thread of its own, whether the import finished, failed or
    /// was abandoned (its request's client left).
    fn drop(&mut self) {
        if self.pages.len() >= FREED_ELSEWHERE_FROM {
            drop_elsewhere(std::mem::take(&mut self.pages));
        }
    }
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
                contents: Contents::with_dn_index(),
                touched: None,
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
        let state = self.read();
        let packed = state.contents.entries.get(key.as_str())?;
        Some(Arc::new(packed.unpack()))
    }

    /// Whether an entry counts as active under the connector's deprovisioning settings.
    pub fn is_active(&self, entry: &CsEntry) -> bool {
        self.active_in(
            entry
                .attributes
                .iter()
                .map(|(k, v)| (k.as_str(), v.iter().map(ScalarRef::from))),
        )
    }

    /// [`is_active`](Self::is_active) of the object whose attributes (name and values) these
    /// are: an unpacked entry's or a packed one's.
    fn active_in<'a, V: Iterator<Item = ScalarRef<'a>>>(
        &self,
        mut attributes: impl Iterator<Item = (&'a str, V)>,
    ) -> bool {
        let Some(rule) = &self.active_rule else {
            return true;
        };
        let value: Option<Vec<ScalarRef>> = attributes
            .find(|(k, _)| k.eq_ignore_ascii_case(&rule.attribute))
            .map(|(_, v)| v.collect());
        value.as_deref() != Some(&[ScalarRef::Boolean(rule.disabled_value)][..])
    }

    /// Records an exported add or update.
    pub fn upsert(&self, entry: CsEntry) -> Arc<CsEntry> {
        let key: Arc<str> = self.key(&entry.anchor).into();
        let packed = Packed::pack(&entry);
        let mut state = self.write();
        if let Some(touched) = &mut state.touched {
            touched.insert(key.clone());
        }
        let old = self.insert(&mut state.contents, key, packed);
        drop(state);
        drop(old);
        Arc::new(entry)
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
        let (key, current) = state
            .contents
            .entries
            .get_key_value(key.as_str())
            .map(|(k, e)| (k.clone(), e.unpack()))?;
        let updated = change(&current);
        let packed = Packed::pack(&updated);
        if let Some(touched) = &mut state.touched {
            touched.insert(key.clone());
        }
        let old = self.insert(&mut state.contents, key, packed);
        drop(state);
        drop(old);
        Some(Arc::new(updated))
    }

    /// Records an exported delete (or an object found missing).
    pub fn remove(&self, id: &str) {
        let key = self.key(id);
        let mut state = self.write();
        if let Some(touched) = &mut state.touched {
            touched.insert(key.as_str().into());
        }
        let old = self.delete(&mut state.contents, &key);
        drop(state);
        drop(old);
    }

    /// Empties the space and marks it importing, as it is at start-up: a restart of the host.
    /// The attributes queries matched on stay indexed.
    pub fn reset(&self) {
        let mut state = self.write();
        let fresh = Contents::indexing(state.contents.indexed.clone());
        let old = std::mem::replace(&mut state.contents, fresh);
        state.touched = None;
        state.readiness = Readiness::Importing { last_error: None };
        drop(state);
        drop_elsewhere(old);
    }

    /// Starts an import that is about to read the target: from now on the keys exports write
    /// are noted, and the import leaves those objects as the exports made them. The builder is
    /// made an eighth larger than the space: a re-import of about as many objects never grows
    /// it, and growing a table of a million keys holds the thread for a few hundred
    /// milliseconds.
    pub fn begin_import(&self) -> ImportBuilder {
        let mut state = self.write();
        state.touched = Some(HashSet::new());
        let held = state.contents.entries.len();
        drop(state);
        ImportBuilder {
            pages: HashMap::with_capacity(held + held / 8),
            page: 0,
        }
    }

    /// Applies one page of an import to the live space, holding the lock for this page only.
    /// `Err` names an object the target returned twice and the pages it came in (`"in page
    /// 3"`, `"(pages 1 and 2)"`), before anything of the page is applied: paging that does not
    /// advance would make the import endless.
    pub fn add_page(
        &self,
        builder: &mut ImportBuilder,
        page: Vec<CsEntry>,
    ) -> Result<(), (String, String)> {
        builder.page += 1;
        let number = builder.page;
        let mut keyed = Vec::with_capacity(page.len());
        for entry in page {
            let key: Arc<str> = self.key(&entry.anchor).into();
            if let Some(first) = builder.pages.insert(key.clone(), number) {
                let whereabouts = if first == number {
                    format!("in page {number}")
                } else {
                    format!("(pages {first} and {number})")
                };
                return Err((entry.anchor, whereabouts));
            }
            keyed.push((key, Packed::pack(&entry)));
        }
        let mut replaced = Vec::new();
        let mut state = self.write();
        let State {
            contents, touched, ..
        } = &mut *state;
        for (key, entry) in keyed {
            if touched.as_ref().is_some_and(|t| t.contains(&key)) {
                continue;
            }
            // Unchanged byte for byte, attribute order included: an object an export wrote
            // (its new attributes last) is replaced once, by the target's order.
            if contents.entries.get(&key) == Some(&entry) {
                continue;
            }
            replaced.extend(self.insert(contents, key, entry));
        }
        drop(state);
        drop(replaced);
        Ok(())
    }

    /// Ends an import: removes what the target no longer holds (unless an export wrote it
    /// meanwhile), in batches of [`REMOVAL_BATCH`] under the lock, and marks the space ready.
    /// Yields to the runtime between chunks and batches, and frees the builder and the removed
    /// objects elsewhere, so that a host serving on one thread (`server.worker_threads = 1`,
    /// the default) answers requests meanwhile.
    pub async fn finish_import(&self, builder: ImportBuilder) {
        // Found in chunks, the lock released between them: writers (and the readers queued
        // behind them) wait for one chunk, not the whole space.
        let mut stale: Vec<Arc<str>> = Vec::new();
        let mut after: Option<Arc<str>> = None;
        while let Some(last) = self.stale_chunk(&builder, after.as_ref(), &mut stale) {
            after = Some(last);
            tokio::task::yield_now().await;
        }
        drop(builder);
        let mut removed = Vec::new();
        for batch in stale.chunks(REMOVAL_BATCH) {
            self.remove_batch(batch, &mut removed);
            tokio::task::yield_now().await;
        }
        let mut state = self.write();
        state.touched = None;
        state.readiness = Readiness::Ready;
        drop(state);
        drop_elsewhere((removed, stale));
    }

    /// Looks at up to [`SCAN_CHUNK`] keys after `after` under the read lock, adding those the
    /// import did not see to `stale`; returns the last key looked at, `None` at the end.
    fn stale_chunk(
        &self,
        builder: &ImportBuilder,
        after: Option<&Arc<str>>,
        stale: &mut Vec<Arc<str>>,
    ) -> Option<Arc<str>> {
        let state = self.read();
        let range = match after {
            Some(k) => state
                .contents
                .entries
                .range::<Arc<str>, _>((std::ops::Bound::Excluded(k), std::ops::Bound::Unbounded)),
            None => state.contents.entries.range::<Arc<str>, _>(..),
        };
        let chunk: Vec<&Arc<str>> = range.map(|(k, _)| k).take(SCAN_CHUNK).collect();
        let last = (*chunk.last()?).clone();
        stale.extend(
            chunk
                .into_iter()
                .filter(|k| !builder.pages.contains_key(*k))
                .cloned(),
        );
        Some(last)
    }

    /// Removes `batch` under one hold of the write lock, except what an export wrote during
    /// the import; the removed objects go to `removed`, to be freed elsewhere.
    fn remove_batch(&self, batch: &[Arc<str>], removed: &mut Vec<Packed>) {
        let mut state = self.write();
        let State {
            contents, touched, ..
        } = &mut *state;
        for key in batch {
            if touched.as_ref().is_some_and(|t| t.contains(key)) {
                continue;
            }
            if let Some(old) = self.delete(contents, key) {
                removed.push(old);
            }
        }
    }

    /// Replaces the contents with `entries` at once: [`begin_import`](Self::begin_import),
    /// one page, [`finish_import`](Self::finish_import).
    pub async fn import(&self, entries: Vec<CsEntry>) -> Result<(), (String, String)> {
        let mut builder = self.begin_import();
        if let Err(e) = self.add_page(&mut builder, entries) {
            self.abort_import(format!("{} returned twice {}", e.0, e.1));
            return Err(e);
        }
        self.finish_import(builder).await;
        Ok(())
    }

    /// Abandons an import: what its pages brought stays (it is what the target holds), nothing
    /// is removed. Before the first import has succeeded, the reason is kept for the answers
    /// the host gives while it is not ready.
    pub fn abort_import(&self, reason: String) {
        let mut state = self.write();
        state.touched = None;
        if let Readiness::Importing { last_error } = &mut state.readiness {
            *last_error = Some(reason);
        }
    }

    /// Stores `entry` under `key`, indexed; returns what it replaces, to be dropped once the
    /// lock is released.
    ///
    /// An attribute whose stored values are the same in the object it replaces keeps its index
    /// keys as they are, unnormalized (a PATCH of one attribute normalizes no DN); for one
    /// whose values changed, the keys the old values had and the new ones lack go, and those
    /// only the new ones have come (two values may fold to one key).
    fn insert(&self, contents: &mut Contents, key: Arc<str>, entry: Packed) -> Option<Packed> {
        let Some((kept, old)) = contents.entries.remove_entry(&*key) else {
            for (attr, value) in self.index_keys(&contents.indexed, &entry) {
                let values = contents.index.entry(attr).or_default();
                add_key(values, value, &key);
            }
            contents.entries.insert(key, entry);
            return None;
        };
        // The index's unchanged keys hold the stored key's allocation: it stays the key.
        let key = kept;
        let before = indexed_values(&contents.indexed, &old);
        let after = indexed_values(&contents.indexed, &entry);
        for attr in contents.indexed.iter() {
            let (was, is) = (before.get(attr.as_str()), after.get(attr.as_str()));
            if was == is {
                continue;
            }
            let was = was.map(|v| self.keys_of(v)).unwrap_or_default();
            let is = is.map(|v| self.keys_of(v)).unwrap_or_default();
            let values = contents.index.entry(attr.clone()).or_default();
            for gone in was.iter().filter(|k| !is.contains(k)) {
                remove_key(values, gone, &key);
            }
            for new in is.into_iter().filter(|k| !was.contains(k)) {
                add_key(values, new, &key);
            }
        }
        contents.entries.insert(key, entry);
        Some(old)
    }

    /// The index keys of `values` (each with the spelling of its attribute's name, [`THE_DN`]
    /// for the object's DN) of one indexed attribute: the DN normalized as the directory
    /// compares DNs, other values as queries on their attribute match them; a value of an
    /// attribute outside the schema has none.
    fn keys_of(&self, values: &[(&str, ScalarRef<'_>)]) -> Vec<String> {
        let schema = self.connector.schema();
        values
            .iter()
            .filter_map(|(name, v)| match (*name, v) {
                (THE_DN, ScalarRef::String(dn)) => Some(self.connector.normalize_dn(dn)),
                (THE_DN, _) => None,
                (name, v) => schema
                    .get(name)
                    .map(|def| self.normalize(def, &v.to_scalar())),
            })
            .collect()
    }

    fn delete(&self, contents: &mut Contents, key: &str) -> Option<Packed> {
        let old = contents.entries.remove(key)?;
        for (attr, value) in self.index_keys(&contents.indexed, &old) {
            if let Some(values) = contents.index.get_mut(&attr) {
                remove_key(values, &value, key);
            }
        }
        Some(old)
    }

    /// The index keys of `entry` for the `indexed` attributes, read from its bytes.
    fn index_keys(&self, indexed: &BTreeSet<String>, entry: &Packed) -> Vec<(String, String)> {
        indexed_values(indexed, entry)
            .into_iter()
            .flat_map(|(attr, values)| {
                self.keys_of(&values)
                    .into_iter()
                    .map(move |key| (attr.clone(), key))
            })
            .collect()
    }

    /// Adds `attribute` (lower case) to what `contents` indexes, and indexes every object.
    fn build_index(&self, contents: &mut Contents, attribute: &str) {
        if !contents.indexed.insert(attribute.to_owned()) {
            return;
        }
        let schema = self.connector.schema();
        let mut values: HashMap<Arc<str>, Keys> = HashMap::new();
        for (key, entry) in &contents.entries {
            for (name, vs) in entry.attributes() {
                if !name.eq_ignore_ascii_case(attribute) {
                    continue;
                }
                let Some(def) = schema.get(name) else {
                    continue;
                };
                for v in vs {
                    add_key(&mut values, self.normalize(def, &v.to_scalar()), key);
                }
            }
        }
        contents.index.insert(attribute.to_owned(), values);
    }

    /// Indexes the attributes a query had to scan for, so the next one does not.
    fn learn(&self, attributes: Vec<String>) {
        if attributes.is_empty() {
            return;
        }
        let mut state = self.write();
        for attribute in attributes {
            self.build_index(&mut state.contents, &attribute);
        }
    }

    /// The attributes indexed now (lower case; `-dn-` for the DN).
    pub fn indexed(&self) -> Vec<String> {
        self.read().contents.indexed.iter().cloned().collect()
    }

    /// The entries `filter` selects, in id order: how many there are, and those from the
    /// `skip`-th (0-based) on, at most `count` (only those are unpacked). Filters are checked
    /// for supported operators before this is called ([`check_filter`]).
    pub fn select(
        &self,
        filter: Option<&Filter>,
        skip: usize,
        count: usize,
    ) -> (usize, Vec<CsEntry>) {
        let mut unindexed = Vec::new();
        let selected = {
            let state = self.read();
            let contents = &state.contents;
            // Counts every match, unpacks only the page's.
            let page = |matched: &mut dyn Iterator<Item = &Packed>| {
                let mut total = 0;
                let mut page = Vec::new();
                for e in matched {
                    if total >= skip && page.len() < count {
                        page.push(e.unpack());
                    }
                    total += 1;
                }
                (total, page)
            };
            let Some(filter) = filter else {
                return page(&mut contents.entries.values());
            };
            // Tested on the bytes: a scan unpacks nothing.
            let test = |(k, e): &(&Arc<str>, &Packed)| self.matches(k, e, filter);
            match self.candidates(contents, filter, &mut unindexed) {
                Some(keys) => page(
                    &mut keys
                        .iter()
                        .filter_map(|k| contents.entries.get_key_value(k))
                        .filter(test)
                        .map(|(_, e)| e),
                ),
                None => page(&mut contents.entries.iter().filter(test).map(|(_, e)| e)),
            }
        };
        self.learn(unindexed);
        selected
    }

    /// A value as the index stores it and filters compare it.
    fn normalize(&self, def: &AttributeDef, v: &Scalar) -> String {
        normalize_scalar(def, v, |s| self.connector.match_key(def, s))
    }

    /// Keys that can match, from the index, when the filter allows it; `None` means "scan".
    /// An `eq` on an attribute not indexed yet scans, and the attribute goes into `unindexed`.
    fn candidates(
        &self,
        contents: &Contents,
        filter: &Filter,
        unindexed: &mut Vec<String>,
    ) -> Option<BTreeSet<Arc<str>>> {
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
                            .get_key_value(key.as_str())
                            .map(|(k, _)| k.clone())
                            .into_iter()
                            .collect(),
                    )
                }
                Resolved::Dn => {
                    let CompValue::Str(s) = value else {
                        return Some(BTreeSet::new());
                    };
                    Some(contents.lookup(DN, &self.connector.normalize_dn(s)))
                }
                Resolved::Attr(def) => {
                    let Some(v) = comp_scalar(value) else {
                        return Some(BTreeSet::new());
                    };
                    let attribute = def.name.to_ascii_lowercase();
                    if !contents.indexed.contains(&attribute) {
                        unindexed.push(attribute);
                        return None;
                    }
                    Some(contents.lookup(&attribute, &self.normalize(def, &v)))
                }
                Resolved::Unknown => Some(BTreeSet::new()),
                Resolved::Active => None,
            },
            Filter::And(a, b) => match (
                self.candidates(contents, a, unindexed),
                self.candidates(contents, b, unindexed),
            ) {
                (Some(x), Some(y)) => Some(x.intersection(&y).cloned().collect()),
                (x, y) => x.or(y),
            },
            Filter::Or(a, b) => {
                match (
                    self.candidates(contents, a, unindexed),
                    self.candidates(contents, b, unindexed),
                ) {
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

    /// Whether the object stored under `key` matches `filter`, read from its bytes.
    fn matches(&self, key: &str, entry: &Packed, filter: &Filter) -> bool {
        match filter {
            Filter::And(a, b) => self.matches(key, entry, a) && self.matches(key, entry, b),
            Filter::Or(a, b) => self.matches(key, entry, a) || self.matches(key, entry, b),
            Filter::Not(f) => !self.matches(key, entry, f),
            // No attribute an ECMA host exposes is multi-valued and complex.
            Filter::ValuePath { .. } => false,
            Filter::Present(path) => match self.resolve(path) {
                Resolved::Id | Resolved::Dn | Resolved::Active => true,
                Resolved::Attr(def) => entry
                    .values(&def.name)
                    .is_some_and(|mut v| v.next().is_some()),
                Resolved::Unknown => false,
            },
            Filter::Compare { path, op, value } => {
                let (def, values): (Option<&AttributeDef>, Vec<String>) = match self.resolve(path) {
                    Resolved::Id => (None, vec![key.to_owned()]),
                    Resolved::Dn => (None, vec![self.connector.normalize_dn(entry.dn())]),
                    Resolved::Active => {
                        (None, vec![self.active_in(entry.attributes()).to_string()])
                    }
                    Resolved::Attr(def) => (
                        Some(def),
                        entry.values(&def.name).map_or(Vec::new(), |vs| {
                            vs.map(|v| self.normalize(def, &v.to_scalar())).collect()
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

/// The values of `entry` the index covers, as stored, each with its attribute's name as
/// spelled there (the object's DN named [`THE_DN`]): the DN under [`DN`], and the values of
/// each attribute in `indexed` under its lower-case name (spellings of one name together).
fn indexed_values<'a>(
    indexed: &BTreeSet<String>,
    entry: &'a Packed,
) -> HashMap<String, Vec<(&'a str, ScalarRef<'a>)>> {
    let mut out: HashMap<String, Vec<(&'a str, ScalarRef<'a>)>> = HashMap::new();
    out.insert(DN.to_owned(), vec![(THE_DN, ScalarRef::String(entry.dn()))]);
    if indexed.len() == 1 {
        return out;
    }
    for (name, values) in entry.attributes() {
        let lower = name.to_ascii_lowercase();
        if indexed.contains(&lower) {
            out.entry(lower)
                .or_default()
                .extend(values.map(|v| (name, v)));
        }
    }
    out
}

/// Takes `key` out of the objects indexed under `value`, and the value out when none is left.
fn remove_key(values: &mut HashMap<Arc<str>, Keys>, value: &str, key: &str) {
    if values.get_mut(value).is_some_and(|keys| keys.remove(key)) {
        values.remove(value);
    }
}

/// Adds `key` to the keys holding `value` in one attribute's index; a value spelled as the key
/// shares the key's allocation.
fn add_key(values: &mut HashMap<Arc<str>, Keys>, value: String, key: &Arc<str>) {
    match values.get_mut(value.as_str()) {
        Some(keys) => keys.insert(key.clone()),
        None => {
            let value: Arc<str> = if *value == **key {
                key.clone()
            } else {
                value.into()
            };
            values.insert(value, Keys::One(key.clone()));
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
