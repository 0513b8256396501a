"""Every route of the web app and its refusals, over httpx against the ASGI app."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import pytest
from docx import Document
from openpyxl import load_workbook
from sqlmodel import select

from ledger.enums import TaskStatus, Via
from ledger.models import AuditEvent, Evidence, ExtensionRequest, Outbox, Task, WebLink
from tests.conftest import SHANGHAI_9AM_UTC
from tests.web.conftest import action_path, csrf_of, official_id, sign_in, signin_path


def fresh(session, task_id: int) -> Task:
    session.expire_all()
    task = session.get(Task, task_id)
    assert task is not None
    return task


# --- /healthz, static, headers ------------------------------------------------------------
async def test_healthz_and_security_headers(client):
    response = await client.get("/healthz")
    assert response.status_code == 200 and response.text == "ok"
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["referrer-policy"] == "no-referrer"  # links carry tokens
    assert response.headers["x-frame-options"] == "DENY"
    css = await client.get("/static/web.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]
    assert (await client.get("/static/print.css")).status_code == 200


# --- owners ---------------------------------------------------------------------------------
async def test_owner_page_shows_the_task_and_no_inline_script(client, session, ledger):
    page = await client.get(action_path(session, "赵磊", ledger.id("3")))
    assert page.status_code == 200
    assert "任务3" in page.text and "🔴 红灯" in page.text  # colour plus text
    assert "<script" not in page.text and "style=" not in page.text
    assert 'name="viewport"' in page.text  # mobile first


async def test_owner_reports_progress_via_web(client, session, ledger):
    path = action_path(session, "赵磊", ledger.id("1"))
    csrf = csrf_of((await client.get(path)).text)
    done = await client.post(path + "/progress", data={"csrf": csrf, "text": "已召开专题会"})
    assert done.status_code == 303
    page = await client.get(done.headers["location"])
    assert "进展已记录" in page.text and "已召开专题会" in page.text
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "progress")).one()
    assert event.via == Via.WEB and event.actor_name == "赵磊"
    assert fresh(session, ledger.id("1")).status == TaskStatus.IN_PROGRESS


async def test_owner_submits_done_with_evidence(client, session, settings, ledger):
    path = action_path(session, "赵磊", ledger.id("1"))
    csrf = csrf_of((await client.get(path)).text)
    data = b"%PDF-1.4 evidence"
    done = await client.post(
        path + "/done",
        data={"csrf": csrf, "note": "制度已印发"},
        files={"file": ("制度.pdf", data, "application/pdf")},
    )
    assert done.status_code == 303, done.text
    task = fresh(session, ledger.id("1"))
    assert task.status == TaskStatus.SUBMITTED and task.completion_note == "制度已印发"
    evidence = session.exec(select(Evidence)).one()
    assert evidence.sha256 == hashlib.sha256(data).hexdigest()
    stored = settings.evidence_dir / f"task-{task.id}"
    assert stored.stat().st_mode & 0o077 == 0  # owner-only, like chat
    assert (stored / next(p.name for p in stored.iterdir())).read_bytes() == data
    # the supervisor is told through the outbox, as from chat
    assert session.exec(select(Outbox).where(Outbox.kind == "submitted")).first() is not None


async def test_owner_evidence_only_and_extension_request(client, session, ledger):
    path = action_path(session, "赵磊", ledger.id("1"))
    csrf = csrf_of((await client.get(path)).text)
    up = await client.post(
        path + "/evidence",
        data={"csrf": csrf},
        files={"file": ("照片.jpg", b"\xff\xd8jpg", "image/jpeg")},
    )
    assert up.status_code == 303
    assert fresh(session, ledger.id("1")).status == TaskStatus.IN_PROGRESS
    new_date = (fresh(session, ledger.id("1")).deadline + timedelta(days=20)).isoformat()
    ext = await client.post(
        path + "/extend", data={"csrf": csrf, "date": new_date, "reason": "等待上级批复"}
    )
    assert ext.status_code == 303
    request = session.exec(select(ExtensionRequest)).one()
    assert request.reason == "等待上级批复" and request.new_deadline.isoformat() == new_date


async def test_owner_refusals_say_why_and_change_nothing(client, session, ledger):
    path = action_path(session, "赵磊", ledger.id("1"))
    csrf = csrf_of((await client.get(path)).text)
    empty = await client.post(path + "/done", data={"csrf": csrf, "note": ""})
    assert empty.status_code == 400 and "完成说明或上传佐证材料" in empty.text
    bad_date = await client.post(
        path + "/extend", data={"csrf": csrf, "date": "明年", "reason": "x"}
    )
    assert bad_date.status_code == 400 and "无法识别的日期" in bad_date.text
    assert fresh(session, ledger.id("1")).status == TaskStatus.NOT_STARTED


async def test_missing_or_wrong_csrf_is_refused(client, session, ledger):
    path = action_path(session, "赵磊", ledger.id("1"))
    for data in ({"text": "x"}, {"text": "x", "csrf": "0" * 32}):
        refused = await client.post(path + "/progress", data=data)
        assert refused.status_code == 403 and "安全校验" in refused.text
    # a token for another link does not fit this one
    other = action_path(session, "赵磊", ledger.id("3"))
    other_csrf = csrf_of((await client.get(other)).text)
    assert (
        await client.post(path + "/progress", data={"csrf": other_csrf, "text": "x"})
    ).status_code == 403
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "progress")).first() is None


async def test_upload_over_the_limit_is_refused_before_the_body_is_read(client, session, ledger):
    path = action_path(session, "赵磊", ledger.id("1"))
    csrf = csrf_of((await client.get(path)).text)
    too_big = b"x" * (1024 * 1024 + 70 * 1024)  # the limit is 1 MB in these settings
    refused = await client.post(
        path + "/evidence", data={"csrf": csrf}, files={"file": ("big.bin", too_big, "")}
    )
    assert refused.status_code == 413 and "上限为 1 MB" in refused.text
    assert session.exec(select(Evidence)).first() is None

    async def chunks():
        yield b"--x\r\n"

    unsized = await client.post(
        path + "/evidence",
        content=chunks(),
        headers={"content-type": "multipart/form-data; boundary=x"},
    )
    assert unsized.status_code == 411  # no length: nothing is read


async def test_forged_links_are_refused(client, session, ledger):
    path = action_path(session, "赵磊", ledger.id("1"))
    forged = [
        path.replace("/a/a.1.", "/a/a.2.", 1),  # another person
        path[:-3] + "abc",  # changed signature
        "/a/not-a-token",
    ]
    for url in forged:
        page = await client.get(url)
        assert page.status_code == 403 and "该链接无效" in page.text
        assert (await client.post(url + "/progress", data={"text": "x"})).status_code == 403
    # a link signed for a task the person does not own
    not_theirs = action_path(session, "孙丽", ledger.id("1"))
    assert (await client.get(not_theirs)).status_code == 403


async def test_expired_link_offers_a_fresh_one_by_the_channel(client, session, clock, ledger):
    path = action_path(session, "赵磊", ledger.id("1"))
    clock.set(SHANGHAI_9AM_UTC + timedelta(hours=72))  # exactly at expiry
    page = await client.get(path)
    assert page.status_code == 410 and "该链接已过期" in page.text
    assert (await client.post(path + "/progress", data={"text": "x"})).status_code == 410
    csrf = csrf_of(page.text)
    assert (await client.post(path + "/fresh", data={})).status_code == 410  # no CSRF: not sent
    sent = await client.post(path + "/fresh", data={"csrf": csrf})
    assert sent.status_code == 200 and "新的链接已通过您的消息渠道发送" in sent.text
    row = session.exec(select(Outbox).where(Outbox.kind == "web_link")).one()
    assert row.recipient_id == official_id(session, "赵磊") and row.task_id == ledger.id("1")
    assert "url" not in row.params  # the link is made when it is sent, not stored


async def test_fresh_links_are_rate_limited(client, session, clock, ledger):
    path = action_path(session, "赵磊", ledger.id("1"))
    clock.set(SHANGHAI_9AM_UTC + timedelta(hours=80))
    csrf = csrf_of((await client.get(path)).text)
    answers = [(await client.post(path + "/fresh", data={"csrf": csrf})).text for _ in range(6)]
    assert all("已通过您的消息渠道发送" in a for a in answers[:5])
    assert "分钟后再试" in answers[5]
    assert len(list(session.exec(select(Outbox).where(Outbox.kind == "web_link")))) == 5


# --- sign-in and sessions --------------------------------------------------------------------
async def test_dashboard_needs_a_session(client):
    for url in ("/dash", "/dash/overdue", "/dash/pending", "/dash/extensions", "/dash/task/1"):
        page = await client.get(url)
        assert page.status_code == 401 and "/web" in page.text
    assert (await client.get("/", follow_redirects=False)).headers["location"] == "/dash"


async def test_signin_link_is_one_time_and_sets_a_strict_cookie(client, session, settings, ledger):
    path = signin_path(session, settings, "陈静")
    page = await client.get(path)
    assert "以 陈静（督办人）身份登录" in page.text
    assert (
        session.exec(select(WebLink)).one().used_at is None
    )  # a GET (a link preview) uses nothing
    assert (await client.post(path, data={})).status_code == 403  # CSRF
    done = await client.post(path, data={"csrf": csrf_of(page.text)})
    cookie = done.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
    again = await client.post(path, data={"csrf": csrf_of(page.text)})
    assert again.status_code == 403 and "已使用过" in again.text
    assert (await client.get("/dash")).status_code == 200


async def test_cookie_is_secure_behind_https(settings, engine, clock, ledger, session):
    import httpx

    from web.app import build_web_app

    https = settings.model_copy(
        update={
            "web": settings.web.model_copy(update={"public_url": "https://ledger.example.gov.cn"})
        }
    )
    app = build_web_app(https, engine, clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://t") as c:
        path = signin_path(session, https, "陈静").removeprefix("https://ledger.example.gov.cn")
        page = await c.get(path)
        done = await c.post(path, data={"csrf": csrf_of(page.text)})
        assert "Secure" in done.headers["set-cookie"]


async def test_session_expires_and_sign_out_ends_it(client, session, settings, clock, ledger):
    await sign_in(client, session, settings, "陈静")
    clock.set(SHANGHAI_9AM_UTC + timedelta(hours=8))
    assert (await client.get("/dash")).status_code == 401
    clock.set(SHANGHAI_9AM_UTC)
    page = await client.get("/dash")
    assert page.status_code == 200
    assert (await client.post("/signout", data={})).status_code == 403  # CSRF
    out = await client.post("/signout", data={"csrf": csrf_of(page.text)})
    assert "已退出登录" in out.text
    client.cookies.clear()
    assert (await client.get("/dash")).status_code == 401


async def test_expired_and_forged_signin_links(client, session, settings, clock, ledger):
    path = signin_path(session, settings, "陈静")
    assert (await client.get(path[:-2] + "xx")).status_code == 403
    clock.set(SHANGHAI_9AM_UTC + timedelta(minutes=30))
    assert (await client.get(path)).status_code == 410


async def test_signin_attempts_are_rate_limited(client, session, settings, ledger):
    from web.app import CLIENT_LIMIT

    statuses = [
        (await client.post("/signin/s.1.1.1.x", data={})).status_code
        for _ in range(CLIENT_LIMIT + 1)
    ]
    assert statuses[:CLIENT_LIMIT] == [403] * CLIENT_LIMIT and statuses[-1] == 429


# --- the dashboard ---------------------------------------------------------------------------
async def test_board_lists_filters_searches_and_charts(client, session, settings, ledger):
    await sign_in(client, session, settings, "陈静")
    page = (await client.get("/dash")).text
    assert "共 4 项（范围内 4 项）" in page
    assert page.count("<svg") == 2 and "按方面统计" in page and "按牵头单位统计" in page
    assert "🔴 红灯" in page and "l-red" in page
    assert "共 1 项" in (await client.get("/dash", params={"light": "red"})).text
    assert "共 2 项" in (await client.get("/dash", params={"owner": "孙丽"})).text
    assert "共 1 项" in (await client.get("/dash", params={"unit": "产业发展股"})).text
    assert "共 2 项" in (await client.get("/dash", params={"aspect": "方面二"})).text
    assert "共 4 项" in (await client.get("/dash", params={"status": "not_started"})).text
    assert "共 0 项" in (await client.get("/dash", params={"role": "participating"})).text
    assert "共 1 项" in (await client.get("/dash", params={"q": "措施2"})).text


async def test_leader_sees_only_their_scope(client, session, settings, ledger):
    await sign_in(client, session, settings, "张伟")  # leads tasks 2 and 4
    page = (await client.get("/dash")).text
    assert "共 2 项（范围内 2 项）" in page and "任务1" not in page
    hidden = await client.get(f"/dash/task/{ledger.id('1')}")
    missing = await client.get("/dash/task/99999")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.text.replace("99999", "") == missing.text.replace("99999", "")  # reveals nothing
    assert (await client.get(f"/dash/task/{ledger.id('2')}")).status_code == 200


async def test_overdue_list_with_working_days_and_level(client, session, settings, ledger):
    await sign_in(client, session, settings, "陈静")
    page = (await client.get("/dash/overdue")).text
    # task 3 was due 2026-10-30 (Fri); on Mon 2026-11-02: 3 days, 1 working day
    assert "任务3" in page and "任务1" not in page
    assert '<td data-label="逾期天数"><span class="light l-red">🔴 红灯</span> 3</td>' in page
    assert '<td data-label="逾期工作日">1</td>' in page


async def submit(client, session, ledger, ref: str = "1", data: bytes = b"\x89PNG img") -> None:
    path = action_path(session, "赵磊", ledger.id(ref))
    csrf = csrf_of((await client.get(path)).text)
    done = await client.post(
        path + "/done",
        data={"csrf": csrf, "note": "已完成"},
        files={"file": ("现场.png", data, "image/png")},
    )
    assert done.status_code == 303


async def test_pending_queue_opens_evidence_and_closes(client, session, settings, ledger):
    await submit(client, session, ledger)
    await sign_in(client, session, settings, "陈静")
    page = (await client.get("/dash/pending")).text
    assert "任务1" in page and '<img class="evidence" src="/dash/file/' in page
    evidence = session.exec(select(Evidence)).one()
    opened = await client.get(f"/dash/file/{evidence.id}")
    assert opened.status_code == 200 and opened.content == b"\x89PNG img"
    assert opened.headers["content-type"] == "image/png"
    assert "sandbox" in opened.headers["content-security-policy"]
    csrf = csrf_of(page)
    assert (
        await client.post(f"/dash/task/{ledger.id('1')}/verify", data={"text": "同意"})
    ).status_code == 403
    closed = await client.post(
        f"/dash/task/{ledger.id('1')}/verify", data={"csrf": csrf, "text": "材料齐全，同意销号"}
    )
    assert closed.status_code == 303
    task = fresh(session, ledger.id("1"))
    assert task.status == TaskStatus.CLOSED and task.closing_opinion == "材料齐全，同意销号"
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "verify")).one()
    assert event.via == Via.WEB and event.actor_name == "陈静"
    history = (await client.get(f"/dash/task/{ledger.id('1')}")).text
    assert (
        "提交销号（网页）" in history
        and "验收销号（网页）" in history
        and "上传佐证（网页）" in history
    )


async def test_reject_needs_a_reason_and_a_stale_form_is_refused(client, session, settings, ledger):
    await submit(client, session, ledger)
    await sign_in(client, session, settings, "陈静")
    page = (await client.get("/dash/pending")).text
    csrf = csrf_of(page)
    url = f"/dash/task/{ledger.id('1')}/reject"
    no_reason = await client.post(url, data={"csrf": csrf, "text": ""})
    assert no_reason.status_code == 400 and "需要说明理由" in no_reason.text
    stale = await client.post(url, data={"csrf": csrf, "text": "补充", "submission": "123"})
    assert stale.status_code == 400 and "已失效" in stale.text
    ok = await client.post(url, data={"csrf": csrf, "text": "缺少照片"})
    assert ok.status_code == 303
    assert fresh(session, ledger.id("1")).status == TaskStatus.IN_PROGRESS


async def test_cross_scope_decisions_and_files_are_refused(client, session, settings, ledger):
    await submit(client, session, ledger)
    await sign_in(client, session, settings, "张伟")  # not task 1's leader or supervisor
    page = (await client.get("/dash")).text
    csrf = csrf_of(page)
    refused = await client.post(
        f"/dash/task/{ledger.id('1')}/verify", data={"csrf": csrf, "text": "x"}
    )
    assert refused.status_code == 404
    evidence = session.exec(select(Evidence)).one()
    assert (await client.get(f"/dash/file/{evidence.id}")).status_code == 404
    assert fresh(session, ledger.id("1")).status == TaskStatus.SUBMITTED


async def test_extension_requests_approve_and_refuse(client, session, settings, ledger):
    for ref, days in (("1", 10), ("2", 3)):
        path = action_path(session, "赵磊" if ref == "1" else "孙丽", ledger.id(ref))
        csrf = csrf_of((await client.get(path)).text)
        deadline = fresh(session, ledger.id(ref)).deadline
        await client.post(
            path + "/extend",
            data={
                "csrf": csrf,
                "date": (deadline + timedelta(days=days)).isoformat(),
                "reason": "需协调",
            },
        )
    await sign_in(client, session, settings, "陈静")
    page = (await client.get("/dash/extensions")).text
    assert page.count("需协调") == 2
    csrf = csrf_of(page)
    first, second = session.exec(select(ExtensionRequest).order_by(ExtensionRequest.id)).all()
    old = fresh(session, ledger.id("1")).deadline
    ok = await client.post(f"/dash/ext/{first.id}/approve", data={"csrf": csrf, "note": "同意"})
    assert ok.status_code == 303
    assert fresh(session, ledger.id("1")).deadline == old + timedelta(days=10)
    no = await client.post(f"/dash/ext/{second.id}/refuse", data={"csrf": csrf, "note": "不同意"})
    assert no.status_code == 303
    session.expire_all()
    assert session.get(ExtensionRequest, second.id).status == "rejected"
    again = await client.post(f"/dash/ext/{second.id}/refuse", data={"csrf": csrf})
    assert again.status_code == 400 and "已处理" in again.text
    assert (await client.post("/dash/ext/999/approve", data={"csrf": csrf})).status_code == 404


async def test_export_and_reports_download(client, session, settings, ledger):
    await sign_in(client, session, settings, "张伟")
    xlsx = await client.get("/dash/export.xlsx")
    assert xlsx.status_code == 200 and "attachment" in xlsx.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    # title, round line, header, 张伟's two tasks, the legend: the export is scoped too
    assert sheet.max_row == 6 and sheet["A3"].value == "序号"
    for query, marker in (("", "内部版"), ("?public=1", "公开版")):
        report = await client.get(f"/dash/report.docx{query}")
        assert report.status_code == 200
        assert "%E5%86%85" in report.headers["content-disposition"] or marker == "公开版"
        text = "\n".join(p.text for p in Document(io.BytesIO(report.content)).paragraphs)
        assert "整改" in text


async def test_english_official_gets_english_pages(client, session, settings, ledger):
    from ledger.models import Official

    official = session.exec(select(Official).where(Official.name == "陈静")).one()
    official.language = "en"
    session.add(official)
    session.commit()
    await sign_in(client, session, settings, "陈静")
    page = (await client.get("/dash")).text
    assert "4 tasks (4 in your scope)" in page and '<html lang="en">' in page


@pytest.mark.parametrize("name", ["赵磊"])
async def test_owner_sees_only_their_own_tasks(client, session, settings, ledger, name):
    await sign_in(client, session, settings, name)
    page = (await client.get("/dash")).text
    assert "共 2 项（范围内 2 项）" in page and "任务2" not in page
