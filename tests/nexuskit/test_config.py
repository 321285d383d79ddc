"""``KitSettings``: options given win over ``NEXUSKIT_*`` variables, which win over defaults;
a bad value names its field whichever of the two it came from."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from nexuskit.config import KitSettings
from tests.nexuskit.test_cli_lazy import _modules_after


def test_environment_fills_what_is_not_given(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NEXUSKIT_PORT", "4599")
    monkeypatch.setenv("nexuskit_state_dir", str(tmp_path))  # any case, as before
    monkeypatch.setenv("NEXUSKIT_CONTROL_PLANE", "false")
    monkeypatch.setenv("NEXUSKIT_NOT_A_SETTING", "ignored")
    settings = KitSettings(iam="off")
    assert (settings.port, settings.state_dir) == (4599, tmp_path)
    assert (settings.control_plane, settings.iam) == (False, "off")
    assert KitSettings(port=4600).port == 4600  # an option beats the variable
    assert KitSettings().endpoint == "http://127.0.0.1:4599"


def test_a_bad_value_names_its_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEXUSKIT_IAM", "sometimes")
    with pytest.raises(ValidationError) as bad_env:
        KitSettings()
    assert bad_env.value.errors()[0]["loc"] == ("iam",)
    monkeypatch.delenv("NEXUSKIT_IAM")
    with pytest.raises(ValidationError) as bad_port:
        KitSettings(port=70000)
    assert bad_port.value.errors()[0]["loc"] == ("port",)


def test_copies_keep_the_values_and_take_updates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEXUSKIT_PORT", raising=False)
    settings = KitSettings(kinesis_limits="off")
    copy = settings.model_copy(update={"port": 4700})
    assert (copy.port, copy.kinesis_limits, settings.port) == (4700, "off", 4566)


def test_settings_load_no_pydantic_settings() -> None:
    """Every CLI call builds a KitSettings: pydantic-settings (60-70 ms to import) stays out."""
    loaded = _modules_after("from nexuskit.config import KitSettings\nKitSettings()")
    assert "pydantic_settings" not in loaded
