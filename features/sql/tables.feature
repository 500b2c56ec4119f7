@sql
Feature: SQL tables
  What the Generic SQL connector does that a directory does not: the anchor is a column the
  provisioning service fills, the DN is made up from it, columns have lengths and NULLs, a
  boolean column marks soft-deleted rows, and stored procedures may stand between the host and
  the table. Rows are read back directly, never through the host.

  @req:ECMA-SQL-003 @req:ECMA-SQL-002 @req:ECMA-SQL-001 @must
  Scenario: A user is created without -dn- and found by its anchor
    When the provisioning service creates user "nodn"
    Then the host answers 201 Created with an id
    And the target holds exactly one user "nodn"
    And the target holds user "nodn" with every attribute the request carried
    When the provisioning service reads user "nodn" by id
    Then the host answers 200 with user "nodn"
    And the host returns user "nodn" with every attribute the request carried

  @req:ECMA-SQL-004 @requires:length-limit @must
  Scenario: A value longer than its column is refused and no row is written
    When the provisioning service creates user "toolong" with a value one character too long
    Then the host answers 400 invalidValue
    And the target holds no user "toolong"

  @req:ECMA-SQL-004 @req:ECMA-ERR-004 @requires:length-limit @must
  Scenario: An update longer than its column is refused and changes nothing
    Given the provisioning service has created user "stretch"
    When the provisioning service updates user "stretch" with a value one character too long
    Then the host answers 400 invalidValue
    And the target is unchanged

  @req:ECMA-SQL-002 @requires:unmapped-column @must
  Scenario: A column the host does not map stays NULL, and keeps what others write there
    When the provisioning service creates user "partial"
    Then the host answers 201 Created with an id
    And the target holds user "partial" with nothing in the unmapped column
    Given the unmapped column of user "partial" was set to "written by payroll" out of band
    When the provisioning service updates every mapped attribute of user "partial"
    Then the host answers 200 or 204
    And the target holds user "partial" with "written by payroll" in the unmapped column

  @req:ECMA-SQL-005 @requires:disable-flow-set-attribute @must
  Scenario: A soft-deleted row is kept, still matched, and shown inactive
    Given the provisioning service has created user "soft"
    When the provisioning service disables user "soft"
    Then the host answers 200 or 204
    And the target holds user "soft" marked disabled
    And matching user "soft" on mail finds it
    When the provisioning service reads user "soft" by id
    Then the host answers 200 with user "soft" inactive

  @req:ECMA-SQL-007 @must
  Scenario: SQL metacharacters are stored and matched literally
    When the provisioning service creates user "meta" with:
      | displayName | O'Brien"; DROP TABLE Employees; -- 100% _x_ |
    Then the host answers 201 Created with an id
    And the target holds user "meta" with:
      | displayName | O'Brien"; DROP TABLE Employees; -- 100% _x_ |
    And matching user "meta" on mail finds it

  @req:ECMA-SQL-006 @requires:procedures @may
  Scenario: Creates, updates and deletes go through the stored procedures
    When the provisioning service creates user "proc"
    Then the host answers 201 Created with an id
    When the provisioning service updates user "proc" with:
      | surname | Prozedur |
    Then the host answers 200 or 204
    When the provisioning service deletes user "proc"
    Then the host answers 204 with no body
    And the procedure log for user "proc" reads add, update, delete

  @req:ECMA-IMPORT-012 @requires:paging-fault @requires:import-hook @requires:import-answer @serial @must
  Scenario: A read procedure that ignores its page bounds stops the import, and the connector space is kept
    Given the provisioning service has created user "paged"
    And the host wrote user "paged" through the stored procedures
    And the read procedure was replaced out of band by one that ignores its page bounds
    When the host is asked to import its target
    Then the import fails with a server error that names "ecma_read_users"
    When the provisioning service reads user "paged" by id
    Then the host answers 200 with user "paged"
    And matching user "paged" on mail finds it

  @req:ECMA-ERR-014 @req:ECMA-ERR-004 @requires:row-locks @must
  Scenario: An update that waits for another session's row lock lands only if the host says it did
    Given the provisioning service has created user "locked"
    When the provisioning service updates user "locked" while another session holds its row lock, with:
      | surname | Locked-Out |
    Then the target holds what the host answered for user "locked"
