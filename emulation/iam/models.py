"""Who is calling, and may they: identity resolution and authorization against moto state.

Identities (resolved from the access key a request is signed with):

* the bootstrap **admin** (``settings.admin_access_key``): allowed everything; trust
  policies still decide whether it may assume a role (it is admitted by ``Service``
  principals, as the engine assumes roles on behalf of Lambda and other services). Long-term
  keys belong to an IAM user in AWS (or the account root, which Lake Formation and many
  policies refuse as a principal), so the admin is the IAM user ``nexuskit-admin`` of the
  default account: ``GetCallerIdentity`` and ``GetUser`` without a name answer that (moto
  would answer ``arn:aws:sts::...:user/moto`` and a made-up ``default_user``), and
  Terraform's ``aws_caller_identity`` makes it the Lake Formation and signing-key admin;
* **IAM users**' access keys in moto's IAM backend (``Inactive`` keys are unknown keys);
* **assumed-role sessions** from moto's STS backend (AssumeRole and the web-identity and
  SAML variants): the role's inline and attached policies and permissions boundary,
  intersected with the session policies (``Policy`` and ``PolicyArns``, recorded by us
  because moto keeps only the inline one);
* **user sessions** from GetSessionToken, which we issue ourselves (moto returns a fixed
  example key it does not store): the user's permissions, no IAM API, STS only for
  AssumeRole and GetCallerIdentity, as AWS does.

Temporary credentials need their session token and are refused after their Expiration,
judged by :meth:`EnforcementBackend.now`: the real UTC clock plus
``NEXUSKIT_CLOCK_SKEW_SECONDS`` (read when the engine starts; for rehearsing expiry).

Identities and their compiled policies are cached per access key for one second, and
the whole cache is dropped after every IAM write and on reset.
"""

from __future__ import annotations

from emulation.iam.authentication import Authentication
from emulation.iam.lookups import ArnLookups
from emulation.iam.sts import StsSessions


class EnforcementBackend(Authentication, StsSessions, ArnLookups):
    """The state of IAM enforcement: identity cache, issued sessions, counters' inputs.

    Methods that read moto state must be called with the engine's state lock held shared.
    """
