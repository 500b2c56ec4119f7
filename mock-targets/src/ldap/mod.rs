//! The mock LDAP server, and the fault proxy that puts the mock's faults in front of a real
//! directory.
//!
//! ```text
//!   MockLdap::start(config) ── tokio accept loop ── per connection: FramedRead/FramedWrite<LdapCodec>
//!                                                        │
//!                                  Session::handle(LdapMsg) -> Response   (no I/O)
//!                                                        │
//!                                  Directory (schema, tree)   faults   operation log
//!
//!   LdapFaultProxy::start(listen, upstream) ── per connection: host ⇄ proxy ⇄ real directory,
//!                                  requests classified (same codec), the same fault rules
//! ```
//!
//! Files: `faults.rs` (rules and their table), `session.rs` (one connection's protocol state),
//! `server.rs` (the listener and inspection), `proxy.rs` (the fault proxy), `dit.rs` (the
//! tree), `schema.rs`, `filter.rs`.
//!
//! Two flavours: `openldap` (entryUUID, userPassword, the classes of core/cosine/inetorgperson/
//! nis and ecmacert's test schema) and `adlds` (objectGUID as 16 little-endian GUID bytes,
//! userPrincipalName, msDS-UserAccountDisabled, the `user` class, the whole class chain stored in
//! objectClass, no passwords on create).

pub mod dit;
pub mod faults;
pub mod filter;
pub mod proxy;
pub mod schema;
pub mod server;
pub mod session;

use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;

pub use dit::{Attr, Change, Directory, Entry, LdapError, Scope};
pub use faults::{FaultAction, FaultRule, OpKind, OpRecord, Times};
pub use proxy::LdapFaultProxy;
pub use server::MockLdap;
pub use session::Session;

/// Which directory the mock behaves like.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Flavour {
    /// OpenLDAP.
    OpenLdap,
    /// Active Directory Lightweight Directory Services.
    AdLds,
}

impl FromStr for Flavour {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "openldap" => Ok(Flavour::OpenLdap),
            "adlds" => Ok(Flavour::AdLds),
            other => Err(format!(
                "unknown flavour {other:?} (expected openldap or adlds)"
            )),
        }
    }
}

/// How to start a mock.
#[derive(Clone, Debug)]
pub struct MockConfig {
    /// The flavour.
    pub flavour: Flavour,
    /// The naming context (`dc=contoso,dc=lab`).
    pub suffix: String,
    /// The administrator's DN.
    pub root_dn: String,
    /// Its password.
    pub root_password: String,
    /// Where to listen (port 0: a free one).
    pub listen: SocketAddr,
    /// Per-DN limits on entries per unpaged search (the root DN is never limited).
    pub size_limits: Vec<(String, usize)>,
    /// Extra accounts (DN, password) that can bind without an entry of their own — what AD LDS
    /// service accounts and slapd's configured identities are to a client.
    pub accounts: Vec<(String, String)>,
    /// Also serve LDAPS (RFC 4513 §3.1.3 by a TLS session from the start) on a port of its own
    /// with this configuration ([`MockLdap::ldaps_url`]).
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Refuse adds, modifies, modify-DNs and deletes on a connection without TLS with
    /// confidentialityRequired (13), as slapd does with `security update_tls=1`; binds and
    /// searches are still served in the clear.
    pub update_tls: bool,
}

impl MockConfig {
    /// A mock on a free loopback port.
    pub fn new(flavour: Flavour, suffix: &str, root_dn: &str, root_password: &str) -> Self {
        MockConfig {
            flavour,
            suffix: suffix.to_owned(),
            root_dn: root_dn.to_owned(),
            root_password: root_password.to_owned(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            size_limits: Vec::new(),
            accounts: Vec::new(),
            tls: None,
            update_tls: false,
        }
    }
}
