"""ARN lookups in other services' moto state, for :func:`emulation.iam.actions.describe`."""

from __future__ import annotations

from emulation.core.moto_compat import existing_backend
from emulation.iam.state import IamState


class ArnLookups(IamState):
    """The ARN of a resource a request names only by name."""

    def kinesisvideo_stream_arn(self, region: str, account: str, name: str) -> str | None:
        backend = existing_backend("kinesisvideo", account, region)
        if backend is None:
            return None
        for stream in list(backend.streams.values()):
            if stream.stream_name == name:
                arn: str = stream.arn
                return arn
        return None

    def kinesis_consumer_arn(self, region: str, account: str, stream_arn: str, name: str) -> str | None:
        backend = existing_backend("kinesis", account, region)
        if backend is None:
            return None
        stream_name = stream_arn.rsplit("/", 1)[-1]
        stream = backend.streams.get(stream_name)
        for consumer in list(getattr(stream, "consumers", []) or []):
            if getattr(consumer, "consumer_name", None) == name:
                arn: str = consumer.consumer_arn
                return arn
        return None

    def secret_arn(self, region: str, account: str, secret_id: str) -> str | None:
        backend = existing_backend("secretsmanager", account, region)
        if backend is None:
            return None
        secret = backend.secrets.get(secret_id)
        return str(secret.arn) if secret is not None else None

    def iam_arn(self, account: str, kind: str, name: str) -> str | None:
        iam = self._iam(account)
        if kind == "user":
            user = iam.users.get(name)
            return str(user.arn) if user is not None else None
        if kind == "group":
            group = iam.groups.get(name)
            return str(group.arn) if group is not None else None
        if kind == "role":
            for role in list(iam.roles.values()):
                if role.name == name:
                    return str(role.arn)
            return None
        if kind == "instance-profile":
            profile = iam.instance_profiles.get(name)
            return str(profile.arn) if profile is not None else None
        return None
