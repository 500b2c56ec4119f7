-- ecmacert: a deliberately wrong read procedure for the procedure-paging scenario. It replaces
-- ecma_read_users (postgres-procedures.sql) with one that ignores @StartIndex and @EndIndex and
-- returns every row for every page. A host must stop the import with a 5xx that names the
-- procedure and keep its previous connector space; one that trusts the procedure never ends.
CREATE OR REPLACE FUNCTION ecma_read_users(start_index BIGINT, end_index BIGINT)
RETURNS SETOF Employees LANGUAGE sql STABLE AS $$
    SELECT * FROM Employees ORDER BY ContosoLogin
$$
