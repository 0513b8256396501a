"""Start-up failures say what is wrong without printing the token (401, 404, bad file modes)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.integration.test_crash import LEDGERBOT, environment
from tests.support.fake_bot_api import FakeBotApi, Fault

TOKEN = "123456:STARTUPSECRETabcdefghijklmnopqrst"
SECRET_PART = TOKEN.split(":", 1)[1]


@pytest.fixture
def fake():
    api = FakeBotApi().start()
    yield api
    api.stop()


def start(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LEDGERBOT, "run"], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def bot_env(database_url: str, tmp_path: Path, base_url: str, **extra: str) -> dict[str, str]:
    return environment(
        database_url,
        tmp_path,
        **{
            "LEDGERBOT_TELEGRAM__TOKEN": TOKEN,
            "LEDGERBOT_TELEGRAM__API_BASE_URL": base_url,
            "LEDGERBOT_LOG_LEVEL": "DEBUG",
            **extra,
        },
    )


@pytest.mark.parametrize(("status", "description"), [(401, "Unauthorized"), (404, "Not Found")])
def test_a_rejected_token_is_reported_without_the_token(
    fake, tmp_path, database_url, status, description
):
    fake.inject(Fault("status", status=status, description=description, method="getMe"))
    result = start(bot_env(database_url, tmp_path, fake.base_url))
    assert result.returncode != 0
    assert SECRET_PART not in result.stderr + result.stdout
    assert "Telegram" in result.stderr and "令牌" in result.stderr


def test_a_wrong_api_base_url_path_is_reported_without_the_token(fake, tmp_path, database_url):
    wrong = f"http://127.0.0.1:{fake.port}/telegram/bot"  # a proxy path that does not exist
    result = start(bot_env(database_url, tmp_path, wrong))
    assert result.returncode != 0
    assert SECRET_PART not in result.stderr + result.stdout
    assert "LEDGERBOT_TELEGRAM__API_BASE_URL" in result.stderr


def test_a_token_file_others_can_read_is_refused_at_start(tmp_path, database_url):
    token_file = tmp_path / "telegram_token"
    token_file.write_text(TOKEN + "\n", encoding="utf-8")
    token_file.chmod(0o644)
    env = environment(database_url, tmp_path, LEDGERBOT_TELEGRAM__TOKEN_FILE=str(token_file))
    result = start(env)
    assert result.returncode == 2
    assert "LEDGERBOT_TELEGRAM__TOKEN_FILE" in result.stderr and "chmod 600" in result.stderr
    assert SECRET_PART not in result.stderr
