Feature: Schema discovery
  Entra reads /Schemas when the provisioning configuration is saved, and offers the target
  attributes it finds there for mapping. An ECMA host lists exactly the attributes selected for
  the connector in the ECMA2Host extension schema.

  @req:ECMA-DISC-001 @req:ECMA-DISC-002 @req:ECMA-DISC-003 @must
  Scenario: The extension schema lists exactly the selected attributes
    When the provisioning service reads the schemas
    Then the host answers 200 with a list of schemas
    And the ECMA2Host extension schema lists exactly the profile's attributes

  @req:ECMA-DISC-004 @must
  Scenario: Every attribute definition states its characteristics
    When the provisioning service reads the schemas
    Then the host answers 200 with a list of schemas
    And every attribute definition states each of its characteristics in camelCase, none null
