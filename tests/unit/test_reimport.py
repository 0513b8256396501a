"""Re-importing the office's master sheet never damages the ledger (issue #12).

The master is typed as offices keep it (openpyxl, real SQLite/PostgreSQL): a row inserted and
序号 renumbered, the unchanged sheet re-imported after work done in chat, and a field changed
on both sides.
"""

from datetime import date

from openpyxl import load_workbook
from sqlmodel import select

from cli.main import print_summary
from ledger import lifecycle
from ledger.enums import TaskStatus
from ledger.exporter import export_ledger
from ledger.importer import RoundOptions, import_file
from ledger.models import Evidence, ProgressReport, Task
from tests.conftest import SHANGHAI_9AM_UTC
from tests.factories import HEADERS, as_official, cli_ctx, task_row, write_xlsx

NOW = SHANGHAI_9AM_UTC
TODAY = date(2026, 11, 2)
OPTS = RoundOptions(name="第一轮", feedback_date=date(2026, 10, 25))
TITLES = ["制定学习方案", "召开专题会", "清理闲置资产", "规范执法文书", "建立台账制度"]
OWNERS = ["赵磊", "孙丽", "赵磊", "刘倩", "孙丽"]


def master(path, titles=TITLES, owners=OWNERS, deadlines=None, *, changes=None, progress=None):
    """The master sheet: one row per task, 措施 written after the task (not after 序号)."""
    deadlines = deadlines or ["2026-11-30"] * len(titles)
    rows = []
    for n, (title, owner, deadline) in enumerate(zip(titles, owners, deadlines, strict=True), 1):
        row = task_row(n, deadline, owner, title=title, status="推进中")
        row[4] = f"{title}的措施"
        rows.append(row)
    for (index, column), value in (changes or {}).items():
        rows[index][column] = value
    if progress is None:
        return write_xlsx(path, rows)
    return write_xlsx(
        path, [[*r, p] for r, p in zip(rows, progress, strict=True)], headers=[*HEADERS, "整改进展"]
    )


def load(session, settings, path, **kw):
    return import_file(cli_ctx(session, settings, NOW), path, OPTS, **kw)


def extend_in_chat(session, settings, title, new_deadline):
    """The owner asks for more time in chat and the supervisor approves it."""
    task_id = tasks_by_title(session)[title].id
    owner = as_official(session, settings, NOW, "孙丽")
    request = lifecycle.request_extension(owner, task_id, new_deadline, "需上级审批")
    lifecycle.decide_extension(
        as_official(session, settings, NOW, "陈静"), request.id, approve=True
    )
    session.commit()


def latest_progress(session, task_id):
    return session.exec(
        select(ProgressReport.text)
        .where(ProgressReport.task_id == task_id)
        .order_by(ProgressReport.id.desc())
    ).first()


def tasks_by_title(session):
    session.expire_all()
    return {t.title: t for t in session.exec(select(Task))}


def test_a_row_inserted_above_a_closed_task_is_matched_by_title_not_by_number(
    session, settings, tmp_path, capsys
):
    load(session, settings, master(tmp_path / "v1.xlsx"))
    session.commit()
    before = tasks_by_title(session)
    closed = before["规范执法文书"]  # 序号 4, closed with evidence in chat
    owner = as_official(session, settings, NOW, "刘倩")
    session.add(
        Evidence(task_id=closed.id, file_name="文书.pdf", size=10, sha256="ab", created_at=NOW)
    )
    lifecycle.mark_submitted(owner, closed.id, "已规范")
    lifecycle.verify(as_official(session, settings, NOW, "陈静"), closed.id, "同意")
    session.commit()
    # the office inserts a task at position 2 and renumbers everything below it
    titles = [TITLES[0], "新增：整改回头看", *TITLES[1:]]
    owners = [OWNERS[0], "陈静", *OWNERS[1:]]
    edited = master(tmp_path / "v2.xlsx", titles, owners)

    dry = load(session, settings, edited, dry_run=True)
    print_summary(dry)
    out = capsys.readouterr().out
    assert [c.title for c in dry.created] == ["新增：整改回头看"]
    assert "新增 1 项" in out and "第 3 行 序号 2 新增：整改回头看" in out
    assert {(c.old_ref, c.ref) for c in dry.renumbered} == {
        ("2", "3"),
        ("3", "4"),
        ("4", "5"),
        ("5", "6"),
    }
    assert "序号 4 → 5" in out and not dry.updated
    session.rollback()

    load(session, settings, edited)
    session.commit()
    after = tasks_by_title(session)
    assert len(after) == 6
    same = after["规范执法文书"]
    assert same.id == closed.id and same.ref == "5" and same.status == TaskStatus.CLOSED
    assert session.exec(select(Evidence).where(Evidence.task_id == same.id)).one()
    assert [after[t].id for t in TITLES] == [before[t].id for t in TITLES]
    assert after["新增：整改回头看"].ref == "2"
    # and the same sheet again changes nothing
    again = load(session, settings, edited)
    assert not again.changed and not again.renumbered and again.unchanged == 6


def test_unchanged_master_after_chat_work_keeps_the_chat_work(session, settings, tmp_path, capsys):
    sheet = master(tmp_path / "master.xlsx", progress=[f"已部署{n}" for n in range(1, 6)])
    load(session, settings, sheet)
    session.commit()
    ids = {t.title: t.id for t in tasks_by_title(session).values()}
    sun, zhao = (
        as_official(session, settings, NOW, "孙丽"),
        as_official(session, settings, NOW, "赵磊"),
    )
    sup = as_official(session, settings, NOW, "陈静")
    # in chat: an extension approved, progress reported, a task closed
    request = lifecycle.request_extension(sun, ids["召开专题会"], date(2026, 12, 31), "需上级审批")
    lifecycle.decide_extension(sup, request.id, approve=True, note="同意")
    lifecycle.record_progress(zhao, ids["清理闲置资产"], "已清理3处闲置用房")
    lifecycle.mark_submitted(zhao, ids["制定学习方案"], "方案已印发")
    lifecycle.verify(sup, ids["制定学习方案"], "同意销号")
    session.commit()

    summary = load(session, settings, sheet)
    print_summary(summary)
    out = capsys.readouterr().out
    session.commit()
    assert not summary.updated and not summary.conflicts and summary.unchanged == 5
    assert summary.kept >= 3 and "保留台账现值" in out
    tasks = tasks_by_title(session)
    assert tasks["召开专题会"].deadline == date(2026, 12, 31)
    assert tasks["召开专题会"].original_deadline == date(2026, 11, 30)
    closed = tasks["制定学习方案"]
    assert closed.status == TaskStatus.CLOSED and closed.closed_on == TODAY
    assert latest_progress(session, ids["清理闲置资产"]) == "已清理3处闲置用房"
    # an export of the ledger, imported in between, does not make the master look edited
    out_path = tmp_path / "export.xlsx"
    export_ledger(session, out_path, today=TODAY, yellow_days=10)
    assert not load(session, settings, out_path).changed
    session.commit()
    assert not load(session, settings, sheet).changed
    session.commit()
    assert tasks_by_title(session)["召开专题会"].deadline == date(2026, 12, 31)


def test_a_field_changed_on_both_sides_is_a_conflict_the_ledger_wins(
    session, settings, tmp_path, capsys
):
    load(session, settings, master(tmp_path / "v1.xlsx"))
    session.commit()
    extend_in_chat(session, settings, "召开专题会", date(2026, 12, 31))
    # meanwhile the office typed another deadline for the same task, and edited another one
    deadlines = ["2026-11-30", "2026-12-15", "2026-11-30", "2026-11-30", "2026-12-20"]
    edited = master(tmp_path / "v2.xlsx", deadlines=deadlines)

    summary = load(session, settings, edited)
    print_summary(summary)
    out = capsys.readouterr().out
    session.commit()
    assert [(c.header, c.ledger, c.sheet, c.sheet_won) for c in summary.conflicts] == [
        ("整改时限", "2026-12-31", "2026-12-15", False)
    ]
    assert (
        "冲突 1 处" in out and "台账 2026-12-31，表格 2026-12-15" in out and "--sheet-wins" in out
    )
    tasks = tasks_by_title(session)
    assert tasks["召开专题会"].deadline == date(2026, 12, 31)  # the ledger stands
    assert tasks["建立台账制度"].deadline == date(2026, 12, 20)  # changed only in the sheet
    # the same sheet again: the conflict was reported once, the ledger still stands
    assert not load(session, settings, edited).conflicts


def test_sheet_wins_takes_the_sheets_value_in_a_conflict(session, settings, tmp_path):
    load(session, settings, master(tmp_path / "v1.xlsx"))
    session.commit()
    extend_in_chat(session, settings, "召开专题会", date(2026, 12, 31))
    deadlines = ["2026-11-30", "2026-12-15", "2026-11-30", "2026-11-30", "2026-11-30"]
    summary = load(
        session, settings, master(tmp_path / "v2.xlsx", deadlines=deadlines), sheet_wins=True
    )
    session.commit()
    assert [(c.ledger, c.sheet, c.sheet_won) for c in summary.conflicts] == [
        ("2026-12-31", "2026-12-15", True)
    ]
    assert tasks_by_title(session)["召开专题会"].deadline == date(2026, 12, 15)


def test_dry_run_speaks_the_offices_language(session, settings, tmp_path, capsys):
    load(session, settings, master(tmp_path / "v1.xlsx"))
    session.commit()
    edited = master(tmp_path / "v2.xlsx", changes={(0, 5): "立行立改", (1, 2): "2、另一个问题"})
    summary = load(session, settings, edited, dry_run=True)
    print_summary(summary)
    out = capsys.readouterr().out
    assert "任务类型：限期整改 → 立行立改" in out
    assert "具体问题：问题一 → 另一个问题" in out
    assert "immediate" not in out and "deadline →" not in out


def test_a_title_changed_beyond_recognition_is_warned_not_silent(
    session, settings, tmp_path, capsys
):
    load(session, settings, master(tmp_path / "v1.xlsx"))
    session.commit()
    titles = [TITLES[0], "完全不同的一项工作", *TITLES[2:]]
    summary = load(session, settings, master(tmp_path / "v2.xlsx", titles), dry_run=True)
    print_summary(summary)
    out = capsys.readouterr().out
    assert any("序号 2" in w and "差别很大" in w for w in summary.warnings)
    shorter = load(session, settings, master(tmp_path / "v3.xlsx", TITLES[:3], OWNERS[:3]))
    assert any("有 2 项任务不在表中（序号 4、5），保持不变" in w for w in shorter.warnings)
    assert len(tasks_by_title(session)) == 5
    assert "注意 (warning): 第3行 序号 2：任务名称由“召开专题会”改为“完全不同的一项工作”" in out


def test_the_export_id_column_matches_rows_even_when_titles_and_numbers_change(
    session, settings, tmp_path
):
    load(session, settings, master(tmp_path / "v1.xlsx"))
    session.commit()
    out = tmp_path / "export.xlsx"
    export_ledger(session, out, today=TODAY, yellow_days=10)
    book = load_workbook(out)
    sheet = book.active
    headers = [c.value for c in sheet[3]]
    ref, title = headers.index("序号") + 1, headers.index("整改任务") + 1
    sheet.cell(row=4, column=ref).value = "9"  # renumber the first row
    sheet.cell(row=4, column=title).value = "制定并印发学习方案"
    book.save(out)
    before = tasks_by_title(session)["制定学习方案"].id
    summary = import_file(cli_ctx(session, settings, NOW), out, RoundOptions())
    session.commit()
    assert [(c.old_ref, c.ref) for c in summary.renumbered] == [("1", "9")]
    assert tasks_by_title(session)["制定并印发学习方案"].id == before


def test_a_ledger_imported_before_the_upgrade_is_not_undone_by_its_master(
    database_url, settings, tmp_path
):
    """Migration 0004 rebuilds each task's sheet values from the audit trail."""
    from sqlmodel import Session

    from ledger.db import make_engine
    from ledger.migrate import downgrade, upgrade

    engine = make_engine(database_url)
    try:
        upgrade(engine)
        sheet = master(tmp_path / "master.xlsx", progress=[f"已部署{n}" for n in range(1, 6)])
        with Session(engine, expire_on_commit=False) as session:
            load(session, settings, sheet)
            session.commit()
            extend_in_chat(session, settings, "召开专题会", date(2026, 12, 31))
            ids = {t.title: t.id for t in tasks_by_title(session).values()}
            zhao = as_official(session, settings, NOW, "赵磊")
            lifecycle.record_progress(zhao, ids["清理闲置资产"], "已清理3处闲置用房")
            session.commit()
        downgrade(engine, "0003")  # as if the ledger had been kept by the version before
        upgrade(engine)
        with Session(engine, expire_on_commit=False) as session:
            summary = load(session, settings, sheet)
            session.commit()
            assert not summary.changed and not summary.conflicts
            tasks = tasks_by_title(session)
            assert tasks["召开专题会"].deadline == date(2026, 12, 31)
            assert latest_progress(session, ids["清理闲置资产"]) == "已清理3处闲置用房"
    finally:
        engine.dispose()
