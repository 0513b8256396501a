"""Email through a real SMTP server (aiosmtpd), driven by the delivery worker."""

from __future__ import annotations

import re
import ssl
from email.header import decode_header, make_header

import pytest
from sqlmodel import Session, select

from channels.email import EmailSender
from channels.wecom import WeComSender
from config import load_settings
from ledger.contacts import contact_of
from ledger.enums import Channel, OutboxStatus
from ledger.models import AuditEvent
from tests.channels.conftest import (
    action_target,
    crash,
    drain_all,
    give_contacts,
    make_worker,
    official,
    outbox,
    queue_nudges,
)
from tests.support.fake_sender import Crashed
from tests.support.smtp import Mailbox, Relay, self_signed

pytestmark = pytest.mark.usefixtures("ledger")
ADDRESSES = {
    "赵磊": "zhaolei@wl.example.gov.cn",
    "孙丽": "sunli@wl.example.gov.cn",
    "李明": "liming@wl.example.gov.cn",
}


def mail_settings(base, relay, **email):
    return load_settings(
        database_url=base.database_url,
        evidence_dir=base.evidence_dir,
        calendar_file=base.calendar_file,
        web=base.web.model_dump(),
        wecom=base.wecom.model_dump(),
        email={
            "smtp_host": "127.0.0.1",
            "smtp_port": relay.port,
            "from": "整改办 <zgb@wl.example.gov.cn>",
            "security": "none",
            **email,
        },
    )


@pytest.fixture
def mailbox():
    return Mailbox()


async def test_a_notice_is_a_two_part_mail_with_the_first_line_as_subject(
    engine, channel_settings, clock, vclock, mailbox, ledger
):
    with Relay(mailbox) as relay:
        settings = mail_settings(channel_settings, relay)
        give_contacts(engine, settings, clock, Channel.EMAIL, value=ADDRESSES.get)
        queue_nudges(engine, clock, ledger, names=("赵磊", "孙丽"))
        worker = make_worker(engine, settings, clock, vclock, [EmailSender(settings, clock)])
        await drain_all(worker, engine)
    assert [r.status for r in outbox(engine)] == [OutboxStatus.SENT] * 2
    assert sorted(to for to, _, _ in mailbox.received) == [
        ["sunli@wl.example.gov.cn"],
        ["zhaolei@wl.example.gov.cn"],
    ]
    _, mail, raw = next(m for m in mailbox.received if m[0] == ["zhaolei@wl.example.gov.cn"])
    task_id = ledger.id("1")
    subject_line = next(line for line in raw.split(b"\r\n") if line.startswith(b"Subject:"))
    assert b"=?utf-8?" in subject_line.lower()  # RFC 2047 on the wire
    assert str(make_header(decode_header(mail["Subject"]))) == f"🟢 #{task_id}（序号1）任务1"
    assert mail.get_content_type() == "multipart/alternative"
    plain = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    link = re.search(r"https://zg\.example\.gov\.cn/a/\S+", plain).group(0)
    assert action_target(link, clock)[1] == task_id
    assert "【催办】陈静（1） 提醒您尽快推进并报告进展" in plain and link in plain
    assert f'href="{link}"' in html and "【催办】陈静（1）" in html
    row = outbox(engine)[0]
    assert mail["Message-ID"] == f"<ledgerbot.outbox.{row.id}@wl.example.gov.cn>"


async def test_starttls_and_login_against_the_relay(
    engine, channel_settings, clock, vclock, mailbox, ledger, tmp_path
):
    cert, key = self_signed(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    secret = tmp_path / "smtp_password"
    secret.write_text("s3cret-relay\n", encoding="utf-8")
    secret.chmod(0o600)
    with Relay(mailbox, tls=tls, login=("zgb", "s3cret-relay")) as relay:
        settings = mail_settings(
            channel_settings,
            relay,
            security="starttls",
            username="zgb",
            password_file=str(secret),
            ca_file=str(cert),
        )
        give_contacts(engine, settings, clock, Channel.EMAIL, value=ADDRESSES.get)
        queue_nudges(engine, clock, ledger)
        worker = make_worker(engine, settings, clock, vclock, [EmailSender(settings, clock)])
        await drain_all(worker, engine)
    assert len(mailbox.received) == 1 and outbox(engine)[0].status == OutboxStatus.SENT


async def test_wrong_password_keeps_trying_and_says_why(
    engine, channel_settings, clock, vclock, mailbox, ledger
):
    with Relay(mailbox, login=("zgb", "right")) as relay:
        settings = mail_settings(channel_settings, relay, username="zgb", password="wrong")
        give_contacts(engine, settings, clock, Channel.EMAIL, value=ADDRESSES.get)
        queue_nudges(engine, clock, ledger)
        worker = make_worker(engine, settings, clock, vclock, [EmailSender(settings, clock)])
        await worker.drain()
    row = outbox(engine)[0]
    assert row.status == OutboxStatus.PENDING and "login refused" in row.last_error
    assert "wrong" not in row.last_error


async def test_a_refused_address_moves_the_notice_to_the_next_channel(
    engine, channel_settings, clock, vclock, mailbox, wecom, ledger
):
    """Email first for 赵磊 (--prefer email); the relay knows no such mailbox: the contact is
    marked unreachable and the notice goes out on WeCom, once, and nobody else is told."""
    from ledger.contacts import prefer
    from ledger.context import Actor, WorkContext
    from ledger.enums import Via

    mailbox.refuse.add("zhaolei@wl.example.gov.cn")
    with Relay(mailbox) as relay:
        settings = mail_settings(channel_settings, relay)
        give_contacts(engine, settings, clock, Channel.EMAIL, value=ADDRESSES.get)
        give_contacts(engine, settings, clock, Channel.WECOM)
        with Session(engine) as session:
            ctx = WorkContext(
                session=session, now=clock.now(), actor=Actor(via=Via.CLI), settings=settings
            )
            prefer(ctx, official(session, "赵磊"), "email")
            session.commit()
        queue_nudges(engine, clock, ledger)
        worker = make_worker(
            engine, settings, clock, vclock, [EmailSender(settings, clock), WeComSender(settings)]
        )
        await drain_all(worker, engine)
    assert mailbox.received == []
    assert [(s.user, "陈静（1）" in s.card["description"]) for s in wecom.shown] == [
        ("zhaolei", True)
    ]
    [row] = outbox(engine)
    assert row.status == OutboxStatus.SENT and row.channel == Channel.WECOM
    assert outbox(engine, "escalation") == []  # another channel reached him: nobody told
    with Session(engine) as session:
        contact = contact_of(session, official(session, "赵磊").id, Channel.EMAIL)
        assert contact is not None and contact.reachable is False
        [event] = session.exec(
            select(AuditEvent).where(
                AuditEvent.action == "unreachable", AuditEvent.official_id == contact.official_id
            )
        ).all()
        assert "550" in str(event.after)  # why, for the operator


async def test_a_crash_after_the_relay_took_it_resends_with_the_same_message_id(
    engine, channel_settings, clock, vclock, mailbox, ledger
):
    with Relay(mailbox) as relay:
        settings = mail_settings(channel_settings, relay)
        give_contacts(engine, settings, clock, Channel.EMAIL, value=ADDRESSES.get)
        queue_nudges(engine, clock, ledger, per_person=3)

        class Dies(EmailSender):
            async def send(self, address, part):
                await super().send(address, part)
                raise Crashed()

        first = make_worker(engine, settings, clock, vclock, [Dies(settings, clock)], name="m1")
        await crash(first)
        from datetime import timedelta

        clock.advance(timedelta(seconds=4 * settings.delivery.heartbeat_seconds))
        second = make_worker(
            engine, settings, clock, vclock, [EmailSender(settings, clock)], name="m2"
        )
        second.start()
        await drain_all(second, engine)
    ids = [mail["Message-ID"] for _, mail, _ in mailbox.received]
    assert len(ids) == 4 and len(set(ids)) == 3  # one repeat, with the same id (shown once)
    assert {r.status for r in outbox(engine)} == {OutboxStatus.SENT}
