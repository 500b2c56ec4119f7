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
