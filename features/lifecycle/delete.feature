Feature: Delete
  When a user is hard-deleted in Entra, the provisioning service sends DELETE. With the delete
  flow Delete the object leaves the target, and the host forgets it.

  @req:ECMA-DELETE-001 @req:ECMA-DELETE-002 @req:ECMA-DEPROV-010 @requires:delete-flow-delete @must
  Scenario: A deleted user is gone from the host and the target
    Given the provisioning service has created user "bye"
    When the provisioning service deletes user "bye"
    Then the host answers 204 with no body
    And the target holds no user "bye"
    And reading user "bye" by id answers 404
    And matching user "bye" on its original mail finds nobody

  @req:ECMA-DELETE-003 @requires:delete-flow-delete @must
  Scenario: Deleting a user leaves its neighbours alone
    Given the provisioning service has created user "bob"
    And the provisioning service has created user "bob2"
    When the provisioning service deletes user "bob"
    Then the host answers 204 with no body
    And user "bob2" is unchanged in the target

  @req:ECMA-DELETE-004 @req:ECMA-ANCHOR-005 @requires:delete-flow-delete @must
  Scenario: A deleted user can be created again
    Where the target assigns the anchor (objectGUID, entryUUID), the new object has a new id.
    Given the provisioning service has created user "phoenix"
    And the provisioning service has deleted user "phoenix"
    When the provisioning service creates user "phoenix" again, after its delete
    Then the host answers 201 Created with an id
    And the host answers 201 Created with an id user "phoenix" never had
    And the target holds user "phoenix"

  @req:ECMA-DELETE-002 @requires:delete-flow-delete @must
  Scenario Outline: A deleted user is not found by <request>
    Given the provisioning service has created user "gone2"
    And the provisioning service has deleted user "gone2"
    When the provisioning service sends <request> for user "gone2"
    Then the host answers 404 with a SCIM error
    And the target holds no user "gone2"

    Examples:
      | request      |
      | a read by id |
      | an update    |
      | a delete     |

  @req:ECMA-DEPROV-011 @requires:delete-flow-set-attribute @must
  Scenario: Deleting sets the deprovisioning attribute and keeps the user when the delete flow is Set attribute value
    Given the provisioning service has created user "kept"
    When the provisioning service deletes user "kept"
    Then the host answers 204 with no body
    And the target holds user "kept" marked deleted

  @req:ECMA-DEPROV-011 @requires:delete-flow-none @must
  Scenario: Deleting changes nothing when the delete flow is None
    Given the provisioning service has created user "untouched"
    When the provisioning service deletes user "untouched"
    Then the host answers 204 with no body
    And the target is unchanged
