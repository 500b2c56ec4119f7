Feature: A target that goes away
  The host's connections to its target can break at any moment: the target restarts, the
  network drops them. While the target is away the host answers with a 5xx, so Entra retries,
  and writes nothing; once it is back the host reconnects by itself. These scenarios need a run
  that can cut the host's connections: the embedded default's mock directories, or ecmacert's
  fault proxy between the host and any directory or database (target.fault_proxy). A SQLite
  file has no connection to lose: there they are not applicable.

  @req:ECMA-ERR-006 @req:ECMA-ERR-004 @requires:networked-target @requires:connection-faults @serial @must
  Scenario: While the target drops the host's connections, creates get a 5xx and write nothing
    Given the target drops every connection of the host
    When the provisioning service creates user "down"
    Then the host answers a 5xx with a SCIM error
    And the target holds no user "down"
    When the target is back
    And the provisioning service creates user "down" again
    Then the host answers 201 Created with an id
    And the target holds user "down"

  @req:ECMA-ERR-006 @req:ECMA-ERR-004 @requires:networked-target @requires:connection-faults @serial @must
  Scenario: After the target restarts, the host reconnects by itself
    Every open connection closes at once and new ones are refused until the target is back; the
    host's first request after that must not fail on a connection that died meanwhile.
    Given the provisioning service has created user "phoenix"
    When the target restarts
    And the provisioning service updates user "phoenix" with:
      | surname | Down |
    Then the host answers a 5xx with a SCIM error
    And user "phoenix" is unchanged in the target
    When the target is back
    And the provisioning service updates user "phoenix" with:
      | surname | Risen |
    Then the host answers 200 or 204
    And the target holds user "phoenix" with:
      | surname | Risen |
