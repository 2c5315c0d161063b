"""Before the first create: can the secret sink take the secrets a plan would issue?

`plan` and `apply` ask the sink's `preflight` about exactly the passcodes the
plan creates (creates, rotations and replacements). `plan` shows a refusal as
an error; `apply` starts none of those creates and lets everything else run.
A plan that creates nothing never asks: a sink that is down does not stop
deletes, renames or grants.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import replace

from ctconfig.actions import issues_secret
from ctconfig.domain import AccountTarget
from ctconfig.plan import Note, Plan
from ctconfig.sinks import SecretRef, SecretSink, SinkError

SINK_SUBJECT = "secrets"
"""What a sink's plan error is about: the config's `secrets:` section."""


def secrets_to_issue(plan: Plan, targets: Mapping[str, AccountTarget]) -> list[SecretRef]:
    """The passcodes whose new secrets this plan would hand to the sink, in plan order."""
    return [
        SecretRef(action.address, targets[action.address.account].account_id)
        for action in plan.actions
        if issues_secret(action) and action.address.account in targets
    ]


async def sink_refusal(sink: SecretSink, refs: Sequence[SecretRef]) -> str | None:
    """Why the sink cannot take the secrets of `refs` (one line, no secret), or None.

    The sink's preflight only looks; it may read over the network, so it runs in a thread.
    """
    if not refs:
        return None
    try:
        await asyncio.to_thread(sink.preflight, refs)
    except SinkError as exc:
        return str(exc)
    return None


async def with_sink_checked(sink: SecretSink, plan: Plan, targets: Mapping[str, AccountTarget]) -> Plan:
    """`plan`, with an error naming the sink if it would refuse the secrets the plan creates."""
    refs = secrets_to_issue(plan, targets)
    refusal = await sink_refusal(sink, refs)
    if refusal is None:
        return plan
    note = Note(
        SINK_SUBJECT,
        f"the {sink.describe()} cannot take secrets: {refusal}; "
        f"apply would start none of the {len(refs)} passcode create(s) until it can",
    )
    return replace(plan, errors=(*plan.errors, note))
