"""A custom checkov check, written as checkov documents them: account passcodes must expire."""

from __future__ import annotations

from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.terraform.checks.resource.base_resource_check import BaseResourceCheck


class PasscodesExpire(BaseResourceCheck):
    def __init__(self) -> None:
        super().__init__(
            name="CleverTap account passcodes must expire",
            id="CKV_CTCONFIG_1",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=["account_passcode"],
        )

    def scan_resource_conf(self, conf: dict[str, Any]) -> CheckResult:
        expires_in = conf.get("expires_in", [None])
        value = expires_in[0] if isinstance(expires_in, list) else expires_in
        return CheckResult.FAILED if value == "forever" else CheckResult.PASSED


check = PasscodesExpire()
