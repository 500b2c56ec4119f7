//! The LDAP probe: ldap3, bound as an account that can read the partition and write the
//! container. Entries come with their operational attributes (`entryUUID`, `objectGUID`).

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ecma_vocab::Secret;
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Mod, Scope, SearchEntry};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use super::{Entry, Match, ProbeError, Snapshot};
use crate::config::TargetConfig;

/// Operational attributes that change on every write of an entry, even one that rewrites
/// identical values (OpenLDAP: entryCSN, modifyTimestamp, modifiersName; AD LDS: uSNChanged,
/// whenChanged). Snapshots keep them, so "the target is unchanged" sees a rewrite; "otherwise
/// unchanged" leaves them out.
pub const VERSION_ATTRIBUTES: [&str; 5] = [
    "entrycsn",
    "modifytimestamp",
    "modifiersname",
    "usnchanged",
    "whenchanged",
];

/// The LDAP probe.
pub struct LdapProbe {
    ldap: Ldap,
    url: String,
    settings: LdapConnSettings,
    container: String,
    /// The host's partition: where a user that moved instead of going away is looked for.
    base_dn: String,
    /// The probe reaches the directory over TLS (LDAPS or StartTLS).
    tls: bool,
}

impl std::fmt::Debug for LdapProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapProbe")
            .field("url", &self.url)
            .field("container", &self.container)
            .finish()
    }
}

impl LdapProbe {
    /// Connects and binds.
    pub async fn connect(
        target: &TargetConfig,
        password: &Secret,
        base_dir: &Path,
    ) -> Result<Self, ProbeError> {
        let mut settings = LdapConnSettings::new()
            .set_conn_timeout(Duration::from_secs(10))
            .set_starttls(target.starttls);
        if let Some(ca) = &target.ca_certificate {
            settings = settings.set_config(Arc::new(tls(&base_dir.join(ca))?));
        }
        let (conn, mut ldap) = LdapConnAsync::with_settings(settings.clone(), &target.url)
            .await
            .map_err(|e| ProbeError(format!("cannot connect to {}: {e}", target.url)))?;
        tokio::spawn(async move {
            let _ = conn.drive().await;
        });
        let res = ldap
            .simple_bind(&target.bind_dn, password.expose())
            .await
            .map_err(|e| ProbeError(format!("cannot bind to {}: {e}", target.url)))?;
        if res.rc != 0 {
            return Err(ProbeError(format!(
                "bind as {} refused: LDAP {} {}",
                target.bind_dn, res.rc, res.text
            )));
        }
        Ok(LdapProbe {
            ldap,
            url: target.url.clone(),
            settings,
            container: target.container.clone(),
            base_dn: target.base_dn.clone(),
            tls: target.starttls || target.url.to_ascii_lowercase().starts_with("ldaps://"),
        })
    }

    /// Whether the probe reaches the directory over TLS (`ldaps://` or StartTLS).
    pub fn uses_tls(&self) -> bool {
        self.tls
    }

    /// The container scenarios create users in.
    pub fn container(&self) -> &str {
        &self.container
    }

    fn err(&self, what: &str, e: impl std::fmt::Display) -> ProbeError {
        ProbeError(format!("{what} on {}: {e}", self.url))
    }

    /// The entry at `dn`, with user and operational attributes.
    pub async fn entry(&self, dn: &str) -> Result<Option<Entry>, ProbeError> {
        let result = self
            .ldap
            .clone()
            .search(dn, Scope::Base, "(objectClass=*)", vec!["*", "+"])
            .await
            .map_err(|e| self.err(&format!("read {dn}"), e))?;
        match result.1.rc {
            0 => Ok(result
                .0
                .into_iter()
                .next()
                .map(|e| entry(SearchEntry::construct(e)))),
            32 => Ok(None),
            rc => Err(self.err(
                &format!("read {dn}"),
                format!("LDAP {rc} {}", result.1.text),
            )),
        }
    }

    /// Whether the directory's own equality matching (the attribute's matching rule) finds
    /// `value` in `attribute` of the entry at `dn`: a base search with `(attribute=value)`.
    pub async fn equal(&self, dn: &str, attribute: &str, value: &str) -> Result<bool, ProbeError> {
        let filter = format!("({attribute}={})", ldap3::ldap_escape(value));
        let what = format!("match {attribute} of {dn}");
        let result = self
            .ldap
            .clone()
            .search(dn, Scope::Base, &filter, vec!["1.1"])
            .await
            .map_err(|e| self.err(&what, e))?;
        match result.1.rc {
            0 => Ok(!result.0.is_empty()),
            32 => Ok(false),
            rc => Err(self.err(&what, format!("LDAP {rc} {}", result.1.text))),
        }
    }

    /// How many entries beneath the container hold `value` in `attribute`.
    pub async fn count(&self, attribute: &str, value: &str) -> Result<usize, ProbeError> {
        let filter = format!("({attribute}={})", ldap3::ldap_escape(value));
        Ok(self
            .find_under(&self.container, &filter, &["1.1"])
            .await?
            .len())
    }

    /// Entries beneath the container matching an LDAP filter.
    pub async fn find(&self, filter: &str) -> Result<Vec<Entry>, ProbeError> {
        self.find_under(&self.container, filter, &["*", "+"]).await
    }

    /// Entries anywhere in the host's partition that are the object `named` (by the naming
    /// attribute of any of `namings`) or that carry one of `ids`: how a user the host moved, or
    /// renamed and moved, instead of deleting is found. Only `entryUUID` is searched for among
    /// the ids: an `objectGUID` is binary, and a filter on binary values is something the
    /// embedded mock's protocol library cannot carry (a move of an AD LDS user is still found
    /// by its name).
    pub async fn find_in_partition(
        &self,
        namings: &[String],
        named: &str,
        ids: &[(String, String)],
    ) -> Result<Vec<Entry>, ProbeError> {
        let mut clauses: Vec<String> = namings
            .iter()
            .map(|n| format!("({n}={})", escape(named)))
            .collect();
        for (attribute, value) in ids
            .iter()
            .filter(|(a, _)| a.eq_ignore_ascii_case("entryUUID"))
        {
            clauses.push(format!("({attribute}={})", escape(value)));
        }
        self.find_under(
            &self.base_dn,
            &format!("(|{})", clauses.concat()),
            &["*", "+"],
        )
        .await
    }

    async fn find_under(
        &self,
        base: &str,
        filter: &str,
        attributes: &[&str],
    ) -> Result<Vec<Entry>, ProbeError> {
        let result = self
            .ldap
            .clone()
            .search(base, Scope::Subtree, filter, attributes.to_vec())
            .await
            .map_err(|e| self.err(&format!("search {filter}"), e))?;
        match result.1.rc {
            0 => Ok(result
                .0
                .into_iter()
                .map(|e| entry(SearchEntry::construct(e)))
                .collect()),
            32 => Ok(Vec::new()),
            rc => Err(self.err(
                &format!("search {filter}"),
                format!("LDAP {rc} {}", result.1.text),
            )),
        }
    }

    /// Entries whose naming attribute (any of `namings`) matches.
    pub async fn find_matching(
        &self,
        namings: &[String],
        m: Match<'_>,
    ) -> Result<Vec<Entry>, ProbeError> {
        self.find(&filter_matching(namings, m)).await
    }

    /// The state of the entries [`LdapProbe::find_matching`] selects: their user attributes
    /// and the [version attributes](VERSION_ATTRIBUTES), and no other operational attribute
    /// (a bind as the user, a child added beneath, changes those without a write by the host).
    pub async fn snapshot_matching(
        &self,
        namings: &[String],
        m: Match<'_>,
    ) -> Result<Snapshot, ProbeError> {
        let filter = filter_matching(namings, m);
        let mut attributes = vec!["*"];
        attributes.extend(VERSION_ATTRIBUTES);
        let entries = self
            .find_under(&self.container, &filter, &attributes)
            .await?;
        Ok(super::snapshot_of(entries))
    }

    /// Adds an entry out of band.
    pub async fn add(
        &self,
        dn: &str,
        attributes: &[(String, Vec<String>)],
    ) -> Result<(), ProbeError> {
        let attrs: Vec<(String, HashSet<String>)> = attributes
            .iter()
            .map(|(a, v)| (a.clone(), v.iter().cloned().collect()))
            .collect();
        // 389 DS answers noSuchObject now and then for a parent that exists while concurrent
        // writes beneath it keep replacing it in its entry cache ("Retry count exceeded" in its
        // error log): the probe, as any other application, tries again when the parent is
        // there (at most three times more, 0.35 s in all).
        let parent = scim_proto::dn::Dn::parse(dn)
            .ok()
            .and_then(|d| d.parent())
            .map(|p| p.to_string());
        let mut pauses = [50u64, 100, 200].into_iter();
        loop {
            let res = self
                .ldap
                .clone()
                .add(dn, attrs.clone())
                .await
                .map_err(|e| self.err(&format!("add {dn}"), e))?;
            if res.rc == 0 {
                return Ok(());
            }
            let again = match &parent {
                Some(parent) if res.rc == 32 => self.entry(parent).await?.is_some(),
                _ => false,
            };
            match pauses.next() {
                Some(ms) if again => tokio::time::sleep(Duration::from_millis(ms)).await,
                _ => {
                    return Err(self.err(
                        &format!("add {dn}"),
                        format!("LDAP {} {}", res.rc, res.text),
                    ));
                }
            }
        }
    }

    /// Replaces an attribute's values out of band.
    pub async fn replace(
        &self,
        dn: &str,
        attribute: &str,
        values: &[String],
    ) -> Result<(), ProbeError> {
        let mods = vec![Mod::Replace(
            attribute.to_owned(),
            values.iter().cloned().collect(),
        )];
        let res = self
            .ldap
            .clone()
            .modify(dn, mods)
            .await
            .map_err(|e| self.err(&format!("modify {dn}"), e))?;
        if res.rc != 0 {
            return Err(self.err(
                &format!("modify {dn}"),
                format!("LDAP {} {}", res.rc, res.text),
            ));
        }
        Ok(())
    }

    /// Deletes an entry; one that does not exist is not an error.
    pub async fn delete(&self, dn: &str) -> Result<(), ProbeError> {
        let res = self
            .ldap
            .clone()
            .delete(dn)
            .await
            .map_err(|e| self.err(&format!("delete {dn}"), e))?;
        match res.rc {
            0 | 32 => Ok(()),
            rc => Err(self.err(&format!("delete {dn}"), format!("LDAP {rc} {}", res.text))),
        }
    }

    /// Creates the container (an organizationalUnit) when it does not exist.
    pub async fn ensure_container(&self) -> Result<(), ProbeError> {
        if self.entry(&self.container).await?.is_some() {
            return Ok(());
        }
        let dn =
            scim_proto::dn::Dn::parse(&self.container).map_err(|e| ProbeError(e.to_string()))?;
        let rdn = &dn.rdns()[0].0[0];
        if !rdn.attr.eq_ignore_ascii_case("ou") {
            return Err(ProbeError(format!(
                "the container {} does not exist and only ou=… containers are created",
                self.container
            )));
        }
        self.add(
            &self.container,
            &[
                ("objectClass".into(), vec!["organizationalUnit".into()]),
                ("ou".into(), vec![rdn.value.clone()]),
            ],
        )
        .await
    }

    /// Creates the partition's own entry (`base_dn`) when it does not exist: a `domain` for a
    /// `dc=…` first RDN, an `organization` for `o=…`, an `organizationalUnit` for `ou=…`
    /// (RFC 4519 object classes). For a directory started empty (`--target container:…`).
    pub async fn ensure_partition(&self) -> Result<(), ProbeError> {
        if self.entry(&self.base_dn).await?.is_some() {
            return Ok(());
        }
        let dn = scim_proto::dn::Dn::parse(&self.base_dn).map_err(|e| ProbeError(e.to_string()))?;
        let rdn = dn
            .rdns()
            .first()
            .and_then(|r| r.0.first())
            .ok_or_else(|| ProbeError("target.base_dn is empty".into()))?;
        let class = match rdn.attr.to_ascii_lowercase().as_str() {
            "dc" => "domain",
            "o" => "organization",
            "ou" => "organizationalUnit",
            _ => {
                return Err(ProbeError(format!(
                    "the partition {} does not exist and only dc=, o= or ou= entries are created",
                    self.base_dn
                )));
            }
        };
        self.add(
            &self.base_dn,
            &[
                ("objectClass".into(), vec![class.into()]),
                (rdn.attr.clone(), vec![rdn.value.clone()]),
            ],
        )
        .await
    }

    /// Whether a simple bind as `dn` with `password` succeeds.
    pub async fn can_bind(&self, dn: &str, password: &str) -> Result<bool, ProbeError> {
        let (conn, mut ldap) = LdapConnAsync::with_settings(self.settings.clone(), &self.url)
            .await
            .map_err(|e| self.err("connect", e))?;
        tokio::spawn(async move {
            let _ = conn.drive().await;
        });
        let res = ldap
            .simple_bind(dn, password)
            .await
            .map_err(|e| self.err(&format!("bind as {dn}"), e))?;
        let _ = ldap.unbind().await;
        Ok(res.rc == 0)
    }
}

/// `(|(cn=…)(ou=…))`: any of `namings` matching.
fn filter_matching(namings: &[String], m: Match<'_>) -> String {
    let value = match m {
        Match::Is(v) => escape(v),
        Match::EndsWith(v) => format!("*{}", escape(v)),
        Match::Contains(v) => format!("*{}*", escape(v)),
    };
    format!(
        "(|{})",
        namings
            .iter()
            .map(|n| format!("({n}={value})"))
            .collect::<String>()
    )
}

/// An entry as text; binary values (`objectGUID`) as lower-case hex.
fn entry(e: SearchEntry) -> Entry {
    let hex = |b: &Vec<u8>| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let mut attributes: std::collections::BTreeMap<String, Vec<String>> = e
        .attrs
        .into_iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v))
        .collect();
    for (k, v) in e.bin_attrs {
        attributes.insert(k.to_ascii_lowercase(), v.iter().map(hex).collect());
    }
    Entry {
        dn: e.dn,
        attributes,
    }
}

fn tls(ca: &Path) -> Result<rustls::ClientConfig, ProbeError> {
    let fail = |e: String| ProbeError(format!("target.ca_certificate {}: {e}", ca.display()));
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(ca).map_err(|e| fail(e.to_string()))? {
        roots
            .add(c.map_err(|e| fail(e.to_string()))?)
            .map_err(|e| fail(e.to_string()))?;
    }
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| fail(e.to_string()))
        .map(|b| b.with_root_certificates(roots).with_no_client_auth())
}

/// Escapes a value for an LDAP filter (RFC 4515).
pub fn escape(value: &str) -> String {
    ldap3::ldap_escape(value).into_owned()
}
