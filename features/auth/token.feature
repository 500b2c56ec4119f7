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
  Scenario Outline: A request with <token> is refused and changes nothing
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

  @req:ECMA-AUTH-001 @req:ECMA-AUTH-002 @req:ECMA-ERR-001 @must
  Scenario Outline: <request> <credentials> is refused, shows nothing and changes nothing
    Given the provisioning service has created user "fenced"
    When the provisioning service sends <request> for user "fenced" <credentials>
    Then the host answers 401 with a SCIM error
    And the answer shows nothing of user "fenced"
    And the target is unchanged

    Examples:
      | request                                | credentials        |
      | a read by id                           | without a token    |
      | a matching query                       | without a token    |
      | a create                               | without a token    |
      | an update                              | without a token    |
      | a delete                               | without a token    |
      | a schemas read                         | without a token    |
      | a resource types read                  | without a token    |
      | a service provider configuration read  | without a token    |
      | a read by id                           | with a wrong token |
      | a matching query                       | with a wrong token |
      | a create                               | with a wrong token |
      | an update                              | with a wrong token |
      | a delete                               | with a wrong token |
      | a schemas read                         | with a wrong token |
      | a resource types read                  | with a wrong token |
      | a service provider configuration read  | with a wrong token |

  @req:ECMA-AUTH-004 @requires:other-connector @must
  Scenario: A connector's token is refused on another connector of the host
    When the provisioning service sends its token to another connector of the host
    Then the host answers 401 or 403 with a SCIM error

  @req:ECMA-AUTH-005 @req:ECMA-AUTH-006 @must
  Scenario: A client that speaks only TLS 1.2 connects and verifies the host name
    Entra's connection is TLS 1.2 or later, and it verifies that the certificate names the host
    of the tenant URL.
    When the provisioning service tests the connection with a client that speaks only TLS 1.2
    Then the host answers 200 with an empty list
