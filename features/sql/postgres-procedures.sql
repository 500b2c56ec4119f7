-- ecmacert: the stored procedures of the SQL procedure profiles, run after the table script
-- (postgres-table.sql) in the same schema; statements are separated by "-- go" lines.
-- The procedures record each call here, so the suite can tell that the host called them
-- rather than writing the table itself.
CREATE TABLE EcmaCalls (
    Seq          BIGSERIAL PRIMARY KEY,
    Operation    VARCHAR(16) NOT NULL,
    ContosoLogin VARCHAR(64) NOT NULL
)
-- go
-- The add, update and delete stored procedures of the Generic SQL connector's "Stored
-- Procedure" method, as PostgreSQL functions (the read procedure is postgres-read-page.sql);
-- they return the number of rows they touched.
CREATE FUNCTION ecma_add_user(p_login TEXT, p_azure_id TEXT, p_first TEXT, p_last TEXT,
                              p_email TEXT, p_display TEXT, p_deleted BOOLEAN) RETURNS BIGINT
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO Employees (ContosoLogin, AzureID, FirstName, LastName, Email, DisplayName, isSoftDeleted)
    VALUES (p_login, p_azure_id, p_first, p_last, p_email, p_display, COALESCE(p_deleted, FALSE));
    INSERT INTO EcmaCalls (Operation, ContosoLogin) VALUES ('add', p_login);
    RETURN 1;
END
$$
-- go
CREATE FUNCTION ecma_update_user(p_login TEXT, p_azure_id TEXT, p_first TEXT, p_last TEXT,
                                 p_email TEXT, p_display TEXT, p_deleted BOOLEAN) RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE touched BIGINT;
BEGIN
    UPDATE Employees SET AzureID = p_azure_id, FirstName = p_first, LastName = p_last,
        Email = p_email, DisplayName = p_display, isSoftDeleted = COALESCE(p_deleted, FALSE)
    WHERE ContosoLogin = p_login;
    GET DIAGNOSTICS touched = ROW_COUNT;
    INSERT INTO EcmaCalls (Operation, ContosoLogin) VALUES ('update', p_login);
    RETURN touched;
END
$$
-- go
CREATE FUNCTION ecma_delete_user(p_login TEXT) RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE touched BIGINT;
BEGIN
    DELETE FROM Employees WHERE ContosoLogin = p_login;
    GET DIAGNOSTICS touched = ROW_COUNT;
    INSERT INTO EcmaCalls (Operation, ContosoLogin) VALUES ('delete', p_login);
    RETURN touched;
END
$$
