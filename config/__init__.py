"""Settings: environment variables (LEDGERBOT_*) over an optional TOML file."""

from config.settings import (
    DeliverySettings,
    PolicySettings,
    Settings,
    SettingsError,
    TelegramSettings,
    WebSettings,
    load_settings,
)

__all__ = [
    "DeliverySettings",
    "PolicySettings",
    "Settings",
    "SettingsError",
    "TelegramSettings",
    "WebSettings",
    "load_settings",
]
