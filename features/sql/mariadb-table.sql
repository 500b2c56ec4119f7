-- ecmacert: the users' table of the SQL profiles on MariaDB/MySQL (see postgres-table.sql).
-- ecmacert runs this in a fresh database per run; utf8mb4 so that characters outside the BMP
-- are stored as given; statements are separated by "-- go" lines.
CREATE TABLE Employees (
    ContosoLogin  VARCHAR(64)  NOT NULL PRIMARY KEY,
    AzureID       VARCHAR(64),
    FirstName     VARCHAR(64),
    LastName      VARCHAR(64)  NOT NULL,
    Email         VARCHAR(128) UNIQUE,
    DisplayName   VARCHAR(64),
    Notes         VARCHAR(256),
    isSoftDeleted BOOLEAN      NOT NULL DEFAULT FALSE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
