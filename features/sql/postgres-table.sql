-- ecmacert: the users' table of the SQL profiles on PostgreSQL, after the Employees table of
-- Microsoft's Generic SQL walkthrough. ecmacert runs this in a fresh schema per run (the URL's
-- search_path); statements are separated by "-- go" lines.
-- The anchor is ContosoLogin (from userPrincipalName); Notes is a column no connector selects,
-- to show that the host leaves what it does not own alone.
CREATE TABLE Employees (
    ContosoLogin  VARCHAR(64)  NOT NULL PRIMARY KEY,
    AzureID       VARCHAR(64),
    FirstName     VARCHAR(64),
    LastName      VARCHAR(64)  NOT NULL,
    Email         VARCHAR(128) UNIQUE,
    DisplayName   VARCHAR(64),
    Notes         VARCHAR(256),
    isSoftDeleted BOOLEAN      NOT NULL DEFAULT FALSE
)
