import pytest

from config import SettingsError, load_settings


def test_env_nested_sections(monkeypatch):
    monkeypatch.setenv("LEDGERBOT_TELEGRAM__BOT_USERNAME", "zhenggai_bot")
    monkeypatch.setenv("LEDGERBOT_POLICY__QUIET_HOURS", "")
    monkeypatch.setenv("LEDGERBOT_POLICY__REMIND_DAYS_BEFORE", "[7, 30, 1]")
    settings = load_settings()
    assert settings.telegram.bot_username == "zhenggai_bot"
    assert settings.policy.quiet_window() is None
    assert settings.policy.remind_days_before == [30, 7, 1]


def test_toml_file_and_env_precedence(monkeypatch, tmp_path):
    path = tmp_path / "ledgerbot.toml"
    path.write_text('timezone = "Asia/Urumqi"\n[policy]\nyellow_days = 7\n', encoding="utf-8")
    monkeypatch.setenv("LEDGERBOT_CONFIG", str(path))
    monkeypatch.setenv("LEDGERBOT_POLICY__YELLOW_DAYS", "5")
    settings = load_settings()
    assert settings.timezone == "Asia/Urumqi"
    assert settings.policy.yellow_days == 5  # the environment wins


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("LEDGERBOT_POLICY__QUIET_HOURS", "9pm-8am", "LEDGERBOT_POLICY__QUIET_HOURS"),
        ("LEDGERBOT_TIMEZONE", "Asia/Nowhere", "LEDGERBOT_TIMEZONE"),
        ("LEDGERBOT_TELEGRAM__TOKEN", "not-a-token", "LEDGERBOT_TELEGRAM__TOKEN"),
        ("LEDGERBOT_POLICY__YELLOW_DAYS", "-1", "LEDGERBOT_POLICY__YELLOW_DAYS"),
        ("LEDGERBOT_NO_SUCH_THING", "1", "LEDGERBOT_NO_SUCH_THING"),
        ("LEDGERBOT_TELEGRAM__TOKN", "1", "LEDGERBOT_TELEGRAM__TOKN"),
    ],
)
def test_bad_setting_is_named(monkeypatch, variable, value, named):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert named in str(err.value)
    assert value not in str(err.value) or variable != "LEDGERBOT_TELEGRAM__TOKEN"


def test_missing_config_file_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("LEDGERBOT_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(SettingsError, match="LEDGERBOT_CONFIG"):
        load_settings()


def test_example_config_file_is_valid(monkeypatch):
    from pathlib import Path

    example = Path(__file__).parents[2] / "config" / "ledgerbot.example.toml"
    monkeypatch.setenv("LEDGERBOT_CONFIG", str(example))
    settings = load_settings()
    assert settings.policy.remind_days_before == [20, 10, 3, 1, 0]


def test_delivery_settings_and_their_old_telegram_names(monkeypatch):
    assert load_settings().delivery.give_up_hours == 24
    monkeypatch.setenv("LEDGERBOT_DELIVERY__CONCURRENT_SENDS", "8")
    monkeypatch.setenv("LEDGERBOT_DELIVERY__CLAIM_SECONDS", "30")
    delivery = load_settings().delivery
    assert (delivery.concurrent_sends, delivery.claim_seconds) == (8, 30)
    monkeypatch.delenv("LEDGERBOT_DELIVERY__CONCURRENT_SENDS")
    monkeypatch.delenv("LEDGERBOT_DELIVERY__CLAIM_SECONDS")
    monkeypatch.setenv("LEDGERBOT_TELEGRAM__CONCURRENT_SENDS", "2")  # the old names still work
    monkeypatch.setenv("LEDGERBOT_TELEGRAM__CLAIM_SECONDS", "90")
    monkeypatch.setenv("LEDGERBOT_TELEGRAM__DISPATCH_INTERVAL", "0.5")
    monkeypatch.setenv("LEDGERBOT_TELEGRAM__MAX_ATTEMPTS", "5")  # accepted, no longer used
    delivery = load_settings().delivery
    assert (delivery.concurrent_sends, delivery.claim_seconds) == (2, 90)
    assert delivery.dispatch_interval == 0.5
    monkeypatch.setenv("LEDGERBOT_DELIVERY__CLAIM_SECONDS", "45")  # the new name wins
    assert load_settings().delivery.claim_seconds == 45


def test_old_telegram_names_in_a_toml_file_still_work(monkeypatch, tmp_path):
    path = tmp_path / "ledgerbot.toml"
    path.write_text("[telegram]\nconcurrent_sends = 3\nclaim_seconds = 20\n", encoding="utf-8")
    monkeypatch.setenv("LEDGERBOT_CONFIG", str(path))
    delivery = load_settings().delivery
    assert (delivery.concurrent_sends, delivery.claim_seconds) == (3, 20)


def test_a_bad_delivery_setting_is_named(monkeypatch):
    monkeypatch.setenv("LEDGERBOT_TELEGRAM__CONCURRENT_SENDS", "0")
    with pytest.raises(SettingsError, match="LEDGERBOT_TELEGRAM__CONCURRENT_SENDS, now "):
        load_settings()
