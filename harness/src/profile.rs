//! Profiles: what a target kind looks like to the suite. Scenarios speak of logical attributes
//! (`surname`, `mail`); a profile says which target attribute each one is, what every create
//! carries, where users are created, the anchor, and what the host under test declares it does
//! (deprovisioning flows, capabilities). `features/profiles/*.toml` document every key.

use std::collections::BTreeSet;

use indexmap::IndexMap;
use scim_proto::schema::AttrType;
use serde::Deserialize;

use crate::capability::Capability;

/// Where the SCIM id comes from: the same choices, spelled the same, as a host's `anchor` key.
pub use ecma_vocab::LdapAnchor as Anchor;

/// A deprovisioning choice the host under test declares: `"delete"`, `"none"` or
/// `{ set_attribute = "name", value = true }`.
pub use ecma_vocab::FlowAction;

/// The host's deprovisioning settings.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deprovisioning {
    /// What disabling does.
    pub disable_flow: FlowAction,
    /// What DELETE does.
    pub delete_flow: FlowAction,
}

/// ECMA2Host's attribute that carries a password to set (Microsoft, "Configure the ECMA2Host
/// LDAP connector": `export_password`); a profile that maps it declares `export-password`.
pub const EXPORT_PASSWORD: &str = "export_password";

/// The logical attribute a profile gives the Boolean target attribute Entra's `IsSoftDeleted`
/// is mapped to directly (Microsoft, "Configure attribute mapping" in the LDAP walkthrough:
/// `IsSoftDeleted` → `msDS-UserAccountDisabled`); with type `boolean`, the profile declares
/// `soft-delete-attribute` (ECMA-DEPROV-009).
pub const SOFT_DELETED: &str = "isSoftDeleted";

/// LDAP conventions.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LdapProfile {
    /// The structural class of users.
    pub structural_class: String,
    /// What the provisioning service sends as `objectClass`.
    pub object_classes: Vec<String>,
    /// `cn={name},{container}`: how the provisioning service builds `-dn-`.
    pub dn_template: String,
    /// The anchor.
    pub anchor: Anchor,
    /// The connector must reach the directory over TLS — LDAPS or StartTLS — because the
    /// directory refuses updates in the clear (AD LDS for passwords; slapd with `security
    /// update_tls=1`). Declares `directory-tls` (ECMA-LDAP-010).
    #[serde(default)]
    pub directory_tls: bool,
    /// The object classes of an entry that is not a user of the connector's, for the scenario
    /// that checks an import leaves it out (ECMA-IMPORT-006): a structural class of the
    /// directory's other than the connector's that still holds the naming attribute, `sn` and
    /// `mail`. Default: cosine's `pilotPerson` (OpenLDAP), `contact` next to AD LDS's `user`;
    /// 389 Directory Server has no `pilotPerson` and takes `["person", "extensibleObject"]`.
    #[serde(default)]
    pub other_object_classes: Vec<String>,
}

impl LdapProfile {
    /// The naming attribute: the type of the template's first RDN.
    pub fn naming_attribute(&self) -> &str {
        self.dn_template
            .split_once('=')
            .map_or("cn", |(a, _)| a.trim())
    }
}

/// SQL conventions.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlProfile {
    /// The scripts, in order, that make the table (and procedures) in an empty schema or
    /// database, relative to `features/`; the embedded default and the tests run them in a
    /// sandbox per run. A vendor's profile for an existing table leaves it out.
    #[serde(default)]
    pub setup: Vec<String>,
    /// The users' table.
    pub table: String,
    /// The anchor column (the `name` logical attribute's target): its value is the SCIM id,
    /// and the DN is `CN=<anchor>,OBJECT=USER`.
    pub anchor: String,
    /// A column of the table the host does not select, for the scenarios that check it is left
    /// alone.
    #[serde(default)]
    pub unmapped_column: Option<String>,
    /// A column whose value changes on every write of a row (a trigger keeps it), so that
    /// "the target is unchanged" also sees a rewrite of identical values. PostgreSQL needs none:
    /// the probe reads the row's `xmin`.
    #[serde(default)]
    pub row_version: Option<String>,
    /// A table the profile's stored procedures record their calls in (`Operation`,
    /// `ContosoLogin`, `Seq`), for the scenarios that check the host calls them.
    #[serde(default)]
    pub procedure_log: Option<String>,
    /// A setup script (relative to `features/`) that replaces the read procedure with one
    /// that ignores `@StartIndex`/`@EndIndex`, for the procedure-paging scenario.
    #[serde(default)]
    pub unpaged_read: Option<String>,
    /// The setup script that puts the right read procedure back; run after the paging
    /// scenario whatever its outcome.
    #[serde(default)]
    pub paged_read: Option<String>,
    /// The engine locks rows (PostgreSQL, MariaDB/InnoDB), so the lock-wait scenario can hold
    /// a user's row while the host writes it.
    #[serde(default)]
    pub row_locks: bool,
}

impl SqlProfile {
    /// Every script the profile names: the setup, then the paging scenario's.
    pub fn scripts(&self) -> impl Iterator<Item = &String> {
        self.setup
            .iter()
            .chain(&self.unpaged_read)
            .chain(&self.paged_read)
    }
}

/// The DN template of SQL targets: the Generic SQL connector's autogenerated DN.
pub const SQL_DN_TEMPLATE: &str = "CN={name},OBJECT=USER";

/// One logical attribute.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogicalAttribute {
    /// The target attribute.
    pub target: String,
    /// Sent on every create unless the scenario gives a value.
    #[serde(default)]
    pub create: Option<String>,
    /// The new value "update every mapped attribute" sends.
    #[serde(default)]
    pub update: Option<String>,
    /// Values from scenarios get the scenario's suffix, so concurrent scenarios never share one.
    #[serde(default)]
    pub unique: bool,
    /// The target itself keeps this attribute's values unique (AD LDS's userPrincipalName in a
    /// partition, a UNIQUE column, OpenLDAP's unique overlay): a second user with a value
    /// another holds is refused.
    #[serde(default)]
    pub target_unique: bool,
    /// Never expected back from the host.
    #[serde(default)]
    pub write_only: bool,
    /// The target requires it on create.
    #[serde(default)]
    pub required: bool,
    /// Its type at the host.
    #[serde(default, rename = "type")]
    pub kind: AttrType,
    /// Multi-valued at the host (not "treat as single value").
    #[serde(default)]
    pub multi_valued: bool,
    /// The most characters the target stores (a SQL column's length).
    #[serde(default)]
    pub max_length: Option<usize>,
    /// A value the target itself refuses for this attribute (a syntax, length or constraint
    /// it enforces and the host cannot know), for the atomicity scenario. `{x×300}` writes out.
    #[serde(default)]
    pub refused: Option<String>,
}

/// A profile.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Its name.
    pub name: String,
    /// What it describes.
    pub description: String,
    /// `ldap` or `sql`.
    pub kind: String,
    /// The logical attribute Entra matches on.
    pub matching_attribute: String,
    /// The logical attribute Entra matches on next, when the first finds nobody (matching
    /// precedence 2 in the attribute mappings); none when the connector has one.
    #[serde(default)]
    pub second_matching_attribute: Option<String>,
    /// Capabilities beyond the derived ones (names checked when the profile loads).
    #[serde(default)]
    pub capabilities: Vec<Capability>,
    /// LDAP conventions, for `kind = "ldap"`.
    #[serde(default)]
    pub ldap: Option<LdapProfile>,
    /// SQL conventions, for `kind = "sql"`.
    #[serde(default)]
    pub sql: Option<SqlProfile>,
    /// The host's deprovisioning settings.
    pub deprovisioning: Deprovisioning,
    /// Logical attribute → its settings.
    pub attributes: IndexMap<String, LogicalAttribute>,
}

/// What a host's `/Schemas` must say of one target attribute (RFC 7643 §7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectedDefinition {
    /// `type`.
    pub kind: AttrType,
    /// `multiValued`.
    pub multi_valued: bool,
    /// Write-only: `mutability` `writeOnly` and `returned` `never`.
    pub write_only: bool,
}

/// A profile that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("profile {name}: {reason}")]
pub struct ProfileError {
    /// The profile (or file) name.
    pub name: String,
    /// What is wrong.
    pub reason: String,
}

impl Profile {
    /// Parses and checks a profile.
    pub fn parse(file: &str, text: &str) -> Result<Profile, ProfileError> {
        let p: Profile = toml::from_str(text).map_err(|e| ProfileError {
            name: file.to_owned(),
            reason: ecma_vocab::toml_error(text, &e),
        })?;
        let err = |reason: String| ProfileError {
            name: p.name.clone(),
            reason,
        };
        match (p.kind.as_str(), &p.ldap, &p.sql) {
            ("ldap", Some(_), None) => {}
            ("ldap", _, _) => {
                return Err(err(
                    "kind = \"ldap\" needs an [ldap] table and no [sql]".into()
                ));
            }
            ("sql", None, Some(sql)) => {
                if !p
                    .attributes
                    .get("name")
                    .is_some_and(|a| a.target.eq_ignore_ascii_case(&sql.anchor))
                {
                    return Err(err(format!(
                        "the logical attribute \"name\" must map to the anchor column {}",
                        sql.anchor
                    )));
                }
            }
            ("sql", _, _) => {
                return Err(err(
                    "kind = \"sql\" needs an [sql] table and no [ldap]".into()
                ));
            }
            (other, _, _) => return Err(err(format!("kind {other:?}: expected ldap or sql"))),
        }
        if !p.attributes.contains_key(&p.matching_attribute) {
            return Err(err(format!(
                "matching_attribute {:?} is not one of its attributes",
                p.matching_attribute
            )));
        }
        if let Some(second) = &p.second_matching_attribute
            && (!p.attributes.contains_key(second) || *second == p.matching_attribute)
        {
            return Err(err(format!(
                "second_matching_attribute {second:?} is not another of its attributes"
            )));
        }
        // The suite's scenarios speak of these; a profile maps each onto its target.
        for (logical, what) in [
            ("name", "the naming attribute"),
            ("surname", "a required or ordinary text attribute"),
            ("mail", "a unique text attribute"),
        ] {
            if !p.attributes.contains_key(logical) {
                return Err(err(format!(
                    "attributes.{logical} ({what}) is missing: every scenario may use it"
                )));
            }
        }
        if let Some(c) = p
            .capabilities
            .iter()
            .find(|c| c.is_run_provided() || c.is_deployment())
        {
            return Err(err(format!(
                "capabilities: {c} is what a run provides or a deployment has (host.import, fault injection, a standby), not what a profile declares"
            )));
        }
        Ok(p)
    }

    /// The target attribute of a logical one.
    pub fn attribute(&self, logical: &str) -> Option<&LogicalAttribute> {
        self.attributes.get(logical)
    }

    /// Every capability: declared, and derived from the deprovisioning flows, the object
    /// classes and the attributes.
    pub fn capabilities(&self) -> BTreeSet<Capability> {
        let mut caps: BTreeSet<Capability> = self.capabilities.iter().copied().collect();
        caps.insert(match self.deprovisioning.disable_flow {
            FlowAction::Delete => Capability::DisableFlowDelete,
            FlowAction::None => Capability::DisableFlowNone,
            FlowAction::SetAttribute { .. } => Capability::DisableFlowSetAttribute,
        });
        caps.insert(match self.deprovisioning.delete_flow {
            FlowAction::Delete => Capability::DeleteFlowDelete,
            FlowAction::None => Capability::DeleteFlowNone,
            FlowAction::SetAttribute { .. } => Capability::DeleteFlowSetAttribute,
        });
        if self.ldap.as_ref().is_some_and(|l| l.directory_tls) {
            caps.insert(Capability::DirectoryTls);
        }
        if let Some(ldap) = &self.ldap {
            caps.insert(if ldap.object_classes.len() > 1 {
                Capability::AuxiliaryClasses
            } else {
                Capability::StructuralClassOnly
            });
        }
        if self.attributes.contains_key("password") {
            caps.insert(Capability::Password);
        }
        if self
            .attributes
            .values()
            .any(|a| a.target == EXPORT_PASSWORD)
        {
            caps.insert(Capability::ExportPassword);
        }
        if self
            .attributes
            .get(SOFT_DELETED)
            .is_some_and(|a| a.kind == AttrType::Boolean)
        {
            caps.insert(Capability::SoftDeleteAttribute);
        }
        if self.second_matching_attribute.is_some() {
            caps.insert(Capability::SecondMatchingAttribute);
        }
        if self.sql.is_some() || self.ldap.as_ref().is_some_and(|l| l.anchor == Anchor::Dn) {
            caps.insert(Capability::ClientAnchor);
        }
        if self.attributes.values().any(|a| a.required) {
            caps.insert(Capability::RequiredAttribute);
        }
        if self.attributes.values().any(|a| a.target_unique) {
            caps.insert(Capability::UniqueValue);
        }
        if self.attributes.values().any(|a| a.max_length.is_some()) {
            caps.insert(Capability::LengthLimit);
        }
        if self.attributes.values().any(|a| a.refused.is_some()) {
            caps.insert(Capability::RefusedValue);
        }
        if let Some(sql) = &self.sql {
            if sql.unmapped_column.is_some() {
                caps.insert(Capability::UnmappedColumn);
            }
            if sql.procedure_log.is_some() {
                caps.insert(Capability::Procedures);
            }
            if sql.unpaged_read.is_some() && sql.paged_read.is_some() {
                caps.insert(Capability::PagingFault);
            }
            if sql.row_locks {
                caps.insert(Capability::RowLocks);
            }
        }
        caps
    }

    /// How the provisioning service (LDAP: `-dn-`) or the connector (SQL) names a user:
    /// `{name}` and `{container}` are filled in.
    pub fn dn_template(&self) -> &str {
        match (&self.ldap, &self.sql) {
            (Some(l), _) => &l.dn_template,
            (None, Some(_)) => SQL_DN_TEMPLATE,
            (None, None) => "cn={name},{container}",
        }
    }

    /// The attribute whose value names a user (LDAP: the template's first RDN; SQL: the
    /// anchor column).
    pub fn naming_attribute(&self) -> &str {
        match (&self.ldap, &self.sql) {
            (Some(l), _) => l.naming_attribute(),
            (None, Some(s)) => &s.anchor,
            (None, None) => "cn",
        }
    }

    /// What the host's schema must say of the target attribute `name`: its type, whether it
    /// is multi-valued, and whether it is write-only (mutability `writeOnly`, returned
    /// `never`). `-dn-` is a single string, `objectClass` multi-valued strings.
    pub fn definition_of(&self, name: &str) -> Option<ExpectedDefinition> {
        if self.ldap.is_some() && name == "-dn-" {
            return Some(ExpectedDefinition {
                kind: AttrType::String,
                multi_valued: false,
                write_only: false,
            });
        }
        if self.ldap.is_some() && name == "objectClass" {
            return Some(ExpectedDefinition {
                kind: AttrType::String,
                multi_valued: true,
                write_only: false,
            });
        }
        self.attributes
            .values()
            .find(|a| a.target == name)
            .map(|a| ExpectedDefinition {
                kind: a.kind,
                multi_valued: a.multi_valued,
                write_only: a.write_only,
            })
    }

    /// The target names of the write-only attributes (passwords): never returned.
    pub fn write_only_targets(&self) -> Vec<String> {
        self.attributes
            .values()
            .filter(|a| a.write_only)
            .map(|a| a.target.clone())
            .collect()
    }

    /// The target attributes the host must expose for this profile: every logical attribute's
    /// target, plus `-dn-` and `objectClass` for LDAP.
    pub fn selected_attributes(&self) -> BTreeSet<String> {
        let mut names: BTreeSet<String> =
            self.attributes.values().map(|a| a.target.clone()).collect();
        if let Some(ldap) = &self.ldap {
            names.insert("-dn-".into());
            if !ldap.object_classes.is_empty() {
                names.insert("objectClass".into());
            }
        }
        names
    }
}
