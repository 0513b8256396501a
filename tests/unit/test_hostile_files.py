"""Bad files are refused quickly with a reason; hidden content is not read; limits are stated."""

from __future__ import annotations

import re
import zipfile
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlmodel import Session, func, select

from cli.main import main
from ledger import sheets
from ledger.clock import FakeClock
from ledger.db import make_engine
from ledger.errors import ImportFailed
from ledger.importer import RoundOptions, import_file
from ledger.models import Official, Task, TaskPerson
from tests.conftest import SHANGHAI_9AM_UTC
from tests.factories import HEADERS, cli_ctx, task_row, write_xlsx

DEADLINE = date(2026, 12, 31)


def import_(session, settings, path: Path):
    return import_file(cli_ctx(session, settings, SHANGHAI_9AM_UTC), path, RoundOptions(name="R"))


def refused(session, settings, path: Path) -> str:
    with pytest.raises(ImportFailed) as failure:
        import_(session, settings, path)
    session.rollback()
    assert session.exec(select(func.count()).select_from(Task)).one() == 0
    return str(failure.value)


def rewrite_sheet_xml(path: Path, change) -> Path:
    """Edit xl/worksheets/sheet1.xml as a hostile sender would; everything else kept."""
    with zipfile.ZipFile(path) as source:
        parts = {item.filename: source.read(item) for item in source.infolist()}
    name = "xl/worksheets/sheet1.xml"
    parts[name] = change(parts[name].decode()).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for filename, data in parts.items():
            target.writestr(filename, data)
    return path


def test_a_sheet_claiming_the_whole_grid_is_refused_before_reading(session, settings, tmp_path):
    path = write_xlsx(tmp_path / "dim.xlsx", [task_row(1, DEADLINE)])
    rewrite_sheet_xml(
        path, lambda xml: re.sub(r'<dimension ref="[^"]+"', '<dimension ref="A1:XFD1048576"', xml)
    )
    message = refused(session, settings, path)
    assert "A1:XFD1048576" in message and "过大" in message and "1048576 行" in message


def test_one_merged_range_to_xfd1048576_is_refused(session, settings, tmp_path):
    path = write_xlsx(tmp_path / "merge.xlsx", [task_row(1, DEADLINE)])
    rewrite_sheet_xml(
        path,
        lambda xml: xml.replace(
            "</sheetData>",
            '</sheetData><mergeCells count="1"><mergeCell ref="A3:XFD1048576"/></mergeCells>',
        ),
    )
    message = refused(session, settings, path)
    assert "合并单元格 A3:XFD1048576" in message and "过大" in message


def test_a_stray_cell_far_away_is_refused(session, settings, tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADERS)
    sheet.append(task_row(1, DEADLINE))
    sheet.cell(row=900_000, column=2000, value="x")
    workbook.save(tmp_path / "stray.xlsx")
    path = rewrite_sheet_xml(  # no <dimension> to warn of it
        tmp_path / "stray.xlsx", lambda xml: re.sub(r"<dimension [^>]*/>", "", xml)
    )
    assert "过大" in refused(session, settings, path)


def test_cells_spanning_too_large_an_area_are_refused(session, settings, tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADERS)
    sheet.append(task_row(1, DEADLINE))
    sheet.cell(row=150_000, column=1, value="x")  # each within the row and column limits,
    sheet.cell(row=1, column=100, value="y")  # together 15 million cells to hold
    workbook.save(tmp_path / "area.xlsx")
    message = refused(session, settings, tmp_path / "area.xlsx")
    assert "150000 行 × 100 列" in message and "个单元格" in message


def test_an_oversized_csv_is_refused_before_reading(session, settings, tmp_path, monkeypatch):
    monkeypatch.setattr(sheets, "MAX_CSV_BYTES", 1024 * 1024)
    path = tmp_path / "huge.csv"
    row = ",".join(str(c) for c in task_row(1, "2026-12-31"))
    path.write_text(",".join(HEADERS) + "\n" + (row + "\n") * 20_000, encoding="utf-8")
    assert "超过 1 MB 上限" in refused(session, settings, path)


def test_a_zip_bomb_is_refused_by_its_uncompressed_size(session, settings, tmp_path, monkeypatch):
    monkeypatch.setattr(sheets, "MAX_UNCOMPRESSED", 8 * 1024 * 1024)
    path = write_xlsx(tmp_path / "bomb.xlsx", [task_row(1, DEADLINE)])
    with (
        zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive,
        archive.open("xl/media/padding.bin", "w") as member,
    ):
        for _ in range(12):
            member.write(bytes(1024 * 1024))
    assert path.stat().st_size < 200_000
    message = refused(session, settings, path)
    assert "解压后共 12 MB" in message and "压缩炸弹" in message


def test_hidden_sheets_are_not_read(session, settings, tmp_path):
    workbook = Workbook()
    impostor = workbook.active
    impostor.title = "隐藏"
    impostor.append(HEADERS)
    impostor.append(task_row(1, DEADLINE, "冒名者"))
    impostor.sheet_state = "hidden"
    real = workbook.create_sheet("台账")
    real.append(HEADERS)
    real.append(task_row(1, DEADLINE, "赵磊"))
    workbook.save(tmp_path / "hidden.xlsx")
    import_(session, settings, tmp_path / "hidden.xlsx")
    names = set(session.exec(select(Official.name)))
    assert "赵磊" in names and "冒名者" not in names


def test_hidden_rows_are_skipped_and_listed(db_cli, tmp_path, capsys):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADERS)
    for ref in (1, 2, 3):
        sheet.append(task_row(ref, DEADLINE))
    sheet.row_dimensions[3].hidden = True  # 序号 2
    workbook.save(tmp_path / "rows.xlsx")
    assert cli("import", str(tmp_path / "rows.xlsx"), "--round", "R") == 0
    out = capsys.readouterr().out
    assert "新增 2 项" in out and "已跳过隐藏行" in out and "第3行" in out
    assert sorted(rows_of(db_cli, Task.ref)) == ["1", "3"]


def test_a_second_owner_column_is_an_error(session, settings, tmp_path):
    headers = [*HEADERS, "责任人"]
    path = write_xlsx(tmp_path / "two.xlsx", [[*task_row(1, DEADLINE), "冒名者"]], headers)
    message = refused(session, settings, path)
    assert "第1行" in message and "两列“责任人”" in message


def test_a_csv_cell_over_128_kib_is_a_row_error(session, settings, tmp_path):
    path = tmp_path / "big.csv"
    head = ",".join(HEADERS)
    good = ",".join(str(c) for c in task_row(1, "2026-12-31"))
    bad = ",".join(str(c) for c in task_row(2, "2026-12-31", title="长" * (130 * 1024)))
    path.write_text(f"{head}\n{good}\n{bad}\n", encoding="utf-8")
    message = refused(session, settings, path)
    assert "第3行" in message and "128 KiB" in message


def test_old_mac_line_endings_import(session, settings, tmp_path):
    path = tmp_path / "mac.csv"
    lines = [",".join(HEADERS)] + [
        ",".join(str(c) for c in task_row(n, "2026-12-31")) for n in (1, 2)
    ]
    path.write_bytes("\r".join(lines).encode("utf-8") + b"\r")
    summary = import_(session, settings, path)
    assert len(summary.created) == 2


def test_a_nul_byte_is_a_row_error_on_either_database(session, settings, tmp_path):
    path = tmp_path / "nul.csv"
    row = task_row(1, "2026-12-31", title="整改\x00任务")
    lines = [",".join(HEADERS), ",".join(str(c) for c in row)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    message = refused(session, settings, path)
    assert "第2行 [整改任务]" in message and "U+0000" in message


def test_cells_over_a_fields_limit_are_refused_with_the_limit(session, settings, tmp_path):
    path = write_xlsx(tmp_path / "long.xlsx", [task_row(1, DEADLINE, title="长" * 5000)])
    message = refused(session, settings, path)
    assert "第2行 [整改任务]" in message and "5000字" in message and "最多300字" in message


def test_an_owner_listed_as_their_own_supervisor_is_warned_about(db_cli, tmp_path, capsys):
    rows = [task_row(1, DEADLINE, "赵磊", supervisor="赵磊"), task_row(2, DEADLINE, "孙丽")]
    sheet = write_xlsx(tmp_path / "self.xlsx", rows)
    assert cli("import", str(sheet), "--round", "R") == 0
    out = capsys.readouterr().out
    assert "第2行：赵磊 既是责任人又是督办人" in out and "不能销号自己的任务" in out
    assert "第3行" not in out
    assert len(rows_of(db_cli, TaskPerson.duty)) == 6  # imported: a warning, not a refusal


@pytest.fixture
def db_cli(monkeypatch, database_url):
    """The command line on its own database (migrated by the CLI itself)."""
    monkeypatch.setenv("LEDGERBOT_DATABASE_URL", database_url)
    return database_url


def rows_of(database_url: str, column) -> list:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            return list(session.exec(select(column)))
    finally:
        engine.dispose()


def cli(*argv: str) -> int:
    return main(list(argv), clock=FakeClock(SHANGHAI_9AM_UTC))
