Feature: Errors change nothing
  Whenever the host answers with an error, the target is exactly as it was before the request.

  @req:ECMA-ERR-010 @req:ECMA-ERR-004 @req:ECMA-ERR-008 @serial @must
  Scenario: A body that is not JSON is refused
    Every answer is searched for the connector's token and the target's password (ECMA-ERR-008);
    an error answer, which may quote the request, is where a host leaks them.
    Given the provisioning service has created user "bystander"
    When the provisioning service sends a create for user "junk" whose body is not JSON
    Then the host answers 400 invalidSyntax
    And the target is unchanged
    And matching user "bystander" on mail finds it

  @req:ECMA-LDAP-003 @req:ECMA-ERR-005 @ldap @must
  Scenario: An object class the directory does not know is refused
    When the provisioning service creates user "badclass" with object class "noSuchObjectClass"
    Then the host answers with a SCIM error
    And the target holds no user "badclass"

  @req:ECMA-DN-002 @ldap @must
  Scenario: A user in a container that does not exist is refused and no container appears
    When the provisioning service creates user "orphan" in a container that does not exist
    Then the host answers with a SCIM error
    And the target holds no user "orphan"
    And the missing container was not created

  @req:ECMA-CREATE-009 @req:ECMA-ERR-005 @requires:required-attribute @must
  Scenario: A user without an attribute the target requires is refused
    When the provisioning service creates user "partial" without an attribute the target requires
    Then the host answers with a SCIM error
    And the target holds no user "partial"

  @req:ECMA-ROBUST-012 @req:ECMA-ROBUST-013 @must
  Scenario: A body of 8 MiB is refused with a 4xx and writes nothing
    Entra never sends such a body (a surname of 8 MiB); the host refuses it, with 413 where it
    is over the host's limit, and goes on answering.
    When the provisioning service creates user "bulky" with a body of 8 MiB
    Then the host answers a 4xx with a SCIM error
    And the target holds no user "bulky"
    When the provisioning service creates user "bulky" again
    Then the host answers 201 Created with an id
    And the target holds user "bulky"

  @req:ECMA-ROBUST-011 @req:ECMA-ERR-004 @requires:required-attribute @must
  Scenario: An empty string for an attribute the target requires is refused like its removal
    An empty string is no value, on every connector: setting a required attribute to "" asks
    the target to hold the user without it, which it refuses; nothing is written.
    Given the provisioning service has created user "blanked"
    When the provisioning service updates user "blanked" with an empty string for an attribute the target requires
    Then the host answers with a SCIM error
    And the target is unchanged

  @req:ECMA-UPDATE-009 @req:ECMA-ERR-004 @requires:refused-value @must
  Scenario: A PATCH whose second change the target refuses applies neither
    A PATCH is atomic: when the target refuses one of its changes, none of them shows. The
    second change carries the value the profile says its target refuses — for the shipped
    profiles a mail address that is not ASCII and 313 characters long (OpenLDAP's mail is an
    IA5String, AD LDS's rangeUpper for mail is 256, the Employees table's Email is
    VARCHAR(128)) — so the target, not the host, refuses it, after the surname change before
    it in the same PATCH.
    Given the provisioning service has created user "atomic"
    When the provisioning service updates user "atomic" with:
      | surname | Changed         |
      | mail    | <refused value> |
    Then the host answers with a SCIM error
    And the target is unchanged

  @req:ECMA-ERR-013 @should
  Scenario Outline: A PATCH <shape> is refused as invalid syntax and changes nothing
    Given the provisioning service has created user "enveloped"
    When the provisioning service sends a PATCH <shape> to user "enveloped"
    Then the host answers 400 invalidSyntax
    And the target is unchanged

    Examples:
      | shape              |
      | without schemas    |
      | with no operations |

  @req:ECMA-ERR-002 @should
  Scenario: Removing active is refused as an invalid value and changes nothing
    Given the provisioning service has created user "stillactive"
    When the provisioning service sends a PATCH removing active to user "stillactive"
    Then the host answers 400 invalidValue
    And the target is unchanged

  @req:ECMA-ERR-001 @must
  Scenario: A query too long to serve is served, or refused with a SCIM error
    When the provisioning service matches on surname "{x×9000}"
    Then the host answers 200 with an empty list, or with a SCIM error

  @req:ECMA-ERR-011 @req:ECMA-ERR-001 @requires:connector-url @must
  Scenario Outline: A connector name that is <which> is a 4xx, never an empty list
    Connector names in ECMA2Host's URL are case-sensitive. Entra reads an empty list as "no such
    user" and creates one; a wrong tenant URL must fail Test Connection instead.
    When the provisioning service asks a connector name that is <which>
    Then the host answers a 4xx that is not a list of users

    Examples:
      | which                                |
      | not configured                       |
      | the configured one in another case   |

  @req:ECMA-DN-005 @ldap @must
  Scenario: A create without -dn- is refused and nothing is created
    When the provisioning service creates user "nameless" without -dn-
    Then the host answers a 4xx with a SCIM error
    And the target holds no user "nameless"

  @req:ECMA-DN-004 @ldap @must
  Scenario: A -dn- that is not a DN is refused and nothing is created
    When the provisioning service creates user "upn" with a -dn- that is not a DN
    Then the host answers a 4xx with a SCIM error
    And the target holds no user "upn"

  @req:ECMA-ROBUST-013 @serial @must
  Scenario: After a body that is not JSON the host answers the next request as before
    Runs alone on its connector, so that what the host does after the bad body meets this
    scenario's next request only.
    Given the provisioning service has created user "steady"
    When the provisioning service sends a create for user "junk" whose body is not JSON
    And the provisioning service matches user "steady" on mail
    Then the host answers 200 with exactly user "steady"

  @req:ECMA-ROBUST-008 @must
  Scenario Outline: A create with <kind> is refused and nothing is written
    When the provisioning service creates user "typed" with <kind>
    Then the host answers 400 with a SCIM error
    And the target holds no user "typed"

    Examples:
      | kind                                     |
      | its surname as an array of two values    |
      | its surname as an object                 |
      | active as a string that is not a Boolean |

  @req:ECMA-UPDATE-008 @must
  Scenario: A value-filter path on an attribute the connector does not expose is a 4xx and changes nothing
    Given the provisioning service has created user "filtered"
    When the provisioning service updates user "filtered" through the value-filter path 'emails[type eq "work"].value'
    Then the host answers a 4xx with a SCIM error
    And the target is unchanged
