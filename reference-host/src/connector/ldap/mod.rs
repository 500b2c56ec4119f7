//! The LDAP connector (after Microsoft's Generic LDAP connector): ldap3 over `ldap://`,
//! `ldaps://` or StartTLS, simple bind, one structural object class, anchor `-dn-`,
//! `entryUUID` or `objectGUID`, paged full import, and export of adds, whole-value replaces and
//! deletes.
//!
//! What it does not do: create intermediate containers (as ECMA2Host does not), rename or move
//! entries, SASL binds, delta import, referrals.
//!
//! Connection handling: ldap3 multiplexes concurrent operations over one connection, so the
//! connector shares a single bound handle and clones it per operation. The handle sits behind a
//! std mutex that is only ever held to clone or replace it, never across directory I/O; a
//! separate async mutex serialises reconnects so that a directory restart causes one reconnect,
//! not one per waiting request.

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use indexmap::IndexMap;
use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::controls::{Control, PostRead};
use ldap3::{
    Ldap, LdapConnAsync, LdapConnSettings, LdapError, LdapResult, Mod, ResultEntry, Scope,
    SearchEntry, SearchStream,
};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use scim_proto::schema::AttrType;
use scim_proto::value::Scalar;

use super::{
    AttrRole, AttributeChange, AttributeDef, Capabilities, Connector, ConnectorError,
    ConnectorSchema, CsEntry, EntryChange, Exported, ImportSession,
};
use crate::config::{ConfigError, Deprovisioning, LdapAnchor, LdapConfig};
use crate::dn::{self, Dn};
use crate::secret::Secret;
use ecma_vocab::ldap::{code, result_name};

/// The pseudo-attribute that carries an entry's DN.
pub const DN_ATTRIBUTE: &str = "-dn-";
/// The ECMA2 virtual attribute for initial passwords.
pub const EXPORT_PASSWORD: &str = "export_password";
const ENTRY_UUID: &str = "entryUUID";
const OBJECT_GUID: &str = "objectGUID";

/// A connector to one LDAP directory.
pub struct LdapConnector {
    url: String,
    tls: Option<Arc<rustls::ClientConfig>>,
    starttls: bool,
    bind_dn: String,
    bind_password: Secret,
    base_dn: String,
    base: Dn,
    object_class: String,
    anchor: LdapAnchor,
    password_attribute: String,
    page_size: u32,
    timeout: Duration,
    /// `add_retries` of the configuration.
    add_retries: u32,
    schema: ConnectorSchema,
    /// Attributes every read asks for.
    read_attributes: Vec<String>,
    current: Mutex<Option<Ldap>>,
    connecting: tokio::sync::Mutex<()>,
}

impl LdapConnector {
    /// Builds the connector from its configuration: reads the bind password and CA certificate
    /// (relative to `base_dir`) and derives the schema. Does not connect.
    pub fn new(
        name: &str,
        config: &LdapConfig,
        deprovisioning: &Deprovisioning,
        base_dir: &Path,
    ) -> Result<Self, ConfigError> {
        let key = |k: &str| format!("connector {name:?}: ldap.{k}");
        let bind_password =
            config
                .bind_password
                .resolve(base_dir)
                .map_err(|e| ConfigError::Invalid {
                    key: key("bind_password"),
                    reason: e.to_string(),
                })?;
        let tls = match &config.ca_certificate {
            Some(path) => Some(Arc::new(client_tls(&base_dir.join(path)).map_err(
                |reason| ConfigError::Invalid {
                    key: key("ca_certificate"),
                    reason,
                },
            )?)),
            None => None,
        };
        let base = Dn::parse(&config.base_dn).map_err(|e| ConfigError::Invalid {
            key: key("base_dn"),
            reason: e.to_string(),
        })?;
        let schema = ldap_schema(config, deprovisioning);
        let mut read_attributes: Vec<String> = schema
            .attributes
            .iter()
            .filter(|a| {
                matches!(
                    a.role,
                    AttrRole::Normal | AttrRole::Anchor | AttrRole::Hidden
                )
            })
            .map(|a| a.name.clone())
            .collect();
        // The anchor is operational: a search returns it only when it is asked for by name.
        let anchor_attribute = match config.anchor {
            LdapAnchor::Dn => None,
            LdapAnchor::EntryUuid => Some(ENTRY_UUID),
            LdapAnchor::ObjectGuid => Some(OBJECT_GUID),
        };
        if let Some(name) = anchor_attribute
            && !read_attributes.iter().any(|a| a.eq_ignore_ascii_case(name))
        {
            read_attributes.push(name.into());
        }
        Ok(LdapConnector {
            url: config.url.clone(),
            tls,
            starttls: config.starttls,
            bind_dn: config.bind_dn.clone(),
            bind_password,
            base_dn: config.base_dn.clone(),
            base,
            object_class: config.object_class.clone(),
            anchor: config.anchor,
            password_attribute: config.password_attribute.clone(),
            page_size: config.page_size,
            timeout: Duration::from_secs(config.timeout_seconds),
            add_retries: config.add_retries,
            schema,
            read_attributes,
            current: Mutex::new(None),
            connecting: tokio::sync::Mutex::new(()),
        })
    }

    fn cached(&self) -> Option<Ldap> {
        self.current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn forget(&self) {
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// A bound handle, connecting (once, however many requests wait) when there is none.
    async fn ldap(&self) -> Result<Ldap, ConnectorError> {
        if let Some(mut ldap) = self.cached()
            && !ldap.is_closed()
        {
            return Ok(ldap);
        }
        let _one_connect_at_a_time = self.connecting.lock().await;
        if let Some(mut ldap) = self.cached()
            && !ldap.is_closed()
        {
            return Ok(ldap);
        }
        let mut settings = LdapConnSettings::new()
            .set_conn_timeout(self.timeout)
            .set_starttls(self.starttls);
        if let Some(tls) = &self.tls {
            settings = settings.set_config(tls.clone());
        }
        // ldap3 leaves Nagle's algorithm on; with delayed ACKs a small request can wait ~40 ms.
        // The connection is made here, TCP_NODELAY set, and handed over (TLS still ldap3's).
        if let Some(address) = tcp_address(&self.url) {
            let stream =
                tokio::time::timeout(self.timeout, tokio::net::TcpStream::connect(&address))
                    .await
                    .map_err(|_| ConnectorError::Unavailable {
                        detail: format!(
                            "cannot connect to {}: no answer within {} s",
                            self.url,
                            self.timeout.as_secs()
                        ),
                    })?
                    .map_err(|e| ConnectorError::Unavailable {
                        detail: format!("cannot connect to {}: {e}", self.url),
                    })?;
            let stream = stream
                .set_nodelay(true)
                .and_then(|()| stream.into_std())
                .map_err(|e| ConnectorError::Unavailable {
                    detail: format!("cannot connect to {}: {e}", self.url),
                })?;
            settings = settings.set_std_stream(ldap3::StdStream::Tcp(stream));
        }
        let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &self.url)
            .await
            .map_err(|e| self.transport("connect to", &self.url, &e))?;
        let url = self.url.clone();
        tokio::spawn(async move {
            if let Err(e) = conn.drive().await {
                tracing::debug!(%url, error = %e, "LDAP connection closed");
            }
        });
        let res = ldap
            .with_timeout(self.timeout)
            .simple_bind(&self.bind_dn, self.bind_password.expose())
            .await
            .map_err(|e| self.transport("bind to", &self.url, &e))?;
        if res.rc != 0 {
            return Err(classify(&res, &format!("bind as {}", self.bind_dn)));
        }
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = Some(ldap.clone());
        Ok(ldap)
    }

    /// A transport-level failure; the connection is dropped so the next operation reconnects.
    fn transport(&self, what: &str, target: &str, e: &LdapError) -> ConnectorError {
        if !matches!(e, LdapError::Timeout { .. }) {
            self.forget();
        }
        let detail = match e {
            LdapError::Timeout { .. } => {
                format!(
                    "the directory did not answer within {} s ({what} {target})",
                    self.timeout.as_secs()
                )
            }
            e => format!("cannot {what} {target}: {e}"),
        };
        ConnectorError::Unavailable { detail }
    }

    async fn add(
        &self,
        dn: &str,
        attributes: &[AttributeChange],
        password: Option<&Secret>,
    ) -> Result<Exported, ConnectorError> {
        let parsed = Dn::parse(dn).map_err(|e| ConnectorError::Rejected {
            detail: e.to_string(),
        })?;
        if !parsed.is_within(&self.base) || parsed.rdns().len() == self.base.rdns().len() {
            return Err(ConnectorError::Rejected {
                detail: format!(
                    "{dn:?} is not beneath the connector's partition {:?}",
                    self.base_dn
                ),
            });
        }
        let mut attrs: Vec<(String, HashSet<String>)> = Vec::new();
        for change in attributes {
            let role = self
                .schema
                .get(&change.name)
                .map_or(AttrRole::Normal, |a| a.role);
            if matches!(
                role,
                AttrRole::Dn | AttrRole::ExportPassword | AttrRole::Anchor
            ) || change.values.is_empty()
            {
                continue;
            }
            attrs.push((
                change.name.clone(),
                change.values.iter().map(ldap_value).collect(),
            ));
        }
        if !attrs
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("objectClass"))
        {
            attrs.push((
                "objectClass".into(),
                HashSet::from([self.object_class.clone()]),
            ));
        }
        // The naming attribute's value must be in the entry; supply it when the request did not
        // carry the attribute at all (a request that carries a different value is the
        // directory's to refuse).
        if let Some(rdn) = parsed.rdns().first() {
            for ava in &rdn.0 {
                if !attrs.iter().any(|(n, _)| n.eq_ignore_ascii_case(&ava.attr)) {
                    attrs.push((ava.attr.clone(), HashSet::from([ava.value.clone()])));
                }
            }
        }
        let mut ldap = self.ldap().await?;
        let container = parsed.parent().map(|p| p.to_string()).unwrap_or_default();
        let mut attempt = 0;
        let res = loop {
            // The Post-Read control (RFC 4527) returns the entry as added, anchor included, in
            // the add's answer; a directory without it ignores it (it is not critical) and the
            // entry is read back with a second operation.
            let res = ldap
                .with_timeout(self.write_bound())
                .with_controls(PostRead::new(self.read_attributes.clone()))
                .add(dn, attrs.clone())
                .await
                .map_err(|e| self.transport("add", dn, &e))?;
            if res.rc != code::NO_SUCH_OBJECT {
                break res;
            }
            // noSuchObject for a container that exists is the directory's own passing failure:
            // 389 DS answers it when its entry cache gives up waiting for a parent that
            // concurrent adds and deletes beneath it keep replacing (its error log: "Retry
            // count exceeded"). The add is tried again; a container that is really missing is
            // the caller's error, as before (and with `add_retries = 0`, every such answer).
            if self.add_retries == 0 || !self.exists(&mut ldap, &container).await? {
                return Err(ConnectorError::MissingParent {
                    container,
                    detail: describe(&res),
                });
            }
            attempt += 1;
            if attempt > self.add_retries {
                return Err(ConnectorError::Unavailable {
                    detail: format!(
                        "add {dn}: the directory answered {} {} times for the container {container:?}, which exists ({})",
                        result_name(code::NO_SUCH_OBJECT),
                        attempt,
                        describe(&res)
                    ),
                });
            }
            tracing::warn!(%dn, attempt, "the directory answered an add noSuchObject for a container that exists; trying again");
            tokio::time::sleep(Duration::from_millis(50) * 2u32.saturating_pow(attempt - 1)).await;
        };
        if res.rc != 0 {
            return Err(classify(&res, &format!("add {dn}")));
        }
        if let Some(password) = password {
            // ECMA2 connectors set the initial password with a second call after the add; if it
            // fails, the add is undone so an error never leaves a half-made entry behind.
            let set = self.set_password(&mut ldap, dn, password).await;
            if let Err(e) = set {
                let _ = ldap.with_timeout(self.write_bound()).delete(dn).await;
                return Err(e);
            }
        }
        // With a password set after the add, the entry is read again: the change may have
        // touched readable attributes (pwdChangedTime).
        let read = if password.is_none() {
            post_read(&res, dn)
        } else {
            None
        };
        let entry = match read.and_then(|e| self.entry(e)) {
            Some(entry) => Some(entry),
            None => self.read(&mut ldap, dn).await?,
        };
        Ok(Exported { entry })
    }

    async fn set_password(
        &self,
        ldap: &mut Ldap,
        dn: &str,
        password: &Secret,
    ) -> Result<(), ConnectorError> {
        let mods = vec![Mod::Replace(
            self.password_attribute.as_bytes().to_vec(),
            HashSet::from([self.password_value(password)]),
        )];
        let res = ldap
            .with_timeout(self.write_bound())
            .modify(dn, mods)
            .await
            .map_err(|e| self.transport("set the password of", dn, &e))?;
        if res.rc != 0 {
            return Err(classify(&res, &format!("set the password of {dn}")));
        }
        Ok(())
    }

    /// How long a write may go on ([`super::write_bound`]).
    fn write_bound(&self) -> Duration {
        super::write_bound(self.timeout)
    }

    /// A password as the directory takes it: AD and AD LDS want `unicodePwd` as the password
    /// in double quotes, encoded UTF-16LE (MS-ADTS 3.1.1.3.1.5.1, "unicodePwd"); any other
    /// attribute (`userPassword`) the text itself.
    fn password_value(&self, password: &Secret) -> Vec<u8> {
        if self.password_attribute.eq_ignore_ascii_case("unicodePwd") {
            format!("\"{}\"", password.expose())
                .encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect()
        } else {
            password.expose().as_bytes().to_vec()
        }
    }

    /// Whether an entry exists at `dn` (a base search asking for no attribute).
    async fn exists(&self, ldap: &mut Ldap, dn: &str) -> Result<bool, ConnectorError> {
        let result = ldap
            .with_timeout(self.timeout)
            .search(dn, Scope::Base, "(objectClass=*)", vec!["1.1"])
            .await
            .map_err(|e| self.transport("read", dn, &e))?;
        match result.1.rc {
            0 => Ok(!result.0.is_empty()),
            code::NO_SUCH_OBJECT => Ok(false),
            _ => Err(classify(&result.1, &format!("read {dn}"))),
        }
    }

    /// Reads one entry by DN with every attribute the connector uses.
    async fn read(&self, ldap: &mut Ldap, dn: &str) -> Result<Option<CsEntry>, ConnectorError> {
        self.read_where(ldap, dn, "(objectClass=*)").await
    }

    /// [`read`](Self::read), the entry only when it matches `filter`.
    async fn read_where(
        &self,
        ldap: &mut Ldap,
        dn: &str,
        filter: &str,
    ) -> Result<Option<CsEntry>, ConnectorError> {
        let result = ldap
            .with_timeout(self.timeout)
            .search(dn, Scope::Base, filter, self.read_attributes.clone())
            .await
            .map_err(|e| self.transport("read", dn, &e))?;
        if result.1.rc == code::NO_SUCH_OBJECT {
            return Ok(None);
        }
        if result.1.rc != 0 {
            return Err(classify(&result.1, &format!("read {dn}")));
        }
        Ok(result
            .0
            .into_iter()
            .next()
            .and_then(|e| self.entry(SearchEntry::construct(e))))
    }

    /// Finds the current DN of the entry with this `entryUUID` (it may have been renamed out of
    /// band since the last import).
    async fn dn_of(&self, ldap: &mut Ldap, uuid: &str) -> Result<Option<String>, ConnectorError> {
        let filter = format!("({ENTRY_UUID}={})", ldap3::ldap_escape(uuid));
        let result = ldap
            .with_timeout(self.timeout)
            .search(&self.base_dn, Scope::Subtree, &filter, vec!["1.1"])
            .await
            .map_err(|e| self.transport("search", &self.base_dn, &e))?;
        Ok(result
            .0
            .into_iter()
            .next()
            .map(|e| SearchEntry::construct(e).dn))
    }

    async fn update(
        &self,
        anchor: &str,
        dn: &str,
        changes: &[AttributeChange],
        password: Option<&Secret>,
    ) -> Result<Exported, ConnectorError> {
        let mut mods: Vec<Mod<Vec<u8>>> = changes
            .iter()
            .filter(|c| {
                !matches!(
                    self.schema.get(&c.name).map(|a| a.role),
                    Some(AttrRole::Dn | AttrRole::Anchor | AttrRole::ExportPassword)
                )
            })
            .map(|c| {
                Mod::Replace(
                    c.name.as_bytes().to_vec(),
                    c.values
                        .iter()
                        .map(|v| ldap_value(v).into_bytes())
                        .collect(),
                )
            })
            .collect();
        if let Some(password) = password {
            mods.push(Mod::Replace(
                self.password_attribute.as_bytes().to_vec(),
                HashSet::from([self.password_value(password)]),
            ));
        }
        if mods.is_empty() {
            return Ok(Exported::default());
        }
        let mut ldap = self.ldap().await?;
        let mut target = dn.to_owned();
        loop {
            let res = ldap
                .with_timeout(self.write_bound())
                .modify(&target, mods.clone())
                .await
                .map_err(|e| self.transport("modify", &target, &e))?;
            match res.rc {
                0 => return Ok(Exported::default()),
                code::NO_SUCH_OBJECT if self.anchor == LdapAnchor::EntryUuid && target == dn => {
                    match self.dn_of(&mut ldap, anchor).await? {
                        Some(current) if current != target => target = current,
                        _ => return Err(classify(&res, &format!("modify {dn}"))),
                    }
                }
                _ => return Err(classify(&res, &format!("modify {target}"))),
            }
        }
    }

    async fn delete(&self, anchor: &str, dn: &str) -> Result<Exported, ConnectorError> {
        let mut ldap = self.ldap().await?;
        let mut target = dn.to_owned();
        loop {
            let res = ldap
                .with_timeout(self.write_bound())
                .delete(&target)
                .await
                .map_err(|e| self.transport("delete", &target, &e))?;
            match res.rc {
                0 => return Ok(Exported::default()),
                code::NO_SUCH_OBJECT if self.anchor == LdapAnchor::EntryUuid && target == dn => {
                    match self.dn_of(&mut ldap, anchor).await? {
                        Some(current) if current != target => target = current,
                        _ => return Err(classify(&res, &format!("delete {dn}"))),
                    }
                }
                _ => return Err(classify(&res, &format!("delete {target}"))),
            }
        }
    }

    /// Turns a directory entry into a connector-space entry; `None` when it has no anchor.
    fn entry(&self, e: SearchEntry) -> Option<CsEntry> {
        entry_from(&self.schema, self.anchor, e)
    }
}

fn entry_from(schema: &ConnectorSchema, anchor: LdapAnchor, mut e: SearchEntry) -> Option<CsEntry> {
    let mut take = |name: &str| -> Vec<String> {
        let key = e
            .attrs
            .keys()
            .find(|k| k.eq_ignore_ascii_case(name))
            .cloned();
        key.and_then(|k| e.attrs.remove(&k)).unwrap_or_default()
    };
    let anchor_value = match anchor {
        LdapAnchor::Dn => e.dn.clone(),
        LdapAnchor::EntryUuid => {
            let v = take(ENTRY_UUID).into_iter().next();
            let Some(v) = v else {
                tracing::warn!(dn = %e.dn, "entry has no entryUUID; it is left out of the connector space");
                return None;
            };
            v
        }
        LdapAnchor::ObjectGuid => {
            // Binary values land in bin_attrs, unless the 16 bytes happen to be valid UTF-8.
            let key = e
                .bin_attrs
                .keys()
                .find(|k| k.eq_ignore_ascii_case(OBJECT_GUID))
                .cloned();
            let bytes = match key.and_then(|k| e.bin_attrs.remove(&k)) {
                Some(values) => values.into_iter().next(),
                None => take(OBJECT_GUID).into_iter().next().map(String::into_bytes),
            };
            match bytes.as_deref().map(guid_string) {
                Some(Some(guid)) => guid,
                _ => {
                    tracing::warn!(dn = %e.dn, "entry has no 16-byte objectGUID; it is left out of the connector space");
                    return None;
                }
            }
        }
    };
    let mut attributes = IndexMap::new();
    for def in &schema.attributes {
        if !matches!(
            def.role,
            AttrRole::Normal | AttrRole::Anchor | AttrRole::Hidden
        ) {
            continue;
        }
        let values = if def.role == AttrRole::Anchor && anchor != LdapAnchor::Dn {
            vec![anchor_value.clone()]
        } else {
            take(&def.name)
        };
        if !values.is_empty() {
            attributes.insert(
                def.name.clone(),
                values.into_iter().map(|v| typed(def.kind, v)).collect(),
            );
        }
    }
    Some(CsEntry {
        anchor: anchor_value,
        dn: e.dn,
        attributes,
    })
}

/// An objectGUID as Windows writes a GUID: the first three fields little-endian.
/// The Post-Read control's OID (RFC 4527 §3.2), in requests and answers alike.
const POST_READ_OID: &str = "1.3.6.1.1.13.2";

/// The entry a Post-Read response control (RFC 4527 §3.2) carries in `res`, named `dn`;
/// `None` when the directory sent none or one that does not parse.
fn post_read(res: &LdapResult, dn: &str) -> Option<SearchEntry> {
    let value = res.ctrls.iter().find_map(|c| match c {
        Control(_, raw) if raw.ctype == POST_READ_OID => raw.val.as_deref(),
        _ => None,
    })?;
    let (rest, tag) = ldap3::asn1::parse_tag(value).ok()?;
    if !rest.is_empty() {
        return None;
    }
    // SearchResultEntry's shape (RFC 4511 §4.5.2): [APPLICATION 4] SEQUENCE { objectName,
    // attributes }; checked here because ldap3's reader panics on anything else.
    let fields = tag.clone().match_id(4)?.expect_constructed()?;
    let [name, attributes] = fields.as_slice() else {
        return None;
    };
    String::from_utf8(name.clone().expect_primitive()?).ok()?;
    for attribute in attributes.clone().expect_constructed()? {
        let parts = attribute.expect_constructed()?;
        let [kind, values] = parts.as_slice() else {
            return None;
        };
        String::from_utf8(kind.clone().expect_primitive()?).ok()?;
        for value in values.clone().expect_constructed()? {
            value.expect_primitive()?;
        }
    }
    let mut entry = SearchEntry::construct(ResultEntry::new(tag));
    entry.dn = dn.to_owned();
    Some(entry)
}

/// `host:port` of an `ldap://` or `ldaps://` URL (ports 389 and 636 by default); `None` for
/// any other URL, which ldap3 then connects (or refuses) itself.
fn tcp_address(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    let port = match url.scheme() {
        "ldap" => url.port().unwrap_or(389),
        "ldaps" => url.port().unwrap_or(636),
        _ => return None,
    };
    let host = match url.host_str() {
        None | Some("") => "localhost",
        Some(h) => h,
    };
    Some(format!("{host}:{port}"))
}

fn guid_string(bytes: &[u8]) -> Option<String> {
    let array: [u8; 16] = bytes.try_into().ok()?;
    Some(uuid::Uuid::from_bytes_le(array).to_string())
}

/// A directory value typed by its declared attribute type. A value that does not fit (a
/// misdeclared type) is kept as a string rather than dropped.
fn typed(kind: AttrType, v: String) -> Scalar {
    match kind {
        AttrType::Boolean if v.eq_ignore_ascii_case("TRUE") => Scalar::Boolean(true),
        AttrType::Boolean if v.eq_ignore_ascii_case("FALSE") => Scalar::Boolean(false),
        AttrType::Integer => v.trim().parse().map_or(Scalar::String(v), Scalar::Integer),
        _ => Scalar::String(v),
    }
}

/// A value as LDAP writes it: booleans are `TRUE`/`FALSE` (RFC 4517 §3.3.3).
fn ldap_value(s: &Scalar) -> String {
    match s {
        Scalar::String(s) => s.clone(),
        Scalar::Boolean(true) => "TRUE".into(),
        Scalar::Boolean(false) => "FALSE".into(),
        Scalar::Integer(i) => i.to_string(),
    }
}

/// The connector's schema: `-dn-` first unless listed, the selected attributes, then the
/// deprovisioning attributes as hidden ones.
fn ldap_schema(config: &LdapConfig, deprovisioning: &Deprovisioning) -> ConnectorSchema {
    let mut attributes = Vec::new();
    if !config.attributes.iter().any(|a| a.name == DN_ATTRIBUTE) {
        attributes.push(AttributeDef {
            name: DN_ATTRIBUTE.into(),
            kind: AttrType::String,
            multi_valued: false,
            case_exact: false,
            role: AttrRole::Dn,
        });
    }
    for a in &config.attributes {
        let role = if a.name == DN_ATTRIBUTE {
            AttrRole::Dn
        } else if a.name.eq_ignore_ascii_case(EXPORT_PASSWORD) {
            AttrRole::ExportPassword
        } else if a.name.eq_ignore_ascii_case(&config.password_attribute) {
            AttrRole::WriteOnly
        } else if config.anchor == LdapAnchor::EntryUuid && a.name.eq_ignore_ascii_case(ENTRY_UUID)
        {
            AttrRole::Anchor
        } else {
            AttrRole::Normal
        };
        let single = a.treat_as_single_value
            || matches!(
                role,
                AttrRole::Dn | AttrRole::ExportPassword | AttrRole::Anchor
            );
        attributes.push(AttributeDef {
            name: a.name.clone(),
            kind: a.kind,
            multi_valued: !single,
            case_exact: a.case_exact,
            role,
        });
    }
    crate::connector::add_flow_attributes(&mut attributes, deprovisioning);
    ConnectorSchema { attributes }
}

pub(crate) fn client_tls(ca: &Path) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(ca)
        .map_err(|e| format!("cannot read {}: {e}", ca.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: {e}", ca.display()))?;
    if certs.is_empty() {
        return Err(format!("{} holds no PEM certificate", ca.display()));
    }
    for cert in certs {
        roots
            .add(cert)
            .map_err(|e| format!("{}: {e}", ca.display()))?;
    }
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
}

/// `LDAP 65 (objectClassViolation): <server text>`.
fn describe(res: &LdapResult) -> String {
    let name = result_name(res.rc);
    if res.text.is_empty() {
        format!("LDAP {} ({name})", res.rc)
    } else {
        format!("LDAP {} ({name}): {}", res.rc, res.text)
    }
}

/// Classifies a directory result by its code (RFC 4511 Appendix A), never by its text.
fn classify(res: &LdapResult, what: &str) -> ConnectorError {
    let detail = format!("{what}: {}", describe(res));
    match res.rc {
        code::ENTRY_ALREADY_EXISTS => ConnectorError::AlreadyExists { detail },
        // A value another entry holds where the directory keeps it unique: AD and AD LDS put
        // the Win32 error first in the message (MS-ADTS 3.1.1.5.1.3: userPrincipalName and
        // servicePrincipalName, ERROR_DS_UPN_VALUE_NOT_UNIQUE_IN_FOREST 0x21C8 and
        // ERROR_DS_SPN_VALUE_NOT_UNIQUE_IN_FOREST 0x21C7); OpenLDAP's unique overlay says
        // so in words (slapo-unique(5)). Entra's answer to either is 409 uniqueness.
        code::CONSTRAINT_VIOLATION if unique_value_taken(&res.text) => {
            ConnectorError::AlreadyExists { detail }
        }
        code::NO_SUCH_OBJECT => ConnectorError::NoSuchObject { detail },
        // noSuchAttribute … invalidAttributeSyntax, invalidDNSyntax, unwillingToPerform,
        // namingViolation … notAllowedOnRDN, objectClassModsProhibited: the request's fault.
        code::NO_SUCH_ATTRIBUTE..=code::INVALID_ATTRIBUTE_SYNTAX
        | code::INVALID_DN_SYNTAX
        | code::UNWILLING_TO_PERFORM
        | code::NAMING_VIOLATION..=code::NOT_ALLOWED_ON_RDN
        | code::OBJECT_CLASS_MODS_PROHIBITED => ConnectorError::Rejected { detail },
        // The connector's own account or channel is not good enough.
        code::AUTH_METHOD_NOT_SUPPORTED
        | code::STRONGER_AUTH_REQUIRED
        | code::CONFIDENTIALITY_REQUIRED
        | code::INAPPROPRIATE_AUTHENTICATION..=code::INSUFFICIENT_ACCESS_RIGHTS => {
            ConnectorError::Refused { detail }
        }
        _ => ConnectorError::Unavailable { detail },
    }
}

/// Whether a constraintViolation's message says a unique value is taken.
fn unique_value_taken(text: &str) -> bool {
    let text = text.trim_start();
    text.starts_with("000021C8") || text.starts_with("000021C7") || text.contains("not unique")
}

#[async_trait]
impl Connector for LdapConnector {
    fn schema(&self) -> &ConnectorSchema {
        &self.schema
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            dn_autogenerated: false,
            object_rename: false,
        }
    }

    async fn read_object(&self, dn: &str) -> Result<Option<CsEntry>, ConnectorError> {
        let within = Dn::parse(dn).is_ok_and(|d| d.is_within(&self.base));
        if !within {
            return Ok(None);
        }
        let mut ldap = self.ldap().await?;
        let filter = format!("(objectClass={})", ldap3::ldap_escape(&self.object_class));
        self.read_where(&mut ldap, dn, &filter).await
    }

    fn write_wait(&self) -> Option<Duration> {
        // A directory cannot be told to undo a write it is working on (ldap3 does not send
        // Abandon on a timeout, and servers need not honour one for an update): the host
        // answers 503 after `timeout` and keeps waiting for the outcome, which the connector
        // space then follows.
        Some(self.timeout)
    }

    fn anchor_key(&self, anchor: &str) -> String {
        match self.anchor {
            LdapAnchor::Dn => dn::normalize(anchor),
            LdapAnchor::EntryUuid | LdapAnchor::ObjectGuid => anchor.to_ascii_lowercase(),
        }
    }

    fn normalize_dn(&self, dn: &str) -> String {
        dn::normalize(dn)
    }

    /// RFC 4518 string preparation, as a directory's caseIgnoreMatch / caseExactMatch apply
    /// it: Unicode form KC (a decomposed `Rene\u{301}e` equals `Renée`), case folded for
    /// case-insensitive attributes, insignificant spaces dropped (leading and trailing ones
    /// removed, inner runs made one). Left out: the mapping of a few characters to nothing
    /// (soft hyphen, zero-width space), which slapd applies as well.
    fn match_key(&self, def: &AttributeDef, value: &str) -> String {
        use unicode_normalization::UnicodeNormalization as _;
        let prepared: String = if def.case_exact {
            value.nfkc().collect()
        } else {
            value
                .nfkc()
                .flat_map(char::to_lowercase)
                .collect::<String>()
                .nfkc()
                .collect()
        };
        prepared.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    async fn open_import(&self) -> Result<Box<dyn ImportSession>, ConnectorError> {
        let mut ldap = self.ldap().await?;
        let adapters: Vec<Box<dyn Adapter<'static, String, Vec<String>>>> = vec![
            Box::new(EntriesOnly::new()),
            Box::new(PagedResults::new(self.page_size as i32)),
        ];
        // Only the connector's object type is imported: OUs, groups and other classes never
        // show up in answers (ECMA-IMPORT-006).
        let filter = format!("(objectClass={})", ldap3::ldap_escape(&self.object_class));
        let stream = ldap
            .with_timeout(self.timeout)
            .streaming_search_with(
                adapters,
                &self.base_dn,
                Scope::Subtree,
                &filter,
                self.read_attributes.clone(),
            )
            .await
            .map_err(|e| self.transport("search", &self.base_dn, &e))?;
        Ok(Box::new(LdapImport {
            stream,
            schema: self.schema.clone(),
            anchor: self.anchor,
            page_size: self.page_size as usize,
            base_dn: self.base_dn.clone(),
            done: false,
        }))
    }

    async fn put_export_entries(
        &self,
        changes: Vec<EntryChange>,
    ) -> Vec<Result<Exported, ConnectorError>> {
        let mut results = Vec::with_capacity(changes.len());
        for change in changes {
            results.push(match &change {
                EntryChange::Add {
                    dn,
                    attributes,
                    password,
                } => self.add(dn, attributes, password.as_ref()).await,
                EntryChange::Update {
                    anchor,
                    dn,
                    changes,
                    password,
                    ..
                } => self.update(anchor, dn, changes, password.as_ref()).await,
                EntryChange::Delete { anchor, dn } => self.delete(anchor, dn).await,
            });
        }
        results
    }
}

/// A paged full import: one subtree search under the paged-results control, read page by page.
struct LdapImport {
    stream: SearchStream<'static, String, Vec<String>>,
    schema: ConnectorSchema,
    anchor: LdapAnchor,
    page_size: usize,
    base_dn: String,
    done: bool,
}

#[async_trait]
impl ImportSession for LdapImport {
    async fn next_page(&mut self) -> Result<Option<Vec<CsEntry>>, ConnectorError> {
        if self.done {
            return Ok(None);
        }
        let mut page = Vec::with_capacity(self.page_size);
        while page.len() < self.page_size {
            match self.stream.next().await {
                Ok(Some(raw)) => {
                    if let Some(entry) =
                        entry_from(&self.schema, self.anchor, SearchEntry::construct(raw))
                    {
                        page.push(entry);
                    }
                }
                Ok(None) => {
                    self.done = true;
                    let res = self.stream.finish().await;
                    if res.rc != 0 {
                        return Err(classify(&res, &format!("import from {}", self.base_dn)));
                    }
                    break;
                }
                Err(e) => {
                    return Err(ConnectorError::Unavailable {
                        detail: format!("import from {} failed: {e}", self.base_dn),
                    });
                }
            }
        }
        Ok(if page.is_empty() && self.done {
            None
        } else {
            Some(page)
        })
    }

    fn source(&self) -> String {
        format!("the paged search under {}", self.base_dn)
    }
}

#[cfg(test)]
mod tests {
    use super::guid_string;

    /// One BER element with a short-form length.
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        assert!(content.len() < 128);
        let mut out = vec![tag, content.len() as u8];
        out.extend_from_slice(content);
        out
    }

    fn with_post_read(value: Option<Vec<u8>>) -> ldap3::LdapResult {
        ldap3::LdapResult {
            rc: 0,
            matched: String::new(),
            text: String::new(),
            refs: Vec::new(),
            ctrls: vec![ldap3::controls::Control(
                None,
                ldap3::controls::RawControl {
                    ctype: super::POST_READ_OID.into(),
                    crit: false,
                    val: value,
                },
            )],
        }
    }

    #[test]
    fn a_post_read_answer_gives_the_entry_and_a_malformed_one_gives_none() {
        let attribute = |name: &str, value: &str| {
            tlv(
                0x30,
                &[
                    tlv(0x04, name.as_bytes()),
                    tlv(0x31, &tlv(0x04, value.as_bytes())),
                ]
                .concat(),
            )
        };
        let attributes = [
            attribute("cn", "alice"),
            attribute("entryUUID", "0b6b1e6e-1d5e-4c39-9a6b-2f64a3b0c001"),
        ]
        .concat();
        let entry = |dn: &str| {
            tlv(
                0x64,
                &[tlv(0x04, dn.as_bytes()), tlv(0x30, &attributes)].concat(),
            )
        };
        let dn = "cn=alice,ou=people,dc=contoso,dc=lab";
        let read = super::post_read(&with_post_read(Some(entry("CN=Alice,ou=people"))), dn)
            .expect("an entry");
        assert_eq!(read.dn, dn, "named as added");
        assert_eq!(read.attrs["cn"], ["alice"]);
        assert_eq!(
            read.attrs["entryUUID"],
            ["0b6b1e6e-1d5e-4c39-9a6b-2f64a3b0c001"]
        );
        // None of these may panic the host: no value, not an entry, cut short, trailing bytes,
        // a DN that is not UTF-8, an attribute without values.
        let mut cut = entry(dn);
        cut.truncate(cut.len() - 3);
        let mut trailing = entry(dn);
        trailing.push(0);
        for bad in [
            None,
            Some(tlv(0x04, b"alice")),
            Some(cut),
            Some(trailing),
            Some(tlv(
                0x64,
                &[tlv(0x04, &[0xff, 0xfe]), tlv(0x30, &attributes)].concat(),
            )),
            Some(tlv(
                0x64,
                &[
                    tlv(0x04, dn.as_bytes()),
                    tlv(0x30, &tlv(0x30, &tlv(0x04, b"cn"))),
                ]
                .concat(),
            )),
        ] {
            assert!(
                super::post_read(&with_post_read(bad.clone()), dn).is_none(),
                "{bad:?}"
            );
        }
        // A result without the control: the entry is read back instead.
        let mut plain = with_post_read(None);
        plain.ctrls.clear();
        assert!(super::post_read(&plain, dn).is_none());
    }

    #[test]
    fn a_unique_value_taken_is_already_exists_and_other_constraints_are_rejected() {
        use super::{ConnectorError, classify};
        let result = |text: &str| ldap3::LdapResult {
            rc: 19,
            matched: String::new(),
            text: text.to_owned(),
            refs: Vec::new(),
            ctrls: Vec::new(),
        };
        for text in [
            "000021C8: AtrErr: DSID-03200BE4, #1:\n\t0: 000021C8: DSID-03200BE4, problem 1005 (CONSTRAINT_ATT_TYPE), data 0, Att 90290 (userPrincipalName)\n",
            "000021C7: AtrErr: DSID-03200BE4, #1: problem 1005 (CONSTRAINT_ATT_TYPE), Att 90303 (servicePrincipalName)",
            "some attributes not unique",
        ] {
            assert!(
                matches!(
                    classify(&result(text), "add"),
                    ConnectorError::AlreadyExists { .. }
                ),
                "{text}"
            );
        }
        assert!(matches!(
            classify(&result("ecmacert: sn is limited to 8 characters"), "modify"),
            ConnectorError::Rejected { .. }
        ));
    }

    #[test]
    fn object_guids_read_in_microsoft_byte_order() {
        // The GUID {01234567-89ab-cdef-0123-456789abcdef} as AD stores it.
        let bytes = [
            0x67, 0x45, 0x23, 0x01, 0xab, 0x89, 0xef, 0xcd, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab,
            0xcd, 0xef,
        ];
        assert_eq!(
            guid_string(&bytes).as_deref(),
            Some("01234567-89ab-cdef-0123-456789abcdef")
        );
        assert_eq!(guid_string(&bytes[..15]), None);
    }
}
