//! `target.fault_proxy`: the suite's faults for any host. ecmacert listens where the host's
//! connector is told its target is and forwards to the real target, so the fault scenarios
//! apply to a vendor's host and directory as they do to the embedded default's mocks.
//!
//! - In front of an LDAP directory, [`mock_targets::ldap::LdapFaultProxy`] reads each request
//!   (the mock's codec) and applies the mock's fault rules to it: a fault can be aimed at the
//!   next add of one scenario's user (`fault-injection` and `connection-faults`).
//! - In front of PostgreSQL or MariaDB, [`mock_targets::tcp::TcpFaultProxy`] forwards bytes
//!   without reading them: it can refuse every connection or play a restart, nothing finer
//!   (`connection-faults` only).
//!
//! Every connection through the proxy is the host's (the probe goes to the target directly), so
//! no fault needs aiming at the host's account.

use std::sync::Arc;

use mock_targets::ldap::{FaultRule, LdapFaultProxy, OpKind, OpRecord};
use mock_targets::tcp::{TcpFault, TcpFaultProxy};

use crate::config::{ConfigError, TargetConfig};
use crate::faults::{ControlledTarget, Fault, FaultAction, TargetOp, Times};

/// Starts the proxy `target.fault_proxy` asks for, if any.
///
/// # Errors
/// The target has no address a proxy can forward to, or the listen address cannot be bound
/// (named by key, as the configuration's other errors are).
pub async fn start(
    target: &TargetConfig,
) -> Result<Option<Arc<dyn ControlledTarget>>, ConfigError> {
    let Some(proxy) = &target.fault_proxy else {
        return Ok(None);
    };
    let upstream = target
        .upstream()
        .map_err(|e| ConfigError::invalid("target.fault_proxy", e))?;
    let bind_error = |e: std::io::Error| {
        ConfigError::invalid(
            "target.fault_proxy.listen",
            format!("cannot listen on {}: {e}", proxy.listen),
        )
    };
    let faults: Arc<dyn ControlledTarget> = if target.kind == "ldap" {
        Arc::new(LdapProxy(
            LdapFaultProxy::start(proxy.listen, &upstream)
                .await
                .map_err(bind_error)?,
        ))
    } else {
        Arc::new(TcpProxy(
            TcpFaultProxy::start(proxy.listen, &upstream)
                .await
                .map_err(bind_error)?,
        ))
    };
    tracing::info!(listen = %proxy.listen, %upstream, "fault proxy started");
    Ok(Some(faults))
}

/// The LDAP proxy as the run's fault switch.
#[derive(Debug)]
struct LdapProxy(LdapFaultProxy);

/// The mock's rule for `fault`, aimed at the account `bound_as` when given: one translation
/// for the mock (`embedded.rs`) and the proxy.
pub(crate) fn rule(fault: Fault, bound_as: Option<String>) -> FaultRule {
    use mock_targets::ldap::{FaultAction as A, Times as T};
    FaultRule {
        op: fault.op.map(|op| match op {
            TargetOp::Add => OpKind::Add,
            TargetOp::Modify => OpKind::Modify,
            TargetOp::Delete => OpKind::Delete,
        }),
        dn_contains: fault.dn_contains,
        bound_as,
        action: match fault.action {
            FaultAction::Fail { code, message } => A::Fail { code, message },
            FaultAction::Delay(d) => A::Delay(d),
            FaultAction::Drop => A::Drop,
            FaultAction::DropAfter => A::DropAfter,
        },
        times: match fault.times {
            Times::Once => T::Once,
            Times::Always => T::Always,
        },
    }
}

/// The successful writes among `records` to DNs containing `needle` (lower case), as
/// [`ControlledTarget::host_writes`] lines.
pub(crate) fn writes<'a>(
    records: impl IntoIterator<Item = &'a OpRecord>,
    needle: &str,
) -> Vec<String> {
    records
        .into_iter()
        .filter(|r| {
            r.code == 0
                && matches!(
                    r.op,
                    OpKind::Add | OpKind::Modify | OpKind::ModifyDn | OpKind::Delete
                )
                && r.dn.to_lowercase().contains(needle)
        })
        .map(|r| format!("{:?} {}", r.op, r.dn).to_lowercase())
        .collect()
}

impl ControlledTarget for LdapProxy {
    fn inject(&self, fault: Fault) -> Result<(), String> {
        self.0.inject(rule(fault, None));
        Ok(())
    }

    fn restart(&self) {
        self.0.go_down();
    }

    fn clear(&self, scope: &str) {
        self.0.clear_faults_where(|rule| {
            crate::faults::started_by(rule.dn_contains.as_deref(), scope)
        });
        self.0.come_back();
    }

    fn host_writes(&self, dn_contains: &str) -> Option<Vec<String>> {
        Some(writes(&self.0.operations(), &dn_contains.to_lowercase()))
    }

    fn aims_at_operations(&self) -> bool {
        true
    }
}

/// The TCP proxy as the run's fault switch: connection-level faults only.
#[derive(Debug)]
struct TcpProxy(TcpFaultProxy);

impl ControlledTarget for TcpProxy {
    fn inject(&self, fault: Fault) -> Result<(), String> {
        match (&fault.op, &fault.dn_contains, &fault.action, fault.times) {
            (None, None, FaultAction::Drop, Times::Always) => self.0.set(TcpFault::Refuse),
            (None, None, FaultAction::Delay(d), Times::Always) => self.0.set(TcpFault::Delay(*d)),
            _ => {
                return Err(format!(
                    "the TCP fault proxy forwards bytes without reading them, so it cannot play \
                     {fault:?}: only every connection dropped or slowed"
                ));
            }
        }
        Ok(())
    }

    fn restart(&self) {
        self.0.set(TcpFault::Refuse);
    }

    /// Every fault of this proxy is aimed at no object: all of them end.
    fn clear(&self, _scope: &str) {
        self.0.clear();
    }

    fn host_writes(&self, _dn_contains: &str) -> Option<Vec<String>> {
        None
    }

    fn aims_at_operations(&self) -> bool {
        false
    }
}
