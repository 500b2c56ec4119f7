Feature: Read
  After the create, Entra keeps the id the host returned and reads the user by it.

  @req:ECMA-READ-001 @req:ECMA-ANCHOR-001 @req:ECMA-ANCHOR-003 @must
  Scenario: A user is read back by the id the host returned
    Given the provisioning service has created user "reader"
    When the provisioning service reads user "reader" by id
    Then the host answers 200 with user "reader"
    And the answer equals the resource the host returned on create

  @req:ECMA-READ-002 @req:ECMA-ERR-004 @must
  Scenario: An unknown id is 404 and changes nothing
    Given the provisioning service has created user "known"
    When the provisioning service reads an id that does not exist
    Then the host answers 404 with a SCIM error
    And the target is unchanged

  @req:ECMA-READ-005 @should
  Scenario: excludedAttributes and attributes shape what a read returns
    Given the provisioning service has created user "shaped"
    When the provisioning service reads user "shaped" by id excluding active
    Then the host answers 200 with user "shaped" without active
    When the provisioning service reads user "shaped" by id asking only for surname
    Then the host answers 200 with only the id and surname of user "shaped"
