"""Views of `ctconfig check`: one line per finding, an issue body in markdown, JSON for tools.

Subjects and messages hold names from accounts and configs, so each is made
visible (terminal) or escaped (markdown) before it is shown; the markdown view
stays under a comment's limit like the plan's does.
"""

from __future__ import annotations

import json

from ctconfig.columns import aligned
from ctconfig.domain import moment_text
from ctconfig.findings import CheckReport
from ctconfig.render.escape import markdown_code, markdown_text, terminal_safe

FORMATS = ("text", "markdown", "json")
MARKER = "<!-- ctconfig-check -->"
LIMIT = 60_000
WHAT_TO_DO = {
    "error": "fix the config in a pull request: the plan cannot be applied as it is",
    "expired": "rotate it now: `ctconfig apply --replace ADDR` (reviewed: a pull request that asks for the "
    "rotation), then give the new secret to whoever uses it",
    "drift": "someone changed the account by hand: merge a config change that accepts it, or apply main "
    "to restore it",
    "missing": "the sink lost a secret ctconfig delivered: rotate the passcode to deliver a new one",
    "unmanaged": "declare it (it is adopted on the next apply), or delete it in the dashboard",
    "expiring": "set rotate_before (reset_before) in a pull request so that applies renew it in time",
    "due": "main's config asks for this and no apply has made it: plan main, review, apply that digest",
    "journal": "run `ctconfig apply` where the accounts can be reached",
}


def render_check(report: CheckReport, fmt: str) -> str:
    """The report in `text`, `markdown` or `json`, ending with a newline."""
    if fmt == "json":
        return json.dumps(check_json(report), indent=2, sort_keys=True) + "\n"
    if fmt == "markdown":
        return render_markdown(report)
    return render_text(report)


def check_json(report: CheckReport) -> dict[str, object]:
    return {
        "ok": report.ok,
        "checked_at": moment_text(report.checked_at),
        "serial": report.serial,
        "accounts": report.accounts,
        "managed": report.managed,
        "counts": report.counts(),
        "findings": [f.to_json() for f in report.findings],
    }


def summary_line(report: CheckReport) -> str:
    """`All is well: …` or `3 finding(s) (1 expired, 2 drift): …`."""
    looked = (
        f"{report.accounts} account(s), {report.managed} managed resource(s), state serial {report.serial}"
    )
    if report.ok:
        return f"All is well: {looked}."
    counts = ", ".join(f"{n} {kind}" for kind, n in report.counts().items())
    return f"{len(report.findings)} finding(s) ({counts}) in {looked}."


def render_text(report: CheckReport) -> str:
    """One line per finding (kind, subject, why), or one line saying all is well."""
    if report.ok:
        return summary_line(report) + "\n"
    rows = [(f.kind, terminal_safe(f.subject), terminal_safe(f.message)) for f in report.findings]
    return "\n".join(aligned(rows)) + "\n"


def render_markdown(report: CheckReport, *, limit: int = LIMIT) -> str:
    """An issue body: the summary, what to do about each kind found, and a table of findings."""
    head = [MARKER, "### ctconfig check", "", f"**{summary_line(report)}**", ""]
    head.append(f"Checked at {moment_text(report.checked_at)}.")
    if report.ok:
        return "\n".join(head) + "\n"
    head += ["", "What to do:", ""]
    head += [f"- **{kind}**: {markdown_text(WHAT_TO_DO[kind])}" for kind in report.counts()]
    head += ["", "| kind | subject | finding |", "|---|---|---|"]
    rows = [
        f"| {f.kind} | {markdown_code(f.subject)} | {markdown_text(f.message)} |" for f in report.findings
    ]
    text = "\n".join(head)
    for index, row in enumerate(rows):
        rest = len(rows) - index
        if len(text) + len(row) + 200 > limit:
            text += f"\n\n… and {rest} more finding(s): `ctconfig check --format json` lists them all."
            break
        text += "\n" + row
    return text + "\n"
