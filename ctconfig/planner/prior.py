"""The public view of refreshed state records that a plan carries (`plan.PriorResource`). Pure.

Only what a reviewer may see: settings, remote ids, expiry and how a resource
is managed. Never `secret_fingerprint`: an unsalted hash of a short passcode
is a guessable stand-in for the passcode, and a plan is posted where many read it.
"""

from __future__ import annotations

from collections.abc import Mapping

from ctconfig.actions import ModeSettings
from ctconfig.domain import Address
from ctconfig.plan import PriorResource
from ctconfig.planner.refresh import grant_settings, in_address_order, passcode_settings
from ctconfig.state.document import AccountPasscodeRecord, RecordType, UserPasscodeRecord


def prior_resources(resources: Mapping[Address, RecordType]) -> tuple[PriorResource, ...]:
    """Every record's public view, in address order."""
    return tuple(prior_resource(address, record) for address, record in in_address_order(resources))


def prior_resource(address: Address, record: RecordType) -> PriorResource:
    """One record's public view."""
    if isinstance(record, AccountPasscodeRecord):
        return PriorResource(
            address,
            record.account_id,
            passcode_settings(record),
            remote_id=record.id,
            expires_at=record.expires_at,
            origin=record.origin.value,
            prevent_destroy=record.prevent_destroy,
            tainted=record.tainted is not None,
            retire_after=record.retire_after,
        )
    if isinstance(record, UserPasscodeRecord):
        return PriorResource(
            address,
            record.account_id,
            grant_settings(record),
            expires_at=record.expires_at,
            origin=record.origin.value,
            prevent_destroy=record.prevent_destroy,
        )
    return PriorResource(address, record.account_id, ModeSettings(record.passcode_mode))
