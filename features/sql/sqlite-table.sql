-- ecmacert: the users' table of the SQL profiles on SQLite (see postgres-table.sql). SQLite
-- does not enforce VARCHAR lengths, so CHECK constraints do; statements are separated by
-- "-- go" lines. RowVersion counts the writes to a row (see mariadb-table.sql).
CREATE TABLE Employees (
    ContosoLogin  VARCHAR(64)  NOT NULL PRIMARY KEY CHECK (length(ContosoLogin) <= 64),
    AzureID       VARCHAR(64)  CHECK (length(AzureID) <= 64),
    FirstName     VARCHAR(64)  CHECK (length(FirstName) <= 64),
    LastName      VARCHAR(64)  NOT NULL CHECK (length(LastName) <= 64),
    Email         VARCHAR(128) UNIQUE CHECK (length(Email) <= 128),
    DisplayName   VARCHAR(64)  CHECK (length(DisplayName) <= 64),
    Notes         VARCHAR(256),
    isSoftDeleted BOOLEAN      NOT NULL DEFAULT FALSE CHECK (isSoftDeleted IN (0, 1)),
    RowVersion    INTEGER      NOT NULL DEFAULT 0
)
-- go
CREATE TRIGGER Employees_RowVersion AFTER UPDATE ON Employees FOR EACH ROW
BEGIN
    UPDATE Employees SET RowVersion = OLD.RowVersion + 1 WHERE rowid = NEW.rowid;
END
