//! One connector's business logic, as ECMA2Host applies it: SCIM requests in, connector entry
//! changes out, the connector space kept in step.
//!
//! - POST → an add with the target attributes from the ECMA2Host extension (nested, or as
//!   top-level URN-qualified keys); `-dn-` decides where, `export_password` is set by a second
//!   call. Core members Entra sends (`userName`, `active`, `emails`, `meta`, …) are not target
//!   attributes and are not written.
//! - PATCH → attribute changes computed against the connector space and exported as whole-value
//!   replacements, all or nothing; `active` runs the disable flow (or its reverse). A PATCH that
//!   changes nothing does not touch the target.
//! - DELETE → the delete flow.
//! - GET and filter queries are answered from the connector space.
//!
//! Decisions the research left open, taken here:
//! - A PATCH that names an attribute the connector does not expose (`userName`,
//!   `emails[type eq "work"].value`) is refused with 400 `invalidPath`: answering 2xx would tell
//!   Entra a change landed that did not (ECMA-UPDATE-008).
//! - A POST that carries an unexposed *extension* attribute is refused with 400 `invalidValue`;
//!   unexposed *core* members are ignored, because Entra sends some of them on every create.
//! - Changing `-dn-` after create is refused with 400 `mutability`: this host does not rename
//!   (ECMA-DN-007 allows only rejection for a `-dn-` anchor, and rejection keeps one rule for
//!   both anchors). Sending the current DN again is a no-op.
//! - After a soft delete (delete flow None or Set attribute value) the object still exists in
//!   the target, so it is still returned: the next import would bring it back anyway.
//! - `null` and `""` are no value (RFC 7643 §2.5; Microsoft's "Clear attribute values"; no LDAP
//!   syntax stores an empty string): an add or replace with either unassigns the attribute, a
//!   POST leaves it out. One rule for LDAP and SQL, though a SQL column could hold `''`.
//! - A POST with `active: false` is answered with the state the target holds: under Set
//!   attribute value the object is created disabled; under Delete or None the target has no
//!   disabled state, so the object is created and answered active, and Entra's next cycle
//!   disables it (ECMA-DEPROV-013). Creating nothing would make Entra create it again forever.
//! - Changes of one object are serialised ([`ConnectorService::patch`], `delete`), and the HTTP
//!   handlers run every write in a task of its own, so a client that gives up mid-request never
//!   leaves the connector space behind the target (ECMA-ROBUST-017).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use indexmap::IndexMap;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use scim_proto::patch::PatchTarget;
use scim_proto::value::{Scalar, coerce};
use scim_proto::{
    AttrPath, Filter, ListResponse, Meta, PatchOpKind, PatchRequest, ScimType, User, urn,
};
// (`AttrPath` also parses the names of `attributes` / `excludedAttributes`.)
use serde_json::Value;

use crate::config::{Deprovisioning, FlowAction};
use crate::connector::{
    AttrRole, AttributeChange, AttributeDef, Connector, ConnectorError, CsEntry, EntryChange,
};
use crate::dn::Dn;
use crate::error::ScimError;
use crate::secret::Secret;
use crate::space::{ActiveRule, ConnectorSpace, Readiness, check_filter};

/// Characters percent-encoded in ids placed in URLs: everything but unreserved characters.
const ID_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The longest wait between attempts at the first import while the target is unreachable.
const MAX_IMPORT_BACKOFF: Duration = Duration::from_secs(30);

/// Query parameters of `GET /Users` and `GET /Users/{id}`.
#[derive(Clone, Debug, Default)]
pub struct Query {
    /// `filter`
    pub filter: Option<String>,
    /// `startIndex` (1-based)
    pub start_index: Option<i64>,
    /// `count`
    pub count: Option<i64>,
    /// `attributes` and `excludedAttributes`.
    pub projection: Projection,
}

/// `attributes` / `excludedAttributes` (RFC 7644 §3.9): which attributes a returned resource
/// keeps. Names are bare (`active`, `sn`) or URN-qualified (`urn:…:ECMA2Host:2.0:User:sn`), in
/// any case. `id` and `schemas` are always returned (`returned: always`), whatever is asked.
#[derive(Clone, Debug, Default)]
pub struct Projection {
    /// Only these (and what is always returned); empty: everything by default.
    pub attributes: Vec<String>,
    /// Not these.
    pub excluded: Vec<String>,
}

impl Projection {
    /// A comma-separated parameter value as names.
    pub fn names(value: &str) -> Vec<String> {
        value
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// `resource` with the projection applied.
    pub fn apply(&self, mut resource: Value) -> Value {
        if self.attributes.is_empty() && self.excluded.is_empty() {
            return resource;
        }
        let Some(object) = resource.as_object_mut() else {
            return resource;
        };
        let always = |name: &str| name == "id" || name == "schemas";
        // (container, attribute): core members have no container.
        let names = |list: &[String]| -> Vec<(Option<String>, String)> {
            list.iter()
                .map(|n| {
                    let path = AttrPath::parse(n).ok();
                    match path {
                        Some(p) if p.in_schema(urn::ECMA2HOST_USER, false) => {
                            (Some(urn::ECMA2HOST_USER.to_owned()), p.name.to_string())
                        }
                        Some(p) if p.in_schema(urn::CORE_USER, true) => (None, p.name.to_string()),
                        _ => (None, n.clone()),
                    }
                })
                .collect()
        };
        let wanted = names(&self.attributes);
        let excluded = names(&self.excluded);
        let listed = |list: &[(Option<String>, String)], container: Option<&str>, name: &str| {
            list.iter().any(|(c, n)| {
                n.eq_ignore_ascii_case(name)
                    && (c.as_deref() == container
                        // A bare name reaches into the extension too.
                        || (c.is_none() && container.is_some()))
            })
        };
        let keep = |container: Option<&str>, name: &str| {
            always(name)
                || ((wanted.is_empty()
                    || listed(&wanted, container, name)
                    || (container.is_some()
                        && wanted.iter().any(|(c, n)| {
                            c.is_none() && n.eq_ignore_ascii_case(container.unwrap_or_default())
                        })))
                    && !listed(&excluded, container, name))
        };
        let keys: Vec<String> = object.keys().cloned().collect();
        for key in keys {
            if key.eq_ignore_ascii_case(urn::ECMA2HOST_USER) {
                if let Some(ext) = object.get_mut(&key).and_then(Value::as_object_mut) {
                    ext.retain(|name, _| keep(Some(urn::ECMA2HOST_USER), name));
                }
                if object
                    .get(&key)
                    .and_then(Value::as_object)
                    .is_some_and(serde_json::Map::is_empty)
                {
                    object.remove(&key);
                }
            } else if !keep(None, &key) {
                object.remove(&key);
            }
        }
        resource
    }
}

/// A served connector: its target, its connector space and its settings.
pub struct ConnectorService {
    name: String,
    token: Secret,
    connector: Arc<dyn Connector>,
    space: ConnectorSpace,
    deprovisioning: Deprovisioning,
    autosync: Option<Duration>,
    max_results: usize,
    import_lock: tokio::sync::Mutex<()>,
    /// One async lock per object being changed, so that changes of one object are exported and
    /// recorded in the connector space one after the other (two PATCHes racing could otherwise
    /// land in the target in one order and in the space in the other). Unrelated objects never
    /// wait on each other; an entry goes when no one holds or awaits it.
    object_locks: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// Holds one object's lock; gives it back, and forgets it when no one else wants it, on drop.
struct ObjectLock<'a> {
    locks: &'a std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    key: String,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Drop for ObjectLock<'_> {
    fn drop(&mut self) {
        let Some(guard) = self.guard.take() else {
            return;
        };
        let mutex = Arc::clone(tokio::sync::OwnedMutexGuard::mutex(&guard));
        drop(guard);
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        // The map's handle and this one: no one else holds or waits for it.
        if Arc::strong_count(&mutex) == 2 {
            locks.remove(&self.key);
        }
    }
}

impl ConnectorService {
    /// A service over `connector`; nothing is imported until [`full_import`](Self::full_import)
    /// or [`spawn_sync`](Self::spawn_sync).
    pub fn new(
        name: String,
        token: Secret,
        connector: Arc<dyn Connector>,
        deprovisioning: Deprovisioning,
        autosync_minutes: u64,
        max_results: usize,
    ) -> Self {
        let active_rule = match &deprovisioning.disable_flow {
            FlowAction::SetAttribute { attribute, value } => Some(ActiveRule {
                attribute: attribute.clone(),
                disabled_value: *value,
            }),
            _ => None,
        };
        ConnectorService {
            name,
            token,
            space: ConnectorSpace::new(connector.clone(), active_rule),
            connector,
            deprovisioning,
            autosync: (autosync_minutes > 0).then(|| Duration::from_secs(autosync_minutes * 60)),
            max_results,
            import_lock: tokio::sync::Mutex::new(()),
            object_locks: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Waits for the object `id`'s lock (see `object_locks`). The std lock on the map is held
    /// only to find the object's lock, never across an await.
    async fn lock_object(&self, id: &str) -> ObjectLock<'_> {
        let key = self.space.key(id);
        let mutex = {
            let mut locks = self.object_locks.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(locks.entry(key.clone()).or_default())
        };
        let guard = mutex.lock_owned().await;
        ObjectLock {
            locks: &self.object_locks,
            key,
            guard: Some(guard),
        }
    }

    /// The connector's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The secret token.
    pub fn token(&self) -> &Secret {
        &self.token
    }

    /// The connector.
    pub fn connector(&self) -> &dyn Connector {
        self.connector.as_ref()
    }

    /// The most resources one list response holds.
    pub fn max_results(&self) -> usize {
        self.max_results
    }

    /// The connector space.
    pub fn space(&self) -> &ConnectorSpace {
        &self.space
    }

    /// Reads the whole target into the connector space, page by page; returns how many objects
    /// it holds. Imports never overlap.
    pub async fn full_import(&self) -> Result<usize, ConnectorError> {
        let queued = std::time::Instant::now();
        let _one_import_at_a_time = self.import_lock.lock().await;
        let started = std::time::Instant::now();
        let mut builder = self.space.begin_import();
        let result = async {
            let mut session = self.connector.open_import().await?;
            // The paging contract: every object once. A target whose paging repeats itself (a
            // read procedure that ignores @StartIndex, a server that hands back the same
            // cookie) would otherwise make the import endless and its memory unbounded; it
            // fails at the first repeated object instead. Each page goes into the space as it
            // arrives; what the target no longer holds is removed only once every page came.
            while let Some(page) = session.next_page().await? {
                if let Err((anchor, whereabouts)) = self.space.add_page(&mut builder, page) {
                    return Err(ConnectorError::Unavailable {
                        detail: format!(
                            "import stopped: {} returned the object {anchor:?} twice \
                             {whereabouts}, so its paging does not advance; the connector \
                             space keeps what it held, nothing is removed",
                            session.source(),
                        ),
                    });
                }
            }
            Ok::<_, ConnectorError>(())
        }
        .await;
        match result {
            Ok(()) => {
                let n = builder.len();
                self.space.finish_import(builder).await;
                tracing::debug!(
                    connector = %self.name,
                    objects = n,
                    queued_ms = (started - queued).as_millis() as u64,
                    took_ms = started.elapsed().as_millis() as u64,
                    "full import finished"
                );
                Ok(n)
            }
            Err(e) => {
                self.space.abort_import(e.to_string());
                Err(e)
            }
        }
    }

    /// Runs the first import (retrying with backoff until the target answers) and then one
    /// every autosync interval, in the background.
    pub fn spawn_sync(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            this.first_import().await;
            let Some(every) = this.autosync else { return };
            let mut ticker = tokio::time::interval(every);
            ticker.tick().await;
            loop {
                ticker.tick().await;
                match this.full_import().await {
                    Ok(n) => {
                        tracing::info!(connector = %this.name, objects = n, "autosync import finished")
                    }
                    Err(e) => {
                        tracing::warn!(connector = %this.name, error = %e, "autosync import failed; the connector space keeps what it held")
                    }
                }
            }
        })
    }

    /// The first import, retried with backoff until the target answers.
    async fn first_import(&self) {
        let mut backoff = Duration::from_secs(1);
        loop {
            match self.full_import().await {
                Ok(n) => {
                    tracing::info!(connector = %self.name, objects = n, "initial import finished");
                    return;
                }
                Err(e) => {
                    tracing::warn!(connector = %self.name, error = %e, retry_in = ?backoff, "initial import failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_IMPORT_BACKOFF);
                }
            }
        }
    }

    /// Forgets the connector space and runs the first import again in the background, as a
    /// restart of the service does: until it has finished, its SCIM requests are
    /// answered 503 (ECMA-IMPORT-005), and then the target's objects are found
    /// (ECMA-IMPORT-001). Returns once the space is empty and importing; an import in flight
    /// finishes first. The reference host's restart hook (`POST …/scim/cache/restart`).
    pub async fn restart(self: &Arc<Self>) {
        {
            let _no_import_in_flight = self.import_lock.lock().await;
            self.space.reset();
        }
        let this = self.clone();
        tokio::spawn(async move { this.first_import().await });
    }

    fn ready(&self) -> Result<(), ScimError> {
        match self.space.readiness() {
            Readiness::Ready => Ok(()),
            Readiness::Importing { last_error } => Err(ScimError::unavailable(match last_error {
                None => "The ECMA host is currently importing data from the target application"
                    .to_owned(),
                Some(e) => format!(
                    "The ECMA host is currently importing data from the target application; the last attempt failed: {e}"
                ),
            })),
        }
    }

    fn exposed(&self, name: &str) -> Option<&AttributeDef> {
        self.connector
            .schema()
            .get(name)
            .filter(|a| a.role != AttrRole::Hidden)
    }

    fn exposed_names(&self) -> String {
        self.connector
            .schema()
            .exposed()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `POST /Users`: returns the created resource.
    pub async fn create(&self, user: User, base: &str) -> Result<Value, ScimError> {
        self.ready()?;
        let mut given: IndexMap<String, (&AttributeDef, Vec<Scalar>)> = IndexMap::new();
        let nested = user
            .ecma2host
            .iter()
            .flat_map(|e| e.0.iter())
            .map(|(k, v)| (k.clone(), v));
        let flat = user.other.iter().filter_map(|(k, v)| {
            let path = AttrPath::parse(k).ok()?;
            (path.in_schema(urn::ECMA2HOST_USER, false) && path.sub_attr.is_none())
                .then(|| (path.name.to_string(), v))
        });
        for (name, value) in nested.chain(flat) {
            let def = self.exposed(&name).ok_or_else(|| {
                ScimError::bad_request(
                    ScimType::InvalidValue,
                    format!(
                        "{name:?} is not an attribute of connector {:?} (its attributes: {})",
                        self.name,
                        self.exposed_names()
                    ),
                )
            })?;
            if def.role == AttrRole::Anchor {
                return Err(ScimError::bad_request(
                    ScimType::Mutability,
                    format!(
                        "{} is the anchor, assigned by the target; it cannot be given",
                        def.name
                    ),
                ));
            }
            // `null` and `""` are no value: the attribute is left out.
            let values = without_empty(coerce(value, def.kind, def.multi_valued).map_err(|e| {
                ScimError::bad_request(ScimType::InvalidValue, format!("{}: {e}", def.name))
            })?);
            if given
                .insert(def.name.to_ascii_lowercase(), (def, values))
                .is_some()
            {
                return Err(ScimError::bad_request(
                    ScimType::InvalidSyntax,
                    format!("{} is given twice", def.name),
                ));
            }
        }
        // The anchor of a connector that makes DNs from it: required, and where a 409's object
        // is to be read back.
        let mut key_value = None;
        if let Some(key) = self
            .connector
            .schema()
            .attributes
            .iter()
            .find(|a| a.role == AttrRole::Key)
        {
            let Some(value) = given
                .get(&key.name.to_ascii_lowercase())
                .and_then(|(_, v)| v.first())
            else {
                return Err(ScimError::bad_request(
                    ScimType::InvalidValue,
                    format!(
                        "{}:{} is required: it is the anchor of connector {:?}",
                        urn::ECMA2HOST_USER,
                        key.name,
                        self.name
                    ),
                ));
            };
            key_value = Some(scalar_text(value));
        }
        let mut dn = None;
        let mut password = None;
        let mut attributes = Vec::new();
        for (def, values) in given.into_values() {
            let Some(first) = values.first() else {
                continue;
            };
            match def.role {
                AttrRole::Dn => dn = Some(scalar_text(first)),
                AttrRole::ExportPassword => password = Some(Secret::new(scalar_text(first))),
                _ => attributes.push(AttributeChange {
                    name: def.name.clone(),
                    values,
                }),
            }
        }
        if user.active == Some(false)
            && let FlowAction::SetAttribute { attribute, value } = &self.deprovisioning.disable_flow
        {
            attributes.push(AttributeChange {
                name: attribute.clone(),
                values: vec![Scalar::Boolean(*value)],
            });
        }
        let dn = match dn {
            Some(dn) => {
                Dn::parse(&dn).map_err(|e| {
                    ScimError::bad_request(ScimType::InvalidValue, format!("-dn-: {e}"))
                })?;
                dn
            }
            None if self.connector.capabilities().dn_autogenerated => String::new(),
            None => {
                return Err(ScimError::bad_request(
                    ScimType::InvalidValue,
                    format!(
                        "{}:-dn- is required: it decides where the object is created",
                        urn::ECMA2HOST_USER
                    ),
                ));
            }
        };
        // What a connector that makes neither DNs nor anchors from the request needs to find
        // the object a 409 collided with.
        let collided_with = (dn.is_empty() && key_value.is_none()).then(|| attributes.clone());
        let exported = match self
            .connector
            .export(EntryChange::Add {
                dn: dn.clone(),
                attributes,
                password,
            })
            .await
        {
            // The target holds an object there that the space may not know: a create whose
            // answer was lost (Entra retries it), or one made out of band since the last import.
            // The space takes it in, so Entra's next matching query finds it (ECMA-ROBUST-017);
            // the answer is still 409.
            // A connector that makes DNs makes it from the anchor.
            Err(e @ ConnectorError::AlreadyExists { .. })
                if !dn.is_empty() || key_value.is_some() =>
            {
                let existing = match &key_value {
                    Some(anchor) if dn.is_empty() => ecma_vocab::sql::autogenerated_dn(anchor),
                    _ => dn.clone(),
                };
                if let Ok(Some(entry)) = self.connector.read_object(&existing).await {
                    self.space.upsert(entry);
                }
                return Err(e.into());
            }
            Err(e @ ConnectorError::AlreadyExists { .. }) => {
                if let Some(attributes) = &collided_with
                    && let Ok(Some(entry)) = self.connector.find_created(attributes).await
                {
                    self.space.upsert(entry);
                }
                return Err(e.into());
            }
            other => other?,
        };
        let entry = exported.entry.ok_or_else(|| {
            ScimError::new(
                StatusCode::BAD_GATEWAY,
                None,
                "the target accepted the object but did not return it",
            )
        })?;
        let entry = self.space.upsert(entry);
        Ok(self.render(&entry, base))
    }

    /// `GET /Users/{id}`
    pub fn get(&self, id: &str, base: &str) -> Result<Value, ScimError> {
        self.ready()?;
        let entry = self.space.get(id).ok_or_else(|| not_found(id))?;
        Ok(self.render(&entry, base))
    }

    /// `GET /Users?filter=…&startIndex=…&count=…`: always a ListResponse, zero matches
    /// included.
    pub fn query(&self, query: &Query, base: &str) -> Result<ListResponse<Value>, ScimError> {
        self.ready()?;
        let filter = match query.filter.as_deref() {
            Some(text) => {
                let f = Filter::parse(text)
                    .map_err(|e| ScimError::bad_request(ScimType::InvalidFilter, e.to_string()))?;
                check_filter(&f).map_err(|e| ScimError::bad_request(ScimType::InvalidFilter, e))?;
                Some(f)
            }
            None => None,
        };
        // RFC 7644 §3.4.2.4: startIndex below 1 is 1, a negative count is 0.
        let start = query.start_index.unwrap_or(1).max(1);
        let count = query.count.map_or(self.max_results, |c| {
            usize::try_from(c.max(0)).unwrap_or(0).min(self.max_results)
        });
        let skip = usize::try_from(start - 1).unwrap_or(usize::MAX);
        let (total, matched) = self.space.select(filter.as_ref(), skip, count);
        let page: Vec<Value> = matched.iter().map(|e| self.render(e, base)).collect();
        Ok(ListResponse::page(page, total as u64, start as u64))
    }

    /// `PATCH /Users/{id}`: the updated resource, or `None` when the disable flow deleted it.
    pub async fn patch(
        &self,
        id: &str,
        request: PatchRequest,
        base: &str,
    ) -> Result<Option<Value>, ScimError> {
        self.ready()?;
        request
            .check_envelope()
            .map_err(|e| ScimError::bad_request(e.kind.scim_type(), e.to_string()))?;
        // Changes of one object one at a time, computed against what the space holds once it
        // is this change's turn.
        let _turn = self.lock_object(id).await;
        let entry = self.space.get(id).ok_or_else(|| not_found(id))?;
        let ops = request
            .normalize()
            .map_err(|e| ScimError::bad_request(e.kind.scim_type(), e.to_string()))?;
        let mut working = entry.attributes.clone();
        let mut touched: Vec<&AttributeDef> = Vec::new();
        let mut password = None;
        let mut active = None;
        for (i, op) in ops.iter().enumerate() {
            if op.is_active() {
                match (op.op, &op.value) {
                    (PatchOpKind::Remove, _) | (_, None) => {
                        return Err(ScimError::bad_request(
                            ScimType::InvalidValue,
                            format!(
                                "operation {i}: active can be set to true or false, not removed"
                            ),
                        ));
                    }
                    (_, Some(v)) => active = v.as_bool(),
                }
                continue;
            }
            let PatchTarget::Attr(path) = &op.target else {
                return Err(ScimError::bad_request(
                    ScimType::InvalidPath,
                    format!(
                        "operation {i}: {} addresses values of a multi-valued complex attribute; connector {:?} exposes none (its attributes: {})",
                        op.target,
                        self.name,
                        self.exposed_names()
                    ),
                ));
            };
            let def = (path.sub_attr.is_none() && path.in_schema(urn::ECMA2HOST_USER, true))
                .then(|| self.exposed(path.name.as_str()))
                .flatten()
                .ok_or_else(|| {
                    ScimError::bad_request(
                        ScimType::InvalidPath,
                        format!(
                            "operation {i}: {path} is not an attribute of connector {:?} (its attributes: {})",
                            self.name,
                            self.exposed_names()
                        ),
                    )
                })?;
            let values = match &op.value {
                Some(v) => without_empty(coerce(v, def.kind, def.multi_valued).map_err(|e| {
                    ScimError::bad_request(
                        ScimType::InvalidValue,
                        format!("operation {i}: {}: {e}", def.name),
                    )
                })?),
                None => Vec::new(),
            };
            // `null`, `""` (or only those): no value, which for add and replace unassigns the
            // attribute (RFC 7643 §2.5; a target cannot store an empty string either).
            let unassign = op.op != PatchOpKind::Remove && op.value.as_ref().is_some_and(no_value);
            let (kind, has_value) = if unassign {
                (PatchOpKind::Replace, true)
            } else {
                (op.op, op.value.is_some())
            };
            match def.role {
                AttrRole::Anchor => {
                    return Err(ScimError::bad_request(
                        ScimType::Mutability,
                        format!(
                            "operation {i}: {} is the anchor and cannot change",
                            def.name
                        ),
                    ));
                }
                AttrRole::Key => {
                    // Restating the anchor is harmless (Entra's path-less replace sends every
                    // mapped attribute); changing or removing it is not.
                    let current = entry.attributes.get(&def.name).map(Vec::as_slice);
                    if op.op == PatchOpKind::Remove
                        || current.is_none_or(|c| !same_values(c, &values))
                    {
                        return Err(ScimError::bad_request(
                            ScimType::Mutability,
                            format!(
                                "operation {i}: {} is the anchor; it is set on create and cannot change",
                                def.name
                            ),
                        ));
                    }
                }
                AttrRole::Dn => {
                    let same = values.first().is_some_and(|v| {
                        self.connector.normalize_dn(&scalar_text(v))
                            == self.connector.normalize_dn(&entry.dn)
                    });
                    if !same || op.op == PatchOpKind::Remove {
                        return Err(ScimError::bad_request(
                            ScimType::Mutability,
                            format!(
                                "operation {i}: -dn- is set on create only; this host does not rename or move objects (the object stays at {:?})",
                                entry.dn
                            ),
                        ));
                    }
                }
                AttrRole::ExportPassword => match (op.op, values.first()) {
                    (PatchOpKind::Remove, _) | (_, None) => {
                        return Err(ScimError::bad_request(
                            ScimType::NoTarget,
                            format!("operation {i}: {} can be set, not removed", def.name),
                        ));
                    }
                    (_, Some(v)) => password = Some(Secret::new(scalar_text(v))),
                },
                AttrRole::Normal | AttrRole::WriteOnly | AttrRole::Hidden => {
                    let current = working.entry(def.name.clone()).or_default();
                    apply(def, kind, has_value, values, current);
                    if !touched.contains(&def) {
                        touched.push(def);
                    }
                }
            }
        }
        let mut changes: Vec<AttributeChange> = touched
            .into_iter()
            .filter_map(|def| {
                let after = working.get(&def.name).cloned().unwrap_or_default();
                let before = entry
                    .attributes
                    .get(&def.name)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                (def.role == AttrRole::WriteOnly || !same_values(before, &after)).then(|| {
                    AttributeChange {
                        name: def.name.clone(),
                        values: after,
                    }
                })
            })
            .collect();
        match (active, &self.deprovisioning.disable_flow) {
            (Some(false), FlowAction::Delete) => {
                self.delete_object(&entry).await?;
                return Ok(None);
            }
            (Some(false), FlowAction::SetAttribute { attribute, value })
                if self.space.is_active(&entry) =>
            {
                changes.push(AttributeChange {
                    name: attribute.clone(),
                    values: vec![Scalar::Boolean(*value)],
                });
            }
            (Some(true), FlowAction::SetAttribute { attribute, value })
                if !self.space.is_active(&entry) =>
            {
                changes.push(AttributeChange {
                    name: attribute.clone(),
                    values: vec![Scalar::Boolean(!*value)],
                });
            }
            _ => {}
        }
        if changes.is_empty() && password.is_none() {
            return Ok(Some(self.render(&entry, base)));
        }
        let change = EntryChange::Update {
            anchor: entry.anchor.clone(),
            dn: entry.dn.clone(),
            before: entry.attributes.clone(),
            changes: changes.clone(),
            password,
        };
        match self.connector.export(change).await {
            Ok(_) => {}
            Err(ConnectorError::NoSuchObject { detail }) => {
                self.space.remove(id);
                return Err(ScimError::not_found(format!(
                    "{id:?} no longer exists in the target: {detail}"
                )));
            }
            Err(e) => return Err(e.into()),
        }
        let updated = self
            .space
            .update(&entry.anchor, |current| {
                self.with_changes(current, &changes)
            })
            .unwrap_or_else(|| Arc::new(self.with_changes(&entry, &changes)));
        Ok(Some(self.render(&updated, base)))
    }

    /// `DELETE /Users/{id}`: the delete flow.
    pub async fn delete(&self, id: &str) -> Result<(), ScimError> {
        self.ready()?;
        let _turn = self.lock_object(id).await;
        let entry = self.space.get(id).ok_or_else(|| not_found(id))?;
        match &self.deprovisioning.delete_flow {
            FlowAction::Delete => self.delete_object(&entry).await,
            FlowAction::None => Ok(()),
            FlowAction::SetAttribute { attribute, value } => {
                let change = AttributeChange {
                    name: attribute.clone(),
                    values: vec![Scalar::Boolean(*value)],
                };
                let current = entry
                    .attributes
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(attribute))
                    .map(|(_, v)| v);
                if current == Some(&change.values) {
                    return Ok(());
                }
                let export = EntryChange::Update {
                    anchor: entry.anchor.clone(),
                    dn: entry.dn.clone(),
                    before: entry.attributes.clone(),
                    changes: vec![change.clone()],
                    password: None,
                };
                match self.connector.export(export).await {
                    Ok(_) => {
                        self.space.update(&entry.anchor, |current| {
                            self.with_changes(current, &[change])
                        });
                        Ok(())
                    }
                    // Already gone: what DELETE asked for holds (ECMA-DELETE-005).
                    Err(ConnectorError::NoSuchObject { .. }) => {
                        self.space.remove(&entry.anchor);
                        Ok(())
                    }
                    Err(e) => Err(e.into()),
                }
            }
        }
    }

    async fn delete_object(&self, entry: &CsEntry) -> Result<(), ScimError> {
        let change = EntryChange::Delete {
            anchor: entry.anchor.clone(),
            dn: entry.dn.clone(),
        };
        match self.connector.export(change).await {
            // Already gone out of band: the object no longer exists either way.
            Ok(_) | Err(ConnectorError::NoSuchObject { .. }) => {
                self.space.remove(&entry.anchor);
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The entry after `changes`, for the connector space: write-only values are not kept.
    fn with_changes(&self, entry: &CsEntry, changes: &[AttributeChange]) -> CsEntry {
        let mut updated = entry.clone();
        for change in changes {
            let def = self.connector.schema().get(&change.name);
            if def.is_some_and(|d| matches!(d.role, AttrRole::WriteOnly | AttrRole::ExportPassword))
            {
                continue;
            }
            let key = def.map_or_else(|| change.name.clone(), |d| d.name.clone());
            if change.values.is_empty() {
                updated.attributes.shift_remove(&key);
            } else {
                updated.attributes.insert(key, change.values.clone());
            }
        }
        updated
    }

    /// The SCIM representation of an entry: the ECMA2Host extension with every readable
    /// selected attribute, `-dn-` first; single-valued attributes show their first value even
    /// when the directory holds several (ECMA-LDAP-005).
    pub fn render(&self, entry: &CsEntry, base: &str) -> Value {
        let mut ext = IndexMap::new();
        for def in self.connector.schema().exposed() {
            let values: &[Scalar] = match def.role {
                AttrRole::Dn => {
                    ext.insert(def.name.clone(), Value::String(entry.dn.clone()));
                    continue;
                }
                AttrRole::WriteOnly | AttrRole::ExportPassword | AttrRole::Hidden => continue,
                AttrRole::Normal | AttrRole::Anchor | AttrRole::Key => {
                    match entry.attributes.get(&def.name) {
                        Some(v) if !v.is_empty() => v,
                        _ => continue,
                    }
                }
            };
            let value = if def.multi_valued {
                Value::Array(values.iter().map(Scalar::to_json).collect())
            } else {
                values[0].to_json()
            };
            ext.insert(def.name.clone(), value);
        }
        let mut user = User::ecma(ext);
        user.id = Some(entry.anchor.clone());
        user.active = Some(self.space.is_active(entry));
        user.meta = Some(Meta {
            resource_type: Some("User".into()),
            location: Some(format!(
                "{base}/Users/{}",
                utf8_percent_encode(&entry.anchor, ID_ENCODE)
            )),
            ..Meta::default()
        });
        serde_json::to_value(user).unwrap_or(Value::Null)
    }
}

/// Applies one operation to an attribute's working values (RFC 7644 §3.5.2).
fn apply(
    def: &AttributeDef,
    op: PatchOpKind,
    has_value: bool,
    values: Vec<Scalar>,
    current: &mut Vec<Scalar>,
) {
    match op {
        PatchOpKind::Replace => *current = values,
        PatchOpKind::Add if def.multi_valued => {
            for v in values {
                if !current.iter().any(|c| same_value(def, c, &v)) {
                    current.push(v);
                }
            }
        }
        // Add on a single-valued attribute sets it, whether or not it had a value
        // (ECMA-UPDATE-003); adding nothing leaves it alone.
        PatchOpKind::Add => {
            if !values.is_empty() {
                *current = values;
            }
        }
        PatchOpKind::Remove if !has_value => current.clear(),
        PatchOpKind::Remove => current.retain(|c| !values.iter().any(|v| same_value(def, c, v))),
    }
}

fn same_value(def: &AttributeDef, a: &Scalar, b: &Scalar) -> bool {
    match (a, b) {
        (Scalar::String(x), Scalar::String(y)) if !def.case_exact => {
            x.to_lowercase() == y.to_lowercase()
        }
        (x, y) => x == y,
    }
}

/// Same values, in any order. Case differences count as changes: values are stored as sent
/// (ECMA-CREATE-004), so a PATCH that only changes case must reach the target.
fn same_values(a: &[Scalar], b: &[Scalar]) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.contains(x))
}

/// Values without empty strings: no target stores one as a value (LDAP syntaxes refuse it,
/// and for SQL the reference host keeps one meaning for every target: no value).
fn without_empty(values: Vec<Scalar>) -> Vec<Scalar> {
    values
        .into_iter()
        .filter(|v| !matches!(v, Scalar::String(s) if s.is_empty()))
        .collect()
}

/// `null`, `""`, or an array of only those: a value that means "no value".
fn no_value(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.iter().all(no_value),
        _ => false,
    }
}

fn scalar_text(s: &Scalar) -> String {
    match s {
        Scalar::String(s) => s.clone(),
        Scalar::Boolean(b) => b.to_string(),
        Scalar::Integer(i) => i.to_string(),
    }
}

fn not_found(id: &str) -> ScimError {
    ScimError::not_found(format!("no user has the id {id:?}"))
}
