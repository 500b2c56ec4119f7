-- ecmacert: the stored procedures of the SQL procedure profiles, run after the table script
-- (mariadb-table.sql) in the same schema; statements are separated by "-- go" lines.
-- The procedures record each call here, so the suite can tell that the host called them
-- rather than writing the table itself.
CREATE TABLE EcmaCalls (
    Seq          BIGINT AUTO_INCREMENT PRIMARY KEY,
    Operation    VARCHAR(16) NOT NULL,
    ContosoLogin VARCHAR(64) NOT NULL
)
-- go
-- The add, update and delete stored procedures of the Generic SQL connector's "Stored
-- Procedure" method (the read procedure is mariadb-read-page.sql).
CREATE PROCEDURE ecma_add_user(IN p_login VARCHAR(255), IN p_azure_id VARCHAR(255),
    IN p_first VARCHAR(255), IN p_last VARCHAR(255), IN p_email VARCHAR(255),
    IN p_display VARCHAR(255), IN p_deleted BOOLEAN)
BEGIN
    INSERT INTO Employees (ContosoLogin, AzureID, FirstName, LastName, Email, DisplayName, isSoftDeleted)
    VALUES (p_login, p_azure_id, p_first, p_last, p_email, p_display, COALESCE(p_deleted, FALSE));
    INSERT INTO EcmaCalls (Operation, ContosoLogin) VALUES ('add', p_login);
END
-- go
CREATE PROCEDURE ecma_update_user(IN p_login VARCHAR(255), IN p_azure_id VARCHAR(255),
    IN p_first VARCHAR(255), IN p_last VARCHAR(255), IN p_email VARCHAR(255),
    IN p_display VARCHAR(255), IN p_deleted BOOLEAN)
BEGIN
    UPDATE Employees SET AzureID = p_azure_id, FirstName = p_first, LastName = p_last,
        Email = p_email, DisplayName = p_display, isSoftDeleted = COALESCE(p_deleted, FALSE)
    WHERE ContosoLogin = p_login;
    INSERT INTO EcmaCalls (Operation, ContosoLogin) VALUES ('update', p_login);
END
-- go
CREATE PROCEDURE ecma_delete_user(IN p_login VARCHAR(255))
BEGIN
    DELETE FROM Employees WHERE ContosoLogin = p_login;
    INSERT INTO EcmaCalls (Operation, ContosoLogin) VALUES ('delete', p_login);
END
