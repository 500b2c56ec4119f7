-- ecmacert: the users' table of the SQL profiles on MariaDB/MySQL (see postgres-table.sql).
-- ecmacert runs this in a fresh database per run; utf8mb4 so that characters outside the BMP
-- are stored as given; statements are separated by "-- go" lines. RowVersion counts the
-- writes to a row (a trigger raises it on every UPDATE, even one that changes no value), so
-- the suite sees a host that rewrites what it was told not to change; PostgreSQL has xmin.
CREATE TABLE Employees (
    ContosoLogin  VARCHAR(64)  NOT NULL PRIMARY KEY,
    AzureID       VARCHAR(64),
    FirstName     VARCHAR(64),
    LastName      VARCHAR(64)  NOT NULL,
    Email         VARCHAR(128) UNIQUE,
    DisplayName   VARCHAR(64),
    Notes         VARCHAR(256),
    isSoftDeleted BOOLEAN      NOT NULL DEFAULT FALSE,
    RowVersion    INTEGER      NOT NULL DEFAULT 0
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
-- go
CREATE TRIGGER Employees_RowVersion BEFORE UPDATE ON Employees FOR EACH ROW
    SET NEW.RowVersion = OLD.RowVersion + 1
