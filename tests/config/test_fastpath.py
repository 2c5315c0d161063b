"""The fast path must agree with the located loader, and step aside for anything unusual."""

from __future__ import annotations

from pathlib import Path

import pytest

from ctconfig.config.fastpath import fast_load
from ctconfig.config.loader import _load_located, load_config

EXAMPLES = Path(__file__).parents[2] / "examples"


def test_the_c_parser_is_installed() -> None:
    from ctconfig.config.fastpath import _c_yaml

    assert _c_yaml() is not None, "ruamel.yaml.clib is a dependency: without it large configs load slowly"


@pytest.mark.parametrize("example", ["quickstart/ctconfig.yaml"])
def test_fast_and_located_paths_agree(example: str) -> None:
    files = (EXAMPLES / example,)
    fast = fast_load(list(files), merged=False)
    located = _load_located(files, False, {})
    assert fast is not None and located is not None
    assert fast == located.config


def test_interpolation_and_anchors_take_the_located_path(tmp_path: Path) -> None:
    for text in (
        "version: 1\naccounts: {p: {id: '${X:-W9R-486-4W5Z}'}}\n",
        "version: 1\nd: &d {region: eu1}\naccounts: {p: {<<: *d, id: W9R-486-4W5Z}}\n",
    ):
        path = tmp_path / "c.yaml"
        path.write_text(text)
        assert fast_load([path], merged=False) is None


def test_an_invalid_config_still_gets_located_errors(tmp_path: Path) -> None:
    path = tmp_path / "ctconfig.yaml"
    path.write_text("version: 1\naccounts:\n  p:\n    id: W9R-486-4W5Z\n    regoin: eu1\n")
    assert fast_load([path], merged=False) is None
    with pytest.raises(Exception, match=r"ctconfig.yaml:5:5: unknown key 'regoin'"):
        load_config(path, {})


def test_location_of_works_after_the_fast_path(tmp_path: Path) -> None:
    path = tmp_path / "ctconfig.yaml"
    path.write_text("version: 1\naccounts:\n  prod:\n    id: W9R-486-4W5Z\n")
    loaded = load_config(path, {})
    assert loaded.sources is None  # took the fast path
    assert loaded.location_of("accounts", "prod") == f"{path}:3:3"
