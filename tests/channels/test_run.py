"""`ledgerbot run` in a mainland deployment: no Telegram token, WeCom set up. The worker and
the scheduler run alone and a queued notice reaches the fake WeCom; SIGTERM stops it cleanly."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest

from ledger.enums import Channel, OutboxStatus
from tests.channels.conftest import give_contacts, outbox, queue_nudges
from tests.integration.test_crash import LEDGERBOT, environment
from tests.support.smtp import free_port

pytestmark = pytest.mark.usefixtures("ledger")


def test_run_drives_wecom_without_a_telegram_token(
    engine, settings, clock, ledger, wecom, tmp_path, database_url
):
    from ledger.migrate import _run

    _run(engine, "stamp", "head")  # the tests' schema is the models' (= head): as `init` leaves it
    give_contacts(engine, settings, clock, Channel.WECOM, names=("赵磊",))
    queue_nudges(engine, clock, ledger)
    env = environment(
        database_url,
        tmp_path,
        LEDGERBOT_WECOM__CORP_ID=wecom.corp_id,
        LEDGERBOT_WECOM__AGENT_ID=str(wecom.agent_id),
        LEDGERBOT_WECOM__SECRET=wecom.secret,
        LEDGERBOT_WECOM__API_BASE_URL=wecom.base_url,
        LEDGERBOT_WEB__LISTEN=f"127.0.0.1:{free_port()}",
        LEDGERBOT_DELIVERY__DISPATCH_INTERVAL="0.2",
    )
    with open(tmp_path / "run.log", "wb") as log:
        process = subprocess.Popen([LEDGERBOT, "run"], env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while not wecom.shown and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        assert [s.user for s in wecom.shown] == ["zhaolei"], (tmp_path / "run.log").read_text()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert [r.status for r in outbox(engine)] == [OutboxStatus.SENT]
    assert wecom.secret not in (tmp_path / "run.log").read_text()
