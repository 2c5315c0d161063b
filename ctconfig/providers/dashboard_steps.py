"""Each action of a plan in the CleverTap dashboard's own words: where to click, what to type, what to see.

One source for both the runbook (`render/runbook.py`, Markdown for a ticket)
and the guided session (`providers/dashboard.py`, at a terminal). A line is a
tuple of segments; `Exact` segments are values to type or find exactly (a
name, a number of days, an email), which Markdown shows as code.
"""

from __future__ import annotations

from dataclasses import dataclass

from ctconfig.actions import (
    Action,
    ActionKind,
    GrantAction,
    GrantSettings,
    PasscodeAction,
    PasscodeSettings,
    SettingsAction,
    StateAction,
)
from ctconfig.domain import EXPIRING_SOON, isoformat


class Exact(str):
    """A value to type or find exactly: shown as code in Markdown."""

    __slots__ = ()


Line = tuple[str, ...]
PASSCODES = "Settings > Passcodes"
USERS = "Settings > Users"


@dataclass(frozen=True)
class DashboardSteps:
    """One action as a person performs it: a title, the clicks, what to see, what ctconfig checks."""

    title: Line
    steps: tuple[Line, ...]
    expected: tuple[Line, ...]
    checked: Line
    caution: Line | None = None


def dashboard_url(account_id: str, region: str) -> str:
    """`https://<region>.dashboard.clevertap.com/<account-id>/`, where the account's dashboard lives."""
    return f"https://{region}.dashboard.clevertap.com/{account_id}/"


def plain(line: Line) -> str:
    """A line as plain text (for a terminal)."""
    return "".join(line)


def steps_for(action: Action, account_id: str = "") -> DashboardSteps:
    """The dashboard steps that carry out `action` (`account_id` names the account checks run against)."""
    against = f"account {account_id}" if account_id else "this account"
    if isinstance(action, PasscodeAction):
        return _passcode_steps(action, against)
    if isinstance(action, GrantAction):
        return _grant_steps(action)
    if isinstance(action, StateAction):
        return _state_steps(action)
    return _mode_steps(action, against)


def _state_steps(action: StateAction) -> DashboardSteps:
    """A move or a forget changes what ctconfig records, never the account: nothing to click."""
    what = "moves it to its new address" if action.kind is ActionKind.MOVE else "stops managing it"
    return DashboardSteps(
        title=("Nothing to do in the dashboard",),
        steps=(),
        expected=(("the account stays as it is",),),
        checked=(f"nothing: ctconfig {what} in its state (and moves a secret the sink holds)",),
    )


# ---- account passcodes ----------------------------------------------------------------------


def _passcode_steps(action: PasscodeAction, against: str) -> DashboardSteps:
    if action.kind is ActionKind.CREATE:
        assert action.after is not None
        return _create(action.after, against)
    if action.kind is ActionKind.UPDATE:
        assert action.before is not None and action.after is not None
        return _edit(action.before, action.after)
    if action.kind is ActionKind.DELETE:
        assert action.before is not None
        return _delete(action.before.name)
    if action.rotation is None:
        return _replace_delete_first(action, against)
    return _rotate(action, against)


def create_lines(after: PasscodeSettings) -> tuple[Line, ...]:
    """ "+ Passcode" through Done: what making one passcode takes."""
    return (
        (PASSCODES, ' > "+ Passcode"'),
        ("Passcode Name: ", Exact(after.name)),
        _expiry_line(after.expires_in),
        ('"Create & View", then copy the API Key: it is shown this once',),
        ("Done",),
    )


def _create(after: PasscodeSettings, against: str) -> DashboardSteps:
    return DashboardSteps(
        title=("Create account passcode ", Exact(after.name)),
        steps=create_lines(after),
        expected=(_listed(after),),
        checked=_key_check(against),
    )


def _edit(before: PasscodeSettings, after: PasscodeSettings) -> DashboardSteps:
    steps: list[Line] = [(PASSCODES, " > Edit icon of ", Exact(before.name))]
    if after.name != before.name:
        steps.append(("Passcode Name: ", Exact(after.name)))
    if after.expires_in != before.expires_in:
        steps.append(_expiry_line(after.expires_in))
    steps.append(("Update",))
    return DashboardSteps(
        title=("Edit account passcode ", Exact(before.name)),
        steps=tuple(steps),
        expected=(_listed(after, edited=True),),
        checked=(
            "its API Key still authenticates (credential check: 200), when the secret sink can give it back",
        ),
    )


def _delete(name: str) -> DashboardSteps:
    return DashboardSteps(
        title=("Delete account passcode ", Exact(name)),
        steps=((PASSCODES, " > Delete icon of ", Exact(name)), ("Confirm the deletion",)),
        expected=((Exact(name), " is no longer listed under ", PASSCODES),),
        checked=_gone_check(),
        caution=("every integration using the API Key of ", Exact(name), " stops working"),
    )


def _rotate(action: PasscodeAction, against: str) -> DashboardSteps:
    assert action.before is not None and action.after is not None and action.rotation is not None
    name, aside = action.before.name, action.rotation.aside_name
    steps: list[Line] = [
        (PASSCODES, " > Edit icon of ", Exact(name), " > Passcode Name: ", Exact(aside), " > Update"),
        *create_lines(action.after),
    ]
    expected: list[Line] = [_listed(action.after)]
    if action.rotation.retire_after is None:
        steps.append((PASSCODES, " > Delete icon of ", Exact(aside), "; confirm the deletion"))
        expected.append((Exact(aside), " is no longer listed"))
    else:
        when = isoformat(action.rotation.retire_after) or ""
        expected.append((Exact(aside), " keeps working until ", Exact(when), "; a later apply deletes it"))
    return DashboardSteps(
        title=("Rotate account passcode ", Exact(name)),
        steps=tuple(steps),
        expected=tuple(expected),
        checked=(
            "the old API Key still authenticates after the rename (when the secret sink can give it "
            "back); then ",
            *_key_check(against),
        ),
    )


def _replace_delete_first(action: PasscodeAction, against: str) -> DashboardSteps:
    """A tainted passcode: no one holds its API Key, so delete it first, then create it again."""
    assert action.before is not None and action.after is not None
    name = action.before.name
    return DashboardSteps(
        title=("Replace account passcode ", Exact(name), " (delete first: nobody holds its API Key)"),
        steps=(
            (PASSCODES, " > Delete icon of ", Exact(name)),
            ("Confirm the deletion",),
            *create_lines(action.after),
        ),
        expected=(_listed(action.after),),
        checked=_key_check(against),
    )


def _expiry_line(days: int | None) -> Line:
    if days is None:
        return ("Set Expiry Date: Forever",)
    return ("Set Expiry Date: Set day(s) ", Exact(str(days)))


def _listed(after: PasscodeSettings, *, edited: bool = False) -> Line:
    if after.expires_in is None:
        return (Exact(after.name), " is listed, Active, never expiring")
    days = after.expires_in
    status = '"Expiring soon"' if days <= EXPIRING_SOON.days else "Active"
    counted = "after it was created" if edited else "from today"
    return (Exact(after.name), f" is listed, {status}, expiring ", Exact(str(days)), f" day(s) {counted}")


def _key_check(against: str) -> Line:
    return (
        "the API Key you paste (hidden input): its shape, then CleverTap's credential check against "
        f"{against}; only then is it accepted and sent to the secret sink",
    )


def _gone_check() -> Line:
    return ("its API Key is refused now (credential check: 401), when the secret sink can give it back",)


# ---- user passcodes and the passcode mode ---------------------------------------------------------


def _grant_steps(action: GrantAction) -> DashboardSteps:
    email = Exact(action.email)
    user = (USERS, " > select ", email)
    confirm = ("nothing: a user passcode's secret is its user's; you confirm the step",)
    if action.kind is ActionKind.RESET:
        return DashboardSteps(
            title=("Reset the user passcode of ", email),
            steps=((*user, " > Reset"),),
            expected=((email, " holds a fresh user passcode (they see it in their own settings)"),),
            checked=confirm,
            caution=("calls made with the old user passcode of ", email, " stop working"),
        )
    if action.kind is ActionKind.REVOKE:
        return DashboardSteps(
            title=("Revoke the user passcode of ", email),
            steps=((*user, " > Revoke"),),
            expected=((email, " holds no user passcode"),),
            checked=confirm,
            caution=("calls made with the user passcode of ", email, " stop working"),
        )
    assert action.after is not None
    again = action.kind is ActionKind.REPLACE
    steps: list[Line] = [(*user, " > Revoke")] if again else []
    steps += [(*user, " > Grant"), _validity_line(action.after)]
    return DashboardSteps(
        title=("Revoke and grant again" if again else "Grant", " the user passcode of ", email),
        steps=tuple(steps),
        expected=((email, " holds a user passcode, ", *_validity_words(action.after)),),
        checked=confirm,
        caution=("calls made with the old user passcode of ", email, " stop working") if again else None,
    )


def _validity_line(after: GrantSettings) -> Line:
    if after.validity is None:
        return ("Infinite",)
    return ("Finite: ", Exact(str(after.validity)), " day(s)")


def _validity_words(after: GrantSettings) -> Line:
    if after.validity is None:
        return ("Infinite (valid up to 10 years)",)
    return ("valid ", Exact(str(after.validity)), " day(s) from today")


def _mode_steps(action: SettingsAction, against: str) -> DashboardSteps:
    if action.after.passcode_mode == "user":
        return DashboardSteps(
            title=("Enforce user passcodes",),
            steps=(("In the dashboard's settings, turn on enforcing user passcodes for API calls",),),
            expected=(("API calls authenticate with each caller's user passcode only",),),
            checked=(f"an account passcode whose secret the sink gives back is refused by {against}",),
            caution=("account passcodes stop authenticating API calls",),
        )
    return DashboardSteps(
        title=("Stop enforcing user passcodes",),
        steps=(("In the dashboard's settings, turn off enforcing user passcodes for API calls",),),
        expected=(("API calls authenticate with account passcodes",),),
        checked=(f"an account passcode whose secret the sink gives back authenticates with {against}",),
    )
