Feature: Bearer token
  Entra sends the connector's secret token as a bearer token on every request. Without it, or
  with any other token, the host answers 401 with a SCIM error and does nothing.

  @req:ECMA-AUTH-001 @req:ECMA-ERR-001 @must
  Scenario: A request without a token is refused and changes nothing
    Given the provisioning service has created user "guarded"
    When the provisioning service deletes user "guarded" without a token
    Then the host answers 401 with a SCIM error
    And the target is unchanged

  @req:ECMA-AUTH-002 @must
  Scenario Outline: A request with the wrong token is refused and changes nothing
    Given the provisioning service has created user "locked"
    When the provisioning service deletes user "locked" with <token>
    Then the host answers 401 with a SCIM error
    And the target is unchanged

    Examples:
      | token                    |
      | a wrong token            |
      | the token truncated      |
      | the token in upper case  |
      | an empty bearer token    |
