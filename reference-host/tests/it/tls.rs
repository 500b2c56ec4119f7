//! TLS on both sides: the host serving HTTPS with a certificate from `gen-cert`, and the LDAP
//! connector reaching slapd over `ldaps://` and StartTLS. Configuration comes from files, as an
//! operator writes them, with secrets in files.

use std::path::Path;
use std::sync::Arc;

use reference_host::config::Config;
use reference_host::{Host, cert, serve};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::slapd::{SERVICE_PASSWORD, slapd};
use crate::support::{Profile, TOKEN, config, config_text, entra_url_form, ext, new_ou, send};

fn write_config(dir: &Path, text: &str) -> std::path::PathBuf {
    std::fs::write(dir.join("token"), format!("{TOKEN}\n")).unwrap();
    std::fs::write(dir.join("bind-password"), SERVICE_PASSWORD).unwrap();
    let text = text
        .replace(
            "{ env = \"UNUSED_TOKEN_VARIABLE\" }",
            "{ file = \"token\" }",
        )
        .replace(
            "{ env = \"UNUSED_PASSWORD_VARIABLE\" }",
            "{ file = \"bind-password\" }",
        );
    let path = dir.join("ecma-host.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn client(ca: &Path, tls12_only: bool) -> reqwest::Client {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider);
    let builder = if tls12_only {
        builder
            .with_protocol_versions(&[&rustls::version::TLS12])
            .unwrap()
    } else {
        builder.with_safe_default_protocol_versions().unwrap()
    };
    let tls = builder.with_root_certificates(roots).with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()
        .unwrap()
}

/// Sends a ClientHello that offers only `version` (`[3, 1]` TLS 1.0, `[3, 2]` TLS 1.1, `[3, 3]`
/// TLS 1.2; RFC 5246 §7.4.1.2, no supported_versions extension), and returns the first bytes
/// the server answers (empty when it closed at once).
async fn legacy_client_hello(port: u16, version: [u8; 2]) -> Vec<u8> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut hello = Vec::new();
    hello.extend(version);
    hello.extend([7u8; 32]); // random
    hello.push(0); // no session id
    // ECDHE with GCM (which TLS 1.2 servers take) and the CBC suites of TLS 1.0/1.1.
    let suites: [u16; 6] = [0xc02b, 0xc02f, 0xc013, 0xc014, 0x002f, 0x0035];
    hello.extend(((suites.len() * 2) as u16).to_be_bytes());
    for s in suites {
        hello.extend(s.to_be_bytes());
    }
    hello.extend([1, 0]); // compression: null
    // supported_groups (x25519, P-256), ec_point_formats (uncompressed), and
    // signature_algorithms (ECDSA P-256, RSA-PSS, RSA PKCS#1, with SHA-256).
    let extensions: [(u16, Vec<u8>); 3] = [
        (0x000a, vec![0, 4, 0x00, 0x1d, 0x00, 0x17]),
        (0x000b, vec![1, 0]),
        (0x000d, vec![0, 6, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01]),
    ];
    let mut block = Vec::new();
    for (kind, data) in extensions {
        block.extend(kind.to_be_bytes());
        block.extend((data.len() as u16).to_be_bytes());
        block.extend(data);
    }
    hello.extend((block.len() as u16).to_be_bytes());
    hello.extend(block);
    let mut handshake = vec![1u8]; // client_hello
    handshake.extend(&(hello.len() as u32).to_be_bytes()[1..]);
    handshake.extend(hello);
    let mut record = vec![0x16, version[0], version[1]];
    record.extend((handshake.len() as u16).to_be_bytes());
    record.extend(handshake);
    let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    tcp.write_all(&record).await.unwrap();
    let mut answer = vec![0u8; 64];
    let n = tokio::time::timeout(std::time::Duration::from_secs(5), tcp.read(&mut answer))
        .await
        .unwrap()
        .unwrap_or(0);
    answer.truncate(n);
    answer
}

#[tokio::test]
async fn the_host_serves_https_with_its_generated_certificate() {
    let slapd = slapd().await;
    let (ou, _probe) = new_ou("https").await;
    let dir = tempfile::tempdir().unwrap();
    let (crt, _key) = cert::generate("localhost", &dir.path().join("certs")).unwrap();
    let text = config_text(&slapd.url, &ou, &Profile::inetorgperson(), "").replace(
        "plain_http = true",
        "tls = { certificate = \"certs/ecma-host.crt\", key = \"certs/ecma-host.key\" }",
    );
    let path = write_config(dir.path(), &text);
    let config = Config::load(&path).unwrap();
    let host = Host::new(config, dir.path()).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let base_dir = dir.path().to_owned();
    let server = tokio::spawn(async move {
        serve(host, &base_dir, listener, async {
            let _ = stopped.await;
        })
        .await
    });
    let url = format!(
        "https://localhost:{port}/ecma2host_LDAP/scim/Users?filter={}",
        entra_url_form(&format!(
            "{} eq \"1c8d1fd0-5f9b-4b61-a1a7-4a4dd4b4bd05\"",
            ext("mail")
        ))
    );
    // Until the first import has finished the answer is 503; poll for readiness.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let ok = loop {
        let r = client(&crt, false)
            .get(&url)
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        if r.status() == 200 || std::time::Instant::now() > deadline {
            break r;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["content-type"], "application/scim+json");
    let body: serde_json::Value = serde_json::from_slice(&ok.bytes().await.unwrap()).unwrap();
    assert_eq!(body["totalResults"], 0);
    // A client that speaks only TLS 1.2, as Entra requires, completes the handshake.
    let r = client(&crt, true)
        .get(&url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        client(&crt, false).get(&url).send().await.unwrap().status(),
        401
    );
    // A client that offers only TLS 1.0 or 1.1 gets the alert protocol_version (70), never a
    // ServerHello: refused for its version, not for its ciphers (that would be 40).
    for (version, name) in [([3u8, 1u8], "TLS 1.0"), ([3, 2], "TLS 1.1")] {
        let answer = legacy_client_hello(port, version).await;
        assert!(
            answer.first() == Some(&0x15) && answer.get(6) == Some(&70),
            "{name}: expected the alert protocol_version, got {answer:02x?}"
        );
    }
    // The same hello offering TLS 1.2 gets a ServerHello: only the version was refused.
    let answer = legacy_client_hello(port, [3, 3]).await;
    assert!(
        answer.first() == Some(&0x16) && answer.get(5) == Some(&2),
        "TLS 1.2: expected a ServerHello, got {answer:02x?}"
    );
    // A client that does not trust the certificate gets no answer.
    let other = tempfile::tempdir().unwrap();
    let (other_crt, _) = cert::generate("localhost", other.path()).unwrap();
    assert!(client(&other_crt, false).get(&url).send().await.is_err());
    // Plain HTTP on the TLS port gets no SCIM answer.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let plain = reqwest::Client::new()
        .get(url.replace("https://", "http://"))
        .bearer_auth(TOKEN)
        .send()
        .await;
    assert!(plain.map(|r| r.status() != 200).unwrap_or(true));
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn the_connector_reaches_slapd_over_ldaps_and_starttls() {
    let slapd = slapd().await;
    for (name, url, extra) in [
        ("ldaps", slapd.ldaps_url.clone(), ""),
        ("starttls", slapd.url.clone(), "starttls = true"),
    ] {
        let (ou, probe) = new_ou(name).await;
        let ca = slapd.ca_certificate.display().to_string();
        let extra = format!("{extra}\nca_certificate = \"{ca}\"");
        let host = Host::new(
            config(&config_text(&url, &ou, &Profile::inetorgperson(), &extra)),
            Path::new("/"),
        )
        .unwrap();
        host.import_all()
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let body = serde_json::json!({
            "schemas": [crate::support::EXT],
            crate::support::EXT: {"-dn-": format!("cn=t,{ou}"), "cn": "t", "sn": "T"}
        });
        let r = send(
            &host.app(),
            "POST",
            "/ecma2host_LDAP/scim/Users",
            Some(body.to_string()),
            Some(TOKEN),
            "application/scim+json",
        )
        .await;
        assert_eq!(r.status, 201, "{name}: {r:#?}");
        assert!(probe.entry(&format!("cn=t,{ou}")).await.is_some(), "{name}");
    }
}

#[tokio::test]
async fn a_directory_certificate_that_is_not_trusted_is_refused() {
    let slapd = slapd().await;
    let (ou, _probe) = new_ou("untrusted").await;
    let other = tempfile::tempdir().unwrap();
    let (other_crt, _) = cert::generate("127.0.0.1", other.path()).unwrap();
    let extra = format!(
        "ca_certificate = \"{}\"\ntimeout_seconds = 5",
        other_crt.display()
    );
    let host = Host::new(
        config(&config_text(
            &slapd.ldaps_url,
            &ou,
            &Profile::inetorgperson(),
            &extra,
        )),
        Path::new("/"),
    )
    .unwrap();
    let e = host.import_all().await.unwrap_err();
    assert!(e.to_string().contains("cannot connect to"), "{e}");
}

#[test]
fn gen_cert_names_the_host_and_protects_the_key() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let (crt, key) = cert::generate("ecma.contoso.lab", dir.path()).unwrap();
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // rustls accepts the pair, and verifies the name against the certificate.
    cert::server_config(&crt, &key).unwrap();
    let der = CertificateDer::from_pem_file(&crt).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(der.clone()).unwrap();
    let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots),
        Arc::new(rustls::crypto::ring::default_provider()),
    )
    .build()
    .unwrap();
    let now = rustls_pki_types::UnixTime::now();
    let name = |n: &str| rustls_pki_types::ServerName::try_from(n.to_owned()).unwrap();
    use rustls::client::danger::ServerCertVerifier;
    assert!(
        verifier
            .verify_server_cert(&der, &[], &name("ecma.contoso.lab"), &[], now)
            .is_ok()
    );
    assert!(
        verifier
            .verify_server_cert(&der, &[], &name("other.contoso.lab"), &[], now)
            .is_err()
    );
}
