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

# ensure_389ds: Debian's 389 Directory Server (389-ds-base), the second real directory.
ensure_389ds() {
  if [ -x /usr/sbin/ns-slapd ] && command -v dscreate >/dev/null 2>&1; then
    return 0
  fi
  say "installing 389-ds-base (apt-get)…"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq 389-ds-base >/dev/null
  if [ ! -x /usr/sbin/ns-slapd ]; then
    say "389-ds-base is still missing after apt-get install"
    return 1
  fi
}

# start_389ds DIR NAME PORT ROOTPW: a throwaway 389 DS instance NAME for dc=contoso,dc=lab (root
# DN cn=Directory Manager) on 127.0.0.1:PORT, made with dscreate. dscreate starts the instance
# with `systemctl start dirsrv@NAME`, and these machines have no init system: a stand-in
# systemctl (start, stop, is-active; nothing else) goes first on PATH for that call. DIR keeps
# the stand-in and the .inf file; the instance lives in /etc/dirsrv/slapd-NAME and
# /var/lib/dirsrv/slapd-NAME until stop_389ds NAME removes it. Needs root.
start_389ds() {
  local dir=$1 name=$2 port=$3 rootpw=$4
  mkdir -p "$dir/bin"
  cat >"$dir/bin/systemctl" <<'SH'
#!/bin/sh
unit=$2; name=${unit#dirsrv@}; name=${name%.service}
pidfile=/run/dirsrv/slapd-$name.pid
case "$1" in
  start)
    mkdir -p /run/dirsrv "/run/lock/dirsrv/slapd-$name"
    chown dirsrv:dirsrv /run/dirsrv /run/lock/dirsrv "/run/lock/dirsrv/slapd-$name" 2>/dev/null
    /usr/sbin/ns-slapd -D "/etc/dirsrv/slapd-$name" -i "$pidfile"
    i=0; while [ ! -s "$pidfile" ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done ;;
  stop)
    if [ -s "$pidfile" ]; then
      pid=$(cat "$pidfile"); kill "$pid" 2>/dev/null
      i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done
    fi ;;
  is-active) [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null ;;
  *) exit 0 ;;
esac
SH
  chmod +x "$dir/bin/systemctl"
  cat >"$dir/instance.inf" <<INF
[general]
full_machine_name = localhost
start = True
strict_host_checking = False
[slapd]
instance_name = $name
port = $port
secure_port = $((port + 1000))
root_password = $rootpw
self_sign_cert = False
[backend-userroot]
suffix = dc=contoso,dc=lab
sample_entries = no
create_suffix_entry = True
INF
  chmod 600 "$dir/instance.inf"
  PATH="$dir/bin:$PATH" dscreate from-file "$dir/instance.inf" >"$dir/dscreate.log" 2>&1 || {
    say "dscreate failed:"; cat "$dir/dscreate.log" >&2; return 1; }
  rm -f "$dir/instance.inf"
}

# stop_389ds NAME: stops and removes the instance start_389ds made.
stop_389ds() {
  local name=$1 pidfile=/run/dirsrv/slapd-$1.pid
  if [ -s "$pidfile" ]; then
    kill "$(cat "$pidfile")" 2>/dev/null || true
    local i; for i in $(seq 1 100); do kill -0 "$(cat "$pidfile" 2>/dev/null || echo 0)" 2>/dev/null || break; sleep 0.1; done
  fi
  dsctl "$name" remove --do-it >/dev/null 2>&1 || true
}
