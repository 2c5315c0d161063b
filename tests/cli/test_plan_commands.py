"""plan/apply conventions (issues 14.3, 14.5): targets that match nothing, plans with errors, digests,
and the wording of a failed sink, `state diff` and the HTTP summary."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from ctconfig.providers.http_retry import RequestStats
from tests.cli.conftest import Run

ADDRESS = "demo/account_passcode/{}"


def _edit(path: Path, drop: str | None = None, secrets: str | None = None) -> None:
    text = path.read_text()
    if drop:
        text = re.sub(rf"      {re.escape(drop)}:\n(        .*\n)+", "", text)
    if secrets:
        text = re.sub(r"secrets:\n(  .*\n)+", f"secrets:\n{secrets}", text)
    path.write_text(text)


# -- --target / --replace that match nothing ---------------------------------------------------


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (
            ["plan", "--target", "demo/account_passcode/segmnet-export"],
            "Error: --target 'demo/account_passcode/segmnet-export' matches no address in the config "
            "or the state; did you mean demo/account_passcode/segment-export?",
        ),
        (
            ["apply", "--auto-approve", "--replace", "demo/user_passcode/carol@example.com"],
            "Error: --replace 'demo/user_passcode/carol@example.com' matches no address in the config "
            "or the state; did you mean demo/user_passcode/alice@example.com or "
            "demo/user_passcode/bob@example.com?",
        ),
        (
            ["plan", "--target", "dmeo"],
            "Error: --target 'dmeo' matches no address in the config or the state; did you mean demo?",
        ),
        (
            ["plan", "--target", "prod/settings"],
            "Error: --target 'prod/settings' matches no address in the config or the state; addresses look "
            "like prod/account_passcode/NAME; `ctconfig state list` lists the managed ones",
        ),
        (
            ["apply", "--auto-approve", "--replace", "demo/account_passcode/braze-sync", "--exclude", "demo"],
            "Error: --replace 'demo/account_passcode/braze-sync' names only addresses left out by --exclude, "
            "so nothing would be replaced; drop the --exclude that leaves it out",
        ),
        (
            ["plan", "--replace", "demo/account_passcode/*", "--target", "demo/user_passcode/*"],
            "Error: --replace 'demo/account_passcode/*' names only addresses outside --target, so nothing "
            "would be replaced; add it to --target",
        ),
    ],
    ids=[
        "target-typo",
        "replace-unknown",
        "account-typo",
        "nothing-close",
        "replace-excluded",
        "replace-untargeted",
    ],
)
def test_a_target_or_replace_that_matches_nothing_is_an_error(
    quickstart: Path, run: Run, args: list[str], said: str
) -> None:
    done = run(*args)
    assert done.code == 1
    assert done.err.splitlines() == [said]
    assert not (quickstart / "ctconfig.state.json").exists()  # refused before anything was done


@pytest.mark.parametrize(
    "args",
    [
        ["--target", "demo"],
        ["--target", "demo/account_passcode/*"],
        ["--target", "demo/user_passcode/alice@example.com"],
        ["--replace", "demo/account_passcode/braze-*"],
        ["--exclude", "no/such/thing"],  # leaving nothing out is harmless
    ],
)
def test_patterns_that_match_are_accepted(quickstart: Path, run: Run, args: list[str]) -> None:
    done = run("plan", *args)
    assert done.code == 0, done.err


def test_an_address_only_state_still_knows_can_be_targeted(quickstart: Path, run: Run) -> None:
    assert run("apply", "--auto-approve").code == 0
    _edit(quickstart / "ctconfig.yaml", drop="nightly-report")
    done = run("plan", "--target", ADDRESS.format("nightly-report"))
    assert done.code == 0, done.err
    assert f"- {ADDRESS.format('nightly-report')} will be deleted" in done.out


def test_the_scope_is_checked_before_any_account_is_read(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as sock:  # a port nothing listens on: reading an account would fail
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CT_PROD_PASSCODE", "AMA-AUE-YWUL")
    (tmp_path / "ctconfig.yaml").write_text(
        f"version: 1\nprovider: {{kind: clevertap, base_url: 'http://127.0.0.1:{port}', max_retries: 0}}\n"
        "accounts:\n  prod:\n    id: W9R-486-4W5Z\n    credentials: {passcode_env: CT_PROD_PASSCODE}\n"
        "    account_passcodes: {export: {expires_in: 90d}}\n"
    )
    done = run("plan", "--target", "prod/account_passcode/exprot")
    assert done.code == 1
    assert done.err.splitlines() == [
        "Error: --target 'prod/account_passcode/exprot' matches no address in the config or the state; "
        "did you mean prod/account_passcode/export?"
    ]


# -- a plan with errors, and the digest in every view ------------------------------------------


@pytest.fixture
def refused(quickstart: Path, run: Run) -> Path:
    """The quickstart applied, then a prevent_destroy passcode removed from the config: a plan error."""
    assert run("apply", "--auto-approve").code == 0
    _edit(quickstart / "ctconfig.yaml", drop="segment-export")
    return quickstart


@pytest.mark.parametrize(
    "view",
    [[], ["--summary"], ["--format", "markdown"], ["--detailed-exitcode"]],
    ids=["text", "summary", "markdown", "detailed-exitcode"],
)
def test_a_plan_with_errors_never_says_no_changes(refused: Path, run: Run, view: list[str]) -> None:
    done = run("plan", *view)
    assert done.code == 1
    assert "No changes" not in done.out
    assert "Plan failed: 1 error(s); nothing can be applied." in done.out
    assert "demo/account_passcode/segment-export" in done.out  # the error, named
    assert re.search(r"^Plan digest: `?sha256:[0-9a-f]{64}`?$", done.out, flags=re.M)
    assert done.err.splitlines()[-1] == (
        "Error: the plan has 1 error(s); nothing can be applied until they are fixed"
    )


def test_the_full_plan_and_the_summary_give_the_same_digest_line(quickstart: Path, run: Run) -> None:
    digests = []
    for view in ([], ["--summary"], ["--format", "markdown"]):
        done = run("plan", *view)
        assert done.code == 0, done.err
        lines = [line.replace("`", "") for line in done.out.splitlines() if line.startswith("Plan digest: ")]
        assert len(lines) == 1, done.out
        digests.append(lines[0])
    assert len(set(digests)) == 1 and re.fullmatch(r"Plan digest: sha256:[0-9a-f]{64}", digests[0])


# -- the small ones --------------------------------------------------------------------------


def test_a_sink_failure_names_each_address_once(quickstart: Path, run: Run) -> None:
    failing = "  sink: command\n  command: sh -c 'cat > /dev/null; echo vault is down >&2; exit 3'\n"
    _edit(quickstart / "ctconfig.yaml", secrets=failing)
    done = run("apply", "--auto-approve")
    assert done.code == 1
    names = ("braze-sync", "nightly-report", "segment-export")
    for name in names:
        address = ADDRESS.format(name)
        assert done.err.count(address) == 1, done.err  # its TAINTED line, with the reason
        assert done.out.count(address) == 2, done.out  # the plan, and its progress line
        [line] = [line for line in done.err.splitlines() if address in line]
        assert line.startswith(f"TAINTED: {address} (create): secret sink failed: ")
        assert "vault is down" in line and line.endswith("the next plan replaces it")
    assert "Apply incomplete: 2 done, 3 failed, 0 not started." in done.err


def test_state_diff_of_a_serial_not_kept_says_the_serial_once(quickstart: Path, run: Run) -> None:
    assert run("apply", "--auto-approve").code == 0
    done = run("state", "diff", "1", "99")
    assert done.code == 1
    [line] = done.err.splitlines()
    assert line.startswith("Error: serial 99 is not kept in ctconfig.state.json.history")
    assert line.count("99") == 1


@pytest.mark.parametrize(
    ("requests", "lost", "said"),
    [
        (1, 0, "1 request, 0 retried, 0 answers lost"),
        (2, 1, "2 requests, 0 retried, 1 answer lost"),
    ],
)
def test_the_http_summary_counts_in_words(requests: int, lost: int, said: str) -> None:
    stats = RequestStats(lost_answers=lost)
    for _ in range(requests):
        stats.record("200")
    assert stats.summary() == said


def test_detailed_exitcode_keeps_2_for_changes(quickstart: Path, run: Run) -> None:
    assert run("plan", "--detailed-exitcode").code == 2
    assert run("apply", "--auto-approve").code == 0
    assert run("plan", "--detailed-exitcode").code == 0
    assert run("plan", "--detailed-exitcode", "--replace", ADDRESS.format("braze-sync")).code == 2
