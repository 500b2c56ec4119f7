#!/usr/bin/env python3
"""ecma-host's script connector over an SQLite table: the example program of the contract in
reference-host/src/connector/script.rs (one run per operation, a JSON request on standard input,
a JSON answer on standard output; exit 0 with the answer, exit 3 with {"error": …} when the whole
operation failed).

    script-sqlite.py DATABASE TABLE ANCHOR

DATABASE is the SQLite file (relative to the working directory: the host's configuration file's
directory), TABLE the users' table, ANCHOR its anchor column (given on create, never changed).
Every value is a bound parameter; table and column names come from the table's own catalogue
(PRAGMA table_info) and are quoted, so nothing in a request reaches SQL as text.

With ECMA_SCRIPT_SESSION=1 in its environment (the host's session mode) it answers one request
per line until end of file, keeping the database open between them.

Only Python's standard library is used (json, os, sqlite3, sys).
"""

import json
import os
import sqlite3
import sys

EXIT_OPERATION_FAILED = 3


class Failure(Exception):
    """A classified failure: kind is one of the contract's error kinds."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind
        self.message = message


def quote(name):
    return '"' + name.replace('"', '""') + '"'


def classify(e, what):
    """sqlite3's exception (by class and SQLite's extended error code) as a contract failure."""
    code = getattr(e, "sqlite_errorcode", None)
    text = "%s: %s" % (what, e)
    if isinstance(e, sqlite3.IntegrityError):
        # SQLITE_CONSTRAINT_UNIQUE (2067) and _PRIMARYKEY (1555): the value is taken.
        if code in (2067, 1555):
            return Failure("alreadyExists", text)
        return Failure("rejected", text)
    if isinstance(e, sqlite3.OperationalError) and code is not None and code & 0xFF in (5, 6):
        # SQLITE_BUSY, SQLITE_LOCKED: another writer holds the database.
        return Failure("unavailable", text)
    if isinstance(e, (sqlite3.DataError, sqlite3.ProgrammingError)):
        return Failure("rejected", text)
    return Failure("unavailable", text)


class Table:
    def __init__(self, database, table, anchor):
        # mode=rw: a missing file is an error, never a new empty database (an import of it
        # would tell the host every user is gone).
        uri = "file:%s?mode=rw" % (
            database.replace("%", "%25").replace("?", "%3f").replace("#", "%23")
        )
        try:
            self.db = sqlite3.connect(uri, uri=True, timeout=10, isolation_level=None)
        except sqlite3.OperationalError as e:
            raise Failure("unavailable", "the database %s cannot be opened: %s" % (database, e))
        rows = self.db.execute("PRAGMA table_info(%s)" % quote(table)).fetchall()
        if not rows:
            raise Failure("refused", "the table %s does not exist in %s" % (table, database))
        # name (lower case) -> (name, declared type)
        self.columns = {r[1].lower(): (r[1], (r[2] or "").upper()) for r in rows}
        if anchor.lower() not in self.columns:
            raise Failure("refused", "the table %s has no column %s" % (table, anchor))
        self.table = quote(table)
        self.anchor = self.columns[anchor.lower()][0]

    def column(self, name):
        found = self.columns.get(name.lower())
        if found is None:
            raise Failure("rejected", "the table has no column %s" % name)
        return found[0]

    def kind(self, name):
        declared = self.columns[name.lower()][1]
        if declared.startswith("BOOL"):
            return "boolean"
        if declared.startswith("INT"):
            return "integer"
        return "string"

    def value_in(self, name, value):
        if isinstance(value, list):
            if len(value) > 1:
                raise Failure("rejected", "%s holds one value; %d were given" % (name, len(value)))
            value = value[0] if value else None
        if isinstance(value, str) and "\0" in value:
            raise Failure("rejected", "%s: a NUL character cannot be stored" % name)
        return value

    def object(self, row, names):
        attributes = {}
        for name, value in zip(names, row):
            if value is not None and self.kind(name) == "boolean":
                value = bool(value)
            attributes[name] = value
        return {"anchor": attributes[self.anchor], "attributes": attributes}

    def select(self, where, params, tail=""):
        names = [c[0] for c in self.columns.values()]
        sql = "SELECT %s FROM %s %s %s" % (
            ", ".join(quote(n) for n in names), self.table, where, tail)
        return [self.object(r, names) for r in self.db.execute(sql, params).fetchall()]

    def read(self, anchor):
        found = self.select("WHERE %s = ?" % quote(self.anchor), (anchor,))
        return found[0] if found else None

    def add(self, change):
        names, values = [], []
        for name, value in change["attributes"].items():
            value = self.value_in(name, value)
            if value is not None:
                names.append(quote(self.column(name)))
                values.append(value)
        sql = "INSERT INTO %s (%s) VALUES (%s)" % (
            self.table, ", ".join(names), ", ".join("?" for _ in names))
        self.db.execute(sql, values)
        return self.read(change["anchor"])

    def update(self, change):
        sets, values = [], []
        for name, value in change["changes"].items():
            sets.append("%s = ?" % quote(self.column(name)))
            values.append(self.value_in(name, value))
        if sets:
            sql = "UPDATE %s SET %s WHERE %s = ?" % (self.table, ", ".join(sets), quote(self.anchor))
            done = self.db.execute(sql, values + [change["anchor"]]).rowcount
        else:
            done = 1 if self.read(change["anchor"]) else 0
        if done == 0:
            raise Failure("noSuchObject", "no row has %s = %s" % (self.anchor, change["anchor"]))
        return self.read(change["anchor"])

    def delete(self, change):
        sql = "DELETE FROM %s WHERE %s = ?" % (self.table, quote(self.anchor))
        if self.db.execute(sql, (change["anchor"],)).rowcount == 0:
            raise Failure("noSuchObject", "no row has %s = %s" % (self.anchor, change["anchor"]))
        return None

    def export(self, change):
        """One change, whole or not at all: its own transaction."""
        kind = change.get("type")
        apply = {"add": self.add, "update": self.update, "delete": self.delete}.get(kind)
        if apply is None:
            raise Failure("rejected", "unknown change type %r" % kind)
        self.db.execute("BEGIN IMMEDIATE")
        try:
            done = apply(change)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        return {"object": done} if done is not None else {}


def answer(request, table):
    operation = request.get("operation")
    if operation == "schema":
        return {"attributes": [{"name": n, "type": table.kind(n)} for n, _ in table.columns.values()]}
    if operation == "import":
        size = int(request["pageSize"])
        cursor = request.get("cursor")
        where, params = ("WHERE %s > ?" % quote(table.anchor), (cursor,)) if cursor else ("", ())
        page = table.select(where, params, "ORDER BY %s LIMIT %d" % (quote(table.anchor), size))
        return {"objects": page, "cursor": page[-1]["anchor"] if len(page) == size else None}
    if operation == "read":
        return {"object": table.read(request["anchor"])}
    if operation == "export":
        results = []
        for change in request["changes"]:
            try:
                results.append(table.export(change))
            except sqlite3.Error as e:
                f = classify(e, change.get("type", "change"))
                results.append({"error": {"kind": f.kind, "message": f.message}})
            except Failure as f:
                results.append({"error": {"kind": f.kind, "message": f.message}})
        return {"results": results}
    raise Failure("rejected", "unknown operation %r" % operation)


def failed(f):
    return {"error": {"kind": f.kind, "message": f.message}}


def session(arguments):
    """Session mode: one request per line on standard input, one answer line each, until end
    of file. The table is opened once (again after a request that could not open it)."""
    table = None
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            if table is None:
                table = Table(*arguments)
            result = answer(request, table)
        except Failure as f:
            result = failed(f)
        except sqlite3.Error as e:
            result = failed(classify(e, "the operation"))
        except ValueError as e:
            result = failed(Failure("rejected", "the request is not JSON: %s" % e))
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    return 0


def main():
    if len(sys.argv) != 4:
        print("usage: script-sqlite.py DATABASE TABLE ANCHOR", file=sys.stderr)
        return 2
    if os.environ.get("ECMA_SCRIPT_SESSION") == "1":
        return session(sys.argv[1:])
    try:
        request = json.load(sys.stdin)
        result = answer(request, Table(*sys.argv[1:]))
    except Failure as f:
        json.dump({"error": {"kind": f.kind, "message": f.message}}, sys.stdout)
        return EXIT_OPERATION_FAILED
    except sqlite3.Error as e:
        f = classify(e, "the operation")
        json.dump({"error": {"kind": f.kind, "message": f.message}}, sys.stdout)
        return EXIT_OPERATION_FAILED
    json.dump(result, sys.stdout, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
