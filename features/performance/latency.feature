Feature: Latency
  Entra gives up on a request after 60 seconds. Every request the provisioning service sends, in
  every scenario, is held to that limit as it is answered (the import and restart hooks and the
  requests a scenario gives up on on purpose are not Entra's); this scenario walks one
  provisioning cycle under the requirement's name.

  @req:ECMA-PERF-001 @must
  Scenario: Every request of a provisioning cycle is answered within 60 seconds
    When the provisioning service tests the connection
    And the provisioning service creates user "prompt"
    Then the host answers 201 Created with an id
    When the provisioning service reads user "prompt" by id
    Then the host answers 200 with user "prompt"
    When the provisioning service updates every mapped attribute of user "prompt"
    Then the host answers 200 or 204
    When the provisioning service deletes user "prompt"
    Then the host answers 204 with no body
