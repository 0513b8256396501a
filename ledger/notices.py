"""Rendering outbox rows into text and abstract buttons, per recipient language.

Pure: the demo prints these, the bot turns the buttons into Telegram keyboards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ledger.i18n import CATALOGS, register, render
from ledger.texts import LIGHT_ICON, day_phrase


@dataclass(frozen=True)
class Button:
    """An action on a task; the bot encodes it as callback data and verifies it on return."""

    label_key: str
    action: str
    target: int
    arg: str = ""
    number: int | None = (
        None  # shown after the label ("✅ 已完成 #3") where several tasks share a message
    )


@dataclass(frozen=True)
class Link:
    """A web link on a notice (ledger.links makes them); each sender renders it its own way."""

    label_key: str  # a catalog key taking {url} (and {task_id})
    url: str
    task_id: int | None = None


@dataclass
class Notice:
    text: str
    buttons: list[list[Button]] = field(default_factory=list)
    # the owner's web page for each task in it (ledger.links.action_url); senders render them
    links: list[Link] = field(default_factory=list)
    # set by `delivery.prepare`: the outbox row it came from (an email's Message-ID; the same
    # on a retry)
    ref: str = ""


TASK_BUTTONS = [
    [Button("btn.done", "done", 0), Button("btn.progress", "progress", 0)],
    [Button("btn.extend", "extend", 0), Button("btn.details", "details", 0)],
]
# leaders, heads and supervisors chase a task; they do not report on it
MANAGER_BUTTONS = [[Button("btn.remind", "remind", 0), Button("btn.details", "details", 0)]]
REVIEW_BUTTONS = [[Button("btn.approve", "approve", 0), Button("btn.reject", "reject", 0)]]
EXTENSION_BUTTONS = [[Button("btn.ext_yes", "ext_yes", 0), Button("btn.ext_no", "ext_no", 0)]]

# which buttons follow each kind of notice, bound to the task (or request) id at render time
BUTTONS_FOR_KIND: dict[str, list[list[Button]]] = {
    "reminder": TASK_BUTTONS,
    "long_term_request": [
        [Button("btn.progress", "progress", 0), Button("btn.details", "details", 0)]
    ],
    "nudge": TASK_BUTTONS,
    "rejected": TASK_BUTTONS,
    "reopened": TASK_BUTTONS,
    "submitted": REVIEW_BUTTONS,
    "extension_requested": EXTENSION_BUTTONS,
    "escalation": MANAGER_BUTTONS,
    "long_term_escalation": MANAGER_BUTTONS,
}
DIGEST_BUTTONS = [
    [
        Button("btn.done", "done", 0),
        Button("btn.progress", "progress", 0),
        Button("btn.details", "details", 0),
    ]
]
# the same kind of notice to a leader instead of the owner
BUTTONS_FOR_TEXT: dict[str, list[list[Button]]] = {"notice.reminder.leader": MANAGER_BUTTONS}

register(
    "zh",
    {
        "btn.done": "✅ 已完成",
        "btn.progress": "📝 报进展",
        "btn.extend": "⏳ 申请延期",
        "btn.details": "详情",
        "btn.remind": "📣 催办",
        "btn.approve": "✔ 销号",
        "btn.reject": "✖ 退回",
        "btn.ext_yes": "✔ 批准延期",
        "btn.ext_no": "✖ 不批准",
        "notice.head": "{icon} #{task_id}（序号{ref}）{title}",
        "notice.reminder.owner": "{head}\n整改时限：{deadline}，{days}。\n请按期完成；完成后直接回复本消息“已完成”并附佐证材料，或点下方按钮。",
        "notice.reminder.owner.linked": "{head}\n整改时限：{deadline}，{days}。\n请按期完成；完成后在下方链接页面提交销号并上传佐证材料。",
        "notice.reminder.leader": "{head}\n【分管任务提醒】责任人：{owners}\n整改时限：{deadline}，{days}。请督促按期完成。",
        "notice.reminder.overdue": "{head}\n【逾期提醒】整改时限 {deadline}，已逾期{overdue}天（{wdays}个工作日）。\n请尽快完成整改，或回复本消息说明进展。",
        "notice.reminder.overdue.linked": "{head}\n【逾期提醒】整改时限 {deadline}，已逾期{overdue}天（{wdays}个工作日）。\n请尽快完成整改，或在下方链接页面报告进展。",
        "notice.escalation.1": "{head}\n【督办】责任人 {owners} 的任务已逾期{overdue}天（{wdays}个工作日），整改时限 {deadline}。\n可发送 /remind {task_id} 一键催办。",
        "notice.escalation.2": "{head}\n【督办·第二级】逾期已超过{threshold}个工作日（{wdays}个工作日），责任人 {owners}，牵头单位 {lead_unit}。请约谈督促整改。",
        "notice.escalation.unreachable": "{head}\n【无法送达】{name} 已屏蔽机器人或无法联系，提醒未能送达，请线下督办。",
        "notice.escalation.dead": "{head}\n【发送失败】发给 {name} 的提醒已连续发送失败一段时间（{error}），仍在重试，请线下联系。",
        "notice.escalation.refused": "{head}\n【发送被拒】发给 {name} 的提醒被通道拒收（{error}），未能送达，请线下联系。",
        "notice.long_term_request": "{head}\n【长期坚持·月度报告】请报告本月（{month}）整改进展：直接回复本消息，或点“报进展”。",
        "notice.long_term_request.linked": "{head}\n【长期坚持·月度报告】请在下方链接页面报告本月（{month}）整改进展。",
        "notice.long_term_escalation": "{head}\n【督办】长期坚持任务 {month} 的进展报告已{wdays}个工作日未提交，责任人 {owners}。",
        "notice.pending_list": "【待销号清单】{count} 项整改任务等待您验收销号：\n{lines}\n发送 /pending 逐项销号或退回。",
        "notice.pending_line": "• #{task_id} {title}（{owners}，{submitted}提交）",
        "notice.weekly_digest": "【一周一调度】{week}\n共 {total} 项：🔴 {red}  🟡 {yellow}  🟢 {green}  🔵 {blue}  ✅ {closed}\n状态：未启动 {not_started}，推进中 {in_progress}，待销号 {submitted}，已销号 {closed}\n本周变化：新销号 {new_closed}，新提交 {new_submitted}，新逾期 {new_overdue}\n{red_list}{unbound}",
        "notice.digest_red_title": "红灯清单：\n",
        "notice.digest_red_line": "🔴 #{task_id} {title}（{owners}，逾期{overdue}天）\n",
        "notice.digest_unbound": "尚未绑定机器人的人员（提醒暂存，绑定后送达）：{names}\n",
        "notice.digest_calendar": "【日历】{year}年的工作日历仍为推定（调休上班日未知）；国务院通知发布后请用 ledgerbot calendar import 导入。",
        "notice.more": "……另有 {count} 项",
        "notice.submitted": "{head}\n【提交销号】{by} 报告已完成：{note}\n请验收：点“销号”或“退回”。",
        "notice.verified": "{head}\n【已销号】{by} 已验收销号。{opinion}",
        "notice.rejected": "{head}\n【退回】{by} 退回了销号申请，理由：{reason}\n请继续整改后再次提交。",
        "notice.long_term": "{head}\n【转为长期坚持】{by}：{reason}\n今后每月报告进展。",
        "notice.reopened": "{head}\n【回头看·重新整改】{by} 重新打开了该任务，理由：{reason}\n新的整改时限：{new}，请按期整改后再次提交销号。",
        "notice.extension_requested": "{head}\n【延期申请】{by} 申请将整改时限由 {old} 延至 {new}，理由：{reason}",
        "notice.extension_approved": "{head}\n【延期已批准】新的整改时限：{new}。{note}",
        "notice.extension_rejected": "{head}\n【延期未批准】整改时限不变。{note}",
        "notice.report_due": "【报告提醒】“{round}”的整改落实情况报告应于 {due} 报送，还有{wdays}个工作日。可发送 /report 生成报告稿。",
        "notice.nudge": "{head}\n【催办】{by} 提醒您尽快推进并报告进展。整改时限：{deadline}，{days}。",
        "notice.digest": "【整改提醒汇总】您有 {count} 项任务需要关注：\n{lines}\n点下方按钮处理对应任务；回复本消息时请先选择任务。",
        "notice.digest.linked": "【整改提醒汇总】您有 {count} 项任务需要关注：\n{lines}\n请在下方链接页面逐项处理。",
        "notice.digest_line": "{icon} #{task_id} {title}：{days}",
        "notice.oversight": "【督办汇总】{count} 项整改任务需要您督办：\n{lines}\n点“催办”一键提醒责任人，点“详情”查看任务。",
        "notice.oversight_due": "【分管任务提醒】{count} 项您分管的整改任务临近时限：\n{lines}\n请督促按期完成；点“催办”一键提醒责任人，点“详情”查看任务。",
        "notice.oversight_line": "{icon} #{task_id} {title}（责任人 {owners}，{days}{level}）",
        "notice.oversight_more": "……另有 {count} 项，发送 /overdue 或 /due 查看全部",
        "notice.oversight_level.1": "，已升级督办",
        "notice.oversight_level.2": "，第二级督办",
    },
)
register(
    "en",
    {
        "btn.done": "✅ Done",
        "btn.progress": "📝 Progress",
        "btn.extend": "⏳ Extension",
        "btn.details": "Details",
        "btn.remind": "📣 Nudge",
        "btn.approve": "✔ Close",
        "btn.reject": "✖ Reject",
        "btn.ext_yes": "✔ Approve",
        "btn.ext_no": "✖ Refuse",
        "notice.head": "{icon} #{task_id} (ref {ref}) {title}",
        "notice.reminder.owner": "{head}\nDeadline: {deadline}, {days}.\nReply “done” to this message with evidence when finished, or use the buttons.",
        "notice.reminder.owner.linked": "{head}\nDeadline: {deadline}, {days}.\nWhen finished, submit it with evidence on the page linked below.",
        "notice.reminder.leader": "{head}\n[Task you lead] Owner: {owners}\nDeadline: {deadline}, {days}.",
        "notice.reminder.overdue": "{head}\n[Overdue] Deadline {deadline}, {overdue} days overdue ({wdays} working days).",
        "notice.escalation.1": "{head}\n[Escalation] {owners}'s task is {overdue} days overdue ({wdays} working days). /remind {task_id} to nudge.",
        "notice.escalation.2": "{head}\n[Escalation, level 2] Overdue more than {threshold} working days ({wdays}); owner {owners}, lead unit {lead_unit}.",
        "notice.escalation.unreachable": "{head}\n[Unreachable] {name} blocked the bot or cannot be reached; follow up offline.",
        "notice.escalation.dead": "{head}\n[Delivery failing] A reminder to {name} has been failing for a long time ({error}); still retrying. Follow up offline.",
        "notice.escalation.refused": "{head}\n[Delivery refused] The channel refused a reminder to {name} ({error}); it was not delivered. Follow up offline.",
        "notice.long_term_request": "{head}\n[Long-term, monthly report] Please report this month's ({month}) progress by replying.",
        "notice.long_term_request.linked": "{head}\n[Long-term, monthly report] Please report this month's ({month}) progress on the page linked below.",
        "notice.long_term_escalation": "{head}\n[Escalation] The {month} report on this long-term task is {wdays} working days late; owner {owners}.",
        "notice.pending_list": "[Awaiting verification] {count} tasks await your verification:\n{lines}\nSend /pending to close or reject them.",
        "notice.pending_line": "• #{task_id} {title} ({owners}, submitted {submitted})",
        "notice.weekly_digest": "[Weekly digest] {week}\n{total} tasks: 🔴 {red}  🟡 {yellow}  🟢 {green}  🔵 {blue}  ✅ {closed}\nNot started {not_started}, in progress {in_progress}, awaiting verification {submitted}, closed {closed}\nThis week: closed {new_closed}, submitted {new_submitted}, newly overdue {new_overdue}\n{red_list}{unbound}",
        "notice.digest_red_title": "Red list:\n",
        "notice.digest_red_line": "🔴 #{task_id} {title} ({owners}, {overdue} days overdue)\n",
        "notice.digest_unbound": "Not yet bound (their notices wait): {names}\n",
        "notice.digest_calendar": "[Calendar] {year}'s working days are still provisional (no 调休 days yet); import the State Council's schedule with ledgerbot calendar import.",
        "notice.more": "…and {count} more",
        "notice.submitted": "{head}\n[Submitted] {by} reports it done: {note}\nClose or reject it.",
        "notice.verified": "{head}\n[Closed] {by} verified and closed it. {opinion}",
        "notice.rejected": "{head}\n[Rejected] {by} sent it back: {reason}",
        "notice.long_term": "{head}\n[Now long-term] {by}: {reason}",
        "notice.reopened": "{head}\n[Reopened] {by}: {reason}\nNew deadline: {new}.",
        "notice.extension_requested": "{head}\n[Extension request] {by} asks to move the deadline from {old} to {new}: {reason}",
        "notice.extension_approved": "{head}\n[Extension approved] New deadline: {new}. {note}",
        "notice.extension_rejected": "{head}\n[Extension refused] The deadline stays. {note}",
        "notice.report_due": "[Report due] The rectification report for “{round}” is due on {due}, in {wdays} working days. Send /report for a draft.",
        "notice.nudge": "{head}\n[Nudge] {by} asks you to move this forward. Deadline: {deadline}, {days}.",
        "notice.digest": "[Reminder digest] {count} tasks need attention:\n{lines}\nUse the buttons; to reply, pick a task first.",
        "notice.digest.linked": "[Reminder digest] {count} tasks need attention:\n{lines}\nHandle each on the page linked below.",
        "notice.digest_line": "{icon} #{task_id} {title}: {days}",
        "notice.oversight": "[Oversight] {count} tasks need your follow-up:\n{lines}\nNudge the owner or open the details with the buttons.",
        "notice.oversight_due": "[Tasks you lead] {count} tasks are nearing their deadline:\n{lines}\nNudge the owner or open the details with the buttons.",
        "notice.oversight_line": "{icon} #{task_id} {title} (owner {owners}, {days}{level})",
        "notice.oversight_more": "…and {count} more: send /overdue or /due for all",
        "notice.oversight_level.1": ", escalated",
        "notice.oversight_level.2": ", escalated to level 2",
    },
)

ICONS = LIGHT_ICON  # one icon map (ledger/texts.py)


def days_phrase(params: dict[str, Any], lang: str) -> str:
    if params.get("deadline") in (None, ""):
        return day_phrase(None, lang)
    return day_phrase(int(params.get("days_left", 0)), lang)


def _head(params: dict[str, Any], lang: str) -> str:
    return render(
        "notice.head",
        lang,
        icon=ICONS.get(str(params.get("light", "")), "📌"),
        task_id=params.get("task_id"),
        ref=params.get("ref", ""),
        title=params.get("title", ""),
    )


def _names(value: Any) -> str:
    if isinstance(value, list):
        return "、".join(str(v) for v in value) or "—"
    return str(value or "—")


def bind_buttons(template: list[list[Button]], target: int, arg: str = "") -> list[list[Button]]:
    return [[Button(b.label_key, b.action, target, arg or b.arg) for b in row] for row in template]


def linked_key(key: str, linked: bool) -> str:
    """A text that says "reply to this message" has a `.linked` variant for channels that take
    no replies (WeCom, DingTalk, email, robots): it points to the linked page instead."""
    return f"{key}.linked" if linked and f"{key}.linked" in CATALOGS["zh"] else key


def render_notice(
    kind: str, text_key: str, params: dict[str, Any], lang: str, *, linked: bool = False
) -> Notice:
    """The text and buttons for one outbox row (`linked`: for a channel without replies)."""
    values: dict[str, Any] = dict(params)
    values["head"] = _head(params, lang)
    values["days"] = days_phrase(params, lang)
    values["owners"] = _names(params.get("owners"))
    if kind == "pending_list":
        lines = [
            render("notice.pending_line", lang, **{**item, "owners": _names(item.get("owners"))})
            for item in params.get("items", [])
        ]
        if params.get("more"):
            lines.append(render("notice.more", lang, count=params["more"]))
        values["lines"] = "\n".join(lines)
    if kind == "oversight":
        items = params.get("items", [])
        return render_oversight(text_key, items, lang, count=params.get("count", len(items)))
    if kind == "weekly_digest":
        red = params.get("red_items", [])
        red_list = ""
        if red:
            red_list = render("notice.digest_red_title", lang) + "".join(
                render(
                    "notice.digest_red_line", lang, **{**item, "owners": _names(item.get("owners"))}
                )
                for item in red
            )
        values["red_list"] = red_list
        unbound = params.get("unbound", [])
        values["unbound"] = (
            render("notice.digest_unbound", lang, names=_names(unbound)) if unbound else ""
        )
    text = render(linked_key(text_key, linked), lang, **values).rstrip()
    if kind == "weekly_digest" and params.get("calendar_year"):
        text += "\n" + render("notice.digest_calendar", lang, year=params["calendar_year"])
    target = int(params.get("request_id") or params.get("task_id") or 0)
    # a 销号/退回 button is for the submission it announced, not a later one
    arg = str(params.get("submission") or "") if kind == "submitted" else ""
    template = BUTTONS_FOR_TEXT.get(text_key) or BUTTONS_FOR_KIND.get(kind, [])
    buttons = bind_buttons(template, target, arg) if target else []
    return Notice(text=text, buttons=buttons)


def render_digest(items: list[dict[str, Any]], lang: str, *, linked: bool = False) -> Notice:
    """Several reminders for one person in one sweep: one message, a line and buttons per task."""
    lines = [
        render(
            "notice.digest_line",
            lang,
            icon=ICONS.get(str(p.get("light")), "📌"),
            task_id=p.get("task_id"),
            title=p.get("title", ""),
            days=days_phrase(p, lang),
        )
        for p in items
    ]
    buttons = []
    for p in items:  # an owner's actions, or a leader's (催办/详情), each naming its task
        task_id = int(p["task_id"])
        template = BUTTONS_FOR_TEXT.get(str(p.get("text_key", "")), DIGEST_BUTTONS)
        buttons.append(
            [Button(b.label_key, b.action, task_id, number=task_id) for b in template[0]]
        )
    text = render(
        linked_key("notice.digest", linked), lang, count=len(items), lines="\n".join(lines)
    )
    return Notice(text=text, buttons=buttons)


OVERSIGHT_SHOWN = 50  # tasks an oversight notice lists (with 催办/详情: one Telegram keyboard)
OVERSIGHT_KEPT = 2 * OVERSIGHT_SHOWN  # tasks the sweep keeps in it: those moved on are replaced


def render_oversight(
    text_key: str, items: list[dict[str, Any]], lang: str, *, count: int | None = None
) -> Notice:
    """One person's oversight notice of one sweep: a line and 催办/详情 per task, the most
    escalated first, and how many more (`count`: all the notice tells, the listed included).
    The channel splits a long one into parts (Telegram: 100 buttons a message, 4096
    characters)."""
    ordered = sorted(
        items,
        key=lambda p: (-int(p.get("level", 0)), int(p.get("days_left", 0)), int(p["task_id"])),
    )[:OVERSIGHT_SHOWN]
    count = max(len(items) if count is None else int(count), len(ordered))
    lines = [
        render(
            "notice.oversight_line",
            lang,
            icon=ICONS.get(str(p.get("light")), "📌"),
            task_id=p["task_id"],
            title=p.get("title", ""),
            owners=_names(p.get("owners")),
            days=days_phrase(p, lang),
            level=render(f"notice.oversight_level.{p['level']}", lang) if p.get("level") else "",
        )
        for p in ordered
    ]
    buttons = [
        [Button(b.label_key, b.action, int(p["task_id"]), number=int(p["task_id"])) for b in row]
        for p in ordered
        for row in MANAGER_BUTTONS
    ]
    if count > len(ordered):
        lines.append(render("notice.oversight_more", lang, count=count - len(ordered)))
    text = render(text_key, lang, count=count, lines="\n".join(lines))
    return Notice(text=text, buttons=buttons)


def oversight_items(
    session: Any, items: list[dict[str, Any]], *, today: Any, yellow_days: int
) -> list[dict[str, Any]]:
    """An oversight notice's tasks as they are now, without those that no longer need it:
    closed or submitted, or at another level since (raised again later, or reset by a new
    deadline), which a later notice tells."""
    from sqlmodel import col, select

    from ledger.enums import OPEN_STATUSES, Duty
    from ledger.models import Official, Task, TaskPerson

    ids = [int(p["task_id"]) for p in items]
    tasks = {t.id: t for t in session.exec(select(Task).where(col(Task.id).in_(ids)))}
    owners: dict[int, list[str]] = {}
    for task_id, name in session.exec(
        select(TaskPerson.task_id, Official.name)
        .join(Official, col(Official.id) == col(TaskPerson.official_id))
        .where(col(TaskPerson.task_id).in_(ids), TaskPerson.duty == Duty.OWNER)
        .order_by(col(TaskPerson.task_id), col(TaskPerson.position))
    ):
        owners.setdefault(task_id, []).append(name)
    current = []
    for item in items:
        task = tasks.get(int(item["task_id"]))
        if task is None or task.status not in OPEN_STATUSES:
            continue
        if task.escalation_level != int(item.get("level", 0)):
            continue
        if str(item.get("deadline") or "") != (task.deadline.isoformat() if task.deadline else ""):
            continue
        current.append(
            {
                **item,
                **task_params(task, today, yellow_days),
                "owners": owners.get(task.id or 0, []),
            }
        )
    return current


def task_params(task: Any, today: Any, yellow_days: int) -> dict[str, Any]:
    """What every task notice shows: id, ref, title, deadline, days left and light.

    `task` is a Task or anything with the same fields (the sweep's lightweight rows).
    """
    from ledger.lights import light_of

    light = light_of(task, today, yellow_days)
    return {
        "task_id": task.id,
        "ref": task.ref,
        "title": task.title,
        "deadline": task.deadline.isoformat() if task.deadline else "",
        "days_left": (task.deadline - today).days if task.deadline else 0,
        "light": light.value,
    }


def enrich(
    session: Any,
    task_id: int | None,
    params: dict[str, Any],
    *,
    today: Any,
    yellow_days: int,
    kind: str = "",
) -> dict[str, Any]:
    """A notice's parameters with the task as it is now (title, ref, owners, light, days).

    Sweeps store only what the stage depends on; the rest is read when the message is made.
    An oversight notice's tasks are each read so, and those that no longer need it dropped.
    """
    if kind == "oversight":
        items = params.get("items", [])
        current = oversight_items(session, items, today=today, yellow_days=yellow_days)
        # the sweep lists the most urgent and counts all; those listed and since moved on
        # leave the count (the rest are counted as of the sweep)
        count = int(params.get("count", len(items))) - (len(items) - len(current))
        return {**params, "items": current, "count": count}
    if task_id is None:
        return params
    from ledger.enums import Duty
    from ledger.models import Task
    from ledger.outbox import task_people

    task = session.get(Task, task_id)
    if task is None:
        return params
    owners = [p.name for p in task_people(session, task_id, Duty.OWNER)]
    return {
        **params,
        **task_params(task, today, yellow_days),
        "owners": owners,
        "lead_unit": task.lead_unit,
    }
