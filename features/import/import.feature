Feature: Import
  An ECMA host answers from its connector space, filled by a full import of the target at start
  and on every autosync. Objects created or removed in the target out of band show up after the
  next import. These scenarios need a way to make the host import now (host.import).

  @req:ECMA-IMPORT-003 @req:ECMA-IMPORT-011 @requires:import-hook @must
  Scenario: A user created in the target out of band is found after an import
    Given user "seeded" was created in the target out of band
    When the host imports its target
    And the provisioning service matches user "seeded" on mail
    Then the host answers 200 with exactly one user, "seeded"

  @req:ECMA-IMPORT-004 @requires:import-hook @must
  Scenario: A user deleted in the target out of band is gone after an import
    Given the provisioning service has created user "vanishing"
    And user "vanishing" was deleted in the target out of band
    When the host imports its target
    And the provisioning service reads user "vanishing" by id
    Then the host answers 404 with a SCIM error
