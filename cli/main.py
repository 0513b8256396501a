"""`ledgerbot`: the operator's command line. Output to stdout, errors to stderr, non-zero exit."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.invites import telegram_link
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
from ledger.officials import create_invite
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

    p = sub.add_parser("export", help="export the ledger (xlsx or csv) with lights")
    p.add_argument("file", type=Path)
    p.add_argument("--round", dest="round_name")

    p = sub.add_parser("tasks", help="list tasks with their traffic lights")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--overdue", action="store_true", help="only overdue tasks")
    group.add_argument("--due", type=int, metavar="DAYS", help="open tasks due within DAYS")
    p.add_argument("--owner", metavar="NAME", help="only tasks of this 责任人")
    p.add_argument("--round", dest="round_name")

    sub.add_parser("officials", help="list officials and whether they are bound to Telegram")

    p = sub.add_parser("invite", help="a one-time binding code and deep link for an official")
    p.add_argument("name")
    p.add_argument("--role", choices=[r.value for r in OfficialRole])

    p = sub.add_parser("sweep", help="run one deadline sweep now (or as of --at) and print it")
    p.add_argument("--at", type=_instant_arg, help="ISO datetime, e.g. 2026-12-01T09:00+08:00")
    p.add_argument(
        "--dry-run", action="store_true", help="show what would be queued; write nothing"
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

    p = sub.add_parser("run", help="run the delivery worker, the scheduler and the Telegram bot")
    p.add_argument(
        "--webhook", action="store_true", help="webhook mode (needs telegram.webhook_url)"
    )

    p = sub.add_parser("demo", help="run the sample ledger end to end (no token needed)")
    p.add_argument("--days", type=int, default=45, help="how many days to simulate")
    p.add_argument("--quiet", action="store_true", help="print only the summary")

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
    return 0


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
    for change in summary.updated:
        print(f"  序号 {change.ref} (#{change.task_id}):")
        for header, before, after in change.fields:
            print(f"    {header}: {before or '（空）'} → {after or '（空）'}")
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
        summary = import_file(app.context(session), args.file, options, dry_run=args.dry_run)
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
    with session_scope(app.engine) as session:
        people = reads.officials(app.context(session))
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
        [v.official.name, render(f"orole.{v.official.role}"), v.official.unit, contacts(v), note(v)]
        for v in people
    ]
    print(render_table(["姓名", "角色", "单位", "联系方式", "备注"], rows, [12, 10, 20, 14, 10]))
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


def cmd_sweep(app: App, args: argparse.Namespace) -> int:
    from sqlmodel import select

    from jobs.policy import SweepPolicy
    from jobs.runner import run_sweep

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
    result, rows = run_sweep(app.engine, policy, now, collect=True, dry_run=args.dry_run)
    with Session(app.engine) as session:
        names = {o.id: o.name for o in session.exec(select(Official)) if o.id is not None}
    head = "[试运行，未写入] " if args.dry_run else ""
    if not result.working_day:
        print(f"{head}{result.today.isoformat()} 不是工作日，不发送定时提醒 (not a working day)")
        return 0
    print(
        f"{head}{result.today.isoformat()} 排队 {result.queued} 条提醒，"
        f"覆盖 {result.covered} 条过时提醒，升级督办 {result.escalated} 项 "
        f"(queued {result.queued}, covered {result.covered}, escalated {result.escalated})"
    )
    print_queued(rows, names)
    return 0


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


def cmd_run(app: App, args: argparse.Namespace) -> int:
    token = app.settings.telegram.resolved_token()
    if not token:
        raise CliError(
            "没有设置机器人令牌 (no bot token): set LEDGERBOT_TELEGRAM__TOKEN or "
            "LEDGERBOT_TELEGRAM__TOKEN_FILE. To try ledgerbot without Telegram, run `ledgerbot demo`."
        )
    from bot.redact import install

    install(token, app.settings.log_level)
    telegram = app.settings.telegram
    if args.webhook and not telegram.webhook_url:
        raise CliError("--webhook needs LEDGERBOT_TELEGRAM__WEBHOOK_URL (the public URL)")
    from cli.serve import serve

    with startup_errors(token):
        asyncio.run(
            serve(
                app.settings,
                app.engine,
                app.clock,
                token=token,
                webhook=bool(args.webhook or telegram.webhook_url),
            )
        )
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

    return run_demo(days=args.days, quiet=args.quiet)


COMMANDS: dict[str, Callable[[App, argparse.Namespace], int]] = {
    "init": cmd_init,
    "migrate": cmd_migrate,
    "import": cmd_import,
    "export": cmd_export,
    "tasks": cmd_tasks,
    "officials": cmd_officials,
    "invite": cmd_invite,
    "sweep": cmd_sweep,
    "report": cmd_report,
    "archive": cmd_archive,
    "backup": cmd_backup,
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
