//! Configuration: the examples load, and every mistake is refused with the key it is about.

use std::path::PathBuf;

use reference_host::Host;
use reference_host::config::{Config, ConfigError};
use reference_host::secret::{Secret, SecretSource};

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

#[test]
fn the_examples_load() {
    for (name, connector) in [
        ("ecma-host-openldap.toml", "LDAP"),
        ("ecma-host-openldap-posix.toml", "LDAP"),
        ("ecma-host-openldap-flag.toml", "LDAP"),
        ("ecma-host-adlds.toml", "ADLDS"),
        ("ecma-host-postgres.toml", "SQL"),
        ("ecma-host-mariadb.toml", "SQL"),
        ("ecma-host-postgres-types.toml", "SQL"),
        ("ecma-host-mariadb-types.toml", "SQL"),
        ("ecma-host-sqlite.toml", "SQL"),
    ] {
        let config = Config::load(&examples().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(config.connectors[0].name, connector);
        assert_eq!(config.server.listen.port(), 8585);
    }
}

const GOOD: &str = r#"
[server]
plain_http = true
[[connector]]
name = "LDAP"
token = { env = "T" }
[connector.ldap]
url = "ldap://127.0.0.1:389"
bind_dn = "cn=admin,dc=x"
bind_password = { env = "P" }
base_dn = "dc=x"
object_class = "inetOrgPerson"
attributes = [{ name = "cn", treat_as_single_value = true }]
"#;

fn error(text: &str) -> String {
    match Config::parse(text) {
        Err(e) => e,
        Ok(c) => c
            .validate()
            .map(|_| "valid".to_owned())
            .unwrap_or_else(|e| e.to_string()),
    }
}

#[test]
fn mistakes_name_their_key() {
    assert_eq!(error(GOOD), "valid");
    for (from, to, expected) in [
        ("plain_http = true", "", "server.tls: missing"),
        (
            "plain_http = true",
            "plain_http = true\ntls = { certificate = \"a\", key = \"b\" }",
            "server.plain_http: cannot be true",
        ),
        (
            "plain_http = true",
            "plain_http = true\nworker_threads = 0",
            "server.worker_threads: must be 1 or more",
        ),
        (
            "name = \"LDAP\"",
            "name = \"LD AP\"",
            "connector \"LD AP\": name",
        ),
        (
            "url = \"ldap://127.0.0.1:389\"",
            "url = \"http://x\"",
            "connector \"LDAP\": ldap.url",
        ),
        (
            "url = \"ldap://127.0.0.1:389\"",
            "url = \"ldaps://x\"\nstarttls = true",
            "ldap.starttls",
        ),
        (
            "base_dn = \"dc=x\"",
            "base_dn = \"x\"",
            "connector \"LDAP\": ldap.base_dn: \"x\" is not an LDAP distinguished name",
        ),
        (
            "object_class",
            "anchor = \"nsUniqueId\"\nobject_class",
            "anchor",
        ),
        (
            "treat_as_single_value = true }]",
            "treat_as_single_value = true }, { name = \"CN\" }]",
            "ldap.attributes[1]: \"CN\" is listed twice",
        ),
        (
            "treat_as_single_value = true }]",
            "type = \"dateTime\" }]",
            "ldap.attributes[0]: type \"dateTime\" is not supported",
        ),
        (
            "token = { env = \"T\" }",
            "token = \"inline-secret-value\"",
            "never written inline",
        ),
        (
            "token = { env = \"T\" }",
            "token = { env = \"T\", file = \"f\" }",
            "not both",
        ),
        (
            "[connector.ldap]",
            "tokn = 1\n[connector.ldap]",
            "unknown field `tokn`",
        ),
        (
            "[connector.ldap]",
            "[connector.deprovisioning]\ndisable_flow = \"disable\"\n[connector.ldap]",
            "\"delete\", \"none\" or",
        ),
        (
            "[connector.ldap]",
            "[connector.deprovisioning]\ndisable_flow = { set_attribute = \"cn\", value = true }\n[connector.ldap]",
            "deprovisioning.disable_flow: \"cn\" is a selected attribute",
        ),
    ] {
        assert!(GOOD.contains(from), "{from}");
        let text = GOOD.replacen(from, to, 1);
        let e = error(&text);
        assert!(e.contains(expected), "expected {expected:?} in: {e}");
    }
}

#[test]
fn short_tokens_and_missing_secrets_are_configuration_errors() {
    let mut config = Config::parse(GOOD).unwrap();
    config.connectors[0].ldap.as_mut().unwrap().bind_password =
        SecretSource::Inline(Secret::new("pw"));
    config.connectors[0].token = SecretSource::Inline(Secret::new("elevenchars"));
    let e = Host::new(config.clone(), std::path::Path::new("."))
        .err()
        .unwrap();
    assert!(matches!(e, ConfigError::Invalid { .. }));
    assert_eq!(
        e.to_string(),
        "connector \"LDAP\": token: the secret token has 11 characters; ECMA hosts require at least 12"
    );
    config.connectors[0].token = SecretSource::Env("ECMACERT_SURELY_UNSET_VARIABLE".into());
    let e = Host::new(config.clone(), std::path::Path::new("."))
        .err()
        .unwrap();
    assert_eq!(
        e.to_string(),
        "connector \"LDAP\": token: environment variable ECMACERT_SURELY_UNSET_VARIABLE is not set"
    );
    config.connectors[0].token = SecretSource::File("no/such/file".into());
    let e = Host::new(config, std::path::Path::new("/nonexistent"))
        .err()
        .unwrap();
    assert!(
        e.to_string()
            .starts_with("connector \"LDAP\": token: cannot read /nonexistent/no/such/file"),
        "{e}"
    );
}
