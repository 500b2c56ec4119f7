//! Profiles: what a target kind looks like to the suite. Scenarios speak of logical attributes
//! (`surname`, `mail`); a profile says which target attribute each one is, what every create
//! carries, where users are created, the anchor, and what the host under test declares it does
//! (deprovisioning flows, capabilities). `features/profiles/*.toml` document every key.

use std::collections::BTreeSet;

use indexmap::IndexMap;
use scim_proto::schema::AttrType;
use serde::Deserialize;

/// Where the SCIM id comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum Anchor {
    /// The DN.
    #[serde(rename = "-dn-")]
    Dn,
    /// OpenLDAP's entryUUID.
    #[serde(rename = "entryUUID")]
    EntryUuid,
    /// AD LDS's objectGUID.
    #[serde(rename = "objectGUID")]
    ObjectGuid,
}

/// A deprovisioning choice the host under test declares.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Flow {
    /// `"delete"` or `"none"`.
    Keyword(FlowKeyword),
    /// `{ set_attribute = "name", value = true }`
    SetAttribute {
        /// The boolean target attribute.
        set_attribute: String,
        /// Its value when disabled.
        value: bool,
    },
}

/// The keyword flows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FlowKeyword {
    /// Delete the object.
    Delete,
    /// Leave it alone.
    None,
}

impl Flow {
    /// `delete`, `none` or `set-attribute`, for capability names.
    pub fn name(&self) -> &'static str {
        match self {
            Flow::Keyword(FlowKeyword::Delete) => "delete",
            Flow::Keyword(FlowKeyword::None) => "none",
            Flow::SetAttribute { .. } => "set-attribute",
        }
    }
}

/// The host's deprovisioning settings.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deprovisioning {
    /// What disabling does.
    pub disable_flow: Flow,
    /// What DELETE does.
    pub delete_flow: Flow,
}

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
}

impl LdapProfile {
    /// The naming attribute: the type of the template's first RDN.
    pub fn naming_attribute(&self) -> &str {
        self.dn_template
            .split_once('=')
            .map_or("cn", |(a, _)| a.trim())
    }
}

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
}

/// A profile.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Its name.
    pub name: String,
    /// What it describes.
    pub description: String,
    /// `ldap` (later `sql`).
    pub kind: String,
    /// The logical attribute Entra matches on.
    pub matching_attribute: String,
    /// Capabilities beyond the derived ones.
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// LDAP conventions, for `kind = "ldap"`.
    #[serde(default)]
    pub ldap: Option<LdapProfile>,
    /// The host's deprovisioning settings.
    pub deprovisioning: Deprovisioning,
    /// Logical attribute → its settings.
    pub attributes: IndexMap<String, LogicalAttribute>,
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
            reason: e.to_string(),
        })?;
        let err = |reason: String| ProfileError {
            name: p.name.clone(),
            reason,
        };
        if p.kind == "ldap" && p.ldap.is_none() {
            return Err(err("kind = \"ldap\" needs an [ldap] table".into()));
        }
        if !p.attributes.contains_key(&p.matching_attribute) {
            return Err(err(format!(
                "matching_attribute {:?} is not one of its attributes",
                p.matching_attribute
            )));
        }
        if !p.attributes.contains_key("name") {
            return Err(err(
                "the logical attribute \"name\" (the naming attribute) is missing".into(),
            ));
        }
        Ok(p)
    }

    /// The target attribute of a logical one.
    pub fn attribute(&self, logical: &str) -> Option<&LogicalAttribute> {
        self.attributes.get(logical)
    }

    /// Every capability: declared, and derived from the deprovisioning flows, the object
    /// classes and the attributes.
    pub fn capabilities(&self) -> BTreeSet<String> {
        let mut caps: BTreeSet<String> = self.capabilities.iter().cloned().collect();
        caps.insert(format!(
            "disable-flow-{}",
            self.deprovisioning.disable_flow.name()
        ));
        caps.insert(format!(
            "delete-flow-{}",
            self.deprovisioning.delete_flow.name()
        ));
        if let Some(ldap) = &self.ldap
            && ldap.object_classes.len() > 1
        {
            caps.insert("auxiliary-classes".into());
        }
        if self.attributes.contains_key("password") {
            caps.insert("password".into());
        }
        if self.attributes.values().any(|a| a.required) {
            caps.insert("required-attribute".into());
        }
        caps
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
