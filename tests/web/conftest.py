"""The web app over httpx's ASGI transport, on the standard small ledger, with a fake clock."""

from __future__ import annotations

import re
from datetime import date

import httpx
import pytest
from sqlmodel import Session, select

from config import Settings, load_settings
from ledger import links
from ledger.context import Actor, WorkContext
from ledger.enums import Via
from ledger.models import Official
from tests.conftest import SHANGHAI_9AM_UTC
from tests.factories import bind_telegram, build_ledger
from web.app import build_web_app

SECRET = "test-web-secret-0123456789abcdefghijklmnop"
TODAY = date(2026, 11, 2)
CSRF_RE = re.compile(r'name="csrf" value="([0-9a-f]{32})"')


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    return load_settings(
        database_url=database_url,
        evidence_dir=tmp_path / "evidence",
        calendar_file=tmp_path / "calendar.toml",
        max_evidence_mb=1,
        web={"secret": SECRET, "public_url": "http://testserver"},
    )


@pytest.fixture
def ledger(session, settings, tmp_path):
    built = build_ledger(session, settings, SHANGHAI_9AM_UTC, tmp_path, today=TODAY)
    for i, official in enumerate(session.exec(select(Official)), start=1):
        # reachable by Telegram: fresh links can be queued
        bind_telegram(session, official, 9000 + i, now=SHANGHAI_9AM_UTC)
    session.commit()
    return built


@pytest.fixture
def web_app(settings, engine, clock, ledger):
    return build_web_app(settings, engine, clock)


@pytest.fixture
async def client(web_app):
    transport = httpx.ASGITransport(app=web_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def official_id(session: Session, name: str) -> int:
    official = session.exec(select(Official).where(Official.name == name)).one()
    assert official.id is not None
    return official.id


def action_path(session: Session, name: str, task_id: int, now=SHANGHAI_9AM_UTC) -> str:
    url = links.action_url("http://testserver", SECRET, official_id(session, name), task_id, now)
    return url.removeprefix("http://testserver")


def signin_path(session: Session, settings: Settings, name: str, now=SHANGHAI_9AM_UTC) -> str:
    official = session.exec(select(Official).where(Official.name == name)).one()
    ctx = WorkContext(session, now, Actor(Via.CLI), settings)
    url = links.create_signin(ctx, official)
    session.commit()
    return url.removeprefix("http://testserver")


def csrf_of(page: str) -> str:
    match = CSRF_RE.search(page)
    assert match, "the page has no CSRF field"
    return match.group(1)


async def sign_in(
    client: httpx.AsyncClient, session: Session, settings: Settings, name: str
) -> None:
    path = signin_path(session, settings, name)
    page = await client.get(path)
    assert page.status_code == 200, page.text
    done = await client.post(path, data={"csrf": csrf_of(page.text)})
    assert done.status_code == 303 and done.headers["location"] == "/dash"
