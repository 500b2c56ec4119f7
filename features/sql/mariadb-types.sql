-- ecmacert: the typed users' table of the mariadb-types profile (see postgres-types.sql): a CHAR
-- anchor, a UUID column (MariaDB 10.7 and later), a DATETIME, an INT, a DECIMAL and a SMALLINT
-- soft-delete flag. RowVersion counts the writes to a row, as in mariadb-table.sql.
CREATE TABLE Staff (
    Login      CHAR(64)      NOT NULL PRIMARY KEY,
    AzureID    UUID,
    FirstName  VARCHAR(64),
    LastName   VARCHAR(64)   NOT NULL,
    Email      VARCHAR(128)  UNIQUE,
    DisplayName VARCHAR(64),
    Hired      DATETIME(6),
    Badge      INT,
    Salary     DECIMAL(10,2),
    Notes      VARCHAR(256),
    Deleted    SMALLINT      NOT NULL DEFAULT 0,
    RowVersion INTEGER       NOT NULL DEFAULT 0
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
-- go
CREATE TRIGGER Staff_RowVersion BEFORE UPDATE ON Staff FOR EACH ROW
    SET NEW.RowVersion = OLD.RowVersion + 1
