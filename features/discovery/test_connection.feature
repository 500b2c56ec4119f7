Feature: Test connection
  Entra's Test Connection, and the dummy-user query at the start of every provisioning cycle,
  look up a user that cannot exist: a random GUID on the first matching attribute. The only
  right answer is 200 with an empty ListResponse; a 404 quarantines the provisioning job.

  @req:ECMA-MATCH-001 @req:ECMA-MATCH-006 @req:ECMA-AUTH-003 @must
  Scenario: Test connection on the matching attribute finds nobody
    When the provisioning service tests the connection
    Then the host answers 200 with an empty list

  @req:ECMA-MATCH-002 @must
  Scenario: Test connection before any attribute is mapped finds nobody
    When the provisioning service tests the connection before any attribute is mapped
    Then the host answers 200 with an empty list

  @req:ECMA-ROBUST-016 @must
  Scenario Outline: Test connection through a path with <form> finds nobody
    A tenant URL entered with a trailing "/" makes Entra send "…/scim//Users"; a 404 there
    quarantines the job.
    When the provisioning service tests the connection through a path with <form>
    Then the host answers 200 with an empty list

    Examples:
      | form              |
      | a trailing slash  |
      | a doubled slash   |
