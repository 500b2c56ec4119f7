-- ecmacert: the read procedure of the SQL procedure profiles on MariaDB, run after
-- mariadb-procedures.sql; the procedure-paging scenario runs it again to put the right one back
-- after mariadb-unpaged-read.sql. It takes 1-based @StartIndex/@EndIndex, ordered by the
-- anchor, and returns booleans as 0/1 (the driver cannot read a BOOLEAN through a CALL).
DROP PROCEDURE IF EXISTS ecma_read_users
-- go
CREATE PROCEDURE ecma_read_users(IN start_index BIGINT, IN end_index BIGINT)
BEGIN
    DECLARE skipped BIGINT DEFAULT start_index - 1;
    DECLARE wanted BIGINT DEFAULT end_index - start_index + 1;
    SELECT ContosoLogin, AzureID, FirstName, LastName, Email, DisplayName,
           CAST(isSoftDeleted AS SIGNED) AS isSoftDeleted
    FROM Employees ORDER BY ContosoLogin LIMIT skipped, wanted;
END
