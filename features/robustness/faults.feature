@requires:operation-faults
Feature: A misbehaving target
  Whatever the target does wrong, the host answers with the SCIM status that makes Entra do
  the right thing (409 for a duplicate, 400 for a value the target refuses, 5xx for a target that
  is down, busy or slow, so the operation is retried), and never claims a success it did not
  have. These scenarios need a target that can be made to fail one operation on purpose: the
  embedded default's mock directories, HR REST API, SCIM endpoint and script program (behind a
  fault shim), or ecmacert's fault proxy in front of any directory (target.fault_proxy). A
  target that goes away altogether is in connections.feature.
  Errors are named by their LDAP result codes (RFC 4511); an HTTP target answers the status it
  gives for the same condition (409 entryAlreadyExists, 400 constraintViolation and
  objectClassViolation, 403 insufficientAccessRights, 503 busy), and a script program the
  contract's error kind (alreadyExists, rejected, unavailable).
  A fault touches the scenario's own objects only, so most of these run beside others; those
  that close the host's connection run alone (@serial), since every request on it is lost.

  @req:ECMA-ANCHOR-007 @req:ECMA-ERR-004 @requires:fault-injection @must
  Scenario: The directory's entryAlreadyExists is 409 uniqueness
    Given the target answers the host's next add with entryAlreadyExists
    When the provisioning service creates user "clash"
    Then the host answers 409 uniqueness
    And the target holds no user "clash"

  @req:ECMA-ERR-005 @req:ECMA-ERR-007 @req:ECMA-ERR-004 @requires:fault-injection @must
  Scenario: A constraint violation is a 400 that carries the directory's message
    Given the provisioning service has created user "strict"
    And the target answers the host's next modify with constraintViolation "ecmacert: sn is limited to 8 characters"
    When the provisioning service updates user "strict" with:
      | surname | Much-too-long |
    Then the host answers 400 invalidValue
    And the host answers with a SCIM error whose detail carries "ecmacert: sn is limited to 8 characters"
    And the target is unchanged

  @req:ECMA-ERR-005 @req:ECMA-ERR-004 @requires:fault-injection @must
  Scenario: An object class violation on create is refused and writes nothing
    Given the target answers the host's next add with objectClassViolation "ecmacert: no structural class"
    When the provisioning service creates user "classless"
    Then the host answers with a SCIM error
    And the target holds no user "classless"

  @req:ECMA-ERR-006 @requires:fault-injection @must
  Scenario: A busy directory is a 5xx, so Entra retries
    Given the target answers the host's next add with busy
    When the provisioning service creates user "later"
    Then the host answers a 5xx with a SCIM error
    And the target holds no user "later"

  @req:ECMA-ERR-016 @ldap @requires:fault-injection @should
  Scenario: An add answered noSuchObject for a container that exists is tried again, not refused
    389 Directory Server answers an add noSuchObject now and then for a container that exists,
    while concurrent writes beneath it keep replacing the container in its entry cache. The
    request is not wrong, so a 400 ("the container does not exist") would be: the host tries
    the add again.
    Given the target answers the host's next add with noSuchObject "ecmacert: no such object"
    When the provisioning service creates user "passing"
    Then the host answers 201 Created with an id
    And the target holds user "passing"

  @req:ECMA-ERR-006 @req:ECMA-ERR-004 @requires:fault-injection @requires:delete-flow-delete @serial @must
  Scenario: A connection lost during a delete is a 5xx, the user stays, and the retry deletes it
    Given the provisioning service has created user "sticky"
    And the target drops the host's next delete
    When the provisioning service deletes user "sticky"
    Then the host answers a 5xx with a SCIM error
    And the target holds user "sticky"
    When the provisioning service deletes user "sticky"
    Then the host answers 204 with no body
    And the target holds no user "sticky"

  @req:ECMA-PERF-002 @requires:fault-injection @requires:delete-flow-delete @should
  Scenario: A slow directory gets a 5xx before Entra gives up, not a hung request
    Given the provisioning service has created user "slow"
    And the target takes 4 seconds to answer the host's deletes
    When the provisioning service deletes user "slow"
    Then the host answers a 5xx within 3.5 seconds

  @req:ECMA-ROBUST-017 @requires:fault-injection @no-import-beside @must
  Scenario: A create whose client gave up is seen once the directory has answered
    Entra gives up on a request after its timeout and retries later; the directory made the
    change all the same, so the host must know the user when it is asked again. The time is
    counted from when the target holds the user (a host may queue the write behind others):
    the directory answers 0.8 s after it wrote, and the host has 0.7 s more. A host that
    dropped the create before writing must know no such user. (The fault touches this
    scenario's objects only, so it need not run alone.)
    Given the target takes 0.8 seconds to answer the host's adds
    When the provisioning service creates user "quitter" and gives up after 0.3 seconds
    And the provisioning service waits until the target holds user "quitter", at most 10 seconds
    And the provisioning service waits until the host finds user "quitter" on mail, at most 1.5 seconds
    And the target is back
    And the provisioning service matches user "quitter" on mail
    Then the host answers 200 with user "quitter" exactly when the target holds it

  @req:ECMA-ROBUST-017 @req:ECMA-ERR-006 @requires:fault-injection @no-import-beside @must
  Scenario: A change the host gave up on is shown as the directory made it
    A slow directory gets a 5xx, so Entra retries; a directory cannot be told to undo an update
    it is working on, and makes it all the same. Once it has, the host's answers agree with the
    directory, not with the 5xx. (The fault touches this scenario's objects only. The host gives
    up after 1 or 2 s; the directory's 3 s and the host's 3 s after its 5xx leave 1 to 2 s to
    spare on a loaded machine, where a 1.5 s delay once let the host's own timer fire late.)
    Given the provisioning service has created user "late"
    And the target takes 3 seconds to answer the host's modifies
    When the provisioning service updates user "late" with:
      | surname | Later |
    Then the host answers a 5xx with a SCIM error
    When the provisioning service waits until the host's answer for user "late" agrees with the target on surname, at most 3 seconds
    And the target is back
    And the provisioning service reads user "late" by id
    Then the host's answer for user "late" agrees with the target on surname

  @req:ECMA-ERR-006 @req:ECMA-ROBUST-017 @requires:fault-injection @serial @must
  Scenario: A create whose answer the connection lost is retried into a 409, one user, and a match
    The directory made the user, but the connection broke before its answer reached the host:
    the host cannot know the outcome and answers 5xx, so Entra retries. The retry finds the
    user there (409), and the host then knows the user, as Entra's next matching query needs.
    Given the target carries out the host's next add and drops the connection before answering
    When the provisioning service creates user "limbo"
    Then the host answers a 5xx with a SCIM error
    And the target holds user "limbo"
    When the provisioning service creates user "limbo" again
    Then the host answers 409 uniqueness
    And the target holds exactly one user "limbo"
    When the provisioning service matches user "limbo" on mail
    Then the host answers 200 with exactly one user, "limbo"

  @req:ECMA-ERR-005 @req:ECMA-ERR-004 @requires:fault-injection @must
  Scenario: A directory that denies the host's account a write is an error, never a success
    Given the provisioning service has created user "denied"
    And the target answers the host's next modify with insufficientAccessRights "ecmacert: no write access to sn"
    When the provisioning service updates user "denied" with:
      | surname | Refused |
    Then the host answers with a SCIM error
    And the target is unchanged

  @req:ECMA-ERR-004 @req:ECMA-ERR-005 @requires:fault-injection @requires:export-password @must
  Scenario: A create the directory refuses halfway leaves nothing behind
    ECMA2Host's connectors set export_password with a second operation after the add; when the
    directory refuses that operation, the add must be undone. A host that writes everything in
    the add is not touched by the fault, and must then have set the password.
    Given the target answers the host's next modify with constraintViolation "ecmacert: the password fails the quality checks"
    When the provisioning service creates user "halfway" with the initial password "Initial-Pa55word"
    Then the target holds user "halfway" whole (it can sign in with "Initial-Pa55word") after a 201, and nothing of it after an error
