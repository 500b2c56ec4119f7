//! Faults the suite asks a target for, and the target's own log of what the host did: "the directory answers the host's next add with busy",
//! "drops every connection of the host", "takes 4 seconds". The steps speak these words; a
//! [`ControlledTarget`] carries them out on a target that can misbehave on cue: the in-process
//! mocks of the embedded default (`embedded.rs`), or a fault proxy between any host and its real
//! target (`target.fault_proxy`, `fault_proxy.rs`). Faults hit only the host's own operations,
//! never the probe's, so the probe keeps seeing the truth.
//!
//! Two depths: faults aimed at one operation (`@requires:fault-injection`: the mocks and the LDAP
//! proxy, which read the protocol) and faults at the connection level (`@requires:connection-faults`:
//! every connection dropped, the target restarting — also the TCP proxy in front of a database).
//! Where a run has neither, those scenarios are not checked for the host.

use std::time::Duration;

/// The kind of target operation a fault hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetOp {
    /// LDAP add, SQL insert.
    Add,
    /// LDAP modify, SQL update.
    Modify,
    /// LDAP delete, SQL delete.
    Delete,
}

/// What a fault does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultAction {
    /// Answer with this LDAP result code (RFC 4511 Appendix A) and message, touching nothing.
    Fail {
        /// The result code.
        code: u32,
        /// The diagnostic message.
        message: String,
    },
    /// Carry the operation out at once but answer only after this long.
    Delay(Duration),
    /// Close the connection without answering.
    Drop,
    /// Carry the operation out, then close the connection without answering: the host cannot
    /// tell whether the write was made.
    DropAfter,
}

/// How often a fault fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Times {
    /// The next matching operation only.
    Once,
    /// Every matching operation until cleared.
    Always,
}

/// One fault: which of the host's operations it hits and what it does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// The operation kind; `None` for every kind (binds and searches included).
    pub op: Option<TargetOp>,
    /// A substring of the target DN (any case); `None` for every object.
    pub dn_contains: Option<String>,
    /// What it does.
    pub action: FaultAction,
    /// How often.
    pub times: Times,
}

/// Whether a fault aimed at the objects `dn_contains` names is one [`ControlledTarget::clear`]
/// ends for the scenario whose objects `scope` names: its own, or one aimed at no object.
pub(crate) fn started_by(dn_contains: Option<&str>, scope: &str) -> bool {
    dn_contains.is_none_or(|d| d.eq_ignore_ascii_case(scope))
}

/// A target the run controls: it can be made to misbehave towards the host under test, and it
/// logs what the host did to it — a second witness, beside the probe's reading of the state,
/// that an error changed nothing.
pub trait ControlledTarget: Send + Sync + std::fmt::Debug {
    /// Starts a fault. `Err` says why this target cannot play it (a proxy that sees
    /// connections, not operations, cannot aim at one add).
    fn inject(&self, fault: Fault) -> Result<(), String>;
    /// Plays a restart of the target: every connection of the host closed at once and new ones
    /// refused, until [`ControlledTarget::clear`]. By default every operation of the host is
    /// dropped instead, for a target that cannot close its connections at once (the mocks): the
    /// host sees the restart one request later.
    fn restart(&self) {
        let _ = self.inject(Fault {
            op: None,
            dn_contains: None,
            action: FaultAction::Drop,
            times: Times::Always,
        });
    }
    /// Ends the faults one scenario started ("the directory is back"): those aimed at its
    /// objects (whose [`Fault::dn_contains`] is `scope`, [`crate::world::EcmaWorld::fault_scope`])
    /// and those aimed at no object, a restart included. Faults other scenarios aimed at their
    /// own objects stay: scenarios with such faults run side by side. (Only scenarios that run
    /// alone, `@serial`, start faults aimed at no object.)
    fn clear(&self, scope: &str);
    /// The successful writes (add, modify, modify DN, delete) the host made to objects whose
    /// DN contains `dn_contains` (any case), oldest first, as `modify <dn>` lines; `None` where
    /// the target keeps no such log (a proxy that does not read the protocol).
    fn host_writes(&self, dn_contains: &str) -> Option<Vec<String>>;
    /// Whether faults can be aimed at one operation ([`Fault::op`], [`Fault::dn_contains`]),
    /// not only at every connection: the `fault-injection` capability, beside
    /// `connection-faults`.
    fn aims_at_operations(&self) -> bool;
}

#[cfg(test)]
mod tests {
    use super::started_by;

    #[test]
    fn a_scenario_ends_its_own_faults_and_those_aimed_at_no_object_only() {
        let scope = "r1a2b3-9,";
        assert!(started_by(Some("R1A2B3-9,"), scope));
        assert!(started_by(None, scope));
        assert!(!started_by(Some("r1a2b3-93,"), scope));
        assert!(!started_by(Some("r1a2b3-10,"), scope));
    }
}
