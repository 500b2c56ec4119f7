-- ecmacert: a deliberately wrong read procedure for the procedure-paging scenario. It replaces
-- ecma_read_users (mariadb-procedures.sql) with one that ignores @StartIndex and @EndIndex and
-- returns every row for every page. A host must stop the import with a 5xx that names the
-- procedure and keep its previous connector space; one that trusts the procedure never ends.
DROP PROCEDURE ecma_read_users
-- go
CREATE PROCEDURE ecma_read_users(IN start_index BIGINT, IN end_index BIGINT)
BEGIN
    SELECT ContosoLogin, AzureID, FirstName, LastName, Email, DisplayName,
           CAST(isSoftDeleted AS SIGNED) AS isSoftDeleted
    FROM Employees ORDER BY ContosoLogin;
END
