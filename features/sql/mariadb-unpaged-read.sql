-- ecmacert: a deliberately wrong read procedure for the procedure-paging scenario. It replaces
-- ecma_read_users (mariadb-read-page.sql) with one that ignores what @StartIndex and @EndIndex
-- mean: every page it is asked for is full, and holds the first row again and again, so a
-- host that trusts it never reaches the end, whatever its page size. A host must stop the
-- import with a 5xx that names the procedure and keep its previous connector space.
DROP PROCEDURE IF EXISTS ecma_read_users
-- go
CREATE PROCEDURE ecma_read_users(IN start_index BIGINT, IN end_index BIGINT)
BEGIN
    WITH RECURSIVE n (i) AS (
        SELECT start_index UNION ALL SELECT i + 1 FROM n WHERE i < end_index
    )
    SELECT first.ContosoLogin, first.AzureID, first.FirstName, first.LastName, first.Email,
           first.DisplayName, CAST(first.isSoftDeleted AS SIGNED) AS isSoftDeleted
    FROM (SELECT * FROM Employees ORDER BY ContosoLogin LIMIT 1) AS first CROSS JOIN n;
END
