"""Issue 20: a pull request that changes where credentials, secrets or state go is loud.

State records the config's trust surface on every write; the plan compares it and puts a
change at the top of the pull-request comment as a CAUTION block, and says which endpoint
the provider uses.
"""

from __future__ import annotations

import json
from pathlib import Path

from markdown_it import MarkdownIt

from tests.conftest import RunCtconfig
from tests.examples import copy_example


def test_a_change_to_the_sink_or_provider_is_a_caution_first(
    tmp_path: Path, run_ctconfig: RunCtconfig
) -> None:
    folder = copy_example("quickstart", tmp_path / "quickstart")
    first = run_ctconfig("plan", "--format", "markdown", cwd=folder)
    assert "> [!CAUTION]\n> **Where credentials, secrets and state go** has not been recorded" in first.stdout
    assert run_ctconfig("apply", "--auto-approve", cwd=folder).returncode == 0
    recorded = json.loads((folder / "ctconfig.state.json").read_text())["trust"]
    assert recorded["secrets"] == "sink=file, path=.ctconfig/secrets"
    assert recorded["provider"] == "kind=sandbox, path=.ctconfig/sandbox.db"

    quiet = run_ctconfig("plan", "--format", "markdown", cwd=folder)
    assert "[!CAUTION]" not in quiet.stdout  # nothing moved

    config = folder / "ctconfig.yaml"
    config.write_text(config.read_text().replace("path: .ctconfig/secrets", "path: exfil/secrets"))
    moved = run_ctconfig("plan", "--format", "markdown", cwd=folder)
    lines = moved.stdout.splitlines()
    assert lines[1:5] == [
        "### ctconfig plan",
        "",
        "> [!CAUTION]",
        "> **This change moves where credentials, secrets or state go.** Review it before anything else:",
    ]
    assert lines[5] == "> - `secrets`: `sink=file, path=.ctconfig/secrets` → `sink=file, path=exfil/secrets`"
    tokens = MarkdownIt("commonmark").parse(moved.stdout)
    assert [t.type for t in tokens[:3]] == ["html_block", "heading_open", "inline"]
    text = run_ctconfig("plan", cwd=folder)
    assert text.stdout.startswith(
        "CAUTION: this config changes where credentials, secrets or state go:\n"
        "  secrets: 'sink=file, path=.ctconfig/secrets' -> 'sink=file, path=exfil/secrets'\n"
    )
    assert "Provider: the embedded sandbox (.ctconfig/sandbox.db; no network)." in text.stderr


def test_the_caution_shows_a_hostile_value_as_code_that_cannot_break_out(
    tmp_path: Path, run_ctconfig: RunCtconfig
) -> None:
    folder = copy_example("quickstart", tmp_path / "quickstart")
    assert run_ctconfig("apply", "--auto-approve", cwd=folder).returncode == 0
    config = folder / "ctconfig.yaml"
    hostile = "x` <img src=x> [link](https://evil.example) ``"
    config.write_text(config.read_text().replace("path: .ctconfig/secrets", f"path: '{hostile}'"))
    moved = run_ctconfig("plan", "--format", "markdown", cwd=folder)
    tokens = MarkdownIt("commonmark").parse(moved.stdout)
    inline = [t for t in tokens if t.type == "inline"]
    links = [c for t in inline for c in (t.children or []) if c.type in ("link_open", "image", "html_inline")]
    assert links == []  # the value stays inside code spans
    assert "evil.example" in moved.stdout
