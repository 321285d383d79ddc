"""The auth Lambda's package: reproducible, with its dependencies, importable with nothing else.

Offline by design: the package is built from the wheels ``make test`` installed into this
interpreter (:meth:`LambdaTarget.this_machine`), or from a wheel cache the test writes
itself. The clean interpreter runs ``python -I -S`` with only the extracted zip and the
Lambda runtime's own SDK (boto3) on its path.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from nexuskit.edge.package import (
    LAMBDA_TARGET,
    LambdaTarget,
    PackageError,
    auth_source_dir,
    build_auth_package,
    build_package,
)
from nexuskit.promote.lambdacheck import invoke_clean

#: the function's configuration as Terraform sets it (values that need no AWS call)
AUTH_ENV = {
    "AWS_DEFAULT_REGION": "us-west-2",
    "SIGNING_SECRET_ID": "nexus-dev/token-signing-key",
    "BEARER_ROLE_ARN": "arn:aws:iam::123456789012:role/nexus-dev-kinesis-bearer",
    "TOKEN_TTL_MIN": "15",
    "TOKEN_TTL_MAX": "60",
    "TOKEN_TTL_DEFAULT": "30",
    "TOKEN_ISSUER": "urn:nexus:nexus-dev:auth",
    "TOKEN_AUDIENCE": "urn:nexus:nexus-dev:client-streams",
    "CLIENT_DATA_STREAM_NAME": "nexus-dev-client-intake",
    "CLIENT_DATA_STREAM_ARN": "arn:aws:kinesis:us-west-2:123456789012:stream/nexus-dev-client-intake",
    "CLIENT_VIDEO_STREAM_NAME": "",
    "CLIENT_VIDEO_STREAM_ARN": "",
    "CLIENT_FIREHOSE_NAME": "nexus-dev-client-to-lake",
    "CLIENT_FIREHOSE_ARN": "arn:aws:firehose:us-west-2:123456789012:deliverystream/nexus-dev-client-to-lake",
}
BAD_REQUEST = {"version": "2.0", "routeKey": "POST /auth", "rawPath": "/auth", "body": "{not json"}


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The auth package built for this machine from the installed wheels (no network)."""
    built = build_auth_package(
        tmp_path_factory.mktemp("package"),
        function_name="nexus-dev-auth",
        target=LambdaTarget.this_machine(),
        wheel_cache=tmp_path_factory.mktemp("empty-wheel-cache"),
    )
    assert built.source == "environment"
    return built.path


def test_package_holds_the_handler_and_its_dependencies_but_not_boto3(package: Path) -> None:
    """handler.py and validation.py at the root, cryptography (and cffi) vendored, boto3 left
    to the Lambda runtime, no bytecode."""
    names = zipfile.ZipFile(package).namelist()
    assert {"handler.py", "validation.py"} <= set(names)
    assert any(n.startswith("cryptography/") for n in names)
    assert any(n.startswith("cffi") for n in names)
    assert not any(n.startswith(("boto3/", "botocore/")) for n in names)
    assert not any(n.endswith(".pyc") or "__pycache__" in n for n in names)


def test_package_is_reproducible(package: Path, tmp_path: Path) -> None:
    """A second build is byte-for-byte the same: sorted entries, 1980 timestamps, mode 0644."""
    again = build_auth_package(
        tmp_path,
        function_name="nexus-dev-auth",
        target=LambdaTarget.this_machine(),
        wheel_cache=tmp_path / "no-cache",
    )
    assert again.path.read_bytes() == package.read_bytes()
    assert again.sha256_b64 == base64.b64encode(hashlib.sha256(package.read_bytes()).digest()).decode()
    infos = zipfile.ZipFile(package).infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.external_attr >> 16 for i in infos} == {0o644}


def test_packaged_lambda_answers_in_a_clean_interpreter(package: Path) -> None:
    """With only the extracted zip (and the runtime's boto3) on sys.path, the handler imports and
    answers a bad token request with 400; cryptography comes from the zip."""
    result = invoke_clean(
        package, [BAD_REQUEST], runtime=LambdaTarget.this_machine().runtime, environment=AUTH_ENV
    )
    assert result.error is None, result.error
    assert result.responses[0]["statusCode"] == 400
    assert result.module_origin("cryptography") == "task"
    assert result.module_origin("boto3") == "runtime"
    assert result.modules_elsewhere == []


def test_a_zip_without_its_dependencies_fails_as_it_would_in_aws(tmp_path: Path) -> None:
    """services/auth zipped alone (what the archive provider made) cannot import cryptography."""
    bare = tmp_path / "bare.zip"
    bare.write_bytes(build_package(auth_source_dir()).data)
    result = invoke_clean(
        bare, [BAD_REQUEST], runtime=LambdaTarget.this_machine().runtime, environment=AUTH_ENV
    )
    assert result.error is not None
    assert "No module named 'cryptography'" in result.error


def _wheel(folder: Path, name: str, version: str, module: str) -> Path:
    """A pure-Python wheel (py3-none-any) written by hand."""
    dist_info = f"{name}-{version}.dist-info"
    files = {
        f"{name}.py": module,
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist_info}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = "".join(
        f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).decode().rstrip('=')},"
        f"{len(text.encode())}\n"
        for path, text in files.items()
    )
    files[f"{dist_info}/RECORD"] = record + f"{dist_info}/RECORD,,\n"
    path = folder / f"{name}-{version}-py3-none-any.whl"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member, text in files.items():
            archive.writestr(member, text)
    path.write_bytes(buffer.getvalue())
    return path


def test_lambda_target_is_installed_from_the_wheel_cache_offline(tmp_path: Path) -> None:
    """For the Lambda target, pip installs the requirements from the wheel cache with no index
    (--platform manylinux2014_x86_64 --python-version 3.11 --only-binary=:all:)."""
    cache = tmp_path / "wheels"
    cache.mkdir()
    _wheel(cache, "nexusdep", "1.0", "VALUE = 42\n")
    source = tmp_path / "src"
    source.mkdir()
    (source / "handler.py").write_text(
        "import nexusdep\n\ndef handler(event, context):\n    return nexusdep.VALUE\n"
    )
    (source / "requirements.txt").write_text("nexusdep==1.0  # test dependency\n")
    built = build_auth_package(tmp_path / "out", source_dir=source, wheel_cache=cache)
    assert built.source == "wheelhouse" and built.target == LAMBDA_TARGET
    names = zipfile.ZipFile(built.path).namelist()
    assert "nexusdep.py" in names and "handler.py" in names
    assert "nexusdep-1.0.dist-info/INSTALLER" not in names


def test_lambda_target_without_wheels_says_how_to_get_them(tmp_path: Path) -> None:
    """No wheel cache and no download allowed: one line naming the command that fills the cache."""
    with pytest.raises(PackageError, match="nexuskit tf package --download"):
        build_auth_package(tmp_path / "out", wheel_cache=tmp_path / "empty")


def test_installed_wheels_for_another_platform_are_refused(tmp_path: Path) -> None:
    """Copying installed distributions checks their wheel tags against the target: a target older
    than any manylinux build (glibc 2.5) refuses the installed cryptography and cffi."""
    ancient = LambdaTarget(runtime=LambdaTarget.this_machine().runtime, glibc=(2, 5), host=True)
    with pytest.raises(PackageError, match=r"(cffi|cryptography) \S+ is installed for .*, not for"):
        build_auth_package(tmp_path / "out", target=ancient, wheel_cache=tmp_path / "empty")
