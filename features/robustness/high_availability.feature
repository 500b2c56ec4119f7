@ha
Feature: An active and a standby host on one target
  ECMA2Host runs as one active and one passive agent host per connector; when the active one
  fails, the application is reassigned to the standby, which carries on with its own connector
  space. Entra keeps the ids the active host gave and retries through the standby, so nothing
  the active host acknowledged may be lost or made twice. This needs a run that started the
  active host (host.command) and a standby for the same connector and target (host.standby);
  without one, the host is not deployed with a standby and the scenario is not applicable.

  @req:ECMA-ROBUST-019 @req:ECMA-ROBUST-017 @requires:standby @serial @must
  Scenario: When the active host stops, the standby carries on and nothing is lost or made twice
    Given the provisioning service has created user "before"
    And the provisioning service has created user "moved"
    When the active host stops
    And the provisioning service turns to the standby host
    And the standby host has imported its target
    And the provisioning service matches user "before" on mail
    Then the host answers 200 with exactly one user, "before"
    When the provisioning service reads user "moved" by id
    Then the host answers 200 with user "moved"
    When the provisioning service updates user "moved" with:
      | surname | Standby |
    Then the host answers 200 or 204
    When the provisioning service creates user "after"
    Then the host answers 201 Created with an id
    And the target holds exactly one user "before"
    And the target holds exactly one user "after"
    And the target holds user "moved" with:
      | surname | Standby |
