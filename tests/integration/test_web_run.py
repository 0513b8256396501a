"""`ledgerbot run` with no token serves the web (with the worker and the scheduler);
`ledgerbot demo --web` prints working links. Real processes, real ports."""

from __future__ import annotations

import signal
import subprocess
import time

import httpx
import pytest

from tests.integration.test_crash import LEDGERBOT, environment, free_port


def wait_for(url: str, process: subprocess.Popen[str], seconds: float = 30) -> httpx.Response:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        try:
            return httpx.get(url, timeout=1)
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer")


def test_run_without_a_token_serves_the_web(tmp_path, database_url):
    port = free_port()
    env = environment(database_url, tmp_path, LEDGERBOT_WEB__LISTEN=f"127.0.0.1:{port}")
    process = subprocess.Popen(
        [LEDGERBOT, "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        health = wait_for(f"http://127.0.0.1:{port}/healthz", process)
        assert health.status_code == 200 and health.text == "ok"
        assert httpx.get(f"http://127.0.0.1:{port}/dash").status_code == 401
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "未设置机器人令牌" in err


def test_a_busy_address_is_a_sentence_naming_the_setting(tmp_path, database_url):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = environment(database_url, tmp_path, LEDGERBOT_WEB__LISTEN=f"127.0.0.1:{port}")
        result = subprocess.run(
            [LEDGERBOT, "run"], env=env, capture_output=True, text=True, timeout=60, check=False
        )
    assert result.returncode == 2
    assert "LEDGERBOT_WEB__LISTEN" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.sqlite_only
def test_demo_web_prints_links_that_open(tmp_path, database_url):
    port = free_port()
    env = environment(database_url, tmp_path, LEDGERBOT_WEB__LISTEN=f"127.0.0.1:{port}")
    process = subprocess.Popen(
        [LEDGERBOT, "demo", "--web", "--quiet", "--days", "3"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        links: list[str] = []
        assert process.stdout is not None
        for line in process.stdout:
            if "http://" in line and ("/signin/" in line or "/a/" in line):
                links.append(line.split()[-1])
            if len(links) == 2:
                break
        signin, action = links
        assert wait_for(signin, process).status_code == 200
        page = httpx.get(action)
        assert page.status_code == 200 and "整改时限" in page.text
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    assert process.returncode == 0
