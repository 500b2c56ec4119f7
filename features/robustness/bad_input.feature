Feature: Hostile and malformed input
  A host under test meets requests no correct provisioning service sends: broken JSON, values of
  the wrong type, filters and DNs built to escape into the target's own query language, PATCH
  bodies that make no sense, ids that try to leave /Users, methods and headers no client should
  send. Each class is a corpus in features/robustness/corpus/, every case stating its answer:
  a 4xx (or the literal no-match a filter value gets), never a 5xx, within the request timeout.
  The target is read before and after every case and must not change, and the host must answer
  a GET of the bystander after every case. A scenario's failure lists the cases answered wrongly.

  @req:ECMA-ROBUST-018 @req:ECMA-ERR-010 @req:ECMA-ERR-004 @req:ECMA-ROBUST-013 @must
  Scenario: Malformed JSON is refused and changes nothing
    Given the provisioning service has created user "bystander"
    When the provisioning service sends every request of the "json" corpus
    Then each was answered as its case says, within the request timeout, and changed nothing in the target

  @req:ECMA-ROBUST-018 @req:ECMA-ROBUST-008 @req:ECMA-ERR-004 @req:ECMA-ROBUST-013 @must
  Scenario: Values of the wrong JSON type are refused and change nothing
    Given the provisioning service has created user "bystander"
    When the provisioning service sends every request of the "types" corpus
    Then each was answered as its case says, within the request timeout, and changed nothing in the target

  @req:ECMA-ROBUST-018 @req:ECMA-ERR-004 @req:ECMA-ROBUST-013 @must
  Scenario: Filter values are taken literally and malformed filters are refused
    Given the provisioning service has created user "bystander"
    When the provisioning service sends every request of the "filters" corpus
    Then each was answered as its case says, within the request timeout, and changed nothing in the target

  @req:ECMA-ROBUST-018 @req:ECMA-UPDATE-009 @req:ECMA-ERR-004 @req:ECMA-ROBUST-013 @must
  Scenario: PATCH bodies that make no sense are refused and change nothing
    Given the provisioning service has created user "bystander"
    When the provisioning service sends every request of the "patch" corpus
    Then each was answered as its case says, within the request timeout, and changed nothing in the target

  @req:ECMA-ROBUST-018 @req:ECMA-ERR-004 @req:ECMA-ROBUST-013 @must
  Scenario: Ids that try to leave /Users name nobody
    Given the provisioning service has created user "bystander"
    When the provisioning service sends every request of the "ids" corpus
    Then each was answered as its case says, within the request timeout, and changed nothing in the target

  @req:ECMA-ROBUST-018 @req:ECMA-ERR-012 @req:ECMA-ERR-004 @req:ECMA-ROBUST-013 @must
  Scenario: Methods and headers no client should send are refused
    Given the provisioning service has created user "bystander"
    When the provisioning service sends every request of the "http" corpus
    Then each was answered as its case says, within the request timeout, and changed nothing in the target

  @req:ECMA-ROBUST-018 @req:ECMA-ERR-004 @req:ECMA-ROBUST-013 @ldap @must
  Scenario: A -dn- that is not a DN in the partition is refused
    Given the provisioning service has created user "bystander"
    When the provisioning service sends every request of the "dn" corpus
    Then each was answered as its case says, within the request timeout, and changed nothing in the target
