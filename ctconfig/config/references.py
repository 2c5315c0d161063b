"""Rules about names that refer to other entries, checked on the raw data with every place named.

* `use:` names templates that exist; two templates an account uses may not both define one
  passcode or grant (the account's own entry overrides both); with its templates an account
  still holds at most 100 account passcodes;
* `previously:` on an account names an alias no account has now, and no other account claims;
* `removed:` and `safety.approve_deletes` name addresses the config no longer declares: an
  address is either managed, or forgotten (deleted, for an approval), never both.

`link_templates` then tells the source map where the entries an account takes from a template
were written, so later problems (a sink slot two passcodes share) point at the template.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from ctconfig.config.describe import label
from ctconfig.config.errors import Problem, quoted
from ctconfig.config.yamltree import KeyPath, Position, SourceMap
from ctconfig.domain import MAX_ACCOUNT_PASSCODES, Address, ResourceKind

Found = list[tuple[KeyPath, Problem]]
_SECTIONS = ("account_passcodes", "user_passcodes")
_WHAT = {"account_passcodes": "account passcode", "user_passcodes": "user passcode"}


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _names(value: Any, path: KeyPath) -> list[tuple[str, KeyPath]]:
    """`use: a` or `use: [a, b]` (the same for `previously`): each name with the path of its value."""
    if isinstance(value, str):
        return [(value, path)]
    if isinstance(value, list):
        return [(item, (*path, index)) for index, item in enumerate(value) if isinstance(item, str)]
    return []


def used_templates(account: dict[str, Any], templates: dict[str, Any]) -> list[str]:
    """The templates an account uses that exist, in the order it names them, once each."""
    names = [name for name, _ in _names(account.get("use"), ())]
    return [name for name in dict.fromkeys(names) if isinstance(templates.get(name), dict)]


def reference_rules(data: Any, sources: SourceMap) -> Found:
    """Every problem with templates, account renames, `removed:` and approved deletes."""
    if not isinstance(data, dict):
        return []
    accounts, templates = _mapping(data.get("accounts")), _mapping(data.get("templates"))
    found = _template_uses(accounts, templates, sources) + _previous_aliases(accounts, sources)
    declared = _Declared(accounts, templates, sources)
    found += declared.contradictions(data.get("removed"), ("removed",), "forgotten")
    safety = _mapping(data.get("safety"))
    found += declared.contradictions(safety.get("approve_deletes"), ("safety", "approve_deletes"), "deleted")
    return found


# ---- templates ------------------------------------------------------------------------------------


def _template_uses(accounts: dict[str, Any], templates: dict[str, Any], sources: SourceMap) -> Found:
    found: Found = []
    for alias, account in accounts.items():
        if not isinstance(account, dict):
            continue
        for name, path in _names(account.get("use"), ("accounts", alias, "use")):
            if name not in templates:
                message = f"use: no template named {quoted(name)}{_template_hint(name, templates)}"
                found.append((path, sources.value_at(path).problem(message)))
        used = used_templates(account, templates)
        for section in _SECTIONS:
            found += _conflicts(alias, account, used, templates, section, sources)
    return found


def _template_hint(name: str, templates: dict[str, Any]) -> str:
    if not templates:
        return "; define it under a top-level 'templates:' section"
    close = difflib.get_close_matches(name, list(templates), n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]!r}?"
    return "; templates: " + ", ".join(repr(t) for t in templates)


def _conflicts(
    alias: str,
    account: dict[str, Any],
    used: list[str],
    templates: dict[str, Any],
    section: str,
    sources: SourceMap,
) -> Found:
    """Entries two templates both give the account (unless it overrides them), or that repeat one of
    its own in another case; and the passcode limit counted with the templates' entries."""
    own = _mapping(account.get(section))
    own_folded = {key.casefold(): key for key in own}
    taken: dict[str, tuple[str, str]] = {}  # folded name -> (template, name as written there)
    found: Found = []
    use_path: KeyPath = ("accounts", alias, "use")
    what = _WHAT[section]
    for template in used:
        for key in _mapping(templates[template].get(section)):
            folded = key.casefold()
            here: KeyPath = ("templates", template, section, key)
            if folded in own_folded:
                mine = own_folded[folded]
                if mine != key:
                    path: KeyPath = ("accounts", alias, section, mine)
                    message = (
                        f"{what} {quoted(mine)} of account {quoted(alias)} repeats {quoted(key)} of "
                        f"template {quoted(template)} at {sources.key_at(here)} (case-insensitive); "
                        "write it the same way to override it"
                    )
                    found.append((path, sources.key_at(path).problem(message)))
                continue
            if folded not in taken:
                taken[folded] = (template, key)
                continue
            first, first_key = taken[folded]
            if first == template:
                continue  # repeated within one template: `rules.py` reports it there
            there: KeyPath = ("templates", first, section, first_key)
            message = (
                f"use: {what} {quoted(key)} comes from template {quoted(first)} at {sources.key_at(there)} "
                f"and from template {quoted(template)} at {sources.key_at(here)}; define it in one of "
                f"them, or in account {quoted(alias)} to override both"
            )
            found.append((use_path, sources.key_at(use_path).problem(message)))
    total = len(own) + len(taken)
    if section == "account_passcodes" and taken and len(own) <= MAX_ACCOUNT_PASSCODES < total:
        message = (
            f"use: expected at most {MAX_ACCOUNT_PASSCODES} account passcodes per account, got {total} "
            f"in account {quoted(alias)} ({len(taken)} from templates)"
        )
        found.append((use_path, sources.key_at(use_path).problem(message)))
    return found


def link_templates(data: Any, sources: SourceMap) -> None:
    """Point each entry an account takes from a template at the place the template defines it."""
    if not isinstance(data, dict):
        return
    accounts, templates = _mapping(data.get("accounts")), _mapping(data.get("templates"))
    for alias, account in accounts.items():
        if not isinstance(account, dict):
            continue
        for template in used_templates(account, templates):
            for section in _SECTIONS:
                own = _mapping(account.get(section))
                for key in _mapping(templates[template].get(section)):
                    path: KeyPath = ("accounts", alias, section, key)
                    if key not in own:
                        sources.links.setdefault(path, ("templates", template, section, key))


# ---- account renames ------------------------------------------------------------------------------


def _previous_aliases(accounts: dict[str, Any], sources: SourceMap) -> Found:
    found: Found = []
    claimed: dict[str, tuple[str, KeyPath]] = {}
    for alias, account in accounts.items():
        if not isinstance(account, dict):
            continue
        for old, path in _names(account.get("previously"), ("accounts", alias, "previously")):
            if old == alias:
                message = f"previously: {quoted(old)} is this account's own alias; expected an earlier one"
            elif old in accounts:
                there = sources.key_at(("accounts", old))
                message = (
                    f"previously: {quoted(old)} is still an account alias at {there}; an account can "
                    "move only to an alias no other account has"
                )
            elif old in claimed:
                other, other_path = claimed[old]
                message = (
                    f"previously: {quoted(old)} is also claimed by account {quoted(other)} at "
                    f"{sources.value_at(other_path)}; expected one account per earlier alias"
                )
            else:
                claimed[old] = (alias, path)
                continue
            found.append((path, sources.value_at(path).problem(message)))
    return found


# ---- removed: and approved deletes ----------------------------------------------------------------


@dataclass
class _Declared:
    """Answers where the config declares an address (an account's own entry, or its templates')."""

    accounts: dict[str, Any]
    templates: dict[str, Any]
    sources: SourceMap

    def __post_init__(self) -> None:
        self.moved_to: dict[str, tuple[str, KeyPath]] = {}
        for alias, account in self.accounts.items():
            if isinstance(account, dict):
                for old, path in _names(account.get("previously"), ("accounts", alias, "previously")):
                    self.moved_to.setdefault(old, (alias, path))

    def contradictions(self, value: Any, path: KeyPath, fate: str) -> Found:
        """Entries of a list of addresses that the config still declares."""
        found: Found = []
        if not isinstance(value, list):
            return found
        for index, text in enumerate(value):
            if not isinstance(text, str):
                continue
            where = self.place_of(text)
            if where is None:
                continue
            here = (*path, index)
            message = (
                f"{label(here)}: {quoted(text)} is declared at {where}; an address the config declares "
                f"cannot be {fate}: remove one or the other"
            )
            found.append((here, self.sources.value_at(here).problem(message)))
        return found

    def place_of(self, text: str) -> Position | None:
        """Where `text` (an address, or `ALIAS/*`) is declared; None when it is not."""
        if text.endswith("/*"):
            return self._account_place(text[:-2])
        try:
            address = Address.parse(text)
        except ValueError:
            return None  # the model reports the form
        owner = self._owner(address.account)
        if owner is None:
            return None
        account = self.accounts[owner]
        if address.kind is ResourceKind.SETTINGS:
            if account.get("passcode_mode") is None:
                return None
            return self.sources.key_at(("accounts", owner, "passcode_mode"))
        section = "account_passcodes" if address.kind is ResourceKind.ACCOUNT_PASSCODE else "user_passcodes"
        return self._entry_place(owner, account, section, address.name)

    def _account_place(self, alias: str) -> Position | None:
        if isinstance(self.accounts.get(alias), dict):
            return self.sources.key_at(("accounts", alias))
        moved = self.moved_to.get(alias)
        return self.sources.value_at(moved[1]) if moved else None

    def _owner(self, alias: str) -> str | None:
        if isinstance(self.accounts.get(alias), dict):
            return alias
        moved = self.moved_to.get(alias)
        return moved[0] if moved else None

    def _entry_place(self, alias: str, account: dict[str, Any], section: str, name: str) -> Position | None:
        fold = str.lower if section == "user_passcodes" else (lambda text: text)
        wanted = fold(name)
        places: list[tuple[dict[str, Any], KeyPath]] = [
            (_mapping(account.get(section)), ("accounts", alias, section))
        ]
        places += [
            (_mapping(self.templates[t].get(section)), ("templates", t, section))
            for t in used_templates(account, self.templates)
        ]
        for entries, path in places:
            for key, spec in entries.items():
                if fold(key) == wanted:
                    return self.sources.key_at((*path, key))
                renamed = _names(_mapping(spec).get("previously"), (*path, key, "previously"))
                for old, old_path in renamed:
                    if section == "account_passcodes" and old == name:
                        return self.sources.value_at(old_path)
        return None
