"""The "Done when" flows in a real browser: Playwright driving Debian's chromium against the
web app served by uvicorn on a loopback port (the same server `ledgerbot run` embeds).

Skipped with a reason only where /usr/bin/chromium is missing locally; in CI (CI=true) a
missing browser fails the run.
"""

from __future__ import annotations

import asyncio
import os
import re
import struct
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from bot.dispatcher import link_text
from cli.serve import listen_socket, web_server
from config import Settings
from ledger.links import owner_links
from ledger.models import Evidence, Task
from ledger.notices import render_notice
from tests.conftest import SHANGHAI_9AM_UTC
from tests.web.conftest import official_id, signin_path

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).parents[2]
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

if not CHROMIUM.exists():
    if os.environ.get("CI") == "true":
        raise RuntimeError("CI: /usr/bin/chromium is missing (.ci/run installs Debian's chromium)")
    pytest.skip(
        "no /usr/bin/chromium here: `apt-get install -y chromium` to run the browser tests",
        allow_module_level=True,
    )

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402


def png(width: int = 40, height: int = 30) -> bytes:
    """A real PNG (a red block), so the page's <img> really decodes it."""
    raw = b"".join(b"\x00" + b"\xcc\x22\x22" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def live(settings: Settings, engine, clock, ledger) -> Iterator[str]:
    """The web app on a free loopback port, in a thread with its own event loop."""
    from web.app import build_web_app

    web = settings.web.model_copy(update={"listen": "127.0.0.1:0"})
    sock = listen_socket(web)
    port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    served = settings.model_copy(
        update={"web": settings.web.model_copy(update={"public_url": base})}
    )
    server = web_server(build_web_app(served, engine, clock))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])))
    thread.start()
    try:
        for _ in range(100):
            if server.started:
                break
            threading.Event().wait(0.05)
        yield base
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def new_page(browser: Browser, *, width: int = 1280, height: int = 900) -> Page:
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.problems = problems  # type: ignore[attr-defined]
    return page


def reminder_link(session, settings: Settings, base: str, name: str, task: Task) -> str:
    """The link as a reminder to this owner carries it (Telegram renders it as a line)."""
    web = settings.model_copy(update={"web": settings.web.model_copy(update={"public_url": base})})
    notice = render_notice(
        "reminder",
        "notice.reminder.overdue",
        {"task_id": task.id, "title": task.title, "deadline": str(task.deadline)},
        "zh",
    )
    assert task.id is not None
    notice.links = owner_links(
        session, web, official_id(session, name), [task.id], SHANGHAI_9AM_UTC
    )
    match = re.search(r"(http://\S+/a/\S+)", link_text(notice, "zh"))
    assert match, "the reminder carries no action link"
    return match.group(1)


def sign_in(browser: Browser, base: str, session, settings: Settings, name: str, **size) -> Page:
    page = new_page(browser, **size)
    page.goto(base + signin_path(session, settings, name))
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(base + "/dash")
    return page


def row_of(page: Page, title: str):
    return page.locator("table.ledger tbody tr", has_text=title)


def test_owner_acts_from_the_link_and_the_supervisor_closes(
    browser, live, session, settings, ledger, tmp_path
):
    task3 = ledger.tasks["3"]  # 赵磊's, overdue: red
    supervisor = sign_in(browser, live, session, settings, "陈静")
    expect(row_of(supervisor, "任务3").locator(".light")).to_have_text("🔴 红灯")

    # the owner, on a phone, from the reminder's link
    owner = new_page(browser, width=390, height=844)
    owner.goto(reminder_link(session, settings, live, "赵磊", task3))
    expect(owner.get_by_role("heading", level=1)).to_contain_text("任务3")
    owner.screenshot(path=str(tmp_path / "owner-phone.png"), full_page=True)
    owner.fill("#progress-text", "已完成现场整改，正在整理材料")
    owner.get_by_role("button", name="提交", exact=True).click()
    expect(owner.locator(".flash.ok")).to_have_text("进展已记录。")
    photo = tmp_path / "现场照片.png"
    photo.write_bytes(png())
    owner.fill("#done-note", "整改完成，附现场照片")
    owner.set_input_files("#done-file", str(photo))
    owner.locator("form[action$='/done'] button").click()
    expect(owner.locator(".flash.ok")).to_have_text("已提交销号，等待督办人验收。")
    assert owner.problems == []  # type: ignore[attr-defined]  (no CSP or script errors)

    # the supervisor sees the light change, opens the file in the page, and closes the task
    supervisor.reload()
    expect(row_of(supervisor, "任务3").locator(".light")).to_have_text("🟡 黄灯")
    expect(row_of(supervisor, "任务3")).to_contain_text("待销号")
    # README's picture is refreshed on request (LEDGERBOT_SCREENSHOTS=1), so a test run leaves the
    # checkout as it was
    shots = ROOT / "docs" if os.environ.get("LEDGERBOT_SCREENSHOTS") == "1" else tmp_path
    supervisor.screenshot(path=str(shots / "web-dashboard.png"), full_page=True)
    supervisor.get_by_role("link", name="待销号").click()
    card = supervisor.locator(".card", has_text="任务3")
    image = card.locator("img.evidence")
    expect(image).to_be_visible()
    assert image.evaluate("img => img.decode().then(() => img.naturalWidth)") == 40  # decoded
    with supervisor.context.expect_page() as opened:
        card.get_by_role("link", name="现场照片.png").click()
    evidence = session.exec(select(Evidence)).one()
    assert opened.value.url.endswith(f"/dash/file/{evidence.id}")
    card.locator("textarea").fill("现场照片清楚，同意销号")
    card.get_by_role("button", name="销号").click()
    expect(supervisor.locator(".flash.ok")).to_have_text("已销号。")
    supervisor.get_by_role("link", name="台账").click()
    expect(row_of(supervisor, "任务3").locator(".light")).to_have_text("✅ 已销号")
    supervisor.get_by_role("link", name="#3 任务3").click()
    history = supervisor.locator(".history")
    expect(history).to_contain_text("赵磊 报告进展（网页）")
    expect(history).to_contain_text("陈静 验收销号（网页）")
    assert supervisor.problems == []  # type: ignore[attr-defined]
    supervisor.emulate_media(media="print")  # prints cleanly: no navigation, no forms
    expect(supervisor.locator("nav.top")).to_be_hidden()
    expect(supervisor.locator(".history")).to_be_visible()

    # the same pages at phone width, for the eye (kept in the test's folder)
    phone = sign_in(browser, live, session, settings, "陈静", width=390, height=844)
    phone.screenshot(path=str(tmp_path / "dashboard-phone.png"), full_page=True)


def test_a_leader_sees_only_their_scope(browser, live, session, settings, ledger):
    leader = sign_in(browser, live, session, settings, "张伟")
    expect(leader.locator("table.ledger tbody tr")).to_have_count(2)
    expect(leader.locator("table.ledger")).not_to_contain_text("任务1")
    leader.goto(f"{live}/dash/task/{ledger.id('1')}")  # a guessed id outside the scope
    expect(leader.locator("main")).to_contain_text("找不到该页面或任务，或您无权查看")
    leader.goto(f"{live}/dash/task/{ledger.id('2')}")
    expect(leader.get_by_role("heading", level=1)).to_contain_text("任务2")


def test_forged_link_and_missing_csrf_are_refused(browser, live, session, settings, ledger):
    page = new_page(browser, width=390, height=844)
    good = reminder_link(session, settings, live, "赵磊", ledger.tasks["1"])
    page.goto(good[:-4] + "AAAA")  # a changed signature
    expect(page.locator("h1")).to_have_text("该链接无效。")
    page.goto(good)
    page.locator("form[action$='/progress'] input[name=csrf]").evaluate("e => e.remove()")
    page.fill("#progress-text", "没有校验的提交")
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.locator(".flash.err")).to_contain_text("表单已失效")
    session.expire_all()
    assert session.get(Task, ledger.id("1")).status == "not_started"  # nothing changed
    # a signed-in supervisor's form without its token: refused too
    supervisor = sign_in(browser, live, session, settings, "陈静")
    answer = supervisor.request.post(
        f"{live}/dash/ext/1/approve", form={"note": "x"}, max_redirects=0
    )
    assert answer.status == 403
