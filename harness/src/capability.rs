//! Capabilities: what a scenario needs (`@requires:<name>` in the features) and what a profile
//! and a run offer. One enum, so that a misspelt name is an error when the suite or a profile
//! loads — never a scenario that is "not applicable" forever.
//!
//! Two kinds, because they mean different things when missing:
//! - **Declared** by the profile (deprovisioning flows, auxiliary classes, a password
//!   attribute, …): a host configured otherwise is not bound by the requirement, so the
//!   scenario is *not applicable*.
//! - **Provided by the run** (an import hook, fault injection): the requirement binds the host,
//!   but this run cannot check it, so the scenario is *not checked for this host* — listed as
//!   such in the summary, and a certification refuses to start without it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

/// A capability a scenario can require.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Capability {
    /// Disabling deletes the object.
    DisableFlowDelete,
    /// Disabling changes nothing.
    DisableFlowNone,
    /// Disabling sets a boolean attribute.
    DisableFlowSetAttribute,
    /// DELETE deletes the object.
    DeleteFlowDelete,
    /// DELETE changes nothing.
    DeleteFlowNone,
    /// DELETE sets a boolean attribute.
    DeleteFlowSetAttribute,
    /// Users carry auxiliary object classes (LDAP).
    AuxiliaryClasses,
    /// The directory takes updates only over TLS (`directory_tls` in the profile's `[ldap]`).
    DirectoryTls,
    /// The profile names a second matching attribute.
    SecondMatchingAttribute,
    /// The profile maps Entra's `IsSoftDeleted` to a Boolean target attribute directly (the
    /// logical attribute `isSoftDeleted`).
    SoftDeleteAttribute,
    /// Users carry their structural class only (LDAP): a create without `objectClass` is
    /// complete.
    StructuralClassOnly,
    /// The provisioning service gives the anchor (a `-dn-` anchor, an SQL anchor column), so a
    /// PATCH can try to change it.
    ClientAnchor,
    /// The connector selects `export_password`, ECMA2Host's attribute for an initial password.
    ExportPassword,
    /// An initial password is exported.
    Password,
    /// The target requires an attribute on create.
    RequiredAttribute,
    /// The target keeps an attribute's values unique (`target_unique` on an attribute).
    UniqueValue,
    /// A column or attribute has a length the target enforces.
    LengthLimit,
    /// The table has a column the host does not map (SQL).
    UnmappedColumn,
    /// The host writes through stored procedures (SQL).
    Procedures,
    /// The profile can replace the read procedure with one that ignores its page bounds, and
    /// put the right one back (`unpaged_read` and `paged_read`, SQL).
    PagingFault,
    /// Another session can hold a row's lock while the host writes it (`row_locks` on a
    /// PostgreSQL or MariaDB profile; SQLite locks the whole file).
    RowLocks,
    /// The profile names a value its target refuses (`refused` on an attribute).
    RefusedValue,
    /// The run can make the host import now (`host.import`), or wait for its autosync.
    ImportHook,
    /// The import hook answers, so that a failed import can be seen (`host.import` as a
    /// command or a request, not `wait_seconds`).
    ImportAnswer,
    /// The run can restart the host (`host.restart`).
    HostRestart,
    /// The run can make the target fail one operation on cue (the embedded default's mock
    /// directories, or `target.fault_proxy` in front of an LDAP directory).
    FaultInjection,
    /// The run can cut the host's connections to its target and play a restart of it (the
    /// mock directories, or `target.fault_proxy` in front of any target with a network
    /// address).
    ConnectionFaults,
    /// The host is deployed with a standby for the same connector and target (`host.standby`,
    /// with `host.command` so the run can stop the active one). A deployment without one is
    /// not bound by the failover requirement: its scenario is not applicable, not "not
    /// checked".
    Standby,
    /// The target is reached over the network (a directory, a database server), so the host's
    /// connections to it can be lost; a SQLite file cannot be. A deployment capability: its
    /// absence makes the connection scenarios not applicable.
    NetworkedTarget,
    /// The target's operations can be made to fail one at a time, on cue: a directory (the
    /// mocks, or `target.fault_proxy`, which reads LDAP) or the embedded default's HR REST API.
    /// A database's cannot: the proxy in front of it forwards bytes without reading them. A
    /// deployment capability: its absence makes the fault scenarios not applicable; given it,
    /// a run without a fault switch (`fault-injection`) leaves them not checked.
    OperationFaults,
    /// The host's SCIM URL is ECMA2Host's `…/ecma2host_{connector}/scim`, so other connector
    /// names of the same host can be formed (not with `host.scim_url`).
    ConnectorUrl,
    /// The run names another connector of the host (`host.other_connector`).
    OtherConnector,
}

impl Capability {
    /// Every capability.
    pub const ALL: [Capability; 32] = [
        Capability::DisableFlowDelete,
        Capability::DisableFlowNone,
        Capability::DisableFlowSetAttribute,
        Capability::DeleteFlowDelete,
        Capability::DeleteFlowNone,
        Capability::DeleteFlowSetAttribute,
        Capability::AuxiliaryClasses,
        Capability::DirectoryTls,
        Capability::SecondMatchingAttribute,
        Capability::SoftDeleteAttribute,
        Capability::StructuralClassOnly,
        Capability::ClientAnchor,
        Capability::ExportPassword,
        Capability::Password,
        Capability::RequiredAttribute,
        Capability::UniqueValue,
        Capability::LengthLimit,
        Capability::UnmappedColumn,
        Capability::Procedures,
        Capability::PagingFault,
        Capability::RowLocks,
        Capability::RefusedValue,
        Capability::ImportHook,
        Capability::ImportAnswer,
        Capability::HostRestart,
        Capability::FaultInjection,
        Capability::ConnectionFaults,
        Capability::Standby,
        Capability::NetworkedTarget,
        Capability::OperationFaults,
        Capability::ConnectorUrl,
        Capability::OtherConnector,
    ];

    /// The name in `@requires:<name>` and in profiles.
    pub fn name(self) -> &'static str {
        match self {
            Capability::DisableFlowDelete => "disable-flow-delete",
            Capability::DisableFlowNone => "disable-flow-none",
            Capability::DisableFlowSetAttribute => "disable-flow-set-attribute",
            Capability::DeleteFlowDelete => "delete-flow-delete",
            Capability::DeleteFlowNone => "delete-flow-none",
            Capability::DeleteFlowSetAttribute => "delete-flow-set-attribute",
            Capability::AuxiliaryClasses => "auxiliary-classes",
            Capability::DirectoryTls => "directory-tls",
            Capability::SecondMatchingAttribute => "second-matching-attribute",
            Capability::SoftDeleteAttribute => "soft-delete-attribute",
            Capability::StructuralClassOnly => "structural-class-only",
            Capability::ClientAnchor => "client-anchor",
            Capability::ExportPassword => "export-password",
            Capability::Password => "password",
            Capability::RequiredAttribute => "required-attribute",
            Capability::UniqueValue => "unique-value",
            Capability::LengthLimit => "length-limit",
            Capability::UnmappedColumn => "unmapped-column",
            Capability::Procedures => "procedures",
            Capability::PagingFault => "paging-fault",
            Capability::RowLocks => "row-locks",
            Capability::RefusedValue => "refused-value",
            Capability::ImportHook => "import-hook",
            Capability::ImportAnswer => "import-answer",
            Capability::HostRestart => "host-restart",
            Capability::FaultInjection => "fault-injection",
            Capability::ConnectionFaults => "connection-faults",
            Capability::Standby => "standby",
            Capability::NetworkedTarget => "networked-target",
            Capability::OperationFaults => "operation-faults",
            Capability::ConnectorUrl => "connector-url",
            Capability::OtherConnector => "other-connector",
        }
    }

    /// True for what the run provides rather than what the host is configured to do.
    pub fn is_run_provided(self) -> bool {
        matches!(
            self,
            Capability::ImportHook
                | Capability::ImportAnswer
                | Capability::HostRestart
                | Capability::FaultInjection
                | Capability::ConnectionFaults
                | Capability::ConnectorUrl
                | Capability::OtherConnector
        )
    }

    /// True for what the deployment has or has not (a standby host, a target on the network):
    /// missing, the scenario is not applicable, as for a capability the profile does not
    /// declare.
    pub fn is_deployment(self) -> bool {
        matches!(
            self,
            Capability::Standby | Capability::NetworkedTarget | Capability::OperationFaults
        )
    }

    /// What a run lacks without it, for "not checked for this host".
    pub fn lacking(self) -> &'static str {
        match self {
            Capability::ImportHook => "no import hook (host.import)",
            Capability::ImportAnswer => {
                "an import hook that only waits (host.import.wait_seconds), so a failed import cannot be seen"
            }
            Capability::HostRestart => "no restart hook (host.restart)",
            Capability::FaultInjection => {
                "no fault injection (the embedded default's mock directories, HR REST API, SCIM endpoint and script program, or target.fault_proxy in front of an LDAP directory)"
            }
            Capability::ConnectionFaults => {
                "no way to cut the host's connections to its target (target.fault_proxy)"
            }
            Capability::Standby => "no standby host (host.standby)",
            Capability::OperationFaults => {
                "a target whose operations ecmacert cannot fail one at a time (a database: its proxy forwards bytes without reading them)"
            }
            Capability::NetworkedTarget => {
                "a target without a network address (a SQLite file), so no connection to it can be lost"
            }
            Capability::ConnectorUrl => {
                "a SCIM URL that is not …/ecma2host_{connector}/scim (host.scim_url), so no other connector name can be asked"
            }
            Capability::OtherConnector => {
                "no other connector of the host named (host.other_connector), so no token can be tried on another connector"
            }
            _ => "",
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Capability {
    type Err = String;

    /// The capability called `name`; `Err` lists the known names.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Capability::ALL
            .into_iter()
            .find(|c| c.name() == name)
            .ok_or_else(|| {
                format!(
                    "unknown capability {name:?} (known: {})",
                    Capability::ALL.map(Capability::name).join(", ")
                )
            })
    }
}

impl<'de> Deserialize<'de> for Capability {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_typos_are_refused() {
        for c in Capability::ALL {
            assert_eq!(c.name().parse::<Capability>().unwrap(), c);
        }
        let e = "import-hooks".parse::<Capability>().unwrap_err();
        assert!(e.contains("unknown capability \"import-hooks\"") && e.contains("import-hook,"));
    }
}
