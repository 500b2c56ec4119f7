-- ecmacert: the typed users' table of the postgres-types profile: the column types a Generic SQL
-- user meets besides text and boolean — a CHAR anchor (bpchar), the Entra object id in a uuid
-- (Microsoft's SQL tutorial keeps it in a uniqueidentifier), a timestamp with time zone, an
-- integer, a numeric, and a SMALLINT soft-delete flag. A host that reads and writes everything
-- as text, or binds a boolean into the flag, fails here.
CREATE TABLE Staff (
    Login      CHAR(64)      NOT NULL PRIMARY KEY,
    AzureID    UUID,
    FirstName  VARCHAR(64),
    LastName   VARCHAR(64)   NOT NULL,
    Email      VARCHAR(128)  UNIQUE,
    DisplayName VARCHAR(64),
    Hired      TIMESTAMP WITH TIME ZONE,
    Badge      INTEGER,
    Salary     NUMERIC(10,2),
    Notes      VARCHAR(256),
    Deleted    SMALLINT      NOT NULL DEFAULT 0
)
