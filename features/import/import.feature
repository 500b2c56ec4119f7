Feature: Import
  An ECMA host answers from its connector space, filled by a full import of the target at start
  and on every autosync. Objects created or removed in the target out of band show up after the
  next import. These scenarios need a way to make the host import now (host.import).

  @req:ECMA-IMPORT-003 @req:ECMA-IMPORT-011 @requires:import-hook @must
  Scenario: A user created in the target out of band is found after an import
    Given user "seeded" was created in the target out of band
    When the host imports its target
    And the provisioning service matches user "seeded" on mail
    Then the host answers 200 with exactly one user, "seeded"

  @req:ECMA-IMPORT-004 @requires:import-hook @must
  Scenario: A user deleted in the target out of band is gone after an import
    The host read the user before; what it answers after the import is not an old answer.
    Given the provisioning service has created user "vanishing"
    When the provisioning service reads user "vanishing" by id
    Then the host answers 200 with user "vanishing"
    Given user "vanishing" was deleted in the target out of band
    When the host imports its target
    And the provisioning service reads user "vanishing" by id
    Then the host answers 404 with a SCIM error

  @req:ECMA-IMPORT-002 @requires:import-hook @must
  Scenario: An import reads every object, across pages
    Given user "early1" was created in the target out of band
    And user "early2" was created in the target out of band
    And user "early3" was created in the target out of band
    And user "early4" was created in the target out of band
    And user "early5" was created in the target out of band
    When the host imports its target
    And the provisioning service matches user "early1" on mail
    Then the host answers 200 with exactly one user, "early1"
    When the provisioning service matches user "early3" on mail
    Then the host answers 200 with exactly one user, "early3"
    When the provisioning service matches user "early5" on mail
    Then the host answers 200 with exactly one user, "early5"

  @req:ECMA-IMPORT-007 @req:ECMA-IMPORT-008 @serial @must
  Scenario: Walking the users page by page returns each of them exactly once
    Runs alone, so that the connector space does not change during the walk.
    Given the provisioning service has created user "page1"
    And the provisioning service has created user "page2"
    And the provisioning service has created user "page3"
    When the provisioning service walks the users 2 at a time
    Then every page holds at most the users asked, says where it starts and how many it holds, and counts the same total
    And the pages hold every user exactly once, users "page1, page2, page3" among them

  @req:ECMA-IMPORT-007 @req:ECMA-IMPORT-009 @serial @must
  Scenario: Paging parameters out of range are answered as RFC 7644 says
    Given the provisioning service has created user "edge"
    Then paging out of range is answered as RFC 7644 says

  @req:ECMA-IMPORT-006 @ldap @requires:import-hook @must
  Scenario: Entries of another object class are never imported
    A contact next to AD LDS users, a pilotPerson next to inetOrgPersons: same container,
    same attributes, another structural class.
    Given an entry "bystander" of another object class was created in the container out of band
    And user "insider" was created in the target out of band
    When the host imports its target
    And the provisioning service matches user "bystander" on mail
    Then the host answers 200 with an empty list
    When the provisioning service matches user "insider" on mail
    Then the host answers 200 with exactly one user, "insider"

  @req:ECMA-IMPORT-001 @requires:host-restart @serial @must
  Scenario: Users in the target before the host starts are found once it has started
    Runs alone: the restart empties the connector's space until its first import has run.
    Given user "resident" was created in the target out of band
    When the host restarts
    And the host has started and imported its target
    And the provisioning service matches user "resident" on mail
    Then the host answers 200 with exactly one user, "resident"
    When the provisioning service reads user "resident" by id
    Then the host answers 200 with user "resident"

  @req:ECMA-IMPORT-005 @requires:host-restart @requires:networked-target @requires:connection-faults @serial @must
  Scenario: Until its first import has read the target, the host never answers that a user in the target is missing
    The directory turns the host away from before the restart until it is back, so the first
    import cannot have finished when the provisioning service asks.
    Given user "early-bird" was created in the target out of band
    And the directory drops every connection of the host
    When the host restarts
    And the provisioning service matches user "early-bird" on mail
    Then the host answers with a SCIM error, never with a list that lacks user "early-bird"
    When the provisioning service tests the connection
    Then the host answers with a SCIM error
    When the directory is back
    And the host has started and imported its target
    And the provisioning service matches user "early-bird" on mail
    Then the host answers 200 with exactly one user, "early-bird"
