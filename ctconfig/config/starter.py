"""The commented starter config `ctconfig init` writes: valid as is, on the sandbox."""

STARTER = """\
# ctconfig: CleverTap API passcodes as code.
# Check it:  ctconfig validate      See what would change:  ctconfig plan
# Editor completion: `ctconfig schema > ctconfig.schema.json`, then add as the first line:
#   # yaml-language-server: $schema=ctconfig.schema.json
version: 1

# Where ctconfig records what it manages (paths are relative to the working directory).
state:
  backend: local              # local | postgres | s3 | http
  path: ctconfig.state.json

# Who answers the API calls: the embedded sandbox, until you point it at CleverTap.
provider:
  kind: sandbox               # sandbox | clevertap | dashboard
  path: .ctconfig/sandbox.db

# Where a new passcode's secret goes; it is shown once and never printed.
secrets:
  sink: file                  # file | command | env-file | aws-secrets-manager | aws-ssm
  path: .ctconfig/secrets

defaults:
  region: eu1                 # in1 | sg1 | us1 | aps3 | mec1 | eu1
  unmanaged: warn             # passcodes not in this file: ignore | warn | delete

accounts:
  sandbox:                    # an alias of your choosing, used in addresses
    id: TEST-R78-ZZK-955Z
    # For provider clevertap: the admin passcode is read from this environment variable.
    # Never write a passcode itself in this file.
    # credentials:
    #   passcode_env: CT_SANDBOX_PASSCODE
    account_passcodes:
      # a number of days (90d) or forever; rotate this many days before expiry
      analytics-export:
        expires_in: 90d
        rotate_before: 14d
    user_passcodes:
      # 1-365 days, or infinite (valid for 10 years)
      admin@example.com:
        validity: 365d
"""
