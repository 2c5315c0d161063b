Feature: CleverTap passcodes are managed safely

  Scenario: Account passcodes must expire
    Given I have account_passcode defined
    Then it must contain expires_in
    And its value must not match the "^forever$" regex

  Scenario: User passcodes name their user
    Given I have user_passcode defined
    Then it must contain email
    And its value must match the "^[^@]+@[^@]+$" regex
