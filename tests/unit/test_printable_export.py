"""The export prints as an office hands it to a leader, holds nothing live, imports back (#12)."""

import csv
from datetime import date

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from sqlmodel import Session, select

from cli.main import main
from ledger import lifecycle
from ledger.clock import FakeClock
from ledger.db import make_engine
from ledger.exporter import export_ledger
from ledger.importer import RoundOptions, import_file
from ledger.models import ProgressReport, Task
from tests.conftest import SHANGHAI_9AM_UTC
from tests.factories import as_official, build_ledger, cli_ctx, task_row, write_xlsx

NOW = SHANGHAI_9AM_UTC
TODAY = date(2026, 11, 2)


def header_index(sheet, row=3):
    return {c.value: c.column for c in sheet[row]}


def column_widths(sheet):
    """Widths by column letter as a spreadsheet reads them: one <col> may span several."""
    return {
        get_column_letter(index): dim.width
        for dim in sheet.column_dimensions.values()
        for index in range(dim.min, dim.max + 1)
    }


def test_the_xlsx_is_laid_out_for_printing(session, settings, tmp_path):
    ledger = build_ledger(session, settings, NOW, tmp_path, today=TODAY)
    tid = ledger.id("1")
    lifecycle.mark_submitted(as_official(session, settings, NOW, "赵磊"), tid, "方案已印发")
    lifecycle.verify(as_official(session, settings, NOW, "陈静"), tid, "同意")
    lifecycle.record_progress(
        as_official(session, settings, NOW, "孙丽"), ledger.id("2"), "已完成初稿"
    )
    session.commit()
    out = tmp_path / "台账.xlsx"
    export_ledger(session, out, today=TODAY, yellow_days=10)
    sheet = load_workbook(out).active
    assert sheet["A1"].value == "《第一轮整改台账》" and "A1:S1" in {
        str(r) for r in sheet.merged_cells.ranges
    }
    columns = header_index(sheet)
    assert list(columns)[-2:] == ["轮次", "ID"]
    widths = column_widths(sheet)
    assert widths["S"] <= 6 and widths["R"] <= 6
    assert widths["E"] > widths["D"] > widths["M"]  # 整改措施 widest, dates narrow
    assert sheet.print_title_rows == "$3:$3"  # the header on every page
    assert sheet.freeze_panes == "D4"
    setup = sheet.page_setup
    # fitToWidth left out means 1 page wide (ECMA-376's default), as Excel itself writes it
    assert (setup.orientation, str(setup.paperSize), setup.fitToWidth or 1, setup.fitToHeight) == (
        "landscape",
        str(sheet.PAPERSIZE_A4),
        1,
        0,
    )
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.print_options.horizontalCentered
    assert sheet.oddFooter.center.text == "第 &P 页，共 &N 页"
    # 方面 cells merged down: rows 4-5 are (一), rows 6-7 are (二)
    aspect = sheet.cell(row=3, column=columns["方面"]).column_letter
    merged = {str(r) for r in sheet.merged_cells.ranges}
    assert {f"{aspect}4:{aspect}5", f"{aspect}6:{aspect}7"} <= merged
    first = {h: sheet.cell(row=4, column=c) for h, c in columns.items()}
    assert first["完成情况"].value == "方案已印发" and first["状态"].value == "已销号"
    assert first["完成日期"].value.date() == TODAY
    assert first["状态"].fill.start_color.rgb.endswith("E7E6E6")
    second = {h: sheet.cell(row=5, column=c) for h, c in columns.items()}
    assert second["完成情况"].value == "已完成初稿"
    assert sheet.cell(row=sheet.max_row, column=1).value.startswith("注：")
    summary = import_file(cli_ctx(session, settings, NOW), out, RoundOptions())
    assert not summary.changed and summary.unchanged == 4 and not summary.conflicts
    assert [row for row, _ in summary.skipped_rows] == [sheet.max_row]


def test_a_closed_row_with_a_completion_date_reads_it_back(session, settings, tmp_path):
    build_ledger(session, settings, NOW, tmp_path, today=TODAY)
    out = tmp_path / "台账.xlsx"
    export_ledger(session, out, today=TODAY, yellow_days=10)
    book = load_workbook(out)
    sheet = book.active
    columns = header_index(sheet)
    sheet.cell(row=4, column=columns["状态"]).value = "已销号"
    sheet.cell(row=4, column=columns["完成日期"]).value = "2026年10月30日"
    book.save(out)
    import_file(cli_ctx(session, settings, NOW), out, RoundOptions())
    session.commit()
    task = session.exec(select(Task).where(Task.ref == "1")).one()
    assert task.status == "closed" and task.closed_on == date(2026, 10, 30)


def test_nothing_live_in_the_export_and_it_imports_back_unchanged(
    monkeypatch, tmp_path, database_url, capsys
):
    monkeypatch.setenv("LEDGERBOT_DATABASE_URL", database_url)
    clock = FakeClock(NOW)
    rows = [
        task_row(1, "2026-12-31", title="+1 整改事项"),
        task_row(2, "2026-12-31", "@孙丽"),
        task_row(3, "2026-12-31", "孙丽"),
        task_row(4, "长期坚持", "赵磊"),
    ]
    assert (
        main(
            ["import", str(write_xlsx(tmp_path / "l.xlsx", rows)), "--round", "第一轮"], clock=clock
        )
        == 0
    )
    engine = make_engine(database_url)
    with Session(engine) as session:
        task = session.exec(select(Task).where(Task.ref == "1")).one()
        session.add(
            ProgressReport(
                task_id=task.id,
                text='=HYPERLINK("http://evil.example","点此")',
                via="telegram",
                created_at=NOW,
            )
        )
        session.commit()
    engine.dispose()
    xlsx, csv_path = tmp_path / "out.xlsx", tmp_path / "out.csv"
    assert main(["export", str(xlsx)], clock=clock) == 0
    assert main(["export", str(csv_path)], clock=clock) == 0
    sheet = load_workbook(xlsx).active
    columns = header_index(sheet)
    cells = {h: sheet.cell(row=4, column=c) for h, c in columns.items()}
    for header, text in (
        ("完成情况", '=HYPERLINK("http://evil.example","点此")'),
        ("整改任务", "+1 整改事项"),
    ):
        assert (cells[header].value, cells[header].data_type) == (text, "s")
        assert cells[header].quotePrefix
    owner_cell = sheet.cell(row=5, column=columns["责任人"])
    assert (owner_cell.value, owner_cell.data_type) == ("@孙丽", "s")
    rows = list(csv.reader(csv_path.read_text(encoding="utf-8-sig").splitlines()))
    header = rows[0]
    assert rows[1][header.index("完成情况")] == '\'=HYPERLINK("http://evil.example","点此")'
    assert rows[1][header.index("整改任务")] == "'+1 整改事项"
    assert rows[2][header.index("责任人")] == "'@孙丽"
    capsys.readouterr()
    for path in (xlsx, csv_path):
        assert main(["import", str(path), "--dry-run"], clock=clock) == 0
        out = capsys.readouterr().out
        assert "新增 0 项，更新 0 项，未变 4 项" in out, out


def test_merged_runs_and_row_heights_follow_the_text(session, settings, tmp_path):
    long_aspect = "(一)" + "学习贯彻上级决策部署不深入不扎实" * 4  # many lines in a narrow column
    rows = [
        task_row(1, "2026-12-31", aspect=long_aspect, problem="1、问题一"),
        task_row(2, "2026-12-31", aspect=long_aspect, problem="1、问题一"),
        task_row(3, "2026-12-31", aspect=long_aspect, problem="2、问题二"),
        task_row(4, "2026-12-31", aspect="(二)方面二", problem="1、问题一"),
        task_row(5, "2026-12-31", aspect="(二)方面二", problem="1、问题一", title="整改" * 40),
    ]
    build_ledger(session, settings, NOW, tmp_path, today=TODAY, rows=rows)
    out = tmp_path / "台账.xlsx"
    export_ledger(session, out, today=TODAY, yellow_days=10)
    sheet = load_workbook(out).active
    merged = {str(r) for r in sheet.merged_cells.ranges}
    # 方面 merged down its rows; 具体问题 merged within one aspect only, never a single cell
    assert {"B4:B6", "C4:C5", "B7:B8", "C7:C8"} <= merged
    assert not any(r.startswith("C6") for r in merged)
    assert sheet["B4"].value == long_aspect and sheet["C7"].value == "1、问题一"
    heights = [sheet.row_dimensions[r].height for r in range(4, 9)]
    one_line = heights[3]
    # the long aspect's lines are spread over the three rows it spans; the long title's row grows
    assert min(heights[:3]) > one_line and heights[4] > 3 * one_line
    for row in range(4, 9):
        for column in (1, 4, 5, 13, 19):  # cells outside the merged columns
            assert sheet.cell(row=row, column=column).border.left.style == "thin"
    assert sheet.cell(row=4, column=19).font.sz == 7
    summary = import_file(cli_ctx(session, settings, NOW), out, RoundOptions())
    assert not summary.changed and summary.unchanged == 5 and not summary.conflicts
