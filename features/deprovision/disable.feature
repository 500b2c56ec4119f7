Feature: Disable and enable
  When a user goes out of scope Entra disables it with a PATCH of active: the string "False" in
  entra-default, the boolean false in entra-scim2020. The host runs its disable flow: delete the
  object, set a boolean attribute, or do nothing. Each profile declares which.

  @req:ECMA-DEPROV-001 @req:ECMA-DEPROV-002 @requires:disable-flow-delete @must
  Scenario: Disabling deletes the user when the disable flow is Delete
    Given the provisioning service has created user "gone"
    When the provisioning service disables user "gone"
    Then the host answers 200 or 204
    And the target holds no user "gone"
    And matching user "gone" on its original mail finds nobody

  @req:ECMA-DEPROV-001 @requires:disable-flow-delete @must
  Scenario: The tutorial's disable body deletes the user when the disable flow is Delete
    Microsoft's SCIM tutorial disables with the op "Replace" and the Boolean false, a mix of
    the two dialects; it runs the disable flow like the other two.
    Given the provisioning service has created user "tutored-gone"
    When the provisioning service disables user "tutored-gone" with the body of Microsoft's tutorial
    Then the host answers 200 or 204
    And the target holds no user "tutored-gone"

  @req:ECMA-DEPROV-008 @requires:disable-flow-delete @must
  Scenario: A user disabled by deletion comes back with a new create
    Given the provisioning service has created user "back"
    And the provisioning service has disabled user "back"
    When the provisioning service creates user "back" again
    Then the host answers 201 Created with an id
    And the target holds user "back"

  @req:ECMA-DEPROV-001 @req:ECMA-DEPROV-003 @req:ECMA-DEPROV-005 @requires:disable-flow-set-attribute @must
  Scenario: Disabling sets the deprovisioning attribute and keeps the user
    Given the provisioning service has created user "flagged"
    When the provisioning service disables user "flagged"
    Then the host answers 200 or 204
    And the target holds user "flagged" marked disabled
    And matching user "flagged" on mail finds it

  @req:ECMA-DEPROV-001 @requires:disable-flow-set-attribute @must
  Scenario: The tutorial's disable body sets the deprovisioning attribute
    Given the provisioning service has created user "tutored-flag"
    When the provisioning service disables user "tutored-flag" with the body of Microsoft's tutorial
    Then the host answers 200 or 204
    And the target holds user "tutored-flag" marked disabled

  @req:ECMA-DEPROV-007 @requires:disable-flow-set-attribute @should
  Scenario: Enabling clears the deprovisioning attribute
    Given the provisioning service has created user "again"
    And the provisioning service has disabled user "again"
    When the provisioning service enables user "again"
    Then the host answers 200 or 204
    And the target holds user "again" marked enabled

  @req:ECMA-DEPROV-001 @req:ECMA-DEPROV-004 @requires:disable-flow-none @must
  Scenario: Disabling changes nothing when the disable flow is None
    Given the provisioning service has created user "stays"
    When the provisioning service disables user "stays"
    Then the host answers 200 or 204
    And the target is unchanged

  @req:ECMA-DEPROV-009 @requires:soft-delete-attribute @must
  Scenario: The isSoftDeleted mapping writes the Boolean attribute and keeps the user
    Microsoft's walkthrough maps IsSoftDeleted to msDS-UserAccountDisabled; Entra sends "True"
    or "False" (a JSON Boolean with the SCIM 2.0 flag), and the directory stores TRUE or FALSE.
    Given the provisioning service has created user "soft"
    When the provisioning service sets isSoftDeleted of user "soft" to "True"
    Then the host answers 200 or 204
    And the target holds user "soft" with:
      | isSoftDeleted | true |
    When the provisioning service sets isSoftDeleted of user "soft" to "False"
    Then the host answers 200 or 204
    And the target holds user "soft" with:
      | isSoftDeleted | false |
    And matching user "soft" on mail finds it

  @req:ECMA-DEPROV-001 @requires:disable-flow-none @must
  Scenario: The tutorial's disable body changes nothing when the disable flow is None
    Given the provisioning service has created user "tutored-stays"
    When the provisioning service disables user "tutored-stays" with the body of Microsoft's tutorial
    Then the host answers 200 or 204
    And the target is unchanged

  @req:ECMA-ROBUST-003 @must
  Scenario: Enabling a user that is enabled changes nothing
    Given the provisioning service has created user "awake"
    When the provisioning service enables user "awake"
    Then the host answers 200 or 204
    And the target is unchanged

  @req:ECMA-DEPROV-013 @requires:disable-flow-set-attribute @must
  Scenario: A user created inactive is stored disabled and answered inactive
    When the provisioning service creates user "sleeper" inactive
    Then the host answers 201 Created with an id
    And the answer shows user "sleeper" inactive
    And the target holds user "sleeper" marked disabled

  @req:ECMA-DEPROV-013 @requires:disable-flow-delete @must
  Scenario: A user created inactive where disabling deletes is answered as the target holds it
    When the provisioning service creates user "waker" inactive
    Then the host answers 201 Created with an id
    And the answer shows user "waker" active
    And the target holds user "waker"

  @req:ECMA-DEPROV-012 @requires:disable-flow-set-attribute @requires:delete-flow-delete @must
  Scenario: The disable flow and the delete flow apply each on its own
    Given the provisioning service has created user "twice"
    When the provisioning service disables user "twice"
    Then the host answers 200 or 204
    And the target holds user "twice" marked disabled
    When the provisioning service deletes user "twice"
    Then the host answers 204 with no body
    And the target holds no user "twice"
