"""Every notice to an owner carries their action link; the link opens their page."""

from __future__ import annotations

from bot.dispatcher import TelegramSender
from ledger.links import owner_links
from ledger.notices import render_notice
from tests.conftest import SHANGHAI_9AM_UTC
from tests.web.conftest import official_id


async def test_owner_links_only_for_owned_tasks_and_they_open(client, session, settings, ledger):
    zhao = official_id(session, "赵磊")
    found = owner_links(session, settings, zhao, [ledger.id("1"), ledger.id("2")], SHANGHAI_9AM_UTC)
    assert [link.task_id for link in found] == [ledger.id("1")]  # task 2 is 孙丽's
    page = await client.get(found[0].url.removeprefix("http://testserver"))
    assert page.status_code == 200 and "任务1" in page.text


def test_no_secret_no_links(session, settings, ledger):
    off = settings.model_copy(update={"web": settings.web.model_copy(update={"secret": None})})
    assert (
        owner_links(session, off, official_id(session, "赵磊"), [ledger.id("1")], SHANGHAI_9AM_UTC)
        == []
    )


def test_telegram_shows_the_link_under_the_text(session, settings, ledger):
    notice = render_notice(
        "reminder",
        "notice.reminder.owner",
        {"task_id": ledger.id("1"), "title": "任务1", "deadline": "2026-12-02", "days_left": 30},
        "zh",
    )
    notice.links = owner_links(
        session, settings, official_id(session, "赵磊"), [ledger.id("1")], SHANGHAI_9AM_UTC
    )
    parts = TelegramSender.render(TelegramSender.__new__(TelegramSender), notice, "zh")
    assert "🔗 网页办理（报进展、上传佐证、申请延期）：http://testserver/a/a." in parts[-1].text
