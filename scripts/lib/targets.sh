# Helpers shared by the project's scripts: install and start the real targets the tests and
# demos use. Source it; do not run it.

# Prints a line to stderr.
say() { printf '%s\n' "$*" >&2; }

# Runs apt-get as root, or through sudo.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs OpenLDAP's slapd and ldap-utils from Debian when slapd is missing. The package's own
# service start is refused on machines without an init system; that is expected: tests and
# scripts start their own slapd in a temporary directory.
ensure_slapd() {
  if [ -x /usr/sbin/slapd ] && command -v ldapadd >/dev/null 2>&1; then
    return 0
  fi
  say "installing slapd and ldap-utils (apt-get)…"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slapd ldap-utils >/dev/null
  if [ ! -x /usr/sbin/slapd ]; then
    say "slapd is still missing after apt-get install; the LDAP tests cannot run"
    return 1
  fi
}

# ensure_chromium: Debian's Chromium, which the HTML report's test renders the page in.
ensure_chromium() {
  if command -v chromium >/dev/null 2>&1; then
    return 0
  fi
  say "installing chromium (apt-get)…"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  if ! command -v chromium >/dev/null 2>&1; then
    say "chromium is still missing after apt-get install; the HTML report's test cannot run"
    return 1
  fi
}

# start_slapd DIR PORT ROOTPW [LINES]: a throwaway slapd for dc=contoso,dc=lab (root DN
# cn=admin,dc=contoso,dc=lab) with ecmacert's test schema, listening on 127.0.0.1:PORT. Its pid
# is in DIR/slapd.pid. LINES (optional) are added to the database's section of slapd.conf
# (`dbnosync`, `index mail eq`, a larger `maxsize`).
start_slapd() {
  local dir=$1 port=$2 rootpw=$3 extra=${4:-} here
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  mkdir -p "$dir/data"
  cat >"$dir/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
include $here/ldap/ecmacert.schema
pidfile $dir/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 268435456
suffix "dc=contoso,dc=lab"
rootdn "cn=admin,dc=contoso,dc=lab"
rootpw $rootpw
directory $dir/data
index objectClass eq
$extra
CONF
  chmod 600 "$dir/slapd.conf"
  /usr/sbin/slapd -f "$dir/slapd.conf" -h "ldap://127.0.0.1:$port/"
  local i
  for i in $(seq 1 100); do
    if ldapsearch -x -H "ldap://127.0.0.1:$port" -b "" -s base >/dev/null 2>&1; then break; fi
    sleep 0.1
  done
  ldapadd -x -H "ldap://127.0.0.1:$port" -D "cn=admin,dc=contoso,dc=lab" -y <(printf '%s' "$rootpw") >/dev/null <<LDIF
dn: dc=contoso,dc=lab
objectClass: dcObject
objectClass: organization
dc: contoso
o: Contoso
LDIF
}

# ensure_databases: PostgreSQL on 127.0.0.1:5432 and MariaDB on 127.0.0.1:3306 must run (every
# machine of this project starts them). When one does not answer, it is started the way
# README-services.md says; if it still does not answer, the SQL tests fail and say so.
ensure_databases() {
  if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    say "PostgreSQL is not answering on 127.0.0.1:5432; starting it…"
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
  if ! mariadb-admin --no-defaults -h 127.0.0.1 -P 3306 -u root ping >/dev/null 2>&1; then
    say "MariaDB is not answering on 127.0.0.1:3306; starting it…"
    as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
    for _ in $(seq 1 50); do
      mariadb-admin --no-defaults -h 127.0.0.1 -P 3306 -u root ping >/dev/null 2>&1 && break
      sleep 0.2
    done
  fi
}

# The SQL targets' databases, made afresh for the reference host's examples (SQL_PASSWORD must be
# set: the `ecma` account's password).
# fresh_postgres SCRIPT…: ecmacert_hr, owned by ecma, with the scripts run in it ("-- go"
# separators become semicolons).
fresh_postgres() {
  psql -q -h 127.0.0.1 -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c "DROP DATABASE IF EXISTS ecmacert_hr" \
    -c "DROP ROLE IF EXISTS ecma" \
    -c "CREATE ROLE ecma LOGIN PASSWORD '$SQL_PASSWORD'" \
    -c "CREATE DATABASE ecmacert_hr OWNER ecma" >/dev/null
  for script in "$@"; do sed 's/^-- go$/;/' "$script"; echo ';'; done |
    psql -q -h 127.0.0.1 -U ecma -d ecmacert_hr -v ON_ERROR_STOP=1 >/dev/null
}

# fresh_mariadb SCRIPT…: the same on MariaDB; "-- go" separators become the client's delimiter.
fresh_mariadb() {
  mariadb --no-defaults -h 127.0.0.1 -u root -e "
    DROP DATABASE IF EXISTS ecmacert_hr;
    DROP USER IF EXISTS 'ecma'@'127.0.0.1', 'ecma'@'localhost';
    CREATE DATABASE ecmacert_hr CHARACTER SET utf8mb4;
    CREATE USER 'ecma'@'127.0.0.1' IDENTIFIED BY '$SQL_PASSWORD';
    CREATE USER 'ecma'@'localhost' IDENTIFIED BY '$SQL_PASSWORD';
    GRANT ALL ON ecmacert_hr.* TO 'ecma'@'127.0.0.1', 'ecma'@'localhost';"
  { echo 'DELIMITER $$'; for script in "$@"; do sed 's/^-- go$/$$/' "$script"; echo '$$'; done; } |
    mariadb --no-defaults -h 127.0.0.1 -u ecma -p"$SQL_PASSWORD" ecmacert_hr
}
