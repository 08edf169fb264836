"""DeliverySettings validation and the notify retry delays (the backoff) read from the configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from dallosh.config import load_config
from dallosh.errors import ValidationError
from dallosh.schemas import SettingsData, dump, parse
from dallosh.schemas.settings import DeliverySettings, is_email_address
from dallosh.services.settings import is_masked, mask_key


def test_defaults_are_valid_and_part_of_the_settings_document():
    data = parse(SettingsData, {})
    assert data.delivery == DeliverySettings() and data.delivery.smtpPort == 587
    assert data.delivery.smtpSecurity == "starttls"
    assert dump(data)["delivery"]["smtpPassword"] == ""


def test_values_are_tidied():
    settings = parse(DeliverySettings, {"smtpHost": " smtp.example.com ", "fromAddress": " r@example.com ",
                                        "publicUrl": "https://dallosh.example.com"}, "delivery")
    assert settings.smtpHost == "smtp.example.com" and settings.fromAddress == "r@example.com"
    assert settings.publicUrl == "https://dallosh.example.com/"


def test_every_field_has_its_help():
    import dataclasses

    assert all(f.metadata.get("help") for f in dataclasses.fields(DeliverySettings))


@pytest.mark.parametrize("value", ["smtp.example.com:587", "smtp example.com", "https://smtp.example.com"])
def test_host_without_scheme_or_port(value):
    with pytest.raises(ValidationError, match="server name"):
        parse(DeliverySettings, {"smtpHost": value, "fromAddress": "r@example.com"}, "delivery")


def test_multiline_credentials_are_refused():
    with pytest.raises(ValidationError, match="one line"):
        parse(DeliverySettings, {"smtpUser": "u\r\nMAIL FROM", "smtpPassword": "p"}, "delivery")


def test_email_addresses():
    assert is_email_address("reports@example.com") and is_email_address("a.b+c@sub.example.co.uk")
    for bad in ("reports", "a@b", "a b@example.com", "a@example.com,b@example.com", "<a@example.com>",
                "a@example.com\n", "x" * 250 + "@example.com"):
        assert not is_email_address(bad), bad


def test_password_mask():
    assert mask_key("s3cret-Pa55word") == "••••word" and is_masked(mask_key("s3cret-Pa55word"))
    assert mask_key("short") == "••••" and mask_key("") == ""


def _config(value: str):
    return load_config({"DALLOSH_NOTIFY_RETRY_S": value}, env_file=Path("/nonexistent"))


def test_retry_delays_from_the_configuration():
    assert _config("30, 120,600").notify_retry_delays == [30, 120, 600]
    assert load_config({}, env_file=Path("/nonexistent")).notify_retry_delays == [30, 120, 600, 1800]


@pytest.mark.parametrize("value", ["", "0", "30,abc", "-5", "90000"])
def test_bad_retry_delays_name_the_variable(value):
    with pytest.raises(ValueError, match="DALLOSH_NOTIFY_RETRY_S"):
        _config(value)
