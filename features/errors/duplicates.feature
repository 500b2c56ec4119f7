Feature: Duplicates
  A POST for a user that already exists — a replay after a lost response, or an object created
  out of band — answers 409 uniqueness, and the target still holds exactly one.

  @req:ECMA-ANCHOR-007 @req:ECMA-ROBUST-001 @must
  Scenario: Creating the same user twice gives 409 and one user
    Given the provisioning service has created user "twice"
    When the provisioning service creates user "twice" again
    Then the host answers 409 uniqueness
    And the target holds exactly one user "twice"
    And the target is unchanged

  @req:ECMA-ANCHOR-008 @must
  Scenario: A user created out of band is a duplicate too
    Given user "oob" was created in the target out of band
    When the provisioning service creates user "oob"
    Then the host answers 409 uniqueness
    And the target is unchanged

  @req:ECMA-ERR-015 @req:ECMA-ERR-004 @requires:unique-value @must
  Scenario: A value the target keeps unique, already another user's, is 409 uniqueness
    AD LDS keeps userPrincipalName unique in a partition; a SQL table may have a UNIQUE column.
    Entra answers 409 uniqueness by matching and linking, never by retrying the same create.
    Given the provisioning service has created user "holder"
    When the provisioning service creates user "second" with the unique value of user "holder"
    Then the host answers 409 uniqueness
    And the target holds no user "second"

  @req:ECMA-ROBUST-005 @must
  Scenario: The same user created eight times at once is created once
    Entra retries a create whose answer it lost while the first may still be in flight. A
    create answered 5xx is sent again, as Entra does; when that retry is answered 409, the first
    attempt landed behind the 503, and the user Entra's matching query then finds stands for
    the 201.
    When the provisioning service creates user "racer" 8 times at once
    Then exactly one of the creates is answered 201 and the others 409
    And the target holds user "racer"
