"""The env-file sink keeps every secret when the applier stores them from several threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ctconfig.domain import Address
from ctconfig.secrets import Secret
from ctconfig.sinks import SecretRef
from ctconfig.sinks.env_file import EnvFileSink


def test_concurrent_stores_keep_every_line(tmp_path: Path) -> None:
    sink = EnvFileSink(tmp_path / "secrets.env")
    refs = [SecretRef(Address.account_passcode("demo", f"p{i}"), "TEST-R78-ZZK-955Z") for i in range(40)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda r: sink.store(r, Secret(f"secret-{r.name}")), refs))
    for ref in refs:
        stored = sink.read(ref)
        assert stored is not None and stored.reveal() == f"secret-{ref.name}"


def test_concurrent_batches_keep_every_line_and_its_owner(tmp_path: Path) -> None:
    sink = EnvFileSink(tmp_path / "secrets.env")
    refs = [SecretRef(Address.account_passcode(f"a{i % 4}", f"p{i}"), "TEST-R78-ZZK-955Z") for i in range(80)]
    batches = [refs[start : start + 10] for start in range(0, len(refs), 10)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = pool.map(
            lambda batch: sink.store_many([(r, Secret(f"secret-{r.name}")) for r in batch]), batches
        )
        assert all(o.stored for batch in outcomes for o in batch)
    lines = (tmp_path / "secrets.env").read_text().splitlines()
    assert len(lines) == 160
    for ref in refs:
        assert sink.read(ref) == Secret(f"secret-{ref.name}")
        assert lines[lines.index(f"{ref.env_name}=secret-{ref.name}") - 1] == f"# ctconfig: {ref.address}"
