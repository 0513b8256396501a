"""Email through the office's own relay (SMTP submission; no internet needed): a plain-text and
an HTML part, the notice's first line as the subject (RFC 2047 encoded), the action link, and
a `Message-ID` made from the outbox row, so a message sent again after a crash carries the same
id (mail clients show it once).

smtplib runs in a thread: one connection per message, which any relay accepts.
"""

from __future__ import annotations

import asyncio
import html
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.headerregistry import Address as MailAddress
from email.message import EmailMessage
from email.utils import format_datetime

from channels.common import card, message_number
from config import Settings
from ledger.clock import Clock
from ledger.delivery import Address, Refused, Transient, Unreachable
from ledger.enums import Channel
from ledger.i18n import render
from ledger.notices import Notice


@dataclass(frozen=True)
class Mail:
    subject: str
    text: str
    html: str
    message_id: str


def _text(answer: bytes | str) -> str:
    return answer.decode(errors="replace") if isinstance(answer, bytes) else answer


def domain_of(sender: str) -> str:
    return sender.rpartition("@")[2].strip("> ") or "ledgerbot.local"


class EmailSender:
    channel = Channel.EMAIL

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.cfg = settings.email
        self.clock = clock
        self.password = self.cfg.resolved_password() or ""
        self.pace_seconds = self.cfg.interval

    def render(self, notice: Notice, lang: str) -> Sequence[Mail]:
        """One message, however long: mail has no length limit worth splitting for."""
        shown = card(self.settings, notice, lang)
        lines = [shown.body] if shown.body else []
        if shown.link:
            lines.append(f"{render('channel.open_page', lang)}：{shown.link}")
        text = "\n\n".join([shown.title, *lines]) + "\n"
        body = "".join(f"<p>{html.escape(line)}</p>" for line in shown.body.splitlines() if line)
        link = (
            f'<p><a href="{html.escape(shown.link)}">{html.escape(render("channel.open_page", lang))}</a></p>'
            if shown.link
            else ""
        )
        page = f"<html><body><h3>{html.escape(shown.title)}</h3>{body}{link}</body></html>"
        ref = notice.ref or str(message_number(notice.text))
        message_id = f"<ledgerbot.outbox.{ref}@{domain_of(self.cfg.from_)}>"
        return [Mail(shown.title, text, page, message_id)]

    async def send(self, address: Address, part: Mail) -> int:
        message = EmailMessage()
        message["Subject"] = part.subject  # the policy encodes non-ASCII as RFC 2047
        message["From"] = self.cfg.from_
        try:
            message["To"] = MailAddress(addr_spec=address.value)
        except (ValueError, IndexError) as exc:
            raise Unreachable(f"not a mail address: {exc}") from None
        message["Message-ID"] = part.message_id
        message["Date"] = format_datetime(self.clock.now())
        message.set_content(part.text)
        message.add_alternative(part.html, subtype="html")
        await asyncio.to_thread(self._submit, message, address.value)
        return message_number(part.message_id)

    def _submit(self, message: EmailMessage, to: str) -> None:
        cfg = self.cfg
        try:
            smtp: smtplib.SMTP
            if cfg.security == "ssl":
                smtp = smtplib.SMTP_SSL(
                    cfg.smtp_host, cfg.smtp_port, timeout=cfg.timeout, context=self.tls()
                )
            else:
                smtp = smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=cfg.timeout)
            with smtp:
                if cfg.security == "starttls":
                    smtp.starttls(context=self.tls())
                if cfg.username:
                    smtp.login(cfg.username, self.password)
                smtp.send_message(message, to_addrs=[to])
        except smtplib.SMTPRecipientsRefused as exc:
            code, answer = next(iter(exc.recipients.values()))
            failure = Unreachable if 500 <= code < 600 else Transient
            raise failure(f"SMTP {code} for the recipient: {_text(answer)[:200]}") from None
        except smtplib.SMTPAuthenticationError as exc:
            raise Transient(
                f"SMTP login refused ({exc.smtp_code}): check email.username/password"
            ) from None
        except smtplib.SMTPResponseException as exc:
            failure2 = Refused if 500 <= exc.smtp_code < 600 else Transient
            raise failure2(f"SMTP {exc.smtp_code}: {_text(exc.smtp_error)[:200]}") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise Transient(f"SMTP {type(exc).__name__}: {exc}"[:300]) from None

    def tls(self) -> ssl.SSLContext:
        cafile = str(self.cfg.ca_file) if self.cfg.ca_file else None
        return ssl.create_default_context(cafile=cafile)
