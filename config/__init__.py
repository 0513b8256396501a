"""Settings: environment variables (LEDGERBOT_*) over an optional TOML file."""

from config.settings import (
    DeliverySettings,
    DingTalkSettings,
    EmailSettings,
    PolicySettings,
    RobotSettings,
    Settings,
    SettingsError,
    TelegramSettings,
    WebSettings,
    WeComSettings,
    load_settings,
)

__all__ = [
    "DeliverySettings",
    "DingTalkSettings",
    "EmailSettings",
    "PolicySettings",
    "RobotSettings",
    "Settings",
    "SettingsError",
    "TelegramSettings",
    "WeComSettings",
    "WebSettings",
    "load_settings",
]
