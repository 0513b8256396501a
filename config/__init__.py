"""Settings: environment variables (LEDGERBOT_*) over an optional TOML file."""

from config.settings import (
    PolicySettings,
    Settings,
    SettingsError,
    TelegramSettings,
    load_settings,
)

__all__ = ["PolicySettings", "Settings", "SettingsError", "TelegramSettings", "load_settings"]
