# ruff: noqa: E501  (expected lines are kept whole, as the user sees them)
"""Invalid configs, as data: YAML text and the exact `file:line:col: message` lines expected.

Each entry breaks one rule (or several, to show they are all reported in one run).
"""

from __future__ import annotations

HEAD = "version: 1\naccounts:\n  prod:\n    id: W9R-486-4W5Z\n"


def acct(body: str) -> str:
    """A valid account 'prod' followed by `body` (indented as its keys)."""
    return HEAD + body


CATALOGUE: dict[str, tuple[str, list[str]]] = {
    "yaml_syntax_unclosed_flow": (
        "version: 1\naccounts: {prod: {id: W9R-486-4W5Z}\n",
        [
            "ctconfig.yaml:3:1: invalid YAML: expected ',' or '}', but got '<stream end>'",
        ],
    ),
    "yaml_syntax_tab_indent": (
        "version: 1\naccounts:\n\tprod: {}\n",
        [
            "ctconfig.yaml:3:1: invalid YAML: found character '\\t' that cannot start any token",
        ],
    ),
    "yaml_syntax_bad_indentation": (
        "version: 1\naccounts:\n  prod:\n    id: W9R-486-4W5Z\n   region: in1\n",
        [
            "ctconfig.yaml:5:4: invalid YAML: expected <block end>, but found '<block mapping start>'",
        ],
    ),
    "duplicate_top_level_key": (
        "version: 1\naccounts: {}\nversion: 1\n",
        [
            "ctconfig.yaml:3:1: duplicate key 'version'; first defined at ctconfig.yaml:1:1",
        ],
    ),
    "duplicate_passcode_key": (
        acct("    account_passcodes:\n      a: {expires_in: 90d}\n      a: {expires_in: 30d}\n"),
        [
            "ctconfig.yaml:7:7: duplicate key 'a'; first defined at ctconfig.yaml:6:7",
        ],
    ),
    "version_wrong_type": (
        "version: '1'\n",
        [
            "ctconfig.yaml:1:10: version: expected 1, got '1'",
        ],
    ),
    "version_two": (
        "version: 2\n",
        [
            "ctconfig.yaml:1:10: version: expected 1, got 2",
        ],
    ),
    "version_missing": (
        "accounts: {}\n",
        [
            "ctconfig.yaml:1:1: missing required key 'version' at the top level",
        ],
    ),
    "empty_file": (
        "",
        [
            "ctconfig.yaml:1:1: missing required key 'version' at the top level",
        ],
    ),
    "top_level_list": (
        "- version: 1\n",
        [
            "ctconfig.yaml:1:1: expected a mapping with 'version: 1' and sections such as 'accounts', got a list",
        ],
    ),
    "unknown_top_level_key": (
        "version: 1\nacounts: {}\n",
        [
            "ctconfig.yaml:2:1: unknown key 'acounts' at the top level; did you mean 'accounts'?",
        ],
    ),
    "unknown_account_key": (
        "version: 1\naccounts:\n  prod:\n    acount_passcodes: {}\n    id: W9R-486-4W5Z\n",
        [
            "ctconfig.yaml:4:5: unknown key 'acount_passcodes' in account 'prod'; did you mean 'account_passcodes'?",
        ],
    ),
    "unknown_key_no_suggestion": (
        acct("    colour: blue\n"),
        [
            "ctconfig.yaml:5:5: unknown key 'colour' in account 'prod'; expected one of 'id', 'region', 'credentials', 'passcode_mode', 'unmanaged', 'account_passcodes', 'user_passcodes'",
        ],
    ),
    "unknown_passcode_key": (
        acct("    account_passcodes:\n      a: {expires_in: 90d, rotate_befor: 14d}\n"),
        [
            "ctconfig.yaml:6:28: unknown key 'rotate_befor' in account passcode 'a' of account 'prod'; did you mean 'rotate_before'?",
        ],
    ),
    "expires_in_word": (
        acct("    account_passcodes:\n      segment-export:\n        expires_in: soon\n"),
        [
            "ctconfig.yaml:7:21: expires_in: expected a number of days such as 90d or 'forever', got 'soon'",
        ],
    ),
    "expires_in_zero": (
        acct("    account_passcodes:\n      a: {expires_in: 0}\n"),
        [
            "ctconfig.yaml:6:23: expires_in: expected 1 to 36500 days, or 'forever', got 0",
        ],
    ),
    "expires_in_missing": (
        acct("    account_passcodes:\n      a: {prevent_destroy: true}\n"),
        [
            "ctconfig.yaml:6:7: missing required key 'expires_in' in account passcode 'a' of account 'prod'",
        ],
    ),
    "expires_in_infinite_word": (
        acct("    account_passcodes:\n      a: {expires_in: infinite}\n"),
        [
            "ctconfig.yaml:6:23: expires_in: expected a number of days such as 90d or 'forever', got 'infinite'",
        ],
    ),
    "passcode_entry_null": (
        acct("    account_passcodes:\n      a:\n"),
        [
            "ctconfig.yaml:6:7: a: expected a mapping, got null",
        ],
    ),
    "validity_too_long": (
        acct("    user_passcodes:\n      alice@example.com: {validity: 400d}\n"),
        [
            "ctconfig.yaml:6:37: validity: expected 1 to 365 days, or 'infinite', got '400d'",
        ],
    ),
    "validity_zero": (
        acct("    user_passcodes:\n      alice@example.com: {validity: 0}\n"),
        [
            "ctconfig.yaml:6:37: validity: expected 1 to 365 days, or 'infinite', got 0",
        ],
    ),
    "validity_forever_word": (
        acct("    user_passcodes:\n      alice@example.com: {validity: forever}\n"),
        [
            "ctconfig.yaml:6:37: validity: expected a number of days such as 90d or 'infinite', got 'forever'",
        ],
    ),
    "rotate_before_not_shorter": (
        acct("    account_passcodes:\n      a: {expires_in: 30d, rotate_before: 30d}\n"),
        [
            "ctconfig.yaml:6:43: rotate_before: expected fewer days than expires_in (30d), got '30d'",
        ],
    ),
    "rotate_before_with_forever": (
        acct("    account_passcodes:\n      a: {expires_in: forever, rotate_before: 14d}\n"),
        [
            "ctconfig.yaml:6:47: rotate_before: expected no value: a passcode with expires_in 'forever' never expires, got '14d'",
        ],
    ),
    "reset_before_not_shorter": (
        acct("    user_passcodes:\n      alice@example.com: {validity: 30d, reset_before: 45d}\n"),
        [
            "ctconfig.yaml:6:56: reset_before: expected fewer days than validity (30d), got '45d'",
        ],
    ),
    "too_many_account_passcodes": (
        acct("    account_passcodes:\n" + "".join(f"      p{i}: {{expires_in: 90d}}\n" for i in range(101))),
        [
            "ctconfig.yaml:5:5: account_passcodes: expected at most 100 account passcodes per account, got 101",
        ],
    ),
    "passcode_names_case_insensitive": (
        acct("    account_passcodes:\n      Export: {expires_in: 90d}\n      export: {expires_in: 30d}\n"),
        [
            "ctconfig.yaml:7:7: account passcode 'export' repeats 'Export' (case-insensitive); first defined at ctconfig.yaml:6:7",
        ],
    ),
    "passcode_name_slash": (
        acct("    account_passcodes:\n      team/export: {expires_in: 90d}\n"),
        [
            "ctconfig.yaml:6:7: account passcode name 'team/export': expected 1 to 64 printable characters without '/'",
        ],
    ),
    "passcode_name_too_long": (
        acct("    account_passcodes:\n      " + "x" * 65 + ": {expires_in: 90d}\n"),
        [
            "ctconfig.yaml:6:7: account passcode name 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx': expected 1 to 64 printable characters without '/'",
        ],
    ),
    "passcode_name_reserved": (
        acct("    account_passcodes:\n      export~retiring-1: {expires_in: 90d}\n"),
        [
            "ctconfig.yaml:6:7: account passcode name 'export~retiring-1': '~retiring-' is reserved for rotation; expected a name without it",
        ],
    ),
    "passcode_name_empty": (
        acct("    account_passcodes:\n      '': {expires_in: 90d}\n"),
        [
            "ctconfig.yaml:6:7: account passcode name '': expected 1 to 64 printable characters without '/'",
        ],
    ),
    "previously_bad_name": (
        acct(
            "    account_passcodes:\n      export:\n        expires_in: 90d\n        previously: [old/export]\n"
        ),
        [
            "ctconfig.yaml:8:22: previously[0]: expected 1 to 64 printable characters without '/', got 'old/export'",
        ],
    ),
    "email_invalid": (
        acct("    user_passcodes:\n      alice: {validity: 30d}\n"),
        [
            "ctconfig.yaml:6:7: user 'alice': expected an email address such as alice@example.com",
        ],
    ),
    "email_duplicate_case": (
        acct(
            "    user_passcodes:\n      alice@example.com: {validity: 30d}\n      Alice@Example.com: {validity: 60d}\n"
        ),
        [
            "ctconfig.yaml:7:7: user 'Alice@Example.com' repeats 'alice@example.com' (case-insensitive); first defined at ctconfig.yaml:6:7",
        ],
    ),
    "account_id_lowercase": (
        "version: 1\naccounts:\n  prod:\n    id: w9r-486-4w5z\n",
        [
            "ctconfig.yaml:4:9: id: expected a CleverTap account id such as W9R-486-4W5Z or TEST-R78-ZZK-955Z, got 'w9r-486-4w5z'",
        ],
    ),
    "account_id_missing": (
        "version: 1\naccounts:\n  prod:\n    region: in1\n",
        [
            "ctconfig.yaml:3:3: missing required key 'id' in account 'prod'",
        ],
    ),
    "account_id_duplicate": (
        "version: 1\naccounts:\n  prod:\n    id: W9R-486-4W5Z\n  prod2:\n    id: W9R-486-4W5Z\n",
        [
            "ctconfig.yaml:6:9: id: account id 'W9R-486-4W5Z' is already used by account 'prod' at ctconfig.yaml:4:9; expected each id once",
        ],
    ),
    "region_unknown": (
        acct("    region: eu2\n"),
        [
            "ctconfig.yaml:5:13: region: expected 'eu1', 'in1', 'sg1', 'us1', 'aps3' or 'mec1', got 'eu2'",
        ],
    ),
    "defaults_region_unknown": (
        "version: 1\ndefaults: {region: EU1}\n",
        [
            "ctconfig.yaml:2:20: region: expected 'eu1', 'in1', 'sg1', 'us1', 'aps3' or 'mec1', got 'EU1'",
        ],
    ),
    "alias_invalid": (
        "version: 1\naccounts:\n  my prod:\n    id: W9R-486-4W5Z\n",
        [
            "ctconfig.yaml:3:3: account alias 'my prod': expected 1 to 64 letters, digits, '_', '.' or '-'",
        ],
    ),
    "literal_passcode_in_credentials": (
        acct("    credentials:\n      passcode: hunter2\n"),
        [
            "ctconfig.yaml:5:5: missing required key 'passcode_env' in credentials of account 'prod'",
            "ctconfig.yaml:6:7: credentials.passcode: literal secret refused; put it in an environment variable and use passcode_env",
        ],
    ),
    "literal_passcode_anywhere": (
        acct("    account_passcodes:\n      a: {expires_in: 90d, passcode: hunter2}\n"),
        [
            "ctconfig.yaml:6:28: 'passcode': literal secret refused; put it in an environment variable and use passcode_env",
        ],
    ),
    "literal_credentials_string": (
        acct("    credentials: hunter2\n"),
        [
            "ctconfig.yaml:5:18: credentials: literal secret refused; put it in an environment variable and use passcode_env",
        ],
    ),
    "credentials_other_key": (
        acct("    credentials:\n      passcode_env: CT_PROD\n      api_key: abc\n"),
        [
            "ctconfig.yaml:7:7: credentials.api_key: literal secret refused; put it in an environment variable and use passcode_env",
        ],
    ),
    "passcode_env_not_a_name": (
        acct("    credentials: {passcode_env: 'hunter2!'}\n"),
        [
            "ctconfig.yaml:5:33: passcode_env: expected an environment variable name such as CT_PROD_PASSCODE",
        ],
    ),
    "env_var_missing": (
        acct("    region: ${CT_REGION}\n"),
        [
            "ctconfig.yaml:5:13: environment variable 'CT_REGION' is not set; set it or write ${CT_REGION:-default}",
        ],
    ),
    "env_var_bad_reference": (
        acct("    region: ${1REGION}\n"),
        [
            "ctconfig.yaml:5:13: invalid reference '${1REGION}': expected ${NAME} or ${NAME:-default}",
        ],
    ),
    "wrong_type_bool": (
        acct("    account_passcodes:\n      a: {expires_in: 90d, prevent_destroy: 'yes'}\n"),
        [
            "ctconfig.yaml:6:45: prevent_destroy: expected true or false, got 'yes'",
        ],
    ),
    "wrong_type_mapping_for_list": (
        "version: 1\naccounts: [prod]\n",
        [
            "ctconfig.yaml:2:11: accounts: expected a mapping, got a list",
        ],
    ),
    "wrong_type_number": (
        "version: 1\nsafety: {max_delete_fraction: 1.5}\n",
        [
            "ctconfig.yaml:2:31: max_delete_fraction: expected a number at most 1.0, got 1.5",
        ],
    ),
    "state_backend_unknown": (
        "version: 1\nstate: {backend: consul}\n",
        [
            "ctconfig.yaml:2:18: backend: expected 'local', 'postgres', 's3' or 'http', got 'consul'",
        ],
    ),
    "state_postgres_missing_dsn": (
        "version: 1\nstate:\n  backend: postgres\n",
        [
            "ctconfig.yaml:2:1: missing required key 'dsn_env' in state",
        ],
    ),
    "state_not_a_mapping": (
        "version: 1\nstate: local\n",
        [
            "ctconfig.yaml:2:8: state: expected a mapping, got 'local'",
        ],
    ),
    "passcode_mode_unknown": (
        acct("    passcode_mode: admin\n"),
        [
            "ctconfig.yaml:5:20: passcode_mode: expected 'account' or 'user', got 'admin'",
        ],
    ),
    "unsupported_tag": (
        "version: !!python/int 1\n",
        [
            "ctconfig.yaml:1:10: unsupported YAML tag '!!python/int': expected a plain value",
        ],
    ),
    "two_documents": (
        "version: 1\n---\nversion: 1\n",
        [
            "ctconfig.yaml:3:1: expected one YAML document per file, found a second one",
        ],
    ),
    "recursive_alias": (
        "version: 1\naccounts: &a\n  x: *a\n",
        [
            "ctconfig.yaml:2:11: recursive alias: a value may not contain itself",
        ],
    ),
    "several_problems_in_one_run": (
        acct(
            "    region: xx1\n    account_passcodes:\n      a: {expires_in: soon}\n    user_passcodes:\n      bob: {validity: 999}\n"
        ),
        [
            "ctconfig.yaml:5:13: region: expected 'eu1', 'in1', 'sg1', 'us1', 'aps3' or 'mec1', got 'xx1'",
            "ctconfig.yaml:7:23: expires_in: expected a number of days such as 90d or 'forever', got 'soon'",
            "ctconfig.yaml:9:7: user 'bob': expected an email address such as alice@example.com",
            "ctconfig.yaml:9:23: validity: expected 1 to 365 days, or 'infinite', got 999",
        ],
    ),
}
