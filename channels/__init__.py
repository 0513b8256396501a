"""Senders for the channels offices use in mainland China: WeCom (企业微信/政务微信) and DingTalk
application messages, email through the office's relay, and group robots (WeCom, DingTalk,
Feishu). Each follows `ledger.delivery.Sender` and is driven by the same delivery worker as
Telegram; every notice carries the web action link (these channels take no replies here)."""

from __future__ import annotations

from config import Settings
from ledger.clock import Clock
from ledger.delivery import Sender
from ledger.enums import Channel


def configured(settings: Settings) -> list[Channel]:
    """The person channels this deployment has set up (Telegram: a token is set)."""
    found = []
    telegram = settings.telegram
    if (telegram.token is not None and telegram.token.get_secret_value()) or telegram.token_file:
        found.append(Channel.TELEGRAM)
    if settings.wecom.corp_id:
        found.append(Channel.WECOM)
    if settings.dingtalk.app_key:
        found.append(Channel.DINGTALK)
    if settings.email.smtp_host:
        found.append(Channel.EMAIL)
    return found


def senders(settings: Settings, clock: Clock) -> list[Sender]:
    """A sender for every configured channel but Telegram (its sender needs the bot), and the
    three robots (a robot's group is added with `ledgerbot groups add`)."""
    from channels.dingtalk import DingTalkSender
    from channels.email import EmailSender
    from channels.robots import DingTalkRobotSender, FeishuRobotSender, WeComRobotSender
    from channels.wecom import WeComSender

    chosen = configured(settings)
    made: list[Sender] = []
    if Channel.WECOM in chosen:
        made.append(WeComSender(settings))
    if Channel.DINGTALK in chosen:
        made.append(DingTalkSender(settings, clock))
    if Channel.EMAIL in chosen:
        made.append(EmailSender(settings, clock))
    made += [
        WeComRobotSender(settings, clock),
        DingTalkRobotSender(settings, clock),
        FeishuRobotSender(settings, clock),
    ]
    return made
