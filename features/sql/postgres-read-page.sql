-- ecmacert: the read procedure of the SQL procedure profiles on PostgreSQL, run after
-- postgres-procedures.sql; the procedure-paging scenario runs it again to put the right one back
-- after postgres-unpaged-read.sql. It takes 1-based @StartIndex/@EndIndex, ordered by the anchor.
CREATE OR REPLACE FUNCTION ecma_read_users(start_index BIGINT, end_index BIGINT) RETURNS SETOF Employees
LANGUAGE sql STABLE AS $$
    SELECT * FROM Employees ORDER BY ContosoLogin
    OFFSET start_index - 1 LIMIT end_index - start_index + 1
$$
