Feature: Create
  When matching finds nobody, Entra creates the user with a POST. The host answers 201 with an
  id derived from the anchor, and the user is in the target by then, with every value sent.

  @req:ECMA-CREATE-001 @req:ECMA-CREATE-002 @req:ECMA-CREATE-003 @must
  Scenario: A created user lands in the target with every mapped attribute
    When the provisioning service creates user "bsimon" with:
      | surname | Simon              |
      | mail    | bsimon@contoso.lab |
    Then the host answers 201 Created with an id
    And the target holds user "bsimon" with every attribute the request carried
    And the target holds user "bsimon" with:
      | surname | Simon              |
      | mail    | bsimon@contoso.lab |

  @req:ECMA-DN-001 @ldap @must
  Scenario: The user is created at the DN the request gives
    When the provisioning service creates user "jdoe"
    Then the host answers 201 Created with an id
    And the target holds user "jdoe" at the DN the request gave

  @req:ECMA-LDAP-001 @ldap @requires:auxiliary-classes @must
  Scenario: Auxiliary object classes and their attributes are written
    When the provisioning service creates user "posix1"
    Then the host answers 201 Created with an id
    And the target holds user "posix1" with every object class of the profile

  @req:ECMA-CREATE-004 @should
  Scenario: Values are stored exactly as sent
    When the provisioning service creates user "MiXeD" with:
      | surname | MiXeD  cAsE 55555555555 |
    Then the host answers 201 Created with an id
    And the target holds user "MiXeD" with:
      | surname | MiXeD  cAsE 55555555555 |

  @req:ECMA-ROBUST-007 @must
  Scenario: Unicode values round-trip byte for byte
    When the provisioning service creates user "zoe" with:
      | surname | Zoë 王 😀 é |
    Then the host answers 201 Created with an id
    And the target holds user "zoe" with:
      | surname | Zoë 王 😀 é |
    And the host returns user "zoe" with:
      | surname | Zoë 王 😀 é |

  @req:ECMA-READ-004 @req:ECMA-LDAP-006 @ldap @requires:password @must
  Scenario: An initial password is set and never returned
    When the provisioning service creates user "pw1" with:
      | password | Initial-Pa55word |
    Then the host answers 201 Created with an id
    And the answer shows no password
    And user "pw1" can sign in to the target with password "Initial-Pa55word"
    When the provisioning service reads user "pw1" by id
    Then the host answers 200 with user "pw1"
    And the answer shows no password
    When the provisioning service sends a matching query for user "pw1"
    Then the host answers 200 with exactly user "pw1"
    And the answer shows no password

  @req:ECMA-ROBUST-011 @must
  Scenario: An empty string on create is left out
    When the provisioning service creates user "blank" with:
      | mail |  |
    Then the host answers 201 Created with an id
    And the target holds user "blank" without mail

  @req:ECMA-CREATE-010 @must
  Scenario: The extension URN and member names are read in any case
    When the provisioning service creates user "lowered" with the extension URN and member names in another case
    Then the host answers 201 Created with an id
    And the target holds user "lowered" with every attribute the request carried

  @req:ECMA-CREATE-005 @must
  Scenario: The 201 says where the user is
    When the provisioning service creates user "located"
    Then the host answers 201 Created with an id
    And the answer's Location and meta.location are the user's URL

  @req:ECMA-CREATE-006 @must
  Scenario: An id and meta the client sends are ignored
    `id` and `meta` are the service provider's (RFC 7643 §3.1): a create that carries its own is
    answered with the host's, and the target is written as if they were absent.
    When the provisioning service creates user "claims" claiming an id and meta of its own
    Then the host answers 201 Created with an id and meta of its own
    And the target holds user "claims" with every attribute the request carried

  @req:ECMA-ROBUST-004 @req:ECMA-ANCHOR-005 @must
  Scenario: Sixteen different users created at once all land
    A create answered 5xx is sent again, as Entra does; when that retry is answered 409, the
    first attempt landed behind the 503, and the user Entra's matching query then finds stands
    for the 201.
    When the provisioning service creates 16 users "crowd" at once
    Then every one of the creates is answered 201 with an id of its own
    And the target holds every one of the users "crowd"

  @req:ECMA-ANCHOR-001 @req:ECMA-ANCHOR-002 @req:ECMA-LDAP-008 @must
  Scenario: The id is the anchor the target holds
    The DN for a -dn- anchor, the entryUUID or objectGUID the directory assigned (a GUID string
    in Microsoft's byte order), the anchor column on SQL.
    When the provisioning service creates user "anchor"
    Then the host answers 201 Created with an id
    And the id of user "anchor" is the anchor the target holds for it

  @req:ECMA-LDAP-002 @ldap @requires:structural-class-only @must
  Scenario: A create without objectClass gets the connector's structural class
    When the provisioning service creates user "classless" without objectClass
    Then the host answers 201 Created with an id
    And the target holds user "classless" of the profile's structural class

  @req:ECMA-LDAP-007 @ldap @requires:export-password @must
  Scenario: export_password sets the initial password and is not stored as an attribute
    When the provisioning service creates user "exported" with the initial password "Export-Pa55word"
    Then the host answers 201 Created with an id
    And the answer shows no password
    And user "exported" can sign in to the target with password "Export-Pa55word"
    And the target holds user "exported" without an export_password attribute

  @req:ECMA-DN-003 @req:ECMA-ANCHOR-006 @ldap @requires:delete-flow-delete @must
  Scenario: A DN with RFC 4514 escapes and UTF-8 creates, reads, updates and deletes
    The name holds a leading #, a comma, a plus, quotes, a backslash, angle brackets, a
    semicolon, an equals sign, spaces and characters outside ASCII; where the DN is the anchor,
    so does the id, percent-encoded in /Users/{id}.
    When the provisioning service creates user "escaped" with a name that needs escaping in a DN
    Then the host answers 201 Created with an id
    And the target holds user "escaped" at the DN the request gave
    And the naming attribute of user "escaped" holds its name as sent
    When the provisioning service reads user "escaped" by id
    Then the host answers 200 with user "escaped"
    When the provisioning service updates user "escaped" with:
      | surname | Escaped |
    Then the host answers 200 or 204
    And the target holds user "escaped" with:
      | surname | Escaped |
    When the provisioning service deletes user "escaped"
    Then the host answers 204 with no body
    And the target holds no user "escaped"

  @req:ECMA-ROBUST-009 @must
  Scenario: An attribute the connector does not expose is never written
    When the provisioning service creates user "unexposed" with an attribute the connector does not expose
    Then the host answers 201 or a 400 SCIM error, and the target holds nothing the connector does not expose for user "unexposed"

  @req:ECMA-LDAP-010 @requires:directory-tls @ldap @must
  Scenario: The host writes to a directory that takes updates only over TLS
    The directory refuses adds, modifies and deletes in the clear (as slapd does with security
    update_tls=1, and AD LDS for passwords): a host that does not reach it over LDAPS or
    StartTLS writes nothing.
    Given the directory is reached over TLS
    When the provisioning service creates user "sealed"
    Then the host answers 201 Created with an id
    And the target holds user "sealed"
    When the provisioning service updates every mapped attribute of user "sealed"
    Then the host answers 200 or 204
    When the provisioning service deletes user "sealed"
    Then the host answers 204 with no body
    And the target holds no user "sealed"
