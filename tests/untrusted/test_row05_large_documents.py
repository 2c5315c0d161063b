"""Issue 20, row 5: a hostile state, plan, journal or state-server answer under the byte bound is
refused for about what reading it costs — never gigabytes of parse trees and validation errors.

Each document is refused with one line before pydantic sees it (`ctconfig/jsonshape.py`). The
process tests measure the refusing command's peak memory (ru_maxrss of the child): on the code
before the shape checks these documents cost 2 to 3.8 GB and up to 40 s.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from ctconfig.state.journal_store import FileJournalStore
from tests.conftest import RunCtconfig, ctconfig_executable
from tests.http_state.conftest import ENV
from tests.http_state.server import StateServer
from tests.untrusted.workspaces import http_workspace, local_workspace, refusal, served_state_server

LINEAGE = str(uuid.uuid4())
MIB = 1024 * 1024
HEADER = b'{"format_version":2,"lineage":"%s","serial":1,"resources":{}' % LINEAGE.encode()


def values_bound(document: bytes) -> int:
    """What ctconfig counts before parsing: one value, and one more after each `[`, `{`, `,` and `:`."""
    return 1 + sum(document.count(mark) for mark in (b"[", b"{", b",", b":"))


def dense_state(size: int) -> bytes:
    """A state document whose extra key holds `size` bytes of zeros: tens of millions of values."""
    zeros = b"0," * (size // 2) + b"0"
    return HEADER + b',"x":[' + zeros + b"]}"


def state_of_records(count: int) -> bytes:
    """A state document with `count` empty records (each would be one validation error)."""
    records = b",".join(b'"a/account_passcode/p%d":{}' % n for n in range(count))
    return b'{"format_version":2,"lineage":"%s","serial":1,"resources":{%s}}' % (LINEAGE.encode(), records)


state_server = pytest.fixture(served_state_server)


def test_a_state_with_more_values_than_any_state_is_refused_before_parsing(
    tmp_path: Path, run_ctconfig: RunCtconfig
) -> None:
    local_workspace(tmp_path)
    document = dense_state(8 * MIB)
    (tmp_path / "ctconfig.state.json").write_bytes(document)
    assert refusal(run_ctconfig("state", "list")) == (
        f"Error: ctconfig.state.json: the state document holds up to {values_bound(document):,} keys "
        "and values, more than the 4,000,000 of any ctconfig writes; refusing it before parsing\n"
    )


def test_more_records_than_a_state_holds_are_refused_before_validation(
    tmp_path: Path, run_ctconfig: RunCtconfig
) -> None:
    local_workspace(tmp_path)
    (tmp_path / "ctconfig.state.json").write_bytes(state_of_records(100_001))
    assert refusal(run_ctconfig("state", "list")) == (
        "Error: ctconfig.state.json: the state document has an object of 100,001 members at "
        "resources, more than the 100,000 ctconfig writes there\n"
    )


def test_more_objects_than_a_state_holds_are_refused_before_parsing(
    tmp_path: Path, run_ctconfig: RunCtconfig
) -> None:
    """1.3 million empty records (40 MB) parsed cost more than reading a real state of 100,000."""
    local_workspace(tmp_path)
    (tmp_path / "ctconfig.state.json").write_bytes(state_of_records(500_000))
    assert refusal(run_ctconfig("state", "list")) == (
        "Error: ctconfig.state.json: the state document holds up to 500,002 objects and arrays, more "
        "than the 400,000 of any ctconfig writes; refusing it before parsing\n"
    )


def test_a_record_with_many_members_is_refused_before_validation(
    tmp_path: Path, run_ctconfig: RunCtconfig
) -> None:
    local_workspace(tmp_path)
    members = b",".join(b'"k%d":0' % n for n in range(50_000))
    document = HEADER[: -len(b"{}")] + b'{"a/settings":{%s}}}' % members
    (tmp_path / "ctconfig.state.json").write_bytes(document)
    assert refusal(run_ctconfig("state", "list")) == (
        "Error: ctconfig.state.json: the state document has an object of 50,000 members at "
        "resources.a/settings, more than the 32 ctconfig writes there\n"
    )


def test_a_hostile_plan_file_is_refused_before_parsing(tmp_path: Path, run_ctconfig: RunCtconfig) -> None:
    local_workspace(tmp_path)
    empties = b"{}," * 3_000_000 + b"{}"
    plan = b'{"ctconfig_format":3,"actions":[' + empties + b"]}"
    (tmp_path / "hostile.plan").write_bytes(plan)
    assert refusal(run_ctconfig("show", "hostile.plan")) == (
        f"Error: hostile.plan: the plan file holds up to {values_bound(plan):,} keys and values, more "
        "than the 5,000,000 of any ctconfig writes; refusing it before parsing\n"
    )


def test_a_hostile_answer_of_the_state_server_is_refused_before_parsing(
    tmp_path: Path, run_ctconfig: RunCtconfig, state_server: StateServer
) -> None:
    http_workspace(tmp_path, state_server)
    members = b",".join(b'"k%d":0' % n for n in range(1000))
    state_server.stored().body = HEADER + b"," + members + b"}"
    assert refusal(run_ctconfig("state", "list", env=ENV)) == (
        f"Error: {state_server.address()}: the state document has an object of 1,004 members at "
        "the top, more than the 17 ctconfig writes there\n"
    )


def test_a_journal_of_more_lines_than_entries_is_refused_before_decoding(tmp_path: Path) -> None:
    journal = tmp_path / "ctconfig.state.json.journal"
    journal.write_bytes(b"{}\n" * 1_000_001)
    with pytest.raises(Exception) as refused:
        FileJournalStore(journal).entries()
    assert str(refused.value) == (
        f"journal {journal} holds 1,000,001 lines, more than the 1,000,000 entries a journal can hold; "
        "it is not ctconfig's"
    )


def test_a_journal_entry_wider_than_any_is_refused(tmp_path: Path) -> None:
    journal = tmp_path / "ctconfig.state.json.journal"
    wide = b"{" + b",".join(b'"k%d":0' % n for n in range(100)) + b"}"
    journal.write_bytes(b'{"entry":"begin"}\n' + wide + b"\n")
    with pytest.raises(Exception) as refused:
        FileJournalStore(journal).entries()
    assert str(refused.value) == (
        f"journal {journal} line 2: the journal entry has an object of 100 members at the top, more "
        "than the 16 ctconfig writes there"
    )


MEASURED = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[2:], capture_output=True, text=True)
sys.stdout.write(done.stderr)
with open(sys.argv[1], "w") as out:
    out.write(f"{done.returncode} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}")
"""


def peak_memory_of(args: list[str], cwd: Path) -> tuple[int, str, int]:
    """Run the installed command; its exit code, its stderr and its peak resident memory in bytes.

    It is started by a small interpreter of its own, so that its peak is its own: a child forked
    straight from this (large) test process would count the pages it shares with it until exec.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("CTCONFIG_")} | {"NO_COLOR": "1"}
    report = cwd / "measured.txt"
    done = subprocess.run(
        [sys.executable, "-c", MEASURED, str(report), *ctconfig_executable(), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    code, peak_kib = map(int, report.read_text().split())
    return code, done.stdout, peak_kib * 1024


def dense_plan() -> bytes:
    return b'{"actions":[' + b"[]," * (20 * MIB) + b"[]]}"


@pytest.mark.process
@pytest.mark.slow
@pytest.mark.parametrize(
    ("command", "file", "document"),
    [
        (["state", "list"], "ctconfig.state.json", lambda: dense_state(60 * MIB)),
        (["show", "hostile.plan"], "hostile.plan", dense_plan),
    ],
    ids=["state", "plan"],
)
def test_refusing_60_mib_costs_about_reading_it(
    tmp_path: Path, command: list[str], file: str, document: Callable[[], bytes]
) -> None:
    """60 MiB of values under the 64 MiB bound: refused with less than 320 MiB at the peak
    (the command alone is ~50 MiB, the document 60 MiB, its punctuation as much again)."""
    local_workspace(tmp_path)
    (tmp_path / file).write_bytes(document())
    code, stderr, peak = peak_memory_of(command, tmp_path)
    assert code == 1
    assert stderr.startswith(f"Error: {file}: the ") and "refusing it before parsing" in stderr
    assert peak < 320 * MIB, f"peak {peak / MIB:.0f} MiB"
