"""Issue 20, row 8: state, its backup, history and journal are 0600 in directories ctconfig makes
0700 (a directory that exists keeps its mode), and a fingerprint in state does not name its key.

Modes are checked under umask 022, the usual one, which let every file be written 0644 before.
"""

from __future__ import annotations

import hashlib
import json
import random
import string
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ctconfig.domain import Address, ObservedPasscode
from ctconfig.providers.dashboard_refresh import CheckedState
from ctconfig.providers.guided import KnownAccount, KnownPasscode
from ctconfig.secrets import Secret, fingerprint
from ctconfig.state.base import LockInfo
from ctconfig.state.journal_store import FileJournalStore
from ctconfig.state.lockfile import LockFile
from tests.conftest import RunCtconfig
from tests.untrusted.workspaces import mode, usual_umask

ACCOUNT_ID = "TEST-R78-ZZK-955Z"


umask_022 = pytest.fixture(autouse=True)(usual_umask)


def write_config(root: Path, state_path: str, expires: str = "90d") -> None:
    (root / "ctconfig.yaml").write_text(
        f"version: 1\nstate: {{backend: local, path: {state_path}}}\n"
        f"accounts:\n  demo:\n    id: {ACCOUNT_ID}\n    account_passcodes:\n"
        f"      etl: {{expires_in: {expires}}}\n      sync: {{expires_in: forever}}\n",
        encoding="utf-8",
    )


def apply_twice(root: Path, run_ctconfig: RunCtconfig, state_path: str) -> None:
    """Create, then change an expiry: the second write keeps a backup and a second history entry."""
    write_config(root, state_path)
    assert run_ctconfig("apply", "--auto-approve", cwd=root).returncode == 0
    write_config(root, state_path, expires="60d")
    done = run_ctconfig("apply", "--auto-approve", cwd=root)
    assert done.returncode == 0, done.stderr


def test_state_backup_history_and_audit_are_0600_in_0700_directories(
    tmp_path: Path, run_ctconfig: RunCtconfig
) -> None:
    apply_twice(tmp_path, run_ctconfig, "kept/state/ctconfig.state.json")
    state_dir = tmp_path / "kept" / "state"
    history = state_dir / "ctconfig.state.json.history"
    assert {mode(d) for d in (tmp_path / "kept", state_dir, history)} == {0o700}
    files = [state_dir / "ctconfig.state.json", state_dir / "ctconfig.state.json.backup", *history.iterdir()]
    assert len(files) == 6  # state, backup, two versions with their audit records
    assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
    assert {mode(p) for p in (tmp_path / ".ctconfig").rglob("*")} <= {0o600, 0o700}


def test_the_journal_and_the_lock_file_are_0600(tmp_path: Path) -> None:
    store = FileJournalStore(tmp_path / "new" / "ctconfig.state.json.journal")
    store.append([{"entry": "begin", "format": 2, "lineage": "x", "serial": 0}])
    store.close()
    assert mode(store.path) == 0o600 and mode(store.path.parent) == 0o700
    lock = LockFile(tmp_path / "locks" / "ctconfig.state.json.lock")
    assert isinstance(lock.try_acquire("apply"), LockInfo)
    assert mode(lock.path) == 0o600 and mode(lock.path.parent) == 0o700


def test_a_directory_that_exists_keeps_its_mode(tmp_path: Path, run_ctconfig: RunCtconfig) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # like the system's temporary directory: world-writable, sticky
    open_dir = tmp_path / "open"
    open_dir.mkdir()
    open_dir.chmod(0o755)
    write_config(tmp_path, "shared/ctconfig.state.json")
    assert run_ctconfig("apply", "--auto-approve").returncode == 0
    write_config(tmp_path, "open/ctconfig.state.json")
    run_ctconfig("apply", "--auto-approve")
    assert mode(shared) == 0o1777 and mode(open_dir) == 0o755
    assert mode(shared / "ctconfig.state.json") == 0o600


def test_the_backup_of_a_state_an_earlier_ctconfig_wrote_0644_is_0600(
    tmp_path: Path, run_ctconfig: RunCtconfig
) -> None:
    write_config(tmp_path, "ctconfig.state.json")
    assert run_ctconfig("apply", "--auto-approve").returncode == 0
    (tmp_path / "ctconfig.state.json").chmod(0o644)
    write_config(tmp_path, "ctconfig.state.json", expires="60d")
    assert run_ctconfig("apply", "--auto-approve").returncode == 0
    assert mode(tmp_path / "ctconfig.state.json.backup") == 0o600
    assert mode(tmp_path / "ctconfig.state.json") == 0o600


def random_passcodes(count: int, seed: int = 7) -> list[str]:
    """`AMA-AUE-YWUL`-shaped passcodes (three groups of three upper-case letters)."""
    rng = random.Random(seed)
    letters = string.ascii_uppercase
    return ["-".join("".join(rng.choices(letters, k=3)) for _ in range(3)) for _ in range(count)]


def test_a_fingerprint_in_state_is_shared_by_many_passcodes() -> None:
    """20,000 passcodes already share fingerprints: one does not name its passcode (the 48 bits of
    `sha256:` named exactly one, found offline in CPU-days; 20 bits leave millions per fingerprint)."""
    counts = Counter(fingerprint(p) for p in set(random_passcodes(20_000)))
    assert all(f.startswith("lossy20:") and len(f) == len("lossy20:") + 5 for f in counts)
    assert sum(n - 1 for n in counts.values()) > 50  # ~190 expected; none with 48 bits
    assert len(set(counts)) < 2**20


def test_state_records_the_lossy_fingerprint_of_the_delivered_secret(
    tmp_path: Path, run_ctconfig: RunCtconfig
) -> None:
    write_config(tmp_path, "ctconfig.state.json")
    assert run_ctconfig("apply", "--auto-approve").returncode == 0
    state = json.loads((tmp_path / "ctconfig.state.json").read_text())
    secret = (tmp_path / ".ctconfig" / "secrets" / "demo" / "etl").read_text().strip()
    recorded = state["resources"]["demo/account_passcode/etl"]["secret_fingerprint"]
    assert recorded == fingerprint(secret) and recorded.startswith("lossy20:")
    assert secret not in (tmp_path / "ctconfig.state.json").read_text()


def legacy(secret: str) -> str:
    """The fingerprint an earlier ctconfig recorded: `sha256:` and 12 hex digits."""
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()[:12]


def test_an_earlier_sha256_fingerprint_still_verifies(tmp_path: Path, run_ctconfig: RunCtconfig) -> None:
    write_config(tmp_path, "ctconfig.state.json")
    assert run_ctconfig("apply", "--auto-approve").returncode == 0
    path = tmp_path / "ctconfig.state.json"
    secret = (tmp_path / ".ctconfig" / "secrets" / "demo" / "etl").read_text().strip()
    state = json.loads(path.read_text())
    state["resources"]["demo/account_passcode/etl"]["secret_fingerprint"] = legacy(secret)
    path.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
    done = run_ctconfig("verify", "--target", "demo/account_passcode/etl")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passcode(s): 1 valid" in done.stdout

    state["resources"]["demo/account_passcode/etl"]["secret_fingerprint"] = legacy("AMA-AUE-YWUL")
    path.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
    done = run_ctconfig("verify", "--target", "demo/account_passcode/etl")
    assert done.returncode == 1
    mismatch = f"the sink holds a different secret ({legacy(secret)}, issued {legacy('AMA-AUE-YWUL')})"
    assert mismatch in done.stdout


def test_a_secret_matches_its_fingerprint_in_either_form() -> None:
    secret = Secret("AMA-AUE-YWUL")
    assert secret.matches(fingerprint("AMA-AUE-YWUL")) and secret.matches(legacy("AMA-AUE-YWUL"))
    assert not secret.matches(legacy("AMA-AUE-YWUM")) and not secret.matches(None)
    assert secret.fingerprints() == {fingerprint("AMA-AUE-YWUL"), legacy("AMA-AUE-YWUL")}


def test_the_dashboards_drift_checks_read_an_earlier_fingerprint() -> None:
    """The dashboard provider names the owner of a pasted key, and checks a sink's secret, by either form."""
    now = datetime(2026, 11, 29, tzinfo=UTC)
    address = Address.account_passcode("demo", "etl")
    known = KnownPasscode(address, ObservedPasscode("pc1", "etl", 30, now, now), legacy("AMA-AUE-YWUL"))
    state = CheckedState(checker=None, clock=lambda: now)  # type: ignore[arg-type]  # no check is asked
    state.use({"demo": KnownAccount(ACCOUNT_ID, "account", now, passcodes=(known,))}, lambda a: None)
    assert state.owner_of("demo", Secret("AMA-AUE-YWUL")) == "etl"
    assert state.owner_of("demo", Secret("AMA-AUE-YWUM")) is None
    state.use(
        {"demo": KnownAccount(ACCOUNT_ID, "account", now, passcodes=(known,))},
        lambda a: Secret("AMA-AUE-YWUL"),
    )
    assert state.secret_of(known) == (Secret("AMA-AUE-YWUL"), "")
