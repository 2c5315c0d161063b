"""Stand-ins for `vault`, `kubectl`, `gh` and `curl` (GitLab's variables API) on PATH.

Each keeps what it was given in a JSON store under `$STANDIN_STATE`, the way the real tool's
server would, answers the few calls the recipes make the way the real tool does, and logs its
command line (never stdin) to `calls.log`, so tests can check that a secret only ever travels on
stdin. `STANDIN_DOWN=1` makes every call fail as if the server were unreachable.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ("vault", "kubectl", "gh", "curl")


def install(bin_dir: Path) -> None:
    """Write the stand-in executables into `bin_dir`."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for tool in TOOLS:
        script = bin_dir / tool
        script.write_text(
            f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(ROOT)!r})\n"
            f"from tests.sinks.standins import main\nmain({tool!r})\n"
        )
        script.chmod(0o755)


class Store:
    """The stand-in server's data, one JSON document per tool."""

    def __init__(self, tool: str) -> None:
        self.folder = Path(os.environ["STANDIN_STATE"])
        self.path = self.folder / f"{tool}.json"
        self.data: dict[str, Any] = json.loads(self.path.read_text()) if self.path.exists() else {}

    def save(self) -> None:
        self.path.write_text(json.dumps(self.data, indent=1, sort_keys=True))


def fail(message: str, code: int = 1) -> None:
    print(message, file=sys.stderr)
    raise SystemExit(code)


def main(tool: str) -> None:
    args = sys.argv[1:]
    folder = Path(os.environ["STANDIN_STATE"])
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "calls.log").open("a") as log:
        log.write(json.dumps([tool, *args]) + "\n")
    if os.environ.get("STANDIN_DOWN"):
        fail(f"{tool}: dial tcp 127.0.0.1:8200: connect: connection refused", 2)
    handlers: dict[str, Callable[[list[str]], None]] = {
        "vault": vault,
        "kubectl": kubectl,
        "gh": gh,
        "curl": curl,
    }
    handlers[tool](args)


# -- vault kv (version 2) ----------------------------------------------------------------------


def vault(args: list[str]) -> None:
    assert args[:1] == ["kv"], args
    verb, rest = args[1], args[2:]
    options = {a.split("=", 1)[0]: a.split("=", 1)[1] for a in rest if a.startswith("-") and "=" in a}
    words = [a for a in rest if not a.startswith("-")]
    store = Store("vault")
    mount = options.get("-mount", "secret")
    key = f"{mount}/{words[0]}"
    if verb == "get":
        if key not in store.data:
            fail(f"No value found at {mount}/data/{words[0]}", 2)
        field = options["-field"]
        if field not in store.data[key]:
            fail(f'Field "{field}" not present in secret')
        print(store.data[key][field])
    elif verb == "put":
        fields = dict(w.split("=", 1) for w in words[1:])
        store.data[key] = {k: sys.stdin.read() if v == "-" else v for k, v in fields.items()}
        store.save()
    else:
        fail(f"unknown vault kv verb {verb}")


# -- kubectl -------------------------------------------------------------------------------------


def kubectl(args: list[str]) -> None:
    namespace = "default"
    if args[:1] == ["--namespace"]:
        namespace, args = args[1], args[2:]
    verb = args[0]
    store = Store("kubectl")
    if verb == "get":
        assert args[1] == "secret" and "--ignore-not-found" in args, args
        found = store.data.get(f"{namespace}/{args[2]}")
        if found:
            annotation = found["metadata"].get("annotations", {}).get("ctconfig/address", "")
            print(f"{annotation}|{found['metadata']['name']}", end="")
    elif verb == "create":
        assert args[1:3] == ["secret", "generic"] and "--from-file=passcode=/dev/stdin" in args, args
        data = base64.b64encode(sys.stdin.buffer.read()).decode()
        print(json.dumps({"kind": "Secret", "metadata": {"name": args[3]}, "data": {"passcode": data}}))
    elif verb in ("annotate", "label"):
        assert "--local" in args, args
        manifest = json.load(sys.stdin)
        key, value = next(a for a in args[1:] if "=" in a and not a.startswith("-")).split("=", 1)
        manifest["metadata"].setdefault("annotations" if verb == "annotate" else "labels", {})[key] = value
        print(json.dumps(manifest))
    elif verb == "apply":
        assert "--server-side" in args, "a client-side apply copies the secret into an annotation"
        manifest = json.load(sys.stdin)
        store.data[f"{namespace}/{manifest['metadata']['name']}"] = manifest
        store.save()
    else:
        fail(f"unknown kubectl verb {verb}")


# -- gh (repository variables and secrets) -----------------------------------------------------


def gh(args: list[str]) -> None:
    kind, verb, name = args[0], args[1], args[2]
    assert "--repo" in args, args
    store = Store("gh")
    scope = args[args.index("--repo") + 1] + (f"@{args[args.index('--env') + 1]}" if "--env" in args else "")
    key = f"{scope}/{kind}/{name}"
    if (kind, verb) == ("variable", "get"):
        if key not in store.data:
            fail(f"variable {name} was not found")
        print(store.data[key])
    elif (kind, verb) == ("variable", "set"):
        store.data[key] = args[args.index("--body") + 1]
        store.save()
    elif (kind, verb) == ("secret", "set"):
        assert "--body" not in args, "the secret must come on stdin"
        store.data[key] = sys.stdin.read()
        store.save()
    else:
        fail(f"unknown gh command {kind} {verb}")


# -- curl against GitLab's project variables API -------------------------------------------------


def curl(args: list[str]) -> None:
    method, forms, write_out, output, url = "GET", {}, "", None, ""
    index = 0
    while index < len(args):
        arg = args[index]
        if arg in ("--request", "--form", "--write-out", "--output", "--header"):
            value = args[index + 1]
            index += 2
            if arg == "--request":
                method = value
            elif arg == "--form":
                field, text = value.split("=", 1)
                forms[field] = sys.stdin.read() if text == "<-" else text
            elif arg == "--write-out":
                write_out = value
            elif arg == "--output":
                output = value
            continue
        if not arg.startswith("--"):
            url = arg
        index += 1
    status, body = _gitlab(method, url, forms)
    if output is None:
        sys.stdout.write(body)
    sys.stdout.write(write_out.replace("\\n", "\n").replace("%{http_code}", str(status)))
    if status >= 400 and "--fail" in args:
        raise SystemExit(22)


def _gitlab(method: str, url: str, forms: dict[str, str]) -> tuple[int, str]:
    store = Store("gitlab")
    _, _, tail = url.partition("/variables")
    name = tail.lstrip("/")
    if method == "GET":
        if name not in store.data:
            return 404, '{"message":"404 Variable Not Found"}'
        return 200, json.dumps({"key": name, **store.data[name]})
    if method == "PUT":
        if name not in store.data:
            return 404, '{"message":"404 Variable Not Found"}'
        store.data[name] = {k: v for k, v in forms.items() if k != "key"}
    elif method == "POST":
        name = forms["key"]
        if name in store.data:
            return 400, '{"message":{"key":["has already been taken"]}}'
        store.data[name] = {k: v for k, v in forms.items() if k != "key"}
    store.save()
    return 200, json.dumps({"key": name})
