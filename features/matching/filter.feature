Feature: Matching
  For every user in scope Entra first queries the host on the matching attribute. The answer is
  always a ListResponse: exactly the users that match, or none — never a 404.

  @req:ECMA-MATCH-004 @req:ECMA-MATCH-007 @must
  Scenario: Matching finds exactly the user with that value
    Given the provisioning service has created user "match1"
    And the provisioning service has created user "match2"
    When the provisioning service matches user "match1" on mail
    Then the host answers 200 with exactly user "match1"
    And the matched resource equals what reading user "match1" by id returns

  @req:ECMA-MATCH-001 @must
  Scenario: Matching a value nobody has is an empty list, not 404
    Given the provisioning service has created user "nomatch"
    When the provisioning service matches on mail "nobody-at-all@contoso.lab"
    Then the host answers 200 with an empty list

  @req:ECMA-MATCH-005 @must
  Scenario: A bare attribute name matches like the URN-qualified one
    Given the provisioning service has created user "bare1"
    When the provisioning service matches user "bare1" on mail by its bare name
    Then the host answers 200 with exactly user "bare1"

  @req:ECMA-MATCH-009 @must
  Scenario: Both clauses of an and-filter must hold
    Given the provisioning service has created user "and1"
    When the provisioning service matches user "and1" on mail and surname "Someone Else"
    Then the host answers 200 with an empty list

  @req:ECMA-MATCH-009 @must
  Scenario: An and-filter whose clauses both hold finds the user
    Given the provisioning service has created user "and2" with:
      | surname | Andersson |
    And the provisioning service has created user "and3" with:
      | surname | Andersson |
    When the provisioning service matches user "and2" on mail and surname "Andersson"
    Then the host answers 200 with exactly user "and2"

  @req:ECMA-MATCH-003 @must
  Scenario: A filter with every character percent-encoded matches like Entra's URL form
    Entra writes spaces as "+"; RFC 3986 lets a client write them as "%20" and the quotes as
    "%22". Both forms are the same query. (Whether Entra puts the quotes on the wire
    unencoded is decided in requirements.toml's header: it does not, so the suite never sends
    a raw quote.)
    Given the provisioning service has created user "encoded"
    When the provisioning service matches user "encoded" on mail with every character percent-encoded
    Then the host answers 200 with exactly user "encoded"

  @req:ECMA-MATCH-011 @must
  Scenario: Matching sees the host's own updates at once
    Given the provisioning service has created user "moving"
    When the provisioning service updates user "moving" with:
      | mail | moved@contoso.lab |
    Then the host answers 200 or 204
    And matching on mail "moved@contoso.lab" finds user "moving"
    And matching user "moving" on its original mail finds nobody

  @req:ECMA-MATCH-015 @ldap @requires:import-hook @must
  Scenario Outline: Matching finds what the directory's own matching finds: <kind>
    The directory holds the value as an administrator wrote it; Entra asks in another form
    that the attribute's matching rule finds equal (RFC 4518).
    Given user "<user>" was created in the target out of band with:
      | surname | <stored> |
    When the host imports its target
    And the provisioning service matches on surname "<asked>"
    Then the host answers 200 with exactly one user, "<user>"

    Examples:
      | kind                          | user    | stored                  | asked                 |
      | another Unicode normal form   | renee   | Rene{U+301}e-{suffix}   | Renée-{suffix}        |
      | case and insignificant spaces | spaced  | Van   der Berg-{suffix} | van der berg-{suffix} |

  @req:ECMA-MATCH-015 @sql @requires:import-hook @must
  Scenario Outline: Matching finds what the table's own equality finds: <kind>
    The table holds the value as another application wrote it; Entra asks in a form the
    column's collation may find equal (MariaDB's usual collations ignore trailing spaces, case
    and accents; PostgreSQL's varchar and SQLite compare exactly). The target decides.
    Given user "<user>" was created in the target out of band with:
      | surname | <stored> |
    When the host imports its target
    And the provisioning service matches on surname "<asked>"
    Then the host finds user "<user>" wherever the target's own equality on surname "<asked>" does

    Examples:
      | kind            | user   | stored                | asked           |
      | trailing spaces | padded | Padded-{suffix}{ ×2}  | Padded-{suffix} |
      | another case    | cased  | Cased-{suffix}        | CASED-{suffix}  |
      | accents         | accent | Accent-{suffix}       | Accènt-{suffix} |

  @req:ECMA-MATCH-008 @must
  Scenario: Attribute names and operators are read in any case
    Given the provisioning service has created user "shout"
    When the provisioning service matches user "shout" on mail with the attribute name and operator in upper case
    Then the host answers 200 with exactly user "shout"

  @req:ECMA-MATCH-014 @must
  Scenario Outline: A filter with <form> is refused as invalidFilter or applied, never answered unfiltered
    An operator Entra never sends may be implemented or refused with 400 invalidFilter; what
    the host may not do is answer it with users the filter does not select.
    Given the provisioning service has created user "probe"
    And the provisioning service has created user "neighbour"
    When the provisioning service matches user "probe" on mail with the filter '<filter>'
    Then the host answers 400 invalidFilter, or 200 with exactly user "probe"

    Examples:
      | form        | filter                                           |
      | co          | {attribute} co {value}                           |
      | sw          | {attribute} sw {value}                           |
      | or          | {attribute} eq {value} or {attribute} eq {value} |

  @req:ECMA-MATCH-014 @must
  Scenario Outline: A malformed filter is refused as invalidFilter
    Given the provisioning service has created user "probe"
    When the provisioning service matches user "probe" on mail with the filter '<filter>'
    Then the host answers 400 invalidFilter

    Examples:
      | form                | filter                          |
      | no value            | {attribute} eq                  |
      | an unknown operator | {attribute} xx {value}          |
      | an unclosed string  | {attribute} eq "unclosed        |
      | a dangling and      | {attribute} eq {value} and      |

  @req:ECMA-MATCH-013 @must
  Scenario Outline: A filter value with <kind> matches literally and never widens the result
    The target's query syntax (an LDAP filter, an SQL literal or LIKE pattern) must never see the
    value as syntax: a wildcard that widened the answer would let Entra match the wrong user.
    Given the provisioning service has created user "literal" with:
      | surname | <stored> |
    And the provisioning service has created user "widened" with:
      | surname | <other> |
    When the provisioning service matches on surname "<stored>"
    Then the host answers 200 with exactly one user, "literal"

    Examples:
      | kind            | stored               | other                 |
      | an asterisk     | Lit*eral-{suffix}    | LitXYZeral-{suffix}   |
      | a percent sign  | Per%cent-{suffix}    | PerXYZcent-{suffix}   |
      | an underscore   | Under_score-{suffix} | UnderXscore-{suffix}  |
      | parentheses     | Par(en)s-{suffix}    | Parens-{suffix}       |
      | a quote         | O'Quote-{suffix}     | OQuote-{suffix}       |

  @req:ECMA-MATCH-012 @must
  Scenario: A value that differs only in case matches as the declared caseExact says
    caseExact false: the user is found; caseExact true: it is not (RFC 7643 §2.2).
    Given the provisioning service has created user "cased"
    When the provisioning service matches user "cased" on its matching attribute in another case
    Then the host finds user "cased" if and only if the schema declares the matching attribute caseExact false

  @req:ECMA-MATCH-010 @requires:second-matching-attribute @must
  Scenario: The second matching attribute finds a user on its own
    Entra asks the matching attributes in precedence order: when the first finds nobody, it
    asks the second.
    Given the provisioning service has created user "second"
    When the provisioning service matches on the first matching attribute a value nobody has
    Then the host answers 200 with an empty list
    When the provisioning service matches user "second" on its second matching attribute
    Then the host answers 200 with exactly one user, "second"
