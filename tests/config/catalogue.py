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
            "ctconfig.yaml:5:4: wrong indentation: 'region' is indented 3 spaces, but the keys above it are at 4 ('id', line 4) or 2 ('prod', line 3) or 0 ('accounts', line 2); YAML nests by indentation, so line it up with the key it belongs beside",
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
            "ctconfig.yaml:5:5: unknown key 'colour' in account 'prod'; expected one of 'id', 'region', 'credentials', 'passcode_mode', 'unmanaged', 'previously', 'use', 'account_passcodes', 'user_passcodes'",
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
        acct("    credentials:\n      passcode_env: CT_PROD_PASSCODE\n      api_key: abc\n"),
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
    "expires_in_zero_days": (
        acct("    account_passcodes:\n      a: {expires_in: 0d}\n"),
        [
            "ctconfig.yaml:6:23: expires_in: expected 1 to 36500 days, or 'forever', got '0d'",
        ],
    ),
    "expires_in_past_the_bound": (
        acct("    account_passcodes:\n      a: {expires_in: 36501}\n"),
        [
            "ctconfig.yaml:6:23: expires_in: expected 1 to 36500 days, or 'forever', got 36501",
        ],
    ),
    "validity_zero_days": (
        acct("    user_passcodes:\n      alice@example.com: {validity: 0d}\n"),
        [
            "ctconfig.yaml:6:37: validity: expected 1 to 365 days, or 'infinite', got '0d'",
        ],
    ),
    "passcode_name_tab": (
        acct('    account_passcodes:\n      "export\\tjob": {expires_in: 90d}\n'),
        [
            "ctconfig.yaml:6:7: account passcode name 'export\\tjob': expected 1 to 64 printable characters without '/'",
        ],
    ),
    "passcode_name_zero_width_space": (
        acct('    account_passcodes:\n      "export\\u200b": {expires_in: 90d}\n'),
        [
            "ctconfig.yaml:6:7: account passcode name 'export\\u200b': expected 1 to 64 printable characters without '/'",
        ],
    ),
    "previously_tab": (
        acct('    account_passcodes:\n      export: {expires_in: 90d, previously: "old\\texport"}\n'),
        [
            "ctconfig.yaml:6:45: previously: expected 1 to 64 printable characters without '/', got 'old\\texport'",
        ],
    ),
    "alias_too_long": (
        "version: 1\naccounts:\n  " + "p" * 65 + ":\n    id: W9R-486-4W5Z\n",
        [
            "ctconfig.yaml:3:3: account alias 'ppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp': expected 1 to 64 letters, digits, '_', '.' or '-'",
        ],
    ),
    "number_too_long_decimal": (
        "version: 1\nsafety: {min_resources: 1234567890123456789012345}\n",
        [
            "ctconfig.yaml:2:25: min_resources: expected a number of at most 18 digits, got one of 25 digits",
        ],
    ),
    "number_too_long_hex": (
        "version: 1\nsafety: {min_resources: 0x" + "f" * 40 + "}\n",
        [
            "ctconfig.yaml:2:25: min_resources: expected a number of at most 18 digits, got one of 40 digits",
        ],
    ),
    "number_over_its_bound": (
        "version: 1\nsafety: {min_resources: 1000001}\n",
        [
            "ctconfig.yaml:2:25: min_resources: expected a number at most 1000000, got 1000001",
        ],
    ),
    "number_not_a_number": (
        "version: 1\nsafety: {max_delete_fraction: .nan}\n",
        [
            "ctconfig.yaml:2:31: max_delete_fraction: expected a finite number, got nan",
        ],
    ),
    "number_infinite": (
        "version: 1\nprovider: {kind: clevertap, timeout: 1e999}\n",
        [
            "ctconfig.yaml:2:38: timeout: expected a finite number, got inf",
        ],
    ),
    "number_boolean": (
        "version: 1\nsafety: {min_resources: true}\n",
        [
            "ctconfig.yaml:2:25: min_resources: expected a whole number, got true",
        ],
    ),
    "number_fraction_for_count": (
        "version: 1\nsafety: {min_resources: 2.5}\n",
        [
            "ctconfig.yaml:2:25: min_resources: expected a whole number, got 2.5",
        ],
    ),
    "timestamp_impossible": (
        acct("    account_passcodes:\n      a: {expires_in: 2024-13-45}\n"),
        [
            "ctconfig.yaml:6:23: expires_in: cannot read '2024-13-45' as timestamp",
        ],
    ),
    "passcode_env_interpolated": (
        acct('    credentials: {passcode_env: "${CT_OTHER_PASSCODE}"}\n'),
        [
            "ctconfig.yaml:5:33: passcode_env: expected the name of an environment variable (such as CT_PROD_PASSCODE), not a ${...} reference: ctconfig reads the variable itself, so write its name alone",
        ],
    ),
    "dsn_env_interpolated": (
        "version: 1\nstate: {backend: postgres, dsn_env: '${PG_DSN}'}\n",
        [
            "ctconfig.yaml:2:37: dsn_env: expected the name of an environment variable (such as CT_PROD_PASSCODE), not a ${...} reference: ctconfig reads the variable itself, so write its name alone",
        ],
    ),
    "clevertap_without_credentials": (
        "version: 1\nprovider: {kind: clevertap}\naccounts:\n  prod: {id: W9R-486-4W5Z}\n  dev:\n    id: W9R-486-4W5A\n    credentials: {passcode_env: CT_DEV_PASSCODE}\n",
        [
            "ctconfig.yaml:4:3: account 'prod' has no credentials: the clevertap provider needs credentials: {passcode_env: NAME} naming the variable that holds its admin passcode",
        ],
    ),
    "http_username_without_password": (
        "version: 1\nstate:\n  backend: http\n  address: https://gitlab.example.com/api/v4/projects/1/terraform/state/ct\n  username_env: CT_STATE_USER\n",
        [
            "ctconfig.yaml:5:3: username_env: expected password_env too; the http backend sends both or neither",
        ],
    ),
    "http_address_not_a_url": (
        "version: 1\nstate: {backend: http, address: gitlab.example.com/state}\n",
        [
            "ctconfig.yaml:2:33: address: expected an http:// or https:// URL without credentials, such as https://ct.example.com/api, got 'gitlab.example.com/state'",
        ],
    ),
    "base_url_with_credentials": (
        "version: 1\nprovider: {kind: clevertap, base_url: 'https://admin:hunter2@ct.example.com'}\n",
        [
            "ctconfig.yaml:2:39: base_url: expected an http:// or https:// URL without credentials, such as https://ct.example.com/api (the value is not shown: it holds credentials)",
        ],
    ),
    "state_path_with_nul": (
        'version: 1\nstate: {path: "state\\0.json"}\n',
        [
            "ctconfig.yaml:2:15: path: expected a file path of 1 to 4096 printable characters, got 'state\\x00.json'",
        ],
    ),
    "rotate_before_forever_word_case": (
        acct("    account_passcodes:\n      a: {expires_in: Forever, rotate_before: 14d}\n"),
        [
            "ctconfig.yaml:6:47: rotate_before: expected no value: a passcode with expires_in 'forever' never expires, got '14d'",
        ],
    ),
    "undefined_alias": (
        "version: 1\naccounts: *accounts\n",
        [
            "ctconfig.yaml:2:11: invalid YAML: found undefined alias 'accounts'",
        ],
    ),
    "tag_on_a_mapping": (
        "version: 1\naccounts: !!set {prod}\n",
        [
            "ctconfig.yaml:2:11: unsupported YAML tag '!!set': expected a plain mapping or list",
        ],
    ),
    "nesting_too_deep": (
        "version: 1\nx: " + "[" * 70 + "]" * 70 + "\n",
        [
            "ctconfig.yaml:2:67: nesting too deep: more than 64 levels of mappings and lists (a config needs 6; is this file a config?)",
        ],
    ),
    "slot_env_file_aliases": (
        "version: 1\nsecrets: {sink: env-file}\naccounts:\n  prod-eu:\n    id: W9R-486-4W5Z\n    account_passcodes:\n      braze-sync: {expires_in: 90d}\n  prod_eu:\n    id: W9R-486-4W5A\n    account_passcodes:\n      braze-sync: {expires_in: 90d}\n",
        [
            "ctconfig.yaml:11:7: account passcode 'braze-sync' of account 'prod_eu' would share the env-file sink's variable 'CT_PROD_EU_BRAZE_SYNC' with 'braze-sync' of account 'prod-eu' at ctconfig.yaml:7:7; expected names that keep their secrets apart",
        ],
    ),
    "slot_env_file_names": (
        acct(
            "    account_passcodes:\n      braze-sync: {expires_in: 90d}\n      braze_sync: {expires_in: 90d}\n      'braze sync': {expires_in: 90d}\n      braze.sync: {expires_in: 90d}\n"
        ).replace("version: 1\n", "version: 1\nsecrets: {sink: env-file, path: .secrets.env}\n"),
        [
            "ctconfig.yaml:8:7: account passcode 'braze_sync' of account 'prod' would share the env-file sink's variable 'CT_PROD_BRAZE_SYNC' with 'braze-sync' of account 'prod' at ctconfig.yaml:7:7; expected names that keep their secrets apart",
            "ctconfig.yaml:9:7: account passcode 'braze sync' of account 'prod' would share the env-file sink's variable 'CT_PROD_BRAZE_SYNC' with 'braze-sync' of account 'prod' at ctconfig.yaml:7:7; expected names that keep their secrets apart",
            "ctconfig.yaml:10:7: account passcode 'braze.sync' of account 'prod' would share the env-file sink's variable 'CT_PROD_BRAZE_SYNC' with 'braze-sync' of account 'prod' at ctconfig.yaml:7:7; expected names that keep their secrets apart",
        ],
    ),
    "slot_file_sink_backslash": (
        acct("    account_passcodes:\n      'a\\b': {expires_in: 90d}\n      a_b: {expires_in: 90d}\n"),
        [
            "ctconfig.yaml:7:7: account passcode 'a_b' of account 'prod' would share the file sink's path 'prod/a_b' with 'a\\\\b' of account 'prod' at ctconfig.yaml:6:7; expected names that keep their secrets apart",
        ],
    ),
    "misspelled_block_contents_checked": (
        'version: 1\naccounts:\n  prod:\n    id: W9R-486-4W5Z\n    acount_passcodes:\n      x: {expires_in: soon}\n',
        [
            "ctconfig.yaml:5:5: unknown key 'acount_passcodes' in account 'prod'; did you mean 'account_passcodes'?",
            "ctconfig.yaml:6:23: expires_in: expected a number of days such as 90d or 'forever', got 'soon'",
        ],
    ),
    "yaml_indentation_over_value": (
        'version: 1\naccounts:\n  prod:\n    id: W9R-486-4W5Z\n     region: in1\n',
        [
            "ctconfig.yaml:5:6: wrong indentation: 'region' is indented 5 spaces, more than 'id' on line 4 (4), which already has a value, so YAML reads this line as part of that value; indent it 4 spaces to put it beside 'id'",
        ],
    ),
    "template_unknown": (
        'version: 1\ntemplates:\n  std:\n    account_passcodes:\n      seg: {expires_in: 90d}\n    user_passcodes:\n      alice@example.com: {validity: 30d}\n  other:\n    account_passcodes:\n      seg: {expires_in: 30d}\naccounts:\n  prod:\n    id: W9R-486-4W5Z\n    use: [std, standard]\n',
        [
            "ctconfig.yaml:14:16: use: no template named 'standard'; templates: 'std', 'other'",
        ],
    ),
    "template_conflict": (
        'version: 1\ntemplates:\n  std:\n    account_passcodes:\n      seg: {expires_in: 90d}\n    user_passcodes:\n      alice@example.com: {validity: 30d}\n  other:\n    account_passcodes:\n      seg: {expires_in: 30d}\naccounts:\n  prod:\n    id: W9R-486-4W5Z\n    use: [std, other]\n',
        [
            "ctconfig.yaml:14:5: use: account passcode 'seg' comes from template 'std' at ctconfig.yaml:5:7 and from template 'other' at ctconfig.yaml:10:7; define it in one of them, or in account 'prod' to override both",
        ],
    ),
    "template_case_repeat": (
        'version: 1\ntemplates:\n  std:\n    account_passcodes:\n      seg: {expires_in: 90d}\n    user_passcodes:\n      alice@example.com: {validity: 30d}\n  other:\n    account_passcodes:\n      seg: {expires_in: 30d}\naccounts:\n  prod:\n    id: W9R-486-4W5Z\n    use: std\n    account_passcodes:\n      SEG: {expires_in: 90d}\n',
        [
            "ctconfig.yaml:16:7: account passcode 'SEG' of account 'prod' repeats 'seg' of template 'std' at ctconfig.yaml:5:7 (case-insensitive); write it the same way to override it",
        ],
    ),
    "template_value_wrong": (
        'version: 1\ntemplates:\n  std:\n    account_passcodes:\n      seg: {expires_in: soon}\n',
        [
            "ctconfig.yaml:5:25: expires_in: expected a number of days such as 90d or 'forever', got 'soon'",
        ],
    ),
    "template_name_bad": (
        "version: 1\ntemplates:\n  'a b':\n    account_passcodes: {}\n",
        [
            "ctconfig.yaml:3:3: template name 'a b': expected 1 to 64 letters, digits, '_', '.' or '-'",
        ],
    ),
    "template_without_templates": (
        'version: 1\naccounts:\n  prod:\n    id: W9R-486-4W5Z\n    use: std\n',
        [
            "ctconfig.yaml:5:10: use: no template named 'std'; define it under a top-level 'templates:' section",
        ],
    ),
    "removed_still_declared": (
        'version: 1\naccounts:\n  prod:\n    id: W9R-486-4W5Z\n    account_passcodes:\n      seg: {expires_in: 90d}\nremoved:\n  - prod/account_passcode/seg\n  - prod/*\n  - old/user_passcode/a@example.com\n',
        [
            "ctconfig.yaml:8:5: removed[0]: 'prod/account_passcode/seg' is declared at ctconfig.yaml:6:7; an address the config declares cannot be forgotten: remove one or the other",
            "ctconfig.yaml:9:5: removed[1]: 'prod/*' is declared at ctconfig.yaml:3:3; an address the config declares cannot be forgotten: remove one or the other",
        ],
    ),
    "removed_not_an_address": (
        'version: 1\nremoved: [prod/passcode/x, 7]\n',
        [
            "ctconfig.yaml:2:11: removed[0]: expected an address such as prod/account_passcode/NAME, prod/user_passcode/EMAIL or prod/settings, or every address of an account: legacy/*, got 'prod/passcode/x'",
            'ctconfig.yaml:2:28: removed[1]: expected a string, got 7',
        ],
    ),
    "removed_from_template": (
        'version: 1\ntemplates:\n  std:\n    account_passcodes:\n      seg: {expires_in: 90d}\n    user_passcodes:\n      alice@example.com: {validity: 30d}\n  other:\n    account_passcodes:\n      seg: {expires_in: 30d}\naccounts:\n  prod:\n    id: W9R-486-4W5Z\n    use: std\nremoved: [prod/user_passcode/ALICE@example.com]\n',
        [
            "ctconfig.yaml:15:11: removed[0]: 'prod/user_passcode/ALICE@example.com' is declared at ctconfig.yaml:7:7; an address the config declares cannot be forgotten: remove one or the other",
        ],
    ),
    "approve_deletes_declared": (
        'version: 1\naccounts:\n  prod:\n    id: W9R-486-4W5Z\n    account_passcodes:\n      seg: {expires_in: 90d}\nsafety:\n  approve_deletes: [prod/account_passcode/seg, prod/settings]\n',
        [
            "ctconfig.yaml:8:21: approve_deletes[0]: 'prod/account_passcode/seg' is declared at ctconfig.yaml:6:7; an address the config declares cannot be deleted: remove one or the other",
            "ctconfig.yaml:8:48: approve_deletes[1]: expected an address such as prod/account_passcode/NAME or prod/user_passcode/EMAIL, got 'prod/settings'",
        ],
    ),
    "previously_alias_still_used": (
        'version: 1\naccounts:\n  prod: {id: W9R-486-4W5Z}\n  prod-eu: {id: W9R-486-4W5A, previously: prod}\n  eu: {id: W9R-486-4W5B, previously: [eu, old]}\n  eu2: {id: W9R-486-4W5C, previously: old}\n',
        [
            "ctconfig.yaml:4:43: previously: 'prod' is still an account alias at ctconfig.yaml:3:3; an account can move only to an alias no other account has",
            "ctconfig.yaml:5:39: previously: 'eu' is this account's own alias; expected an earlier one",
            "ctconfig.yaml:6:39: previously: 'old' is also claimed by account 'eu' at ctconfig.yaml:5:43; expected one account per earlier alias",
        ],
    ),
    "previously_alias_bad": (
        "version: 1\naccounts:\n  prod:\n    id: W9R-486-4W5Z\n    previously: 'a b'\n",
        [
            "ctconfig.yaml:5:17: previously: expected 1 to 64 letters, digits, '_', '.' or '-', got 'a b'",
        ],
    ),
    "rotate_token_bad": (
        "version: 1\naccounts:\n  prod:\n    id: W9R-486-4W5Z\n    account_passcodes:\n      seg: {expires_in: 90d, rotate: 1.5}\n    user_passcodes:\n      a@example.com: {validity: 30d, reset: ''}\n",
        [
            'ctconfig.yaml:6:38: rotate: expected a token of 1 to 64 printable characters, such as a date or a ticket (2026-12-01, SEC-123), got 1.5',
            "ctconfig.yaml:8:45: reset: expected a token of 1 to 64 printable characters, such as a date or a ticket (2026-12-01, SEC-123), got ''",
        ],
    ),
    "top_level_x_key_nested": (
        'version: 1\naccounts:\n  prod:\n    id: W9R-486-4W5Z\n    x-anchor: 1\n',
        [
            "ctconfig.yaml:5:5: unknown key 'x-anchor' in account 'prod'; expected one of 'id', 'region', 'credentials', 'passcode_mode', 'unmanaged', 'previously', 'use', 'account_passcodes', 'user_passcodes'",
        ],
    ),
}

# Valid configs that `validate` and the JSON Schema must both accept: the spellings the
# schema once refused (90D, Infinite, a `previously` string, `${VAR}` in ids and days) and
# the corners of each value type. `${VAR}` references all carry defaults: they validate
# with an empty environment.
VALID: dict[str, str] = {
    "days_in_upper_case": acct("    account_passcodes:\n      a: {expires_in: 90D, rotate_before: 14D}\n"),
    "unbounded_words_in_any_case": acct(
        "    account_passcodes:\n      a: {expires_in: Forever}\n"
        "    user_passcodes:\n      alice@example.com: {validity: INFINITE, reset_before: 3000}\n"
    ),
    "days_with_leading_zeros": acct("    account_passcodes:\n      a: {expires_in: '0090d', rotate_before: 007}\n"),
    "validity_bounds": acct(
        "    user_passcodes:\n      a@example.com: {validity: 1}\n      b@example.com: {validity: 365d}\n"
    ),
    "previously_one_name": acct("    account_passcodes:\n      braze-sync: {expires_in: forever, previously: braze}\n"),
    "previously_a_list": acct("    account_passcodes:\n      a: {expires_in: 30d, previously: [b, c d]}\n"),
    "interpolated_values": (
        "version: ${CT_VERSION:-1}\n"
        "defaults:\n  region: ${CT_REGION:-eu1}\n  rotation_overlap: ${CT_OVERLAP:-7d}\n"
        "accounts:\n  prod:\n    id: ${CT_EU_PROD_ID:-W9R-486-4W5Z}\n    account_passcodes:\n      a:\n"
        "        expires_in: ${CT_DAYS:-90}\n        prevent_destroy: ${CT_PROTECT:-true}\n        previously: ['${CT_OLD:-b}']\n"
    ),
    "interpolated_variant": "version: 1\nstate: {backend: '${CT_BACKEND:-local}', path: '${CT_DIR:-.}/s.json'}\n",
    "state_without_backend": "version: 1\nstate: {path: state/ctconfig.state.json}\n",
    "http_state_with_both_names": (
        "version: 1\nstate:\n  backend: http\n  address: https://gitlab.example.com/api/v4/projects/1/terraform/state/ct\n"
        "  lock_method: POST\n  unlock_method: DELETE\n  username_env: CT_STATE_USER\n  password_env: CI_JOB_TOKEN\n"
    ),
    "s3_state": "version: 1\nstate: {backend: s3, bucket: my-ct-state, key: ct/state.json, region: eu-west-1, lock_ttl: 2d}\n",
    "clevertap_with_credentials": (
        "version: 1\nprovider: {kind: clevertap, base_url: 'https://ct.example.com:8443/api', timeout: 30, max_inflight: 3}\n"
        "accounts:\n  prod:\n    id: W9R-486-4W5Z\n    region: in1\n    credentials: {passcode_env: CT_PROD_PASSCODE}\n"
    ),
    "command_sink_as_a_list": "version: 1\nsecrets: {sink: command, command: [vault, kv, put, secret/ct]}\n",
    "nulls_where_optional": acct("    region: null\n    passcode_mode: null\n    credentials: null\n"),
    "names_in_other_scripts": acct("    account_passcodes:\n      'exportación 📦': {expires_in: 90d}\n      'a b': {expires_in: 90d}\n"),
    "empty_accounts": "version: 1\naccounts: {}\n",
    "safety_bounds": "version: 1\nsafety: {max_delete_fraction: 0, min_resources: 1000000}\n",
    "templates_and_anchors": (
        "version: 1\nx-standard: &standard {expires_in: 90d, rotate_before: 14d}\n"
        "templates:\n  team:\n    account_passcodes:\n      segment-export: *standard\n      braze-sync: {expires_in: forever}\n"
        "    user_passcodes:\n      alice@example.com: {validity: 365d}\n"
        "  ops:\n    user_passcodes:\n      bob@example.com: {validity: infinite}\n"
        "accounts:\n  team-00:\n    id: W9R-486-4W5Z\n    use: [team, ops]\n    account_passcodes:\n"
        "      braze-sync: {expires_in: 30d}\n  team-01: {id: W9R-486-4W5A, use: team}\n"
    ),
    "removed_and_approved": (
        "version: 1\nsafety:\n  approve_deletes: [prod/account_passcode/old, prod/user_passcode/bob@example.com]\n"
        "accounts:\n  prod: {id: W9R-486-4W5Z, previously: [prod-old, legacy-prod]}\n"
        "removed: [prod/account_passcode/kept-by-hand, prod/settings, retired/*]\n"
    ),
    "rotation_tokens": acct(
        "    account_passcodes:\n      a: {expires_in: 90d, rotate: 2026-12-01}\n      b: {expires_in: 90d, rotate: 7}\n"
        "      c: {expires_in: 90d, rotate: SEC-123 leaked key}\n"
        "    user_passcodes:\n      alice@example.com: {validity: 30d, reset: '2026-12-01'}\n"
    ),
}
