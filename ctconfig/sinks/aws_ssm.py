"""The `aws-ssm` sink: each secret as a SecureString parameter `<prefix><account>/<name>`.

A new parameter is created with the address and account id as tags (and,
when configured, the KMS key); an existing one is overwritten only when its
`ctconfig:address` tag names the same address. Standard tier (4 KB values).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ctconfig import failpoints
from ctconfig.secret_slots import ssm_parameter_name
from ctconfig.sinks.aws import AwsSink, aws_client, aws_session, error_code
from ctconfig.sinks.base import SecretRef

if TYPE_CHECKING:
    from ctconfig.config.spec import AwsSsmSinkConfig

LABEL = "aws-ssm"
_MISSING = ("ParameterNotFound", "InvalidResourceId")


class AwsSsmSink(AwsSink):
    """SecureString parameters in AWS SSM Parameter Store, tagged with the address that owns each."""

    label = LABEL

    @classmethod
    def from_config(cls, config: AwsSsmSinkConfig, attempts: int = 3) -> AwsSsmSink:
        """The sink a `secrets: {sink: aws-ssm}` section describes."""
        session = aws_session(LABEL, config.region)
        client = aws_client(session, "ssm", config.endpoint_url, pool=config.max_inflight, attempts=attempts)
        return cls(session, client, config.prefix, config.kms_key_id, config.max_inflight)

    def slot(self, ref: SecretRef) -> str:
        return ssm_parameter_name(self.prefix, ref.address)

    def location(self, ref: SecretRef) -> str:
        return f"AWS SSM parameter {self.slot(ref)}"

    def _put(self, ref: SecretRef, value: str) -> None:
        name = self.slot(ref)
        params: dict[str, Any] = {
            "Name": name,
            "Value": value,
            "Type": "SecureString",
            "Tier": "Standard",
            "Description": f"ctconfig: {ref.address}"[:1024],
        }
        if self.kms_key_id:
            params["KeyId"] = self.kms_key_id
        try:
            failpoints.hit("sink.aws.put_parameter", name)
            self.client.put_parameter(Tags=self._tags(ref), Overwrite=False, **params)
            return
        except Exception as exc:
            if error_code(exc) != "ParameterAlreadyExists":
                raise
        found = self.client.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)
        self._check_owner(ref, found.get("TagList", []))
        failpoints.hit("sink.aws.put_parameter", name)
        self.client.put_parameter(Overwrite=True, **params)

    def _slot_tags(self, ref: SecretRef) -> list[dict[str, str]] | None:
        try:
            found = self.client.list_tags_for_resource(ResourceType="Parameter", ResourceId=self.slot(ref))
        except Exception as exc:
            if error_code(exc) in _MISSING:
                return None
            raise
        return list(found.get("TagList", []))

    def _get(self, ref: SecretRef) -> str | None:
        name = self.slot(ref)
        try:
            found = self.client.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)
            if not self._owned(ref, found.get("TagList", [])):
                return None
            value = self.client.get_parameter(Name=name, WithDecryption=True)["Parameter"].get("Value")
        except Exception as exc:
            if error_code(exc) in _MISSING:
                return None
            raise
        return value if isinstance(value, str) else None

    def _delete(self, ref: SecretRef) -> None:
        failpoints.hit("sink.aws.delete_parameter", self.slot(ref))
        self.client.delete_parameter(Name=self.slot(ref))

    def _retag(self, old: SecretRef, new: SecretRef) -> None:
        name = self.slot(new)
        failpoints.hit("sink.aws.add_tags_to_resource", name)
        self.client.add_tags_to_resource(ResourceType="Parameter", ResourceId=name, Tags=self._tags(new))
