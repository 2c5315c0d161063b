"""The `aws-secrets-manager` sink: each secret as `<prefix><account>/<name>` in AWS Secrets Manager.

A new slot is created with the address and account id as tags (and, when
configured, the KMS key); an existing slot is overwritten only when its
`ctconfig:address` tag names the same address (a slot scheduled for deletion
is restored first). One call or three per secret; there is no batch API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ctconfig import failpoints
from ctconfig.secret_slots import aws_secret_name
from ctconfig.sinks.aws import AwsSink, aws_client, aws_session, error_code
from ctconfig.sinks.base import SecretRef

if TYPE_CHECKING:
    from ctconfig.config.spec import AwsSecretsManagerSinkConfig

LABEL = "aws-secrets-manager"


class AwsSecretsManagerSink(AwsSink):
    """Secrets in AWS Secrets Manager, tagged with the address that owns each."""

    label = LABEL

    @classmethod
    def from_config(cls, config: AwsSecretsManagerSinkConfig, attempts: int = 3) -> AwsSecretsManagerSink:
        """The sink a `secrets: {sink: aws-secrets-manager}` section describes."""
        session = aws_session(LABEL, config.region)
        client = aws_client(
            session, "secretsmanager", config.endpoint_url, pool=config.max_inflight, attempts=attempts
        )
        return cls(session, client, config.prefix, config.kms_key_id, config.max_inflight)

    def slot(self, ref: SecretRef) -> str:
        return aws_secret_name(self.prefix, ref.address)

    def location(self, ref: SecretRef) -> str:
        return f"AWS Secrets Manager secret {self.slot(ref)}"

    def _put(self, ref: SecretRef, value: str) -> None:
        name = self.slot(ref)
        params: dict[str, Any] = {"Name": name, "SecretString": value, "Tags": self._tags(ref)}
        if self.kms_key_id:
            params["KmsKeyId"] = self.kms_key_id
        try:
            failpoints.hit("sink.aws.create_secret", name)
            self.client.create_secret(Description=f"ctconfig: {ref.address}", **params)
            return
        except Exception as exc:
            if error_code(exc) not in ("ResourceExistsException", "InvalidRequestException"):
                raise
        found = self.client.describe_secret(SecretId=name)
        self._check_owner(ref, found.get("Tags", []))
        if found.get("DeletedDate"):
            failpoints.hit("sink.aws.restore_secret", name)
            self.client.restore_secret(SecretId=name)
        update: dict[str, Any] = {"SecretId": name, "SecretString": value}
        if self.kms_key_id:
            update["KmsKeyId"] = self.kms_key_id
        failpoints.hit("sink.aws.update_secret", name)
        self.client.update_secret(**update)

    def _slot_tags(self, ref: SecretRef) -> list[dict[str, str]] | None:
        try:
            found = self.client.describe_secret(SecretId=self.slot(ref))
        except Exception as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return None
            raise
        return list(found.get("Tags", []))

    def _get(self, ref: SecretRef) -> str | None:
        name = self.slot(ref)
        try:
            found = self.client.describe_secret(SecretId=name)
            if found.get("DeletedDate") or not self._owned(ref, found.get("Tags", [])):
                return None
            value = self.client.get_secret_value(SecretId=name).get("SecretString")
        except Exception as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return None
            raise
        return value if isinstance(value, str) else None

    def _delete(self, ref: SecretRef) -> None:
        # At once, not after a recovery window: the secret lives on in its new slot, and a slot
        # waiting to be deleted would still be tagged as `ref`'s, refusing any other address.
        failpoints.hit("sink.aws.delete_secret", self.slot(ref))
        self.client.delete_secret(SecretId=self.slot(ref), ForceDeleteWithoutRecovery=True)

    def _retag(self, old: SecretRef, new: SecretRef) -> None:
        failpoints.hit("sink.aws.tag_resource", self.slot(new))
        self.client.tag_resource(SecretId=self.slot(new), Tags=self._tags(new))
