Feature: Update
  Entra sends attribute changes as PATCH in the dialect of the provisioning job: one operation per
  attribute (entra-default) or a path-less replace with URN-qualified keys (entra-scim2020). The
  suite runs every scenario in each dialect.

  @req:ECMA-UPDATE-001 @req:ECMA-UPDATE-004 @req:ECMA-UPDATE-005 @req:ECMA-UPDATE-010 @must
  Scenario: Every mapped attribute can be updated
    Given the provisioning service has created user "upd"
    When the provisioning service updates every mapped attribute of user "upd"
    Then the host answers 200 or 204
    And the target holds user "upd" with every attribute the request carried
    And the host returns user "upd" with every attribute the request carried

  @req:ECMA-UPDATE-001 @req:ECMA-UPDATE-010 @req:ECMA-UPDATE-006 @must
  Scenario: Named attributes are updated
    Given the provisioning service has created user "upd2"
    When the provisioning service updates user "upd2" with:
      | surname | Jones               |
      | mail    | bjones@contoso.lab  |
    Then the host answers 200 or 204
    And the target holds user "upd2" with:
      | surname | Jones               |
      | mail    | bjones@contoso.lab  |
    And the host returns user "upd2" with:
      | surname | Jones               |

  @req:ECMA-UPDATE-011 @must
  Scenario: Attributes a PATCH does not name keep their values
    Given the provisioning service has created user "keep" with:
      | mail | keep@contoso.lab |
    When the provisioning service updates user "keep" with:
      | surname | Changed |
    Then the host answers 200 or 204
    And the target holds user "keep" with:
      | surname | Changed          |
      | mail    | keep@contoso.lab |
    And user "keep" is otherwise unchanged in the target

  @req:ECMA-ROBUST-003 @req:ECMA-ROBUST-002 @must
  Scenario: A PATCH with the values the user already has changes nothing
    Given the provisioning service has created user "same" with:
      | surname | Same |
    When the provisioning service updates user "same" with:
      | surname | Same |
    Then the host answers 200 or 204
    And the target is unchanged

  @req:ECMA-ROBUST-010 @must
  Scenario: A null value removes the attribute
    Given the provisioning service has created user "nulled"
    When the provisioning service clears mail of user "nulled" with a null value
    Then the host answers 200 or 204
    And the target holds user "nulled" without mail
    And the host returns user "nulled" with the mail the target holds

  @req:ECMA-ROBUST-010 @must
  Scenario: The string "null" is a value like any other
    Given the provisioning service has created user "nullstr"
    When the provisioning service updates user "nullstr" with:
      | surname | null |
    Then the host answers 200 or 204
    And the target holds user "nullstr" with:
      | surname | null |

  @req:ECMA-ROBUST-011 @must
  Scenario: An empty string removes the attribute, and the PATCH's other changes still land
    Given the provisioning service has created user "emptied"
    When the provisioning service updates user "emptied" with:
      | mail    |        |
      | surname | Kept   |
    Then the host answers 200 or 204
    And the target holds user "emptied" without mail
    And the target holds user "emptied" with:
      | surname | Kept |

  @req:ECMA-ROBUST-017 @must
  Scenario: Sixteen updates of one attribute at once leave the host answering what the target holds
    Given the provisioning service has created user "raced"
    When the provisioning service updates the mail of user "raced" 16 times at once
    Then every answer is 200 or 204
    And the host returns user "raced" with the mail the target holds

  @req:ECMA-UPDATE-002 @must
  Scenario: Op names are read in any case
    Given the provisioning service has created user "loud"
    When the provisioning service updates user "loud" with the op names in upper case:
      | surname | Loud |
    Then the host answers 200 or 204
    And the target holds user "loud" with:
      | surname | Loud |

  @req:ECMA-UPDATE-012 @must
  Scenario: Remove with a path clears the attribute
    Given the provisioning service has created user "cleared"
    When the provisioning service removes the mail of user "cleared"
    Then the host answers 200 or 204
    And the target holds user "cleared" without mail

  @req:ECMA-UPDATE-012 @must
  Scenario: Remove without a path is refused as noTarget and changes nothing
    Given the provisioning service has created user "aimless"
    When the provisioning service sends a remove without a path for user "aimless"
    Then the host answers 400 noTarget
    And the target is unchanged

  @req:ECMA-ANCHOR-004 @must
  Scenario: The id stays valid when the matching attribute changes
    Given the provisioning service has created user "rematched"
    When the provisioning service updates user "rematched" with:
      | mail | rematched.new@contoso.lab |
    Then the host answers 200 or 204
    When the provisioning service reads user "rematched" by id
    Then the host answers 200 with user "rematched"

  @req:ECMA-UPDATE-003 @must
  Scenario: Add on a single-valued attribute that has a value replaces it
    Given the provisioning service has created user "added"
    When the provisioning service sends Add for user "added" with:
      | surname | Addison |
    Then the host answers 200 or 204
    And the target holds user "added" with:
      | surname | Addison |

  @req:ECMA-DN-006 @ldap @must
  Scenario: A PATCH without -dn- leaves the entry at its DN
    Given the provisioning service has created user "stays"
    When the provisioning service updates every mapped attribute of user "stays"
    Then the host answers 200 or 204
    And the target holds user "stays"
    And the target holds user "stays" with every attribute the request carried

  @req:ECMA-DN-007 @ldap @must
  Scenario: A PATCH that changes -dn- moves the entry or is refused, never both or neither
    Where the DN is the anchor, only the refusal is allowed.
    Given the provisioning service has created user "mover"
    When the provisioning service moves user "mover" to another DN
    Then the host refused the move and the target is unchanged, or user "mover" is only at its new DN

  @req:ECMA-ANCHOR-009 @requires:client-anchor @must
  Scenario: A PATCH that changes the anchor is refused and changes nothing
    Given the provisioning service has created user "anchored"
    When the provisioning service changes the anchor of user "anchored"
    Then the host answers a 4xx with a SCIM error
    And the target is unchanged

  @req:ECMA-LDAP-004 @ldap @must
  Scenario: Attributes treated as single values hold one value after a create and a replace
    Given the provisioning service has created user "single"
    Then the target holds exactly one value of each attribute user "single" was sent
    When the provisioning service updates every mapped attribute of user "single"
    Then the host answers 200 or 204
    And the target holds user "single" with every attribute the request carried
    And the target holds exactly one value of each attribute user "single" was sent
