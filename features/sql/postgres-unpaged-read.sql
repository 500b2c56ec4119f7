-- ecmacert: a deliberately wrong read procedure for the procedure-paging scenario. It replaces
-- ecma_read_users (postgres-read-page.sql) with one that ignores what @StartIndex and @EndIndex
-- mean: every page it is asked for is full, and holds the first row again and again, so a
-- host that trusts it never reaches the end, whatever its page size. A host must stop the
-- import with a 5xx that names the procedure and keep its previous connector space.
CREATE OR REPLACE FUNCTION ecma_read_users(start_index BIGINT, end_index BIGINT)
RETURNS SETOF Employees LANGUAGE sql STABLE AS $$
    SELECT first.* FROM (SELECT * FROM Employees ORDER BY ContosoLogin LIMIT 1) AS first
    CROSS JOIN generate_series(start_index, end_index)
$$
