Feature: Provisioning from Entra's attribute mappings
  The provisioning service computes each request from the job's attribute mappings, written in
  its expression language: it asks the matching attributes in precedence order (a user it
  provisioned before, it reads by id), then creates the user with every mapping's value, or
  updates only the attributes whose value differs from what the host answered, never those
  applied only during object creation ("How Application Provisioning works in Microsoft Entra
  ID"). A table names the profile's logical attributes;
  {matching} and {second} are its matching and second matching attributes. An Entra user has
  mailNickname (its unique name in the run), userPrincipalName, and each logical attribute's
  usual value under the logical attribute's name.

  @req:ECMA-UPDATE-011 @must
  Scenario: A mapping applied only on create is not sent when the user changes
    Given the provisioning job maps:
      | attribute  | mapping                    | apply     | matching |
      | {matching} | [{matching}]               | always    | 1        |
      | surname    | Join(" ", [surname], "Jr") | on_create |          |
    And the provisioning service has provisioned Entra user "oncreate" with:
      | surname | Lind |
    When Entra user "oncreate" changes:
      | surname | Berg |
    And the provisioning service provisions Entra user "oncreate"
    Then the provisioning service read user "oncreate" by its id
    And the provisioning service sent no write
    And the target holds user "oncreate" with:
      | surname | Lind Jr |

  @req:ECMA-UPDATE-001 @req:ECMA-UPDATE-011 @must
  Scenario: A changed user is updated with only the attributes whose mapped value changed
    Given the provisioning job maps:
      | attribute  | mapping                                        | apply  | matching |
      | {matching} | [{matching}]                                   | always | 1        |
      | surname    | IIF([department]="Sales", Join("-", "Sales", [surname]), [surname]) | always |          |
    And the provisioning service has provisioned Entra user "changed" with:
      | surname    | Lind      |
      | department | Sales     |
    When Entra user "changed" changes:
      | department | Marketing |
    And the provisioning service provisions Entra user "changed"
    Then the host answers 200 or 204
    And the provisioning service read user "changed" by its id
    And the provisioning service sent an update of surname only
    And the target holds user "changed" with:
      | surname | Lind |
    And user "changed" is otherwise unchanged in the target

  @req:ECMA-MATCH-010 @req:ECMA-MATCH-004 @requires:second-matching-attribute @must
  Scenario: The matching queries go in precedence order and the first that finds the user decides
    Entra asks the first matching attribute with a value nobody has (it is applied only on
    create, so it is never sent on update); the second finds the user, who is updated, not
    created again.
    Given the provisioning service has created user "prec"
    And the provisioning job maps:
      | attribute  | mapping                            | apply     | matching |
      | {matching} | Join("", "nobody-", [mailNickname]) | on_create | 1        |
      | {second}   | [{second}]                         | always    | 2        |
      | surname    | [surname]                          | always    |          |
    When Entra user "prec" changes:
      | surname | Precedence |
    And the provisioning service provisions Entra user "prec"
    Then the host answers 200 or 204
    And the provisioning service found user "prec" by its second matching query
    And the provisioning service sent an update of surname only
    And the target holds user "prec" with:
      | surname | Precedence |

  @req:ECMA-DEPROV-001 @req:ECMA-DEPROV-003 @requires:disable-flow-set-attribute @must
  Scenario: A provisioned user who leaves the scope is disabled and kept
    The scoping filter's clauses must all hold; a user Entra provisioned who no longer passes
    them is disabled by an update of active, and the host runs its disable flow.
    Given the provisioning job maps:
      | attribute  | mapping      | apply  | matching |
      | {matching} | [{matching}] | always | 1        |
      | surname    | [surname]    | always |          |
    And the provisioning job scopes users by:
      | attribute  | operator    | value   |
      | department | EQUALS      | Sales   |
      | jobTitle   | NOT EQUALS  | Intern  |
    And the provisioning service has provisioned Entra user "leaver" with:
      | surname    | Lind    |
      | department | Sales   |
      | jobTitle   | Analyst |
    When Entra user "leaver" changes:
      | department | Finance |
    And the provisioning service provisions Entra user "leaver"
    Then the host answers 200 or 204
    And the provisioning service sent a disable
    And the target holds user "leaver" marked disabled
