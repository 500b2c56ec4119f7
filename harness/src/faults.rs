//! Faults the suite asks a target for, and the target's own log of what the host did: "the directory answers the host's next add with busy",
//! "drops every connection of the host", "takes 4 seconds". The steps speak these words; a
//! [`ControlledTarget`] carries them out on a target that can misbehave on cue — today the
//! in-process mock of the embedded default (`embedded.rs`), later a fault-injecting proxy in
//! front of a real directory. Faults hit only the host's own operations, never the probe's, so
//! the probe keeps seeing the truth.
//!
//! Scenarios that need faults are tagged `@requires:fault-injection` and are not applicable
//! where no switch exists.

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

/// A target the run controls: it can be made to misbehave towards the host under test, and it
/// logs what the host did to it — a second witness, beside the probe's reading of the state,
/// that an error changed nothing.
pub trait ControlledTarget: Send + Sync + std::fmt::Debug {
    /// Starts a fault.
    fn inject(&self, fault: Fault);
    /// Ends every fault started for this host ("the directory is back").
    fn clear(&self);
    /// The successful writes (add, modify, modify DN, delete) the host made to objects whose
    /// DN contains `dn_contains` (any case), oldest first, as `modify <dn>` lines.
    fn host_writes(&self, dn_contains: &str) -> Vec<String>;
}
