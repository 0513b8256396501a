"""Sheets as offices really keep them: words, footnotes, synonyms, legacy formats (issue #12)."""

from datetime import date, datetime, timedelta

import pytest
import xlwt
from openpyxl import Workbook
from sqlmodel import select

from ledger.enums import TaskKind, TaskStatus
from ledger.errors import ImportFailed
from ledger.importer import RoundOptions, import_file
from ledger.models import ProgressReport, Task
from tests.conftest import SHANGHAI_9AM_UTC
from tests.factories import HEADERS, cli_ctx, task_row, write_xlsx

NOW = SHANGHAI_9AM_UTC
TODAY = date(2026, 11, 2)
OPTS = RoundOptions(name="第一轮", feedback_date=date(2026, 10, 25))


def load(session, settings, path, options=OPTS):
    summary = import_file(cli_ctx(session, settings, NOW), path, options)
    session.commit()
    return summary


def tasks(session):
    return {t.ref: t for t in session.exec(select(Task))}


def progress(session, task):
    return [
        p.text
        for p in session.exec(select(ProgressReport).where(ProgressReport.task_id == task.id))
    ]


def test_a_completion_prose_column_is_progress_and_status_words_are_understood(
    session, settings, tmp_path
):
    headers = [*HEADERS, "完成情况"]
    rows = [
        [*task_row(1, "2026-12-31", status="正在推进"), "已召开2次推进会"],
        [*task_row(2, "2026-12-31", status="已完成"), "已完成,11月8日召开专题学习会"],
        [*task_row(3, "2026-12-31", status="已销号"), ""],
        [*task_row(4, "2026-12-31", status="已完成，方案已印发"), ""],
    ]
    load(session, settings, write_xlsx(tmp_path / "l.xlsx", rows, headers))
    by_ref = tasks(session)
    assert by_ref["1"].status == TaskStatus.IN_PROGRESS
    assert progress(session, by_ref["1"]) == ["已召开2次推进会"]
    assert by_ref["2"].status == TaskStatus.SUBMITTED  # done, not yet verified: 待销号
    assert progress(session, by_ref["2"]) == ["已完成,11月8日召开专题学习会"]
    assert by_ref["3"].status == TaskStatus.CLOSED and by_ref["3"].closed_on == TODAY
    assert by_ref["4"].status == TaskStatus.SUBMITTED
    assert progress(session, by_ref["4"]) == ["方案已印发"]


def test_footnote_legend_and_signature_rows_are_skipped_and_listed(session, settings, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    sheet.append(task_row(1, "2026-12-31"))
    sheet.append(task_row(2, "2026-12-31", "孙丽"))
    sheet.append(["注：1.整改时限以领导小组审定为准；2.每周五前更新。"])
    sheet.merge_cells(f"A{sheet.max_row}:L{sheet.max_row}")
    sheet.append(["填表说明：状态填 未启动/推进中/已完成"])
    sheet.append([None, None, "填表人：王芳", None, None, "审核人：李明"])
    sheet.append(["填表人：王芳    审核人：李明    填报日期：2026年11月2日"])
    book.save(tmp_path / "l.xlsx")
    summary = load(session, settings, tmp_path / "l.xlsx")
    assert len(summary.created) == 2
    assert [row for row, _ in summary.skipped_rows] == [4, 5, 6, 7]
    assert summary.skipped_rows[0][1].startswith("注：1.整改时限")


def test_a_row_with_two_texts_that_is_not_a_task_is_still_an_error(session, settings, tmp_path):
    rows = [task_row(1, "2026-12-31"), [None, None, "填表人：王芳", None, None, "限期整改"]]
    with pytest.raises(ImportFailed) as err:
        load(session, settings, write_xlsx(tmp_path / "l.xlsx", rows))
    assert {(e.row, e.column) for e in err.value.errors} >= {(3, "序号")}


def test_header_synonyms_from_published_ledgers_and_ignored_columns(session, settings, tmp_path):
    headers = [
        "序号",
        "问题类型",
        "反馈问题",
        "具体整改措施",
        "责任股室",
        "责任人",
        "整改期限",
        "联络员",
        "是否公开",
    ]
    rows = [
        [
            1,
            "（一）学习不到位",
            "1、有计划无行动",
            "制定学习方案",
            "办公室",
            "赵磊",
            "2026-12-31",
            "小王",
            "是",
        ]
    ]
    summary = load(session, settings, write_xlsx(tmp_path / "l.xlsx", rows, headers))
    task = tasks(session)["1"]
    assert (task.measures, task.lead_unit, task.deadline) == (
        "制定学习方案",
        "办公室",
        date(2026, 12, 31),
    )
    assert summary.ignored_columns == ["联络员", "是否公开"]
    for variants in (
        ["问题类别", "完成时限", "责任部门"],
        ["问题类别", "整改时限", "责任科室"],
        ["方面", "完成时限", "责任单位"],
    ):
        headers = ["序号", variants[0], "整改任务", "责任人", variants[1], variants[2]]
        row = [2, "（二）作风", "改作风", "孙丽", "2027-01-31", "执法大队"]
        load(
            session,
            settings,
            write_xlsx(tmp_path / "v.xlsx", [row], headers),
            RoundOptions(name="R" + variants[2]),
        )
        latest = session.exec(select(Task).order_by(Task.id.desc())).first()
        assert (latest.lead_unit, latest.deadline) == ("执法大队", date(2027, 1, 31))


def test_immediate_without_feedback_date_then_round_feedback_date_rederives(
    monkeypatch, tmp_path, database_url, capsys
):
    from cli.main import main
    from ledger.clock import FakeClock

    monkeypatch.setenv("LEDGERBOT_DATABASE_URL", database_url)
    clock = FakeClock(NOW)
    sheet = write_xlsx(
        tmp_path / "l.xlsx",
        [task_row(1, "立行立改"), task_row(2, "", kind="立行立改"), task_row(3, "2026-12-31")],
    )
    assert main(["import", str(sheet), "--round", "第二轮"], clock=clock) == 0
    out = capsys.readouterr().out
    assert "第2、3行为立行立改" in out and "ledgerbot round 轮次名称 --feedback-date" in out
    assert main(["tasks"], clock=clock) == 0
    assert str(TODAY + timedelta(days=15)) in capsys.readouterr().out
    assert main(["round", "第二轮", "--feedback-date", "2026-10-20"], clock=clock) == 0
    out = capsys.readouterr().out
    assert "重新推算立行立改的整改时限 2 项" in out and "→ 2026-11-04" in out
    assert main(["tasks"], clock=clock) == 0
    out = capsys.readouterr().out
    assert out.count("2026-11-04") == 2 and "2026-12-31" in out
    # the sheet re-imported: 立行立改 still reads as the same deadline, nothing changes
    assert main(["import", str(sheet), "--round", "第二轮"], clock=clock) == 0
    assert "更新 0 项" in capsys.readouterr().out


@pytest.mark.parametrize("year_text", ["1999-12-31", "2101-01-01", "2202年1月底"])
def test_deadlines_outside_2000_to_2100_are_row_errors(session, settings, tmp_path, year_text):
    rows = [task_row(1, "2026-12-31"), task_row(2, year_text)]
    with pytest.raises(ImportFailed) as err:
        load(session, settings, write_xlsx(tmp_path / "l.xlsx", rows))
    [error] = err.value.errors
    assert (error.row, error.column) == (3, "整改时限")
    assert "超出范围" in error.message and "2000" in error.message
    session.rollback()
    assert tasks(session) == {}


def test_an_excel_serial_from_1900_is_a_row_error(session, settings, tmp_path):
    with pytest.raises(ImportFailed, match="超出范围"):
        load(
            session, settings, write_xlsx(tmp_path / "l.xlsx", [task_row(1, datetime(1900, 1, 5))])
        )


def write_xls(path, suffix=".xls"):
    """A legacy Excel 97-2003 workbook written by xlwt: a title row, merged 方面 cells."""
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("整改台账")
    sheet.write_merge(0, 0, 0, 5, "区文旅局巡察整改台账")
    for column, header in enumerate(["序号", "方面", "整改任务", "责任人", "整改时限", "状态"]):
        sheet.write(1, column, header)
    sheet.write_merge(2, 3, 1, 1, "（一）理论学习不到位")
    dates = xlwt.easyxf(num_format_str="yyyy-mm-dd")
    for row, (ref, title, owner, deadline, status) in enumerate(
        [
            (1, "制定学习方案", "赵磊", datetime(2026, 12, 31), "推进中"),
            (2, "召开专题会", "刘　倩", "长期坚持", ""),
        ],
        start=2,
    ):
        sheet.write(row, 0, ref)
        sheet.write(row, 2, title)
        sheet.write(row, 3, owner)
        sheet.write(row, 4, deadline, dates)
        sheet.write(row, 5, status)
    target = path.with_suffix(suffix)
    book.save(str(target))
    return target


@pytest.mark.parametrize("suffix", [".xls", ".et"])
def test_legacy_xls_and_wps_et_sheets_import(session, settings, tmp_path, suffix):
    path = write_xls(tmp_path / "legacy", suffix)
    summary = load(session, settings, path)
    assert len(summary.created) == 2
    by_ref = tasks(session)
    assert (
        by_ref["1"].deadline == date(2026, 12, 31) and by_ref["1"].status == TaskStatus.IN_PROGRESS
    )
    assert by_ref["2"].kind == TaskKind.LONG_TERM
    assert by_ref["1"].problem_id == by_ref["2"].problem_id  # the merged 方面 applies to both
    assert "刘倩" in summary.new_officials
    assert not load(session, settings, path).changed


def test_a_corrupt_xls_is_a_clear_error(session, settings, tmp_path):
    path = tmp_path / "broken.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0not really a workbook")
    with pytest.raises(ImportFailed, match=r"无法读取表格文件 broken\.xls"):
        load(session, settings, path)


def test_an_ods_sheet_imports(session, settings, tmp_path):
    """tests/fixtures/ledger.ods: written by openpyxl as xlsx (a title row, 方面 merged over two
    rows, a date cell, a name padded with a full-width space), then converted with
    `soffice --headless --convert-to ods ledger.xlsx` (LibreOffice 7.4)."""
    from pathlib import Path

    fixture = Path(__file__).parent.parent / "fixtures" / "ledger.ods"
    summary = load(session, settings, fixture)
    assert len(summary.created) == 2 and "刘倩" in summary.new_officials
    by_ref = tasks(session)
    assert by_ref["1"].deadline == date(2026, 12, 31) and by_ref["2"].kind == TaskKind.LONG_TERM
    assert by_ref["1"].problem_id == by_ref["2"].problem_id


def test_an_xls_larger_than_the_limits_is_refused_before_its_cells_are_read(
    session, settings, tmp_path, monkeypatch
):
    import ledger.sheets

    monkeypatch.setattr(ledger.sheets, "MAX_ROWS", 3)  # the fixture has 4 rows
    with pytest.raises(ImportFailed, match="过大"):
        load(session, settings, write_xls(tmp_path / "legacy"))
