"""`ledgerbot`: the operator's command line. Output to stdout, errors to stderr, non-zero exit."""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.invites import telegram_link
from cli import routing as channel_commands
from cli.table import render_table
from config import Settings, SettingsError, load_settings
from ledger import reads
from ledger.clock import Clock, SystemClock
from ledger.context import Actor, WorkContext
from ledger.dates import parse_date
from ledger.db import make_engine, session_scope
from ledger.enums import OfficialRole, Via
from ledger.errors import ImportFailed, LedgerError
from ledger.i18n import render
from ledger.importer import ImportSummary, RoundOptions, import_file
from ledger.migrate import current_revision, upgrade
from ledger.models import Official
from ledger.officials import (
    OfficialChange,
    create_invite,
    find_official,
    import_officials,
    set_official,
)
from ledger.private import owner_only
from ledger.queries import TaskFilter, TaskView
from ledger.texts import LIGHT_ICON, days_text, deadline_text

log = logging.getLogger("ledgerbot")


class CliError(Exception):
    """A usage problem the operator can fix; printed without a traceback."""


def _date_arg(value: str) -> date:
    try:
        return parse_date(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"无法识别的日期 {value!r}（示例：2026-12-31）") from None


def _instant_arg(value: str) -> datetime:
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"无法识别的时间 {value!r}（示例：2026-12-01T09:00+08:00）"
        ) from None
    return instant


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ledgerbot",
        description="整改台账提醒机器人 — rectification-ledger reminder bot",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("init", help="create the database (migrated to the latest schema) and folders")
    sub.add_parser("migrate", help="apply pending schema migrations")

    p = sub.add_parser("import", help="import a ledger sheet (xlsx or csv)")
    p.add_argument("file", type=Path)
    p.add_argument("--round", dest="round_name", help="the inspection round the rows belong to")
    p.add_argument("--dry-run", action="store_true", help="show what would change; write nothing")
    p.add_argument("--unit", default="", help="inspected unit (a new round)")
    p.add_argument("--group", default="", help="inspection group (a new round)")
    p.add_argument("--feedback-date", type=_date_arg, help="feedback date (a new round)")
    p.add_argument("--report-due", type=_date_arg, help="report due date (a new round)")
    p.add_argument(
        "--sheet-wins",
        action="store_true",
        help="where a field changed in the sheet and in the ledger, take the sheet's value",
    )

    p = sub.add_parser("export", help="export the ledger (xlsx or csv) with lights")
    p.add_argument("file", type=Path)
    p.add_argument("--round", dest="round_name")

    p = sub.add_parser("tasks", help="list tasks with their traffic lights")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--overdue", action="store_true", help="only overdue tasks")
    group.add_argument("--due", type=int, metavar="DAYS", help="open tasks due within DAYS")
    p.add_argument("--owner", metavar="NAME", help="only tasks of this 责任人")
    p.add_argument("--round", dest="round_name")

    p = sub.add_parser("officials", help="list officials; `set` one or `import` a sheet of them")
    people = p.add_subparsers(dest="officials_command", metavar="[set|import]")
    q = people.add_parser("set", help="create or update one official's unit, title, role, contacts")
    q.add_argument("name")
    q.add_argument("--unit", help="单位")
    q.add_argument("--title", help="职务")
    q.add_argument("--role", choices=[r.value for r in OfficialRole])
    q.add_argument("--mobile", help="手机号 (robots @-mention by it)")
    q.add_argument("--email", help="邮箱")
    q.add_argument("--wecom", metavar="USERID", help="企业微信账号 (userid)")
    q.add_argument("--dingtalk", metavar="USERID", help="钉钉账号 (userid)")
    q.add_argument(
        "--prefer",
        metavar="CHANNEL",
        help="this person's first channel: telegram, wecom, dingtalk, email ('' for the order)",
    )
    q = people.add_parser(
        "import",
        help="officials from xlsx/csv: 姓名, 单位, 职务, 角色, 手机号, 邮箱, 企业微信账号, 钉钉账号",
    )
    q.add_argument("file", type=Path)

    p = sub.add_parser(
        "round", help="show or change a round (its feedback date re-derives 立行立改)"
    )
    p.add_argument("name")
    p.add_argument("--feedback-date", type=_date_arg, help="巡察反馈日期")

    p = sub.add_parser(
        "calendar", help="the working-day calendar: import the official schedule, show a year"
    )
    days = p.add_subparsers(dest="calendar_command", required=True, metavar="import|show")
    q = days.add_parser("import", help="holiday-cn JSON or the calendar TOML")
    q.add_argument("file", type=Path)
    q = days.add_parser("show", help="every day of YEAR that is not an ordinary weekday/weekend")
    q.add_argument("year", type=int)

    channel_commands.add_parsers(sub)  # groups [add|remove …]

    p = sub.add_parser("invite", help="a one-time binding code and deep link for an official")
    p.add_argument("name")
    p.add_argument("--role", choices=[r.value for r in OfficialRole])

    p = sub.add_parser("sweep", help="run one deadline sweep now (or as of --at) and print it")
    p.add_argument("--at", type=_instant_arg, help="ISO datetime, e.g. 2026-12-01T09:00+08:00")
    p.add_argument(
        "--dry-run", action="store_true", help="show what would be queued; write nothing"
    )
    p.add_argument(
        "--list",
        action="store_true",
        help=f"print every queued notice (default: the summary and the first {SWEEP_SHOWN})",
    )

    p = sub.add_parser("report", help="draft the rectification report (docx) for a round")
    p.add_argument("--round", dest="round_name", required=True)
    p.add_argument("--out", type=Path, required=True, help="FILE.docx")
    p.add_argument("--public", action="store_true", help="the public notice: no names, no notes")

    p = sub.add_parser("archive", help="the evidence archive (zip, a folder per task) of a round")
    p.add_argument("--round", dest="round_name", required=True)
    p.add_argument("--out", type=Path, required=True, help="FILE.zip")

    p = sub.add_parser("backup", help="a consistent copy of the SQLite database and the evidence")
    p.add_argument("out", type=Path, help="a folder: ledgerbot.db and evidence/ go in it")

    p = sub.add_parser(
        "weblink", help="a one-time sign-in link to the web dashboard for an official"
    )
    p.add_argument("name")

    p = sub.add_parser(
        "run", help="run the delivery worker, the scheduler, the web and (with a token) the bot"
    )
    p.add_argument(
        "--webhook", action="store_true", help="webhook mode (needs telegram.webhook_url)"
    )

    p = sub.add_parser("demo", help="run the sample ledger end to end (no token needed)")
    p.add_argument("--days", type=int, default=45, help="how many days to simulate")
    p.add_argument("--quiet", action="store_true", help="print only the summary")
    p.add_argument(
        "--web", action="store_true", help="then serve the dashboard on it until interrupted"
    )

    return parser


class App:
    """What every command needs: settings, an engine, a clock."""

    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.settings.database_url)
            upgrade(self._engine)  # a no-op when the schema is current
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    def context(self, session: Session) -> WorkContext:
        return WorkContext(
            session=session, now=self.clock.now(), actor=Actor(via=Via.CLI), settings=self.settings
        )


def cmd_init(app: App, args: argparse.Namespace) -> int:
    app.engine  # noqa: B018  (creates the schema)
    app.settings.evidence_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    print(
        f"数据库已就绪 (database ready, schema {current_revision(app.engine)}): "
        f"{_safe_url(app.settings.database_url)}"
    )
    print(f"佐证材料目录 (evidence folder): {app.settings.evidence_dir}")
    web = app.settings.web
    if web.has_secret():
        print(f"网页签名密钥已设置 (web signing key present): {_secret_source(app.settings)}")
    else:
        path = web.secret_path()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with owner_only(path):
            path.write_text(secrets.token_urlsafe(48) + "\n", encoding="utf-8")
        print(f"已生成网页签名密钥，仅所有者可读 (web signing key written, mode 600): {path}")
    return 0


def _secret_source(settings: Settings) -> str:
    if settings.web.secret is not None and settings.web.secret.get_secret_value():
        return "LEDGERBOT_WEB__SECRET"
    return str(settings.web.secret_path())


def _safe_url(url: str) -> str:
    """The database URL without its password, for printing."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def cmd_migrate(app: App, args: argparse.Namespace) -> int:
    engine = make_engine(app.settings.database_url)
    try:
        before = current_revision(engine)
        upgrade(engine)
        after = current_revision(engine)
    finally:
        engine.dispose()
    if before == after:
        print(f"数据库结构已是最新 (schema up to date): {after}")
    else:
        print(f"已迁移 (migrated) {before or '空库 (empty)'} → {after}")
    return 0


def print_summary(summary: ImportSummary) -> None:
    prefix = "[试运行，未写入] " if summary.dry_run else ""
    print(
        f"{prefix}新增 {len(summary.created)} 项，更新 {len(summary.updated)} 项，"
        f"未变 {summary.unchanged} 项 (created {len(summary.created)}, updated "
        f"{len(summary.updated)}, unchanged {summary.unchanged})"
    )
    for name in summary.new_rounds:
        print(f"  新轮次 (new round): {name}")
    if summary.created and len(summary.created) <= 50:
        print(f"  新增 {len(summary.created)} 项：")
        for change in summary.created:
            print(f"    第 {change.row} 行 序号 {change.ref} {change.title}")
    if summary.renumbered:
        print(f"  重新编号 {len(summary.renumbered)} 项（按任务名称认出，不是新任务）：")
        for change in summary.renumbered:
            print(
                f"    第 {change.row} 行 #{change.task_id} {change.title}：序号 {change.old_ref} → {change.ref}"
            )
    for change in summary.updated:
        print(f"  第 {change.row} 行 序号 {change.ref}（#{change.task_id} {change.title}）：")
        for header, before, after in change.fields:
            print(f"    {header}：{before or '（空）'} → {after or '（空）'}")
    if summary.conflicts:
        print(
            f"  冲突 {len(summary.conflicts)} 处（表格和台账都改过；"
            + (
                "按 --sheet-wins 采用表格的值"
                if summary.conflicts[0].sheet_won
                else "保留台账的值，加 --sheet-wins 采用表格的值"
            )
            + "）："
        )
        for conflict in summary.conflicts:
            print(
                f"    第 {conflict.row} 行 序号 {conflict.ref}（#{conflict.task_id}）{conflict.header}："
                f"台账 {conflict.ledger or '（空）'}，表格 {conflict.sheet or '（空）'}"
            )
    if summary.kept:
        print(
            f"  保留台账现值 {summary.kept} 处：表格自上次导入未改，台账已在机器人中更新（如已批准的延期、已销号）"
        )
    if summary.skipped_rows:
        print(f"  跳过 {len(summary.skipped_rows)} 行表注/说明：")
        for row, text in summary.skipped_rows:
            print(f"    第 {row} 行：{text[:40]}")
    if summary.ignored_columns:
        print("  未识别、已忽略的列：" + "、".join(summary.ignored_columns))
    if summary.new_officials:
        print(
            f"  待邀请的新人员 (new officials to invite, {len(summary.new_officials)}): "
            + "、".join(summary.new_officials)
        )
        print("  用 `ledgerbot invite 姓名` 生成绑定链接。")
    if summary.hidden_rows:
        rows = "、".join(str(r) for r in summary.hidden_rows)
        print(f"  已跳过隐藏行 (hidden rows skipped, not imported): 第{rows}行")
    for warning in summary.warnings:
        print(f"  注意 (warning): {warning}")


def cmd_import(app: App, args: argparse.Namespace) -> int:
    options = RoundOptions(
        name=args.round_name,
        inspected_unit=args.unit,
        inspection_group=args.group,
        feedback_date=args.feedback_date,
        report_due_date=args.report_due,
    )
    with session_scope(app.engine) as session:
        summary = import_file(
            app.context(session),
            args.file,
            options,
            dry_run=args.dry_run,
            sheet_wins=args.sheet_wins,
        )
    print_summary(summary)
    return 0


def cmd_export(app: App, args: argparse.Namespace) -> int:
    with session_scope(app.engine) as session, owner_only(args.file):
        count = reads.export(app.context(session), args.file, args.round_name)
    print(f"已导出 {count} 项任务到 {args.file} (exported {count} tasks)")
    return 0


def task_rows(views: Sequence[TaskView], today: date) -> list[list[str]]:
    return [
        [
            f"{LIGHT_ICON[v.light]}",
            f"#{v.id}",
            v.task.ref,
            v.task.title,
            "、".join(v.owners),
            deadline_text(v.task),
            days_text(v.task, today),
            render(f"status.{v.task.status}"),
        ]
        for v in views
    ]


TASK_HEADERS = ["灯", "ID", "序号", "整改任务", "责任人", "整改时限", "剩余/逾期", "状态"]
TASK_LIMITS = [2, 6, 6, 34, 12, 30, 12, 8]


def print_tasks(views: Sequence[TaskView], today: date) -> None:
    if not views:
        print("（没有符合条件的任务）")
        return
    print(render_table(TASK_HEADERS, task_rows(views, today), TASK_LIMITS))
    counts: dict[str, int] = {}
    for view in views:
        key = render(f"light.{view.light}")
        counts[key] = counts.get(key, 0) + 1
    print("共 {} 项：{}".format(len(views), "，".join(f"{k} {n}" for k, n in counts.items())))


def cmd_tasks(app: App, args: argparse.Namespace) -> int:
    with session_scope(app.engine) as session:
        ctx = app.context(session)
        flt = TaskFilter(
            round_name=args.round_name,
            overdue=args.overdue,
            due_within_days=args.due,
            owner_name=args.owner,
        )
        order = "overdue" if args.overdue else "deadline" if args.due is not None else "ledger"
        views = reads.task_list(ctx, flt, order=order)
    print_tasks(views, ctx.today)
    return 0


def cmd_officials(app: App, args: argparse.Namespace) -> int:
    action = getattr(args, "officials_command", None)  # plain `ledgerbot officials`: the list
    if action == "set":
        return cmd_officials_set(app, args)
    if action == "import":
        return cmd_officials_import(app, args)
    with session_scope(app.engine) as session:
        people = reads.officials(app.context(session))
        channels = channel_commands.describe(app, session, [v.official for v in people])
    if not people:
        print("（还没有人员；先导入台账）")
        return 0

    def contacts(view: reads.OfficialView) -> str:
        if not view.contacts:
            return "待邀请"
        return " ".join(c.channel if c.reachable else f"{c.channel}✗" for c in view.contacts)

    def note(view: reads.OfficialView) -> str:
        notes = ["无法送达"] if view.contacts and not view.bound else []
        if view.refused:
            notes.append(f"{view.refused}条被拒")
        return "，".join(notes)

    rows = [
        [
            v.official.name,
            v.official.unit,
            v.official.title,
            render(f"orole.{v.official.role}"),
            v.official.mobile,
            v.official.email,
            contacts(v),
            shown,
            using,
            note(v),
        ]
        for v, (shown, using) in zip(people, channels, strict=True)
    ]
    print(
        render_table(
            ["姓名", "单位", "职务", "角色", "手机号", "邮箱", "联系方式", "渠道", "在用", "备注"],
            rows,
            [10, 16, 10, 10, 13, 24, 14, 30, 8, 14],
        )
    )
    return 0


def _print_official_change(change: OfficialChange) -> None:
    official = change.official
    if change.created:
        print(f"  新增人员 {official.name}（{render(f'orole.{official.role}')}）")
    elif change.changes:
        parts = "，".join(
            f"{FIELD_NAMES[f]} {_field_text(f, a)} → {_field_text(f, b)}"
            for f, (a, b) in change.changes.items()
        )
        print(f"  {official.name}：{parts}")


def _field_text(field: str, value: str) -> str:
    if not value:
        return "（空）"
    return render(f"orole.{value}") if field == "role" else value


FIELD_NAMES = {"unit": "单位", "title": "职务", "role": "角色", "mobile": "手机号", "email": "邮箱"}


def cmd_officials_set(app: App, args: argparse.Namespace) -> int:
    with session_scope(app.engine) as session:
        change = set_official(
            app.context(session),
            args.name,
            unit=args.unit,
            title=args.title,
            role=OfficialRole(args.role) if args.role else None,
            mobile=args.mobile,
            email=args.email,
            wecom=args.wecom,
            dingtalk=args.dingtalk,
        )
        if args.prefer is not None:
            from ledger.contacts import prefer

            prefer(app.context(session), change.official, args.prefer.strip().lower())
        shown, using = channel_commands.describe(app, session, [change.official])[0]
        if not change.created and not change.changes and args.prefer is None:
            print(f"{change.official.name}：没有变化 (unchanged)")
        else:
            _print_official_change(change)
        print(f"  渠道 (channels)：{shown}；在用 (in use)：{using}")
    return 0


def cmd_officials_import(app: App, args: argparse.Namespace) -> int:
    with session_scope(app.engine) as session:
        changes = import_officials(app.context(session), args.file)
        created = sum(c.created for c in changes)
        updated = sum(1 for c in changes if not c.created and c.changes)
        print(
            f"人员表已导入：新增 {created} 人，更新 {updated} 人，未变 {len(changes) - created - updated} 人 "
            f"(created {created}, updated {updated})"
        )
        for change in changes:
            _print_official_change(change)
    return 0


def cmd_round(app: App, args: argparse.Namespace) -> int:
    from ledger.importer import set_feedback_date

    with session_scope(app.engine) as session:
        if args.feedback_date is None:
            from sqlmodel import select

            from ledger.models import Round

            round_ = session.exec(select(Round).where(Round.name == args.name)).first()
            if round_ is None:
                raise CliError(f"找不到轮次“{args.name}”")
            feedback = round_.feedback_date.isoformat() if round_.feedback_date else "（未设置）"
            print(f"{round_.name}：反馈日期 {feedback}")
            return 0
        update = set_feedback_date(app.context(session), args.name, args.feedback_date)
        print(f"{update.round.name}：反馈日期设为 {args.feedback_date.isoformat()}")
        if update.rederived:
            print(f"  重新推算立行立改的整改时限 {len(update.rederived)} 项：")
            for task, old, new in update.rederived:
                print(f"    #{task.id} 序号 {task.ref} {task.title}：{old} → {new}")
    return 0


def cmd_calendar(app: App, args: argparse.Namespace) -> int:
    from ledger.workdays import import_calendar, show_year

    if args.calendar_command == "import":
        try:
            result = import_calendar(args.file, app.settings.calendar_file)
        except ValueError as exc:
            raise CliError(str(exc)) from None
        print(
            f"已导入 {args.file.name}：{result.holidays} 个放假日、{result.workdays} 个调休上班日"
            f"（{'、'.join(str(y) for y in result.years)}年），写入 {app.settings.calendar_file}"
        )
        return 0
    try:
        lines = show_year(args.year, app.settings.calendar_file)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    for line in lines:
        print(line)
    return 0


def cmd_invite(app: App, args: argparse.Namespace) -> int:
    role = OfficialRole(args.role) if args.role else None
    with session_scope(app.engine) as session:
        invite = create_invite(app.context(session), args.name, role)
    link = telegram_link(app.settings.telegram.bot_username, invite.code)
    print(f"{invite.official.name}（{render(f'orole.{invite.official.role}')}）的绑定邀请：")
    print(f"  邀请码 (code): {invite.code}")
    print(f"  Telegram 链接 (link): {link}")
    print(f"  有效期至 (expires): {invite.expires_at_text}，仅可使用一次 (single use)")
    return 0


def print_queued(
    rows: Sequence[Any], names: dict[int, str], *, max_lines: int | None = None, indent: str = ""
) -> None:
    """Each queued notice as its recipient would read it (outbox rows or QueuedNotice)."""
    from ledger.notices import render_notice

    for row in rows:
        who = names.get(row.recipient_id, "?") if row.recipient_id else f"群 {row.group_id}"
        lines = render_notice(row.kind, row.text_key, row.params, "zh").text.splitlines()
        if max_lines is not None:
            lines = lines[:max_lines]
        print(f"{indent}→ {who}：{lines[0]}")
        for extra in lines[1:]:
            print(f"{indent}    {extra}")


SWEEP_SHOWN = 50  # notices `ledgerbot sweep` prints without --list


def cmd_sweep(app: App, args: argparse.Namespace) -> int:
    from sqlmodel import select

    from jobs.policy import SweepPolicy
    from jobs.runner import run_sweep
    from ledger.workdays import provisional_notice

    now = args.at or app.clock.now()
    if now.tzinfo is None:
        now = now.replace(tzinfo=app.settings.zone)
    if now > app.clock.now() and not args.dry_run:
        raise CliError(
            f"拒绝按未来的时间 {now.isoformat()} 扫描：那会把之后的定时扫描都当作已完成、"
            "提前升级督办，并让提醒等到那一天 (refusing to sweep as of a future instant). "
            "要预览那一天会发什么，加 --dry-run（不写入）；补扫错过的时段请用过去的时间。"
        )
    policy = SweepPolicy.from_settings(app.settings)
    limit = None if args.list else SWEEP_SHOWN
    result, rows = run_sweep(
        app.engine, policy, now, collect=True, dry_run=args.dry_run, limit=limit
    )
    with Session(app.engine) as session:
        names = {o.id: o.name for o in session.exec(select(Official)) if o.id is not None}
    head = "[试运行，未写入] " if args.dry_run else ""
    if not result.working_day:
        print(f"{head}{result.today.isoformat()} 不是工作日，不发送定时提醒 (not a working day)")
        note = provisional_notice(result.today, policy.calendar)
        if note:
            print(f"注意：{note}")
        return 0
    print(
        f"{head}{result.today.isoformat()} 排队 {result.queued} 条提醒，"
        f"覆盖 {result.covered} 条过时提醒，升级督办 {result.escalated} 项 "
        f"(queued {result.queued}, covered {result.covered}, escalated {result.escalated})"
    )
    print_sweep_summary(result)
    print_queued(rows, names)
    if not args.list and result.queued > len(rows):
        print(
            f"……另有 {result.queued - len(rows)} 条未列出，加 --list 列出全部 "
            f"({result.queued - len(rows)} more; --list prints every one)"
        )
    note = provisional_notice(result.today, policy.calendar)
    if note:
        print(f"注意：{note}")
    return 0


STAGE_NAMES = {
    "overdue": "逾期",
    "oversight": "逾期升级",
    "pending": "待销号清单",
    "week": "一周一调度",
    "lt": "长期坚持月报",
    "lt_esc": "长期坚持督办",
    "report_due": "报告提醒",
}


def print_sweep_summary(result: Any) -> None:
    """Counts by kind and stage, and the escalation levels raised."""
    from cli.demo import KIND_NAMES

    for (kind, stage), n in sorted(result.stages.items()):
        if stage.startswith("before:"):
            label = f"提前{stage.split(':')[1]}天" if stage != "before:0" else "当天到期"
        else:
            label = STAGE_NAMES.get(stage, stage)
        print(f"  {KIND_NAMES.get(kind, kind)} · {label} ({kind} {stage})：{n} 条")
    for level, n in sorted(result.raised.items()):
        print(f"  升级督办 第{level}级 (escalated to level {level})：{n} 项")


def cmd_report(app: App, args: argparse.Namespace) -> int:
    from ledger.reads import report_data
    from ledger.reports import write_report

    with session_scope(app.engine) as session:
        data = report_data(app.context(session), args.round_name)
    with owner_only(args.out):
        write_report(data, args.out, public=args.public)
    kind = "公开版" if args.public else "内部版（含整改档案清单）"
    print(
        f"已生成{kind}报告 {args.out}：{len(data.aspects)}个方面{data.problem_count}个具体问题，"
        f"{len(data.tasks)}项任务，完成率{data.completion_rate}%"
    )
    return 0


def cmd_archive(app: App, args: argparse.Namespace) -> int:
    from ledger.reports import write_archive

    with session_scope(app.engine) as session:
        data = reads.report_data(app.context(session), args.round_name)
    with owner_only(args.out):
        summary = write_archive(data, args.out, zone=app.settings.zone)
    print(
        f"已归档 {summary.files} 个佐证文件到 {args.out}（sha256 已校验）"
        + (
            f"；{summary.missing_copies} 个仅有 Telegram 存档，无本地副本"
            if summary.missing_copies
            else ""
        )
    )
    return 0


def cmd_backup(app: App, args: argparse.Namespace) -> int:
    from ledger.backup import backup

    summary = backup(app.settings.database_url, app.settings.evidence_dir, args.out)
    print(
        f"已备份 (backed up) {summary.database} 和 {summary.evidence_files} 个佐证文件 "
        f"(evidence files) 到 {args.out}"
    )
    return 0


def cmd_weblink(app: App, args: argparse.Namespace) -> int:
    from ledger.links import TooManyLinks, create_signin

    with session_scope(app.engine) as session:
        ctx = app.context(session)
        official = find_official(session, args.name)
        if official is None:
            raise LedgerError("error.official_unknown", name=args.name)
        try:
            url = create_signin(ctx, official)
        except TooManyLinks as exc:
            raise LedgerError("error.links_throttled", minutes=exc.minutes) from None
    minutes = app.settings.web.signin_minutes
    print(render("link.signin", "zh", minutes=minutes, url=url))
    return 0


def cmd_run(app: App, args: argparse.Namespace) -> int:
    token = app.settings.telegram.resolved_token()
    telegram = app.settings.telegram
    if args.webhook and not token:
        raise CliError(
            "--webhook 需要机器人令牌 (needs a bot token): set LEDGERBOT_TELEGRAM__TOKEN or "
            "LEDGERBOT_TELEGRAM__TOKEN_FILE"
        )
    if args.webhook and not telegram.webhook_url:
        raise CliError("--webhook needs LEDGERBOT_TELEGRAM__WEBHOOK_URL (the public URL)")
    from bot.redact import install

    install(token or "", app.settings.log_level)
    if not app.settings.web.resolved_secret():
        log.warning(
            "web_links_off: no LEDGERBOT_WEB__SECRET / __SECRET_FILE (run `ledgerbot init`); "
            "notices go out without web links"
        )
    if not token:
        print(
            "未设置机器人令牌：运行调度、其他发送渠道和网页 (no Telegram token: scheduler, "
            f"other senders and the web at {app.settings.web.base_url()})",
            file=sys.stderr,
        )
    from cli.serve import ListenError, serve

    with startup_errors(token or ""):
        try:
            asyncio.run(
                serve(
                    app.settings,
                    app.engine,
                    app.clock,
                    token=token,
                    webhook=bool(token and (args.webhook or telegram.webhook_url)),
                )
            )
        except ListenError as exc:
            raise CliError(str(exc)) from None
    return 0


@contextmanager
def startup_errors(token: str) -> Iterator[None]:
    """Telegram refusing the bot at start is a sentence on stderr, the token scrubbed out.

    python-telegram-bot names the token in InvalidToken ("The token `…` was rejected") and
    puts it in every URL; neither message nor traceback may print it.
    """
    from telegram.error import InvalidToken, TelegramError

    from bot.redact import redact

    try:
        yield
    except InvalidToken as exc:
        raise CliError(
            "Telegram 拒绝了机器人令牌，或 Bot API 地址不对 (the Bot API rejected the token or "
            "the address is wrong): 检查 LEDGERBOT_TELEGRAM__TOKEN / __TOKEN_FILE 和 "
            f"LEDGERBOT_TELEGRAM__API_BASE_URL（{redact(str(exc), token)}）"
        ) from None
    except TelegramError as exc:
        raise CliError(
            "无法连接 Telegram Bot API (cannot reach the Bot API): "
            f"{redact(str(exc), token)}；检查网络和 LEDGERBOT_TELEGRAM__API_BASE_URL"
        ) from None


def cmd_demo(app: App, args: argparse.Namespace) -> int:
    from cli.demo import run_demo

    return run_demo(days=args.days, quiet=args.quiet, web=args.web)


COMMANDS: dict[str, Callable[[App, argparse.Namespace], int]] = {
    "init": cmd_init,
    "migrate": cmd_migrate,
    "import": cmd_import,
    "export": cmd_export,
    "tasks": cmd_tasks,
    "officials": cmd_officials,
    "groups": channel_commands.cmd_groups,
    "round": cmd_round,
    "calendar": cmd_calendar,
    "invite": cmd_invite,
    "sweep": cmd_sweep,
    "report": cmd_report,
    "archive": cmd_archive,
    "backup": cmd_backup,
    "weblink": cmd_weblink,
    "run": cmd_run,
    "demo": cmd_demo,
}


def main(argv: Sequence[str] | None = None, *, clock: Clock | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    app: App | None = None
    try:
        app = App(load_settings(), clock)
        return COMMANDS[args.command](app, args)
    except SettingsError as exc:
        print(f"ledgerbot: {exc}", file=sys.stderr)
        return 2
    except ImportFailed as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except LedgerError as exc:
        print(f"ledgerbot {args.command}: {exc}", file=sys.stderr)
        return 1
    except CliError as exc:
        print(f"ledgerbot {args.command}: {exc}", file=sys.stderr)
        return 2
    finally:
        if app is not None:
            app.close()


if __name__ == "__main__":
    sys.exit(main())
