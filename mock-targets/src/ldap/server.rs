//! The listener: [`MockLdap`] accepts connections (plain and LDAPS) and runs a
//! [`Session`] per connection under a tokio codec loop; inspection (snapshot, operation log) and
//! the fault switch are its methods.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt as _, StreamExt as _};
use ldap3_proto::{LdapCodec, LdapMsg};
use tokio::net::TcpListener;
use tokio_util::codec::{FramedRead, FramedWrite};

use super::dit::{Directory, Entry, LdapError};
use super::faults::{FaultRule, FaultTable, OpRecord};
use super::session::{Session, Shared, lock};
use super::{Flavour, MockConfig};

/// The largest request the mock decodes (the protocol crate's default is 32 KiB).
pub(crate) const MAX_BER: usize = 8 * 1024 * 1024;

/// Serves one connection (`tls`: a TLS session) until the client unbinds or goes.
async fn serve_connection<S>(stream: S, shared: Arc<Shared>, tls: bool)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + 'static,
{
    let (r, w) = tokio::io::split(stream);
    let mut reader = FramedRead::new(r, LdapCodec::new(Some(MAX_BER), None));
    // One writer per connection; delayed answers are sent from their own tasks so that, as on a
    // real server, a slow operation does not hold up the next.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Option<LdapMsg>>();
    tokio::spawn(async move {
        let mut writer = FramedWrite::new(w, LdapCodec::new(Some(MAX_BER), None));
        while let Some(Some(m)) = rx.recv().await {
            if writer.send(m).await.is_err() {
                return;
            }
        }
    });
    let mut session = Session::new(shared, tls);
    while let Some(Ok(msg)) = reader.next().await {
        let response = session.handle(msg);
        if response.drop {
            let _ = tx.send(None);
            return;
        }
        match response.delay {
            Some(d) => {
                let tx = tx.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(d).await;
                    for m in response.messages {
                        let _ = tx.send(Some(m));
                    }
                });
            }
            None => {
                for m in response.messages {
                    let _ = tx.send(Some(m));
                }
            }
        }
        if response.close {
            return;
        }
    }
}

/// A running mock LDAP server.
#[derive(Clone)]
pub struct MockLdap {
    addr: SocketAddr,
    tls_addr: Option<SocketAddr>,
    pub(crate) shared: Arc<Shared>,
    flavour: Flavour,
}

impl std::fmt::Debug for MockLdap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockLdap")
            .field("addr", &self.addr)
            .field("flavour", &self.flavour)
            .finish()
    }
}

impl MockLdap {
    /// Starts a server on `config.listen` (port 0 for a free one). It runs until the process
    /// ends or the runtime stops.
    pub async fn start(config: MockConfig) -> std::io::Result<MockLdap> {
        let invalid = |what: &str, e: LdapError| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{what}: {}", e.message),
            )
        };
        let mut dir = Directory::new(
            config.flavour,
            &config.suffix,
            &config.root_dn,
            &config.root_password,
        )
        .map_err(|e| invalid(&config.suffix, e))?;
        for (dn, password) in &config.accounts {
            dir.add_account(dn, password).map_err(|e| invalid(dn, e))?;
        }
        let shared = Arc::new(Shared {
            dir: Mutex::new(dir),
            faults: FaultTable::default(),
            log: Mutex::new(Vec::new()),
            size_limits: config.size_limits.clone(),
            update_tls: config.update_tls,
        });
        let listener = TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let accept = shared.clone();
        tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                // Without it, Nagle and delayed ACKs cost ~40 ms per round trip.
                let _ = socket.set_nodelay(true);
                tokio::spawn(serve_connection(socket, accept.clone(), false));
            }
        });
        let tls_addr = match config.tls {
            None => None,
            Some(tls) => {
                let listener = TcpListener::bind(SocketAddr::new(config.listen.ip(), 0)).await?;
                let tls_addr = listener.local_addr()?;
                let acceptor = tokio_rustls::TlsAcceptor::from(tls);
                let accept = shared.clone();
                tokio::spawn(async move {
                    loop {
                        let Ok((socket, _)) = listener.accept().await else {
                            continue;
                        };
                        let _ = socket.set_nodelay(true);
                        let acceptor = acceptor.clone();
                        let shared = accept.clone();
                        tokio::spawn(async move {
                            // A client that fails the handshake gets nothing more.
                            if let Ok(stream) = acceptor.accept(socket).await {
                                serve_connection(stream, shared, true).await;
                            }
                        });
                    }
                });
                Some(tls_addr)
            }
        };
        Ok(MockLdap {
            addr,
            tls_addr,
            shared,
            flavour: config.flavour,
        })
    }

    /// A new anonymous session on this server's directory, driven without a socket: each
    /// [`Session::handle`] is one request, as a connection would deliver it (the property
    /// tests feed it decoded and made-up requests).
    pub fn session(&self) -> Session {
        Session::new(self.shared.clone(), false)
    }

    /// `ldap://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("ldap://{}", self.addr)
    }

    /// `ldaps://localhost:PORT` when the mock serves LDAPS (`MockConfig::tls`): `localhost`,
    /// the name a loopback test certificate carries.
    pub fn ldaps_url(&self) -> Option<String> {
        self.tls_addr
            .map(|a| format!("ldaps://localhost:{}", a.port()))
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its flavour.
    pub fn flavour(&self) -> Flavour {
        self.flavour
    }

    /// Adds an entry directly, as the root DN (for seeding).
    pub fn seed(&self, dn: &str, attrs: &[(&str, &[&str])]) -> Result<(), LdapError> {
        let given = attrs
            .iter()
            .map(|(a, vs)| {
                (
                    (*a).to_owned(),
                    vs.iter().map(|v| v.as_bytes().to_vec()).collect(),
                )
            })
            .collect();
        lock(&self.shared.dir).add(dn, given, "seed")
    }

    /// Creates the naming context's own entry, as each flavour shapes it (`dcObject` +
    /// `organization` for OpenLDAP, `container` for AD LDS) from its first RDN.
    pub fn seed_naming_context(&self) -> Result<(), LdapError> {
        let suffix = lock(&self.shared.dir).suffix().to_owned();
        let dn =
            scim_proto::dn::Dn::parse(&suffix).map_err(|e| LdapError::new(34, e.to_string()))?;
        let first = dn.rdns().first().and_then(|r| r.0.first()).cloned();
        let (attr, value) = first.map_or((String::new(), String::new()), |a| (a.attr, a.value));
        match (self.flavour, attr.to_ascii_lowercase().as_str()) {
            (Flavour::OpenLdap, "dc") => self.seed(
                &suffix,
                &[
                    ("objectClass", &["dcObject", "organization"]),
                    ("dc", &[&value]),
                    ("o", &[&value]),
                ],
            ),
            (Flavour::OpenLdap, "ou") => self.seed(
                &suffix,
                &[("objectClass", &["organizationalUnit"]), ("ou", &[&value])],
            ),
            (Flavour::OpenLdap, "o") => self.seed(
                &suffix,
                &[("objectClass", &["organization"]), ("o", &[&value])],
            ),
            (Flavour::AdLds, "cn") => self.seed(
                &suffix,
                &[("objectClass", &["container"]), ("cn", &[&value])],
            ),
            (Flavour::AdLds, "ou") => self.seed(
                &suffix,
                &[("objectClass", &["organizationalUnit"]), ("ou", &[&value])],
            ),
            (Flavour::AdLds, "dc") => self.seed(
                &suffix,
                &[("objectClass", &["domainDNS"]), ("dc", &[&value])],
            ),
            _ => Err(LdapError::new(
                53,
                format!("no way to create a naming context named {attr}=…"),
            )),
        }
    }

    /// Every entry, by normalised DN.
    pub fn snapshot(&self) -> std::collections::BTreeMap<String, Entry> {
        lock(&self.shared.dir).entries().clone()
    }

    /// The operations served so far.
    pub fn operations(&self) -> Vec<OpRecord> {
        lock(&self.shared.log).clone()
    }

    /// The logged operations `keep` selects, without copying the rest of the log.
    pub fn operations_where(&self, keep: impl Fn(&OpRecord) -> bool) -> Vec<OpRecord> {
        lock(&self.shared.log)
            .iter()
            .filter(|r| keep(r))
            .cloned()
            .collect()
    }

    /// Injects a fault.
    pub fn inject(&self, rule: FaultRule) {
        self.shared.faults.inject(rule);
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.shared.faults.clear();
    }

    /// Removes the faults `gone` picks (one account's, one scenario's), leaving the others.
    pub fn clear_faults_where(&self, gone: impl Fn(&FaultRule) -> bool) {
        self.shared.faults.clear_where(gone);
    }
}
