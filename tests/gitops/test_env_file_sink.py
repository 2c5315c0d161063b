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
