"""Import of messy office sheets, all-or-nothing errors, idempotency, and the export round trip."""

from datetime import date, datetime, timedelta

import pytest
from openpyxl import Workbook, load_workbook
from sqlmodel import func, select

from ledger.enums import Duty, TaskKind, TaskStatus
from ledger.errors import ImportFailed
from ledger.exporter import export_ledger
from ledger.importer import RoundOptions, import_file
from ledger.models import AuditEvent, Official, Problem, ProgressReport, Task, TaskPerson
from tests.conftest import SHANGHAI_9AM_UTC
from tests.factories import cli_ctx, task_row, write_xlsx

NOW = SHANGHAI_9AM_UTC
TODAY = date(2026, 11, 2)
OPTS = RoundOptions(name="第一轮", feedback_date=date(2026, 10, 25))


def count(session, model):
    return session.exec(select(func.count()).select_from(model)).one()


def messy_workbook(path):
    """Two title rows, merged 方面/具体问题 cells, every date form, full-width text."""
    wb = Workbook()
    ws = wb.active
    ws.append(["区文化和旅游局巡察整改台账"])
    ws.merge_cells("A1:N1")
    ws.append(["填报单位：办公室", None, None, "2026年11月"])
    ws.append(
        [
            "序号",
            "方面",
            "具体问题",
            "整改任务",
            "整改措施",
            "任务类型",
            "牵头/参与",
            "分管领导",
            "牵头单位",
            "配合单位",
            "责任人",
            "督办人",
            "整改时限（时间节点）",
            "状态",
        ]
    )
    rows = [
        [
            1,
            "（一）理论学习不到位",
            "1、有计划无行动",
            "制定学习方案",
            "措施一",
            "",
            "牵头",
            "王建国",
            "办公室",
            "",
            "赵磊",
            "陈静",
            datetime(2026, 12, 31),
            "",
        ],
        [
            2,
            None,
            None,
            "召开专题会",
            "措施二",
            "限期整改",
            "参与",
            "王建国",
            "办公室",
            "产业股，执法大队",
            "赵磊、孙丽",
            "陈静",
            "2027-01-31",
            "推进中",
        ],
        [
            3,
            None,
            "2、学用脱节",
            "学用结合",
            "",
            "",
            "",
            "王建国",
            "办公室",
            "",
            "孙丽",
            "陈静",
            "2027/1/31",
            "",
        ],
        [
            "４",
            "（二）组织领导不够有力",
            "",
            "建立任务台账",
            "",
            "",
            "",
            "李明",
            "办公室",
            "",
            " 周强 ",
            "陈静",
            "2027.1.31",
            "",
        ],
        [
            5,
            None,
            "",
            "按月调度",
            "",
            "",
            "",
            "李明",
            "办公室",
            "",
            "周强",
            "陈静",
            "2027年1月31日",
            "",
        ],
        [
            6,
            "（三）工业旅游推进缓慢",
            "",
            "月底前完成规划",
            "",
            "",
            "",
            "李明",
            "办公室",
            "",
            "周强,赵磊",
            "陈静",
            "２０２７年２月底",
            "",
        ],
        [7, None, "", "长效机制", "", "", "", "李明", "办公室", "", "吴敏", "陈静", "长期坚持", ""],
        [8, None, "", "立即整改", "", "", "", "李明", "办公室", "", "吴敏", "陈静", "立行立改", ""],
        [
            9,
            None,
            "",
            "持续推进",
            "",
            "",
            "",
            "李明",
            "办公室",
            "",
            "吴敏",
            "陈静",
            "2027-03-01",
            "长期坚持",
        ],
    ]
    for row in rows:
        ws.append(row)
    ws.merge_cells("B4:B6")  # (一) over rows 4-6
    ws.merge_cells("C4:C5")  # 1、 over rows 4-5
    ws.merge_cells("B7:B8")
    ws.merge_cells("B9:B12")
    wb.save(path)
    return path


def test_messy_sheet_imports(session, settings, tmp_path):
    path = messy_workbook(tmp_path / "messy.xlsx")
    summary = import_file(cli_ctx(session, settings, NOW), path, OPTS)
    session.commit()
    assert len(summary.created) == 9
    assert set(summary.new_officials) == {"王建国", "赵磊", "陈静", "孙丽", "李明", "周强", "吴敏"}
    tasks = {t.ref: t for t in session.exec(select(Task))}
    assert tasks["1"].deadline == date(2026, 12, 31)
    assert {tasks[r].deadline for r in ("2", "3", "4", "5")} == {date(2027, 1, 31)}
    assert tasks["6"].deadline == date(2027, 2, 28)
    assert tasks["7"].kind == TaskKind.LONG_TERM and tasks["7"].deadline is None
    assert tasks["8"].kind == TaskKind.IMMEDIATE
    assert tasks["8"].deadline == date(2026, 10, 25) + timedelta(days=15)
    assert tasks["9"].kind == TaskKind.LONG_TERM and tasks["9"].deadline is None
    assert tasks["2"].status == TaskStatus.IN_PROGRESS
    assert (
        tasks["2"].role == "participating" and tasks["2"].participating_units == "产业股、执法大队"
    )
    problems = {p.id: p for p in session.exec(select(Problem))}
    assert problems[tasks["2"].problem_id].title == "有计划无行动"  # merged cell applies
    assert problems[tasks["3"].problem_id].number == 2
    assert problems[tasks["4"].problem_id].number is None  # the aspect is itself the problem
    owners = session.exec(
        select(Official.name)
        .join(TaskPerson)
        .where(TaskPerson.task_id == tasks["2"].id, TaskPerson.duty == Duty.OWNER)
        .order_by(TaskPerson.position)
    ).all()
    assert owners == ["赵磊", "孙丽"]
    assert session.exec(select(Official).where(Official.name == "周强")).one().role == "owner"
    assert session.exec(select(Official).where(Official.name == "陈静")).one().role == "supervisor"


def test_reimport_is_idempotent(session, settings, tmp_path):
    path = messy_workbook(tmp_path / "messy.xlsx")
    import_file(cli_ctx(session, settings, NOW), path, OPTS)
    session.commit()
    before = (count(session, Task), count(session, AuditEvent), count(session, Official))
    summary = import_file(cli_ctx(session, settings, NOW), path, OPTS)
    session.commit()
    assert not summary.changed and summary.unchanged == 9
    assert (count(session, Task), count(session, AuditEvent), count(session, Official)) == before


def test_each_new_task_is_audited_with_what_it_was_created_with(session, settings, tmp_path):
    rows = [
        task_row(1, "2026年12月31日", title="制定方案"),
        task_row(2, "长期坚持", "孙丽"),
        task_row(3, "2026-10-20", status="已销号"),
    ]
    import_file(cli_ctx(session, settings, NOW), write_xlsx(tmp_path / "a.xlsx", rows), OPTS)
    session.commit()
    events = session.exec(
        select(AuditEvent).where(AuditEvent.action == "import_create").order_by(AuditEvent.id)
    ).all()
    tasks = {t.id: t for t in session.exec(select(Task))}
    assert [tasks[e.task_id].ref for e in events] == ["1", "2", "3"]
    assert {e.actor_name for e in events} == {"管理员(cli)"} and {e.at for e in events} == {NOW}
    common = {"measures": "", "target": "", "role": "lead", "lead_unit": "办公室"}
    common |= {"participating_units": "", "notes": "", "round": "第一轮"}
    assert [e.after for e in events] == [
        {
            **common,
            "title": "制定方案",
            "measures": "措施1",
            "kind": "deadline",
            "deadline": "2026-12-31",
            "status": "not_started",
            "closed_on": None,
            "ref": "1",
        },
        {
            **common,
            "title": "任务2",
            "measures": "措施2",
            "kind": "long_term",
            "deadline": None,
            "status": "not_started",
            "closed_on": None,
            "ref": "2",
        },
        {
            **common,
            "title": "任务3",
            "measures": "措施3",
            "kind": "deadline",
            "deadline": "2026-10-20",
            "status": "closed",
            "closed_on": "2026-11-02",
            "ref": "3",
        },
    ]
    assert all(list(e.after)[-2:] == ["ref", "round"] for e in events)


def test_edited_sheet_updates_by_ref_and_reports_changes(session, settings, tmp_path):
    rows = [task_row(1, "2026-12-31"), task_row(2, "2026-12-31", "孙丽")]
    import_file(cli_ctx(session, settings, NOW), write_xlsx(tmp_path / "a.xlsx", rows), OPTS)
    session.commit()
    rows[1] = task_row(2, "2027-01-15", "周强")
    summary = import_file(
        cli_ctx(session, settings, NOW), write_xlsx(tmp_path / "b.xlsx", rows), OPTS
    )
    session.commit()
    assert [c.ref for c in summary.updated] == ["2"] and summary.unchanged == 1
    changes = {header: (old, new) for header, old, new in summary.updated[0].fields}
    assert changes == {"整改时限": ("2026-12-31", "2027-01-15"), "责任人": ("孙丽", "周强")}
    assert summary.new_officials == ["周强"]
    task = session.exec(select(Task).where(Task.ref == "2")).one()
    assert task.deadline == date(2027, 1, 15)


def test_dry_run_writes_nothing(session, settings, tmp_path):
    path = messy_workbook(tmp_path / "messy.xlsx")
    summary = import_file(cli_ctx(session, settings, NOW), path, OPTS, dry_run=True)
    session.commit()
    assert len(summary.created) == 9 and summary.dry_run
    assert count(session, Task) == 0 and count(session, Official) == 0


def test_every_bad_row_is_reported_and_nothing_written(session, settings, tmp_path):
    rows = [
        task_row(1, "2026-02-30"),  # impossible date
        task_row(2, "2026-12-31", kind="马上改"),  # unknown kind
        task_row(2, "2026-12-31"),  # duplicated ref
        task_row(4, "2026-12-31", owner=""),  # empty owner
        task_row(5, "2026-12-31"),  # fine
    ]
    path = write_xlsx(tmp_path / "bad.xlsx", rows, title_rows=1)
    with pytest.raises(ImportFailed) as err:
        import_file(cli_ctx(session, settings, NOW), path, OPTS)
    session.rollback()
    found = [(e.row, e.column) for e in err.value.errors]
    assert found == [(3, "整改时限"), (4, "任务类型"), (5, "序号"), (6, "责任人")]
    messages = [e.message for e in err.value.errors]
    assert "2026-02-30" in messages[0]
    assert "马上改" in messages[1]
    assert "第4行" in messages[2]
    assert "第3行 [整改时限]" in str(err.value)
    assert count(session, Task) == 0 and count(session, Official) == 0


def test_missing_header_is_a_clear_error(session, settings, tmp_path):
    path = write_xlsx(tmp_path / "x.xlsx", [[1, "a"]], headers=["序号", "整改任务", "备注"])
    with pytest.raises(ImportFailed, match="缺少必需的列：责任人"):
        import_file(cli_ctx(session, settings, NOW), path, OPTS)


def test_english_headers_and_gbk_csv(session, settings, tmp_path):
    path = tmp_path / "ledger.csv"
    path.write_bytes(
        "ref,aspect,task,owner,deadline\n1,(一)方面,任务甲,赵磊,2026-12-31\n".encode("gb18030")
    )
    summary = import_file(cli_ctx(session, settings, NOW), path, OPTS)
    assert len(summary.created) == 1


def test_immediate_without_feedback_date_imports_from_today_with_a_warning(
    session, settings, tmp_path
):
    path = write_xlsx(tmp_path / "x.xlsx", [task_row(1, "立行立改"), task_row(2, "2026-12-31")])
    summary = import_file(cli_ctx(session, settings, NOW), path, RoundOptions(name="无日期"))
    assert len(summary.created) == 2
    assert any("第2行" in w and "ledgerbot round" in w for w in summary.warnings)
    task = session.exec(select(Task).where(Task.ref == "1")).one()
    assert task.kind == TaskKind.IMMEDIATE and task.deadline == TODAY + timedelta(days=15)


def test_export_round_trip_and_fills(session, settings, tmp_path):
    path = messy_workbook(tmp_path / "messy.xlsx")
    import_file(cli_ctx(session, settings, NOW), path, OPTS)
    session.add(ProgressReport(task_id=1, text="已起草方案", via="cli", created_at=NOW))
    session.commit()
    out = tmp_path / "export.xlsx"
    assert export_ledger(session, out, today=TODAY, yellow_days=10) == 9
    sheet = load_workbook(out).active
    headers = [c.value for c in sheet[3]]  # a title row and a date row above the header
    assert sheet["A1"].value == "《第一轮整改台账》"
    for name in ("序号", "状态", "完成情况", "完成日期", "轮次", "ID"):
        assert name in headers
    assert headers[-2:] == ["轮次", "ID"]
    first = {h: c for h, c in zip(headers, sheet[4], strict=True)}
    assert first["轮次"].value == "第一轮" and first["完成情况"].value == "已起草方案"
    assert first["状态"].fill.start_color.rgb.endswith("C6EFCE")  # green
    summary = import_file(cli_ctx(session, settings, NOW), out, RoundOptions())
    assert not summary.changed and summary.unchanged == 9
    csv_out = tmp_path / "export.csv"
    export_ledger(session, csv_out, today=TODAY, yellow_days=10)
    assert not import_file(cli_ctx(session, settings, NOW), csv_out, RoundOptions()).changed


def test_values_too_long_for_the_schema_are_row_errors(session, settings, tmp_path):
    rows = [task_row("9" * 51, "2026-12-31"), task_row(2, "2026-12-31", owner="长" * 101)]
    with pytest.raises(ImportFailed) as err:
        import_file(cli_ctx(session, settings, NOW), write_xlsx(tmp_path / "long.xlsx", rows), OPTS)
    assert [(e.row, e.column) for e in err.value.errors] == [(2, "序号"), (3, "责任人")]
    session.rollback()
    assert count(session, Task) == 0
