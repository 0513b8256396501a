"""`ledgerbot officials set …` (a person's contacts and preferred channel) and `ledgerbot
groups …` (group robots). Each parses, calls one ledger service, prints."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from sqlmodel import Session

from ledger.contacts import Routing, contacts_by_official, route
from ledger.db import session_scope
from ledger.enums import Channel
from ledger.errors import InvalidInput
from ledger.groups import add_robot, list_groups, remove_group
from ledger.models import Official

if TYPE_CHECKING:
    from cli.main import App

CHANNEL_LABEL = {
    Channel.TELEGRAM: "Telegram",
    Channel.WECOM: "企业微信",
    Channel.DINGTALK: "钉钉",
    Channel.EMAIL: "邮箱",
    Channel.MOBILE: "手机",
    Channel.WECOM_ROBOT: "企业微信群机器人",
    Channel.DINGTALK_ROBOT: "钉钉群机器人",
    Channel.FEISHU_ROBOT: "飞书群机器人",
}
SET_OPTIONS = (
    ("wecom", Channel.WECOM, "USERID", "the 企业微信 userid"),
    ("dingtalk", Channel.DINGTALK, "USERID", "the 钉钉 userid"),
    ("email", Channel.EMAIL, "ADDR", "the mail address"),
    ("mobile", Channel.MOBILE, "M", "the mobile number (robots @-mention by it)"),
)


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`groups [add|remove …]` (`officials set --wecom/--dingtalk/--prefer` is in cli.main)."""
    groups = sub.add_parser(
        "groups", help="group chats for the weekly digest: list, add a robot, remove"
    )
    actions = groups.add_subparsers(dest="action", metavar="ACTION")
    p = actions.add_parser("add", help="add a group robot (WeCom, DingTalk or Feishu)")
    p.add_argument("name")
    hook = p.add_mutually_exclusive_group(required=True)
    hook.add_argument("--wecom-webhook", metavar="URL")
    hook.add_argument("--dingtalk-webhook", metavar="URL")
    hook.add_argument("--feishu-webhook", metavar="URL")
    p.add_argument("--dingtalk-secret", metavar="S", default="", help="the robot's 加签 secret")
    p.add_argument("--feishu-secret", metavar="S", default="", help="the bot's 签名校验 secret")
    p = actions.add_parser("remove", help="remove a group (what was queued for it is dropped)")
    p.add_argument("name")


def describe(app: App, session: Session, persons: list[Official]) -> list[tuple[str, str]]:
    """Each person's channels ('企业微信 zhaolei ✓ · 邮箱 a@b ✗ …') and the one in use."""
    import channels

    found = contacts_by_official(session)
    routing = Routing.of(app.settings.delivery.channels(), channels.configured(app.settings))
    lines = []
    for person in persons:
        assert person.id is not None
        shown = []
        preferred = None
        for contact in found.get(person.id, []):
            channel = Channel(contact.channel)
            if channel == Channel.MOBILE:
                mark = ""
            elif channel == Channel.TELEGRAM:
                mark = " ✓" if contact.reachable else " ✗ 无法送达"
            else:
                mark = " ✓" if contact.reachable else " ✗ 被拒"
            address = "" if channel == Channel.TELEGRAM else f" {contact.address}"
            shown.append(f"{CHANNEL_LABEL[channel]}{address}{mark}")
            if contact.preferred:
                preferred = channel
        if preferred is not None:
            shown.append(f"优先 {CHANNEL_LABEL[preferred]}")
        using = route(session, person.id, routing)
        label = CHANNEL_LABEL[Channel(using.channel)] if using else "无 (none)"
        lines.append((" · ".join(shown) or "—", label))
    return lines


def cmd_groups(app: App, args: argparse.Namespace) -> int:
    from cli.table import render_table

    with session_scope(app.engine) as session:
        ctx = app.context(session)
        if args.action == "add":
            channel, url, secret = robot_of(args)
            group = add_robot(ctx, args.name, channel, url, secret)
            print(
                f"已添加 (added) {group.name}：{CHANNEL_LABEL[channel]}{'，已加签' if secret else ''}"
            )
            return 0
        if args.action == "remove":
            remove_group(ctx, args.name)
            print(f"已移除 (removed) {args.name}")
            return 0
        groups = list_groups(session)
    if not groups:
        print(
            "（还没有群；在 Telegram 群里 /subscribe，或 `ledgerbot groups add NAME --wecom-webhook URL`）"
        )
        return 0
    rows = [[g.name, CHANNEL_LABEL[g.channel], g.where, "是" if g.signed else ""] for g in groups]
    print(render_table(["群", "渠道", "地址", "加签"], rows, [24, 16, 72, 4]))
    return 0


def robot_of(args: argparse.Namespace) -> tuple[Channel, str, str]:
    if args.wecom_webhook:
        if args.dingtalk_secret or args.feishu_secret:
            raise InvalidInput("error.group_secret", option="--dingtalk-secret/--feishu-secret")
        return Channel.WECOM_ROBOT, args.wecom_webhook, ""
    if args.dingtalk_webhook:
        if args.feishu_secret:
            raise InvalidInput("error.group_secret", option="--feishu-secret")
        return Channel.DINGTALK_ROBOT, args.dingtalk_webhook, args.dingtalk_secret
    if args.dingtalk_secret:
        raise InvalidInput("error.group_secret", option="--dingtalk-secret")
    return Channel.FEISHU_ROBOT, args.feishu_webhook, args.feishu_secret
