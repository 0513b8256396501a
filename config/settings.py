"""Typed settings, built by a function (never at import) so tests and the CLI choose their own."""

from __future__ import annotations

import os
import re
from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

ENV_PREFIX = "LEDGERBOT_"
DEFAULT_CONFIG_FILE = Path("ledgerbot.toml")
DEFAULT_WEB_SECRET_FILE = Path("secrets/web_secret")  # written by `ledgerbot init` if no key is set
_QUIET_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]{20,}$")


class SettingsError(Exception):
    """A setting is wrong; the message names it so the operator can fix it."""


def parse_quiet_hours(value: str) -> tuple[time, time] | None:
    """'21:00-08:00' -> (21:00, 08:00); '' -> None (quiet hours off)."""
    if not value.strip():
        return None
    match = _QUIET_RE.match(value)
    if not match:
        raise ValueError("expected HH:MM-HH:MM, e.g. 21:00-08:00, or empty to switch off")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    try:
        return time(h1, m1), time(h2, m2)
    except ValueError as exc:
        raise ValueError(f"not a time of day: {exc}") from None


def check_secret_file(path: Path, setting: str) -> None:
    """A secret file anyone on the machine can read (or write) is refused, not used."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return  # reading it reports the problem
    if mode & 0o006:
        raise SettingsError(
            f"{setting}: {path} 的权限为 {oct(mode & 0o777)[2:]}，其他用户可以读取或修改令牌，"
            f"已拒绝启动 (the token file is accessible to other users); "
            f"run `chmod 600 {path}` (or 640 with the bot's group)"
        )


class TelegramSettings(BaseModel):
    token: SecretStr | None = None
    token_file: Path | None = None
    bot_username: str = "ledgerbot"
    api_base_url: str = "https://api.telegram.org/bot"
    file_base_url: str = "https://api.telegram.org/file/bot"
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    private_chat_interval: float = Field(default=1.0, ge=0)
    connect_timeout: float = Field(default=5.0, gt=0)
    read_timeout: float = Field(default=10.0, gt=0)

    @field_validator("token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if (
            value is not None
            and value.get_secret_value()
            and not _TOKEN_RE.match(value.get_secret_value())
        ):
            raise ValueError("does not look like a bot token (digits:secret from @BotFather)")
        return value

    def resolved_token(self) -> str | None:
        """The token from the setting, else from the token file (e.g. a Docker secret)."""
        if self.token is not None and self.token.get_secret_value():
            return self.token.get_secret_value()
        if self.token_file is not None:
            check_secret_file(
                self.token_file, f"telegram.token_file ({ENV_PREFIX}TELEGRAM__TOKEN_FILE)"
            )
            try:
                text = self.token_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise SettingsError(
                    f"telegram.token_file ({ENV_PREFIX}TELEGRAM__TOKEN_FILE): cannot read "
                    f"{self.token_file}: {exc.strerror}"
                ) from None
            if not _TOKEN_RE.match(text):
                raise SettingsError(
                    f"telegram.token_file ({ENV_PREFIX}TELEGRAM__TOKEN_FILE): the file does not "
                    "hold a bot token"
                )
            return text
        return None


class DeliverySettings(BaseModel):
    """The delivery worker, whatever the channel: pacing of the loop, claims, retries."""

    concurrent_sends: int = Field(default=4, ge=1, le=32)
    claim_seconds: float = Field(default=60.0, gt=0)
    dispatch_interval: float = Field(default=2.0, gt=0)
    retry_base_seconds: float = Field(default=2.0, ge=0)
    retry_cap_seconds: float = Field(default=300.0, gt=0)
    give_up_hours: float = Field(default=24.0, gt=0)
    heartbeat_seconds: float = Field(default=2.0, gt=0)


# [telegram] names of [delivery] settings from before the delivery worker had its own section;
# they keep working (the [delivery] name wins). max_attempts is accepted and ignored: a
# transient failure no longer ends a notice.
TELEGRAM_ALIASES = (
    "concurrent_sends",
    "claim_seconds",
    "dispatch_interval",
    "retry_base_seconds",
    "max_attempts",
)


class WebSettings(BaseModel):
    """The web pages (owners' action links, the supervisors' dashboard) and the webhook route."""

    listen: str = "127.0.0.1:8080"
    public_url: str | None = None  # the base of every link; default http:// + listen
    secret: SecretStr | None = None  # signs links and session cookies
    secret_file: Path | None = None
    link_hours: int = Field(default=72, ge=1)
    session_hours: int = Field(default=8, ge=1)
    signin_minutes: int = Field(default=30, ge=1)

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("expected HOST:PORT, e.g. 127.0.0.1:8080")
        return value

    @field_validator("public_url")
    @classmethod
    def _public(cls, value: str | None) -> str | None:
        if value and not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("expected http://… or https://…, e.g. https://ledger.example.gov.cn")
        return value.rstrip("/") if value else value

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0]

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])

    def base_url(self) -> str:
        return self.public_url or f"http://{self.listen}"

    @property
    def secure(self) -> bool:
        """Cookies are Secure when the pages are served over https."""
        return self.base_url().startswith("https://")

    def secret_path(self) -> Path:
        return self.secret_file or DEFAULT_WEB_SECRET_FILE

    def has_secret(self) -> bool:
        return bool(self.secret and self.secret.get_secret_value()) or self.secret_path().is_file()

    def resolved_secret(self) -> str | None:
        """The signing key from the setting, else from the secret file (e.g. a Docker secret),
        else from secrets/web_secret if `ledgerbot init` wrote one; None: links are off."""
        if self.secret is not None and self.secret.get_secret_value():
            return self.secret.get_secret_value()
        if self.secret_file is not None or DEFAULT_WEB_SECRET_FILE.is_file():
            secret_file = self.secret_path()
            check_secret_file(secret_file, f"web.secret_file ({ENV_PREFIX}WEB__SECRET_FILE)")
            try:
                text = secret_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise SettingsError(
                    f"web.secret_file ({ENV_PREFIX}WEB__SECRET_FILE): cannot read "
                    f"{secret_file}: {exc.strerror}"
                ) from None
            if len(text) < 32:
                raise SettingsError(
                    f"web.secret_file ({ENV_PREFIX}WEB__SECRET_FILE): the key is shorter than "
                    "32 characters; `ledgerbot init` writes a good one"
                )
            return text
        return None


class PolicySettings(BaseModel):
    """Reminder and escalation policy; defaults follow local practice (see README)."""

    yellow_days: int = Field(default=10, ge=0)
    immediate_days: int = Field(default=15, ge=0)
    remind_days_before: list[int] = Field(default_factory=lambda: [20, 10, 3, 1, 0])
    leader_from_days: int = Field(default=10, ge=0)
    escalate_leader_after_working_days: int = Field(default=5, ge=1)
    long_term_report_day: int = Field(default=25, ge=1, le=28)
    long_term_escalate_after_working_days: int = Field(default=5, ge=1)
    send_time: time = time(9, 0)
    quiet_hours: str = "21:00-08:00"
    weekly_digest_weekday: int = Field(default=0, ge=0, le=6)
    digest_threshold: int = Field(default=5, ge=1)
    invite_ttl_hours: int = Field(default=72, ge=1)
    page_size: int = Field(default=20, ge=5, le=50)
    nudge_cooldown_minutes: int = Field(default=60, ge=0)
    reopen_working_days: int = Field(default=10, ge=1)
    report_due_reminder_working_days: list[int] = Field(default_factory=lambda: [10, 3])

    @field_validator("remind_days_before")
    @classmethod
    def _days(cls, value: list[int]) -> list[int]:
        if any(d < 0 for d in value):
            raise ValueError("days before the deadline cannot be negative")
        return sorted(set(value), reverse=True)

    @field_validator("quiet_hours")
    @classmethod
    def _quiet(cls, value: str) -> str:
        parse_quiet_hours(value)
        return value

    def quiet_window(self) -> tuple[time, time] | None:
        return parse_quiet_hours(self.quiet_hours)


class ReportSettings(BaseModel):
    """What the rectification report ends with: the contact block and the signature."""

    contact: str = ""
    signature: str = ""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
    )

    database_url: str = "sqlite:///./ledgerbot.db"
    timezone: str = "Asia/Shanghai"
    evidence_dir: Path = Path("evidence")
    max_evidence_mb: int = Field(default=20, ge=1)
    calendar_file: Path = Path("config/calendar.toml")
    log_level: str = "INFO"
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    policy: PolicySettings = Field(default_factory=PolicySettings)
    web: WebSettings = Field(default_factory=WebSettings)
    report: ReportSettings = Field(default_factory=ReportSettings)

    @model_validator(mode="before")
    @classmethod
    def _telegram_aliases(cls, data: Any) -> Any:
        """Move the old telegram.* names of delivery settings to [delivery]."""
        if not isinstance(data, dict) or not isinstance(data.get("telegram"), dict):
            return data
        telegram = dict(data["telegram"])
        moved = {key: telegram.pop(key) for key in TELEGRAM_ALIASES if key in telegram}
        if not moved:
            return data
        moved.pop("max_attempts", None)
        delivery = data.get("delivery")
        if isinstance(delivery, BaseModel):
            delivery = delivery.model_dump(exclude_unset=True)
        return {**data, "telegram": telegram, "delivery": {**moved, **(delivery or {})}}

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. Asia/Shanghai)") from None
        return value

    @field_validator("database_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if "://" not in value:
            raise ValueError("expected a database URL such as sqlite:///./ledgerbot.db")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = Path(os.environ.get(f"{ENV_PREFIX}CONFIG", str(DEFAULT_CONFIG_FILE)))
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_file),
        )


def _setting_name(loc: tuple[Any, ...]) -> str:
    if len(loc) == 2 and loc[0] == "delivery" and loc[1] in TELEGRAM_ALIASES:
        old = f"{ENV_PREFIX}TELEGRAM__{str(loc[1]).upper()}"
        if old in os.environ and f"{ENV_PREFIX}DELIVERY__{str(loc[1]).upper()}" not in os.environ:
            return f"delivery.{loc[1]} ({old}, now {ENV_PREFIX}DELIVERY__{str(loc[1]).upper()})"
    dotted = ".".join(str(part) for part in loc)
    env = ENV_PREFIX + "__".join(str(part).upper() for part in loc if not isinstance(part, int))
    return f"{dotted} ({env})"


def _unknown_variables() -> list[str]:
    """LEDGERBOT_* variables that name no setting: a typo would otherwise be silently ignored."""
    unknown = []
    for key in os.environ:
        if not key.startswith(ENV_PREFIX) or key == f"{ENV_PREFIX}CONFIG":
            continue
        parts = key[len(ENV_PREFIX) :].lower().split("__")
        field = Settings.model_fields.get(parts[0])
        if field is None:
            unknown.append(key)
            continue
        section = field.annotation
        alias = parts[0] == "telegram" and parts[1:] and parts[1] in TELEGRAM_ALIASES
        if (
            len(parts) > 1
            and not alias
            and not (
                isinstance(section, type)
                and issubclass(section, BaseModel)
                and parts[1] in section.model_fields
                and len(parts) == 2
            )
        ):
            unknown.append(key)
    return sorted(unknown)


def load_settings(**overrides: Any) -> Settings:
    """Build settings, turning validation errors into one message that names each bad setting."""
    unknown = _unknown_variables()
    if unknown:
        raise SettingsError(
            "unknown setting: " + ", ".join(unknown) + " (see config/ledgerbot.example.toml)"
        )
    config_file = Path(os.environ.get(f"{ENV_PREFIX}CONFIG", str(DEFAULT_CONFIG_FILE)))
    if f"{ENV_PREFIX}CONFIG" in os.environ and not config_file.is_file():
        raise SettingsError(f"{ENV_PREFIX}CONFIG: no such file {config_file}")
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = [f"{_setting_name(tuple(err['loc']))}: {err['msg']}" for err in exc.errors()]
        raise SettingsError("bad setting:\n  " + "\n  ".join(lines)) from None
    except ValueError as exc:  # e.g. malformed TOML
        raise SettingsError(f"cannot read settings ({config_file}): {exc}") from None
