"""The Kubernetes API's certificates: a CA per state dir, a serving certificate per start.

``<state>/runtime/ca.crt`` and ``ca.key`` (0600) are made once (ECDSA P-256, ten years)
and kept, so a kubeconfig merged into ``~/.kube/config`` stays valid across restarts. At
every start the runtime signs a fresh serving certificate (``apiserver.crt``/``.key``,
one year) for ``127.0.0.1``, ``::1``, ``localhost`` and the in-cluster names of the
``kubernetes`` Service. Clients verify it against the CA: the kubeconfig carries it as
``certificate-authority-data``, pods get it as ``ca.crt`` next to their token.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from emulation.core.files import write_private

CA_DAYS = 3650
SERVING_DAYS = 365
SERVING_NAMES = (
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)
SERVING_IPS = ("127.0.0.1", "::1")


@dataclass(frozen=True)
class ServingFiles:
    ca_cert: Path
    cert: Path
    key: Path

    @property
    def ca_pem(self) -> str:
        return self.ca_cert.read_text(encoding="ascii")


def _pem_key(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def _pem_cert(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _load_ca(cert_path: Path, key_path: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None:
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (FileNotFoundError, ValueError):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        return None
    if cert.not_valid_after_utc < dt.datetime.now(dt.UTC) + dt.timedelta(days=30):
        return None  # about to expire: make a new one
    return cert, key


def ensure_ca(
    folder: Path, name: str = "nexuskit-runtime-ca"
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """The CA of ``folder`` (``ca.crt``/``ca.key``), made when missing or expiring."""
    cert_path, key_path = folder / "ca.crt", folder / "ca.key"
    found = _load_ca(cert_path, key_path)
    if found is not None:
        return found
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    write_private(key_path, _pem_key(key), private_folder=True)
    write_private(cert_path, _pem_cert(cert))
    return cert, key


def issue_serving_certificate(folder: Path) -> ServingFiles:
    """A fresh serving certificate signed by the folder's CA (made first when needed)."""
    ca_cert, ca_key = ensure_ca(folder)
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in SERVING_NAMES]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in SERVING_IPS]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=SERVING_DAYS))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    files = ServingFiles(folder / "ca.crt", folder / "apiserver.crt", folder / "apiserver.key")
    write_private(files.key, _pem_key(key))
    write_private(files.cert, _pem_cert(cert) + _pem_cert(ca_cert))
    return files


def server_context(files: ServingFiles) -> ssl.SSLContext:
    """TLS 1.2+ with the serving certificate; HTTP/1.1 only (clients that ask for h2 fall back)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(files.cert), str(files.key))
    context.set_alpn_protocols(["http/1.1"])
    return context
