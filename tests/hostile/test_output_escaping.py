"""Names ctconfig only reads (made by hand in the dashboard, or sent by a hostile API) cannot forge
output: no markdown break-out in the pull-request comment, no escape sequence reaching a terminal.

The plans are made by the real planner from account snapshots holding such names (the provider is
below the layer under test); the markdown is parsed by a real CommonMark parser.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from markdown_it import MarkdownIt

from ctconfig.config.spec import Config
from ctconfig.domain import AccountSnapshot, ObservedPasscode
from ctconfig.planner import PlanOptions, make_plan
from ctconfig.render.escape import markdown_code, markdown_text, terminal_safe
from ctconfig.render.plan_markdown import render_markdown
from ctconfig.render.plan_text import render_summary, render_text
from ctconfig.state.document import State

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
ACCOUNT_ID = "W9R-486-4W5Z"
BREAKOUT = "z` **All clear** ![t](https:evil.example?a) `"
TERMINAL = "ok\x1b[2J\x1b]0;pwned\x07\nFORGED: Apply complete\u202e"
NAMES = [BREAKOUT, TERMINAL, "a|b</details><script>x</script>", "``````", "<img src=x onerror=alert(1)>"]


def hostile_plan() -> object:
    """Unmanaged passcodes with hostile names: warned about, and deleted (`unmanaged: delete`)."""
    config = Config.model_validate(
        {
            "version": 1,
            "accounts": {
                "warned": {"id": ACCOUNT_ID, "unmanaged": "warn"},
                "deleting": {"id": "TEST-R78-ZZK-955Z", "unmanaged": "delete"},
            },
        }
    )
    passcodes = tuple(ObservedPasscode(f"pc{i}", name, 30, NOW, NOW) for i, name in enumerate(NAMES))
    observed = {
        "warned": AccountSnapshot(ACCOUNT_ID, "account", NOW, passcodes),
        "deleting": AccountSnapshot("TEST-R78-ZZK-955Z", "account", NOW, passcodes),
    }
    return make_plan(config, State.new(), observed, PlanOptions(NOW)).plan


def leaves(markdown: str) -> list[tuple[str, str]]:
    """Every leaf token the CommonMark parser sees, with its text: (type, content)."""
    found: list[tuple[str, str]] = []
    for token in MarkdownIt("commonmark").parse(markdown):
        children = token.children or []
        found.extend((child.type, child.content) for child in children)
        if not children:
            found.append((token.type, token.content))
    return found


def test_a_hand_made_name_cannot_break_out_of_the_pull_request_comment() -> None:
    markdown = render_markdown(hostile_plan())  # type: ignore[arg-type]
    tokens = leaves(markdown)
    assert tokens, "the comment parses"
    for kind, content in tokens:
        if "All clear" in content or "evil.example" in content or "<script>" in content:
            assert kind in ("code_inline", "fence", "code_block"), (kind, content)
    assert not any(kind in ("image", "html_inline") for kind, _ in tokens)
    html = MarkdownIt("commonmark").render(markdown)
    assert "<img" not in html and "<script" not in html and 'href="https:evil' not in html


def test_no_escape_sequence_reaches_the_terminal() -> None:
    plan = hostile_plan()
    for text in (render_text(plan), render_summary(plan), render_markdown(plan)):  # type: ignore[arg-type]
        assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
        assert "FORGED" not in text.split("\n")[0]
        assert not any(line.startswith("FORGED") for line in text.splitlines())
    assert "\\x1b[2J" in render_text(plan)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", NAMES)
def test_each_escape_keeps_the_text_and_its_meaning(name: str) -> None:
    span = markdown_code(name)
    [paragraph] = [t for t in MarkdownIt("commonmark").parse(span) if t.type == "inline"]
    assert [c.type for c in paragraph.children or []] == ["code_inline"]
    assert paragraph.children is not None and paragraph.children[0].content == terminal_safe(name).strip(" ")
    rendered = MarkdownIt("commonmark").render(markdown_text(name))
    assert "<strong>" not in rendered and "<img" not in rendered and "<script>" not in rendered
    assert "\n" not in terminal_safe(name) and "\x1b" not in terminal_safe(name)
