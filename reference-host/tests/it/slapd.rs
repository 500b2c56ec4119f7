//! A real OpenLDAP `slapd`, started once per test binary on free loopback ports in a temporary
//! directory, with `ldap://` (StartTLS available) and `ldaps://` listeners.
//!
//! slapd runs in the foreground under a small shell guard that kills it when this process's
//! end of a pipe closes, so no directory outlives the tests, however they end. If slapd is not
//! installed the tests fail, loudly: `scripts/test` installs it.

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

/// The connector's own account: not the root DN, so the directory's size limit (3 entries per
/// search) applies to it and a full import only sees every entry if it really pages.
pub const SERVICE_DN: &str = "cn=ecmahost,dc=contoso,dc=lab";
/// Its password (test-only).
pub const SERVICE_PASSWORD: &str = "host-secret";

/// The shared directory.
pub struct Slapd {
    /// `ldap://127.0.0.1:PORT`
    pub url: String,
    /// `ldaps://127.0.0.1:PORT`
    pub ldaps_url: String,
    /// The suffix.
    pub suffix: &'static str,
    /// The root DN.
    pub admin_dn: &'static str,
    /// The root password (test-only).
    pub admin_password: &'static str,
    /// The certificate slapd presents (SAN 127.0.0.1), to trust in TLS tests.
    pub ca_certificate: PathBuf,
    _dir: tempfile::TempDir,
    _guard: Child,
    _stdin: ChildStdin,
}

static SLAPD: OnceCell<Slapd> = OnceCell::const_new();

/// The shared slapd, started on first use.
pub async fn slapd() -> &'static Slapd {
    SLAPD.get_or_init(start).await
}

fn find_slapd() -> PathBuf {
    let candidates = [
        "/usr/sbin/slapd",
        "/usr/local/sbin/slapd",
        "/usr/local/libexec/slapd",
    ];
    if let Some(p) = candidates.iter().map(PathBuf::from).find(|p| p.exists()) {
        return p;
    }
    if let Some(p) = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|d| d.join("slapd"))
        .find(|p| p.exists())
    {
        return p;
    }
    panic!(
        "slapd (OpenLDAP) is not installed, and these tests need a real directory. \
         Run scripts/test, which installs it, or: apt-get install -y slapd ldap-utils"
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn schema_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/ldap")
}

async fn start() -> Slapd {
    let bin = find_slapd();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let (cert, key) = reference_host::cert::generate("127.0.0.1", dir.path()).unwrap();
    let suffix = "dc=contoso,dc=lab";
    let conf = format!(
        "include /etc/ldap/schema/core.schema\n\
         include /etc/ldap/schema/cosine.schema\n\
         include /etc/ldap/schema/inetorgperson.schema\n\
         include /etc/ldap/schema/nis.schema\n\
         include {schema}\n\
         pidfile {dir}/slapd.pid\n\
         modulepath /usr/lib/ldap\n\
         moduleload back_mdb\n\
         TLSCertificateFile {cert}\n\
         TLSCertificateKeyFile {key}\n\
         database mdb\n\
         maxsize 268435456\n\
         suffix \"{suffix}\"\n\
         rootdn \"cn=admin,{suffix}\"\n\
         rootpw secret\n\
         directory {data}\n\
         index objectClass eq\n\
         limits dn.exact=\"{service}\" size.soft=3 size.hard=3 size.prtotal=unlimited\n\
         access to attrs=userPassword by dn.exact=\"{service}\" write by self write by anonymous auth by * none\n\
         access to * by dn.exact=\"{service}\" write by * read\n",
        service = SERVICE_DN,
        schema = schema_dir().join("ecmacert.schema").display(),
        dir = dir.path().display(),
        cert = cert.display(),
        key = key.display(),
        data = data.display(),
    );
    let conf_path = dir.path().join("slapd.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let (ldap_port, ldaps_port) = (free_port(), free_port());
    let url = format!("ldap://127.0.0.1:{ldap_port}");
    let ldaps_url = format!("ldaps://127.0.0.1:{ldaps_port}");
    let log = dir.path().join("slapd.log");
    // The guard: slapd in the foreground, killed as soon as our end of stdin closes.
    let script = format!(
        "'{bin}' -f '{conf}' -h '{url}/ {ldaps_url}/' -d 0 >'{log}' 2>&1 & pid=$!; read _; kill $pid; wait $pid",
        bin = bin.display(),
        conf = conf_path.display(),
        log = log.display(),
    );
    let mut guard = Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = guard.stdin.take().unwrap();
    wait_until_bound(&url, &log, &mut guard).await;
    seed(&url, suffix).await;
    Slapd {
        url,
        ldaps_url,
        suffix,
        admin_dn: "cn=admin,dc=contoso,dc=lab",
        admin_password: "secret",
        ca_certificate: cert,
        _dir: dir,
        _guard: guard,
        _stdin: stdin,
    }
}

async fn wait_until_bound(url: &str, log: &Path, guard: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok((conn, mut ldap)) = ldap3::LdapConnAsync::new(url).await {
            tokio::spawn(async move { conn.drive().await });
            if ldap
                .simple_bind("cn=admin,dc=contoso,dc=lab", "secret")
                .await
                .is_ok_and(|r| r.rc == 0)
            {
                return;
            }
        }
        if let Ok(Some(status)) = guard.try_wait() {
            panic!("slapd exited ({status}) before answering:\n{}", read(log));
        }
        if Instant::now() > deadline {
            panic!("slapd did not answer on {url} within 15 s:\n{}", read(log));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn read(path: &Path) -> String {
    let mut s = String::new();
    let _ = std::fs::File::open(path).and_then(|mut f| f.read_to_string(&mut s));
    s
}

async fn seed(url: &str, suffix: &str) {
    let (conn, mut ldap) = ldap3::LdapConnAsync::new(url).await.unwrap();
    tokio::spawn(async move { conn.drive().await });
    ldap.simple_bind("cn=admin,dc=contoso,dc=lab", "secret")
        .await
        .unwrap()
        .success()
        .unwrap();
    ldap.add(
        suffix,
        vec![
            (
                "objectClass",
                ["dcObject", "organization"].into_iter().collect(),
            ),
            ("dc", ["contoso"].into_iter().collect()),
            ("o", ["Contoso"].into_iter().collect()),
        ],
    )
    .await
    .unwrap()
    .success()
    .unwrap();
    ldap.add(
        SERVICE_DN,
        vec![
            (
                "objectClass",
                ["organizationalRole", "simpleSecurityObject"]
                    .into_iter()
                    .collect(),
            ),
            ("cn", ["ecmahost"].into_iter().collect()),
            ("userPassword", [SERVICE_PASSWORD].into_iter().collect()),
        ],
    )
    .await
    .unwrap()
    .success()
    .unwrap();
}
