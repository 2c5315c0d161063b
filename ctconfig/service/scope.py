"""`--target` and `--replace` must each match something: a typo is an error, not an empty plan.

The addresses a plan can touch are the ones the config declares and the ones
the state manages, so a pattern is checked against those — before any
account is read — and one that matches none is refused with the closest
addresses. (`--exclude` matching nothing leaves nothing out, so it is not checked.)
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from ctconfig.config.spec import Config
from ctconfig.domain import Address
from ctconfig.plan import PlanError, PlanScope
from ctconfig.state.document import State

MAX_SUGGESTIONS = 3
MIN_LIKENESS = 0.6  # difflib's ratio below which an address is not offered as a suggestion
NEARLY = 0.08  # suggestions beside the best must be about as close as it is


class ScopeError(PlanError):
    """A `--target` or `--replace` pattern that matches no declared or managed address."""


def known_addresses(config: Config, state: State) -> list[Address]:
    """Every address a plan could match: declared in the config (old names too) or managed in state."""
    found: set[Address] = set(state.resources)
    for alias, account in config.accounts.items():
        for name, spec in account.account_passcodes.items():
            found.add(Address.account_passcode(alias, name))
            found.update(Address.account_passcode(alias, old) for old in spec.previously)
        found.update(Address.user_passcode(alias, email) for email in account.user_passcodes)
        if account.passcode_mode is not None:
            found.add(Address.settings(alias))
    return sorted(found, key=str)


def check_scope(config: Config, state: State, scope: PlanScope) -> None:
    """Raise `ScopeError` for the first `--target`/`--replace` pattern that matches nothing."""
    if not scope.targets and not scope.replace:
        return  # (--exclude alone cannot cancel anything asked for)
    known = known_addresses(config, state)
    for pattern in scope.targets:
        if (
            not any(PlanScope(targets=(pattern,)).selects(a) for a in known)
            and pattern not in config.accounts
        ):
            raise ScopeError(_nothing_matches("--target", pattern, known))
    for pattern in scope.replace:
        replaced = [a for a in known if PlanScope(replace=(pattern,)).replaces(a)]
        if not replaced:
            raise ScopeError(_nothing_matches("--replace", pattern, known))
        if not any(scope.selects(a) for a in replaced):
            excluded = any(not PlanScope(excludes=scope.excludes).selects(a) for a in replaced)
            left_out, fix = (
                ("left out by --exclude", "drop the --exclude that leaves it out")
                if excluded
                else ("outside --target", "add it to --target")
            )
            raise ScopeError(
                f"--replace {pattern!r} names only addresses {left_out}, so nothing would be replaced; {fix}"
            )


def _nothing_matches(option: str, pattern: str, known: Iterable[Address]) -> str:
    addresses = list(known)
    if not addresses:
        return f"{option} {pattern!r} matches nothing: the config declares no resources and state has none"
    if "/" in pattern:
        closest = closest_names(pattern, [str(a) for a in addresses])
    else:  # an account prefix such as `prod`
        closest = closest_names(pattern, sorted({a.account for a in addresses}))
    hint = (
        f"did you mean {_either(closest)}?"
        if closest
        else "addresses look like prod/account_passcode/NAME; `ctconfig state list` lists the managed ones"
    )
    return f"{option} {pattern!r} matches no address in the config or the state; {hint}"


def closest_names(text: str, names: list[str], most: int = MAX_SUGGESTIONS) -> list[str]:
    """The names most like `text`: the best, and any others nearly as close (none if none is close)."""
    matcher = difflib.SequenceMatcher()
    matcher.set_seq2(text)  # the side difflib caches
    scored: list[tuple[float, str]] = []
    for name in names:
        matcher.set_seq1(name)
        if matcher.real_quick_ratio() >= MIN_LIKENESS and matcher.quick_ratio() >= MIN_LIKENESS:
            scored.append((matcher.ratio(), name))
    scored.sort(key=lambda item: (-item[0], item[1]))
    if not scored or scored[0][0] < MIN_LIKENESS:
        return []
    best = scored[0][0]
    return [name for score, name in scored[:most] if score >= best - NEARLY]


def _either(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
