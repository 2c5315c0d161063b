"""The env-file sink keeps every secret when the applier stores them from several threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ctconfig.secrets import EnvFileSink, Secret, SecretRef


def test_concurrent_stores_keep_every_line(tmp_path: Path) -> None:
    sink = EnvFileSink(tmp_path / "secrets.env")
    refs = [SecretRef(f"demo/account_passcode/p{i}", "demo", "TEST-R78-ZZK-955Z", f"p{i}") for i in range(40)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda r: sink.store(r, Secret(f"secret-{r.name}")), refs))
    for ref in refs:
        stored = sink.read(ref)
        assert stored is not None and stored.reveal() == f"secret-{ref.name}"
