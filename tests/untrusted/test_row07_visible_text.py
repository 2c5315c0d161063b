"""Issue 20, row 7: text from outside never reaches a terminal raw.

A server's `error` text, a state server's error page, a lock holder's fields, recovery notes
and names are shown with every control and invisible format character escaped (`visible()`):
ESC/OSC sequences cannot retitle the terminal or plant a hyperlink, and zero-width, LRM/RLM and
ALM characters cannot make one name look like another.
"""

from __future__ import annotations

import json
import sys
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from ctconfig.config.spec import Config
from ctconfig.domain import AccountSnapshot, ObservedPasscode
from ctconfig.planner import PlanOptions, make_plan
from ctconfig.render.plan_text import render_text
from ctconfig.state.document import State
from ctconfig.visible import visible
from tests.conftest import RunCtconfig
from tests.records import passcode, state
from tests.untrusted.scripted_http_server import scripted_server
from tests.untrusted.workspaces import local_workspace

OSC_TITLE = "\x1b]0;pwned\x07"
OSC_LINK = "\x1b]8;;https://evil.example\x07click\x1b]8;;\x07"
INVISIBLE = {
    "zero-width space": "\u200b",
    "zero-width non-joiner": "\u200c",
    "zero-width joiner": "\u200d",
    "left-to-right mark": "\u200e",
    "right-to-left mark": "\u200f",
    "arabic letter mark": "\u061c",
    "word joiner": "\u2060",
    "byte order mark": "\ufeff",
    "right-to-left override": "\u202e",
    "first strong isolate": "\u2068",
    "tag letter A": "\U000e0041",
    "variation selector 16": "\ufe0f",
    "hangul filler": "\u3164",
    "next line (C1)": "\x85",
    "control sequence introducer (C1)": "\x9b",
}
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def test_every_control_and_format_character_is_made_visible() -> None:
    """Unicode's Cc (C0, DEL, C1), Cf (format: bidi, zero-width, tags), Zl and Zp, all of them."""
    hidden = [
        chr(code)
        for code in range(sys.maxunicode + 1)
        if unicodedata.category(chr(code)) in ("Cc", "Cf", "Zl", "Zp")
    ]
    assert len(hidden) > 200
    for character in hidden:
        shown = visible(f"a{character}b")
        assert shown.isascii() and shown.isprintable() and shown != f"a{character}b", hex(ord(character))


@pytest.mark.parametrize("what", sorted(INVISIBLE))
def test_an_invisible_character_is_written_as_its_code(what: str) -> None:
    character = INVISIBLE[what]
    code = ord(character)
    expected = f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
    assert visible(f"braze{character}-sync") == f"braze{expected}-sync"


def test_names_that_look_alike_do_not_look_alike_in_the_plan() -> None:
    """Passcodes made by hand in the dashboard, one a look-alike of a name in the config."""
    config = Config.model_validate(
        {"version": 1, "accounts": {"prod": {"id": "W9R-486-4W5Z", "unmanaged": "delete"}}}
    )
    names = ["braze\u200b-sync", "braze\u200e-sync", "\u061cbraze-sync"]
    passcodes = tuple(ObservedPasscode(f"pc{i}", name, 30, NOW, NOW) for i, name in enumerate(names))
    observed = {"prod": AccountSnapshot("W9R-486-4W5Z", "account", NOW, passcodes)}
    text = render_text(make_plan(config, State.new(), observed, PlanOptions(NOW)).plan)
    assert "braze\\u200b-sync" in text and "braze\\u200e-sync" in text and "\\u061cbraze-sync" in text
    assert not any(character in text for character in ("\u200b", "\u200e", "\u061c"))


def provider_config(root: Path, url: str) -> None:
    (root / "ctconfig.yaml").write_text(
        f'version: 1\nprovider: {{kind: clevertap, base_url: "{url}"}}\n'
        "accounts:\n  prod:\n    id: W9R-486-4W5Z\n    credentials: {passcode_env: CT_PROD_PASSCODE}\n",
        encoding="utf-8",
    )


def test_a_providers_error_text_cannot_reach_the_terminal_raw(
    tmp_path: Path, run_ctconfig: RunCtconfig
) -> None:
    with scripted_server() as server:
        error = {"status": "fail", "error": f"refused {OSC_LINK} {OSC_TITLE}", "code": 400}
        server.answers["GET"] = (400, json.dumps(error).encode())
        provider_config(tmp_path, server.url)
        env = {"CT_PROD_PASSCODE": "AMA-AUE-YWUL", "CTCONFIG_ALLOWED_ENDPOINTS": server.url}
        result = run_ctconfig("plan", env=env)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        "Error: account `prod`: refused \\x1b]8;;https://evil.example\\x07click\\x1b]8;;\\x07 "
        "\\x1b]0;pwned\\x07"
    )
    assert "\x1b" not in result.stdout + result.stderr


def test_a_state_servers_error_page_cannot_reach_the_terminal_raw(
    tmp_path: Path, run_ctconfig: RunCtconfig
) -> None:
    with scripted_server() as server:
        server.answers["GET"] = (500, f"{OSC_TITLE}upstream {OSC_LINK}\nsecond line".encode())
        (tmp_path / "ctconfig.yaml").write_text(
            f"version: 1\nstate: {server.state_block()}\naccounts: {{}}\n", encoding="utf-8"
        )
        result = run_ctconfig("state", "list", env={"CTCONFIG_ALLOWED_ENDPOINTS": server.url})
    assert result.returncode == 1
    assert result.stderr == (
        f"Error: {server.address()} answered 500 Internal Server Error to the request to read the state: "
        "\\x1b]0;pwned\\x07upstream \\x1b]8;;https://evil.example\\x07click\\x1b]8;;\\x07\n"
    )


def hostile_lock(root: Path) -> None:
    record = {
        "id": "6f1c",
        "who": f"alice{OSC_TITLE}",
        "host": f"ci\u202e7-{OSC_LINK}",
        "pid": 4242,
        "operation": "apply\n\x1b[1AApply complete!",
        "created": "2026-11-29T10:00:00Z",
    }
    (root / "ctconfig.state.json.lock").write_text(json.dumps(record), encoding="utf-8")


HOLDER = (
    "alice\\x1b]0;pwned\\x07@ci\\u202e7-\\x1b]8;;https://evil.example\\x07click\\x1b]8;;\\x07 (pid 4242) "
    "running apply\\x0a\\x1b[1AApply complete! since 2026-11-29T10:00:00Z"
)


def test_a_lock_holders_fields_are_visible_in_the_lock_message(
    tmp_path: Path, run_ctconfig: RunCtconfig
) -> None:
    local_workspace(tmp_path)
    hostile_lock(tmp_path)
    result = run_ctconfig("state", "rm", "prod/settings")
    assert result.returncode == 1
    assert "\x1b" not in result.stderr and result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"Error: state is locked by {HOLDER} (")


def test_a_lock_holders_fields_are_visible_when_it_is_removed(
    tmp_path: Path, run_ctconfig: RunCtconfig
) -> None:
    local_workspace(tmp_path)
    hostile_lock(tmp_path)
    result = run_ctconfig("force-unlock", "--yes", "6f1c")
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout and result.stdout.count("\n") == 1
    assert result.stdout.startswith(f"Lock 6f1c removed from ctconfig.state.json; it was held by {HOLDER} (")


def test_recovery_notes_show_journal_names_visibly(tmp_path: Path, run_ctconfig: RunCtconfig) -> None:
    """A journal names a passcode of an account the config no longer has: the note quotes it."""
    local_workspace(tmp_path)
    intent = {
        "entry": "intent",
        "id": "i1",
        "address": f"ghost/account_passcode/x{OSC_TITLE}\u200e",
        "account_id": "W9R-486-4W5Z",
        "name": "x",
        "expires_in": "90d",
        "idempotency_key": "k1",
        "at": "2026-11-29T10:00:00Z",
    }
    begin = {"entry": "begin", "format": 2, "lineage": "11111111-1111-1111-1111-111111111111", "serial": 0}
    journal = tmp_path / "ctconfig.state.json.journal"
    journal.write_text(json.dumps(begin) + "\n" + json.dumps(intent) + "\n", encoding="utf-8")
    result = run_ctconfig("plan")
    output = result.stdout + result.stderr
    assert "ghost/account_passcode/x\\x1b]0;pwned\\x07\\u200e" in output
    assert "\x1b" not in output and "\u200e" not in output


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_a_state_diff_shows_hostile_names_visibly(
    tmp_path: Path, run_ctconfig: RunCtconfig, fmt: str
) -> None:
    """State files come with pull requests: a name cannot rewrite the terminal or leave its code span."""
    local_workspace(tmp_path)
    name = f"x` **All clear** `{OSC_TITLE}\u200e"
    before = state({"prod/account_passcode/a": passcode("a")}, serial=1)
    after = state({f"prod/account_passcode/{name}": passcode(name)}, serial=2)
    (tmp_path / "a.json").write_text(before.dumps(), encoding="utf-8")
    (tmp_path / "b.json").write_text(after.dumps(), encoding="utf-8")
    result = run_ctconfig("state", "diff", "a.json", "b.json", "--format", fmt)
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout and "\u200e" not in result.stdout
    assert "\\x1b]0;pwned\\x07\\u200e" in result.stdout
    if fmt == "markdown":
        for token in MarkdownIt("commonmark").enable("table").parse(result.stdout):
            for child in token.children or []:
                if "All clear" in child.content:
                    assert child.type == "code_inline", (child.type, child.content)


def test_recover_shows_journal_names_visibly(tmp_path: Path, run_ctconfig: RunCtconfig) -> None:
    """`ctconfig recover` settles what plan only reports: its notes quote the journal's names too."""
    local_workspace(tmp_path)
    lineage = "11111111-1111-1111-1111-111111111111"
    (tmp_path / "ctconfig.state.json").write_text(state({}, serial=1, lineage=lineage).dumps())
    intent = {
        "entry": "intent",
        "id": "i1",
        "address": f"ghost/account_passcode/x{OSC_TITLE}\u200e",
        "account_id": "W9R-486-4W5Z",
        "name": f"x{OSC_TITLE}\u200e",
        "expires_in": "90d",
        "idempotency_key": "k1",
        "at": "2026-11-29T10:00:00Z",
    }
    begin = {"entry": "begin", "format": 2, "lineage": lineage, "serial": 1}
    journal = tmp_path / "ctconfig.state.json.journal"
    journal.write_text(json.dumps(begin) + "\n" + json.dumps(intent) + "\n", encoding="utf-8")
    result = run_ctconfig("recover")
    output = result.stdout + result.stderr
    assert "ghost/account_passcode/x\\x1b]0;pwned\\x07\\u200e" in output, output
    assert "\x1b" not in output and "\u200e" not in output


def test_a_notice_while_a_command_waits_is_visible(capsys: pytest.CaptureFixture[str]) -> None:
    """Notices (why a request waits) quote servers: they reach stderr with escapes made visible."""
    import logging

    from ctconfig.redaction import NOTICES, show_notices

    show_notices()
    logging.getLogger(NOTICES).info("account `prod`: the server said %s; retrying", OSC_TITLE)
    assert capsys.readouterr().err == "account `prod`: the server said \\x1b]0;pwned\\x07; retrying\n"
