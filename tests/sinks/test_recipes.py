"""The secret recipes (Vault, Kubernetes, GitHub) through the command sink, against stand-in tools."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from ctconfig.secrets import Secret
from ctconfig.sinks import SinkError
from ctconfig.sinks.command import CommandSink
from tests.sinks.conftest import assert_no_secret, ref, secret_for
from tests.sinks.standins import install

RECIPES = Path(__file__).resolve().parents[2] / "examples" / "secret-recipes"


@dataclass(frozen=True)
class Recipe:
    """A recipe script and how to look into its stand-in store: (secret, owner) of a slot."""

    script: str
    held: Callable[[dict[str, object], str], tuple[str | None, str | None]]
    env: tuple[tuple[str, str], ...] = ()


def _vault(data: dict[str, object], slot: str) -> tuple[str | None, str | None]:
    entry = data.get(f"secret/ctconfig/{slot}")
    return (entry["passcode"], entry.get("ctconfig_address")) if isinstance(entry, dict) else (None, None)


def _kubernetes(data: dict[str, object], slot: str) -> tuple[str | None, str | None]:
    entry = data.get(f"default/{slot.lower().replace('_', '-')}")
    if not isinstance(entry, dict):
        return None, None
    value = base64.b64decode(entry["data"]["passcode"]).decode()
    return value, entry["metadata"].get("annotations", {}).get("ctconfig/address")


def _github(data: dict[str, object], slot: str) -> tuple[str | None, str | None]:
    value, owner = data.get(f"acme/cfg/secret/{slot}"), data.get(f"acme/cfg/variable/{slot}_CTCONFIG_ADDRESS")
    return (value if isinstance(value, str) else None), (owner if isinstance(owner, str) else None)


RECIPE_LIST = [
    Recipe("vault.sh", _vault),
    Recipe("kubernetes.sh", _kubernetes),
    Recipe("github.sh", _github, (("GITHUB_REPOSITORY", "acme/cfg"),)),
]
STORES = {"vault.sh": "vault", "kubernetes.sh": "kubectl", "github.sh": "gh"}


@pytest.fixture(params=RECIPE_LIST, ids=lambda r: r.script)
def recipe(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Recipe:
    install(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("STANDIN_STATE", str(tmp_path / "state"))
    chosen: Recipe = request.param
    for name, value in chosen.env:
        monkeypatch.setenv(name, value)
    return chosen


def held(recipe: Recipe, slot: str) -> tuple[str | None, str | None]:
    path = Path(os.environ["STANDIN_STATE"]) / f"{STORES[recipe.script]}.json"
    return recipe.held(json.loads(path.read_text()) if path.exists() else {}, slot)


def command_lines() -> str:
    return (Path(os.environ["STANDIN_STATE"]) / "calls.log").read_text()


def sink_for(recipe: Recipe) -> CommandSink:
    return CommandSink(["sh", str(RECIPES / recipe.script)], timeout=30)


def test_secrets_arrive_exactly_with_their_owner_and_only_through_stdin(recipe: Recipe) -> None:
    sink = sink_for(recipe)
    items = [
        (ref("prod", "segment-export"), Secret("AMA-AUE-YWUL")),
        (ref("dev", "braze sync"), secret_for("b")),
    ]
    outcomes = sink.store_many(items)
    assert [o.result() for o in outcomes] == [
        "command sink (CT_PROD_SEGMENT_EXPORT)",
        "command sink (CT_DEV_BRAZE_SYNC)",
    ]
    assert held(recipe, "CT_PROD_SEGMENT_EXPORT") == ("AMA-AUE-YWUL", "prod/account_passcode/segment-export")
    assert held(recipe, "CT_DEV_BRAZE_SYNC") == (secret_for("b").reveal(), "dev/account_passcode/braze sync")
    assert_no_secret(command_lines(), *(s for _, s in items))
    sink.store(ref("prod", "segment-export"), Secret("ROTATED"))  # the owner replaces its own secret
    assert held(recipe, "CT_PROD_SEGMENT_EXPORT")[0] == "ROTATED"


def test_a_slot_of_another_address_is_refused(recipe: Recipe) -> None:
    sink = sink_for(recipe)
    sink.store(ref("prod-eu", "braze-sync"), Secret("first-secret"))
    with pytest.raises(SinkError) as refused:
        sink.store(ref("prod_eu", "braze_sync"), Secret("second-secret"))
    message = str(refused.value)
    assert message.startswith("secret command sh for CT_PROD_EU_BRAZE_SYNC exited with status 1: ")
    assert "holds the secret of prod-eu/account_passcode/braze-sync; refusing to overwrite it" in message
    assert_no_secret(message, Secret("first-secret"), Secret("second-secret"))
    assert held(recipe, "CT_PROD_EU_BRAZE_SYNC") == ("first-secret", "prod-eu/account_passcode/braze-sync")


def test_an_unreachable_store_is_a_one_line_sink_error(
    recipe: Recipe, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STANDIN_DOWN", "1")
    [outcome] = CommandSink(["sh", str(RECIPES / recipe.script)]).store_many(
        [(ref("prod", "a"), secret_for("a"))]
    )
    assert outcome.error is not None
    assert "connection refused" in str(outcome.error) and "\n" not in str(outcome.error)
    assert_no_secret(str(outcome.error), secret_for("a"))


@pytest.mark.parametrize(
    "recipe", [RECIPE_LIST[0], RECIPE_LIST[1]], indirect=True, ids=["vault", "kubernetes"]
)
def test_a_slot_not_made_by_ctconfig_is_refused(recipe: Recipe) -> None:
    state = Path(os.environ["STANDIN_STATE"])
    state.mkdir()
    if recipe.script == "vault.sh":
        (state / "vault.json").write_text(json.dumps({"secret/ctconfig/CT_PROD_A": {"passcode": "theirs"}}))
    else:
        manifest = {
            "metadata": {"name": "ct-prod-a"},
            "data": {"passcode": base64.b64encode(b"theirs").decode()},
        }
        (state / "kubectl.json").write_text(json.dumps({"default/ct-prod-a": manifest}))
    with pytest.raises(SinkError, match=r"not made by ctconfig|not written by ctconfig"):
        sink_for(recipe).store(ref("prod", "a"), secret_for("a"))
    assert held(recipe, "CT_PROD_A")[0] == "theirs"


@pytest.mark.parametrize("recipe", [RECIPE_LIST[2]], indirect=True, ids=["github"])
def test_a_github_secret_from_before_owners_is_taken_over(recipe: Recipe) -> None:
    state = Path(os.environ["STANDIN_STATE"])
    state.mkdir()
    (state / "gh.json").write_text(json.dumps({"acme/cfg/secret/CT_PROD_A": "old"}))
    sink_for(recipe).store(ref("prod", "a"), Secret("new"))
    assert held(recipe, "CT_PROD_A") == ("new", "prod/account_passcode/a")


def _shellcheck() -> str:
    found = Path(sys.executable).with_name("shellcheck")
    path = str(found) if found.exists() else shutil.which("shellcheck")
    if not path:
        pytest.skip("shellcheck is not installed (pip install -e '.[test]')")
    return path


@pytest.mark.parametrize("script", sorted(p.name for p in RECIPES.glob("*.sh")))
def test_recipes_pass_shellcheck(script: str) -> None:
    done = subprocess.run([_shellcheck(), str(RECIPES / script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
