"""Reading and writing ledger spreadsheets (xlsx, csv) in the offices' own column names."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from ledger.cells import csv_untext
from ledger.dates import normalize
from ledger.errors import ImportFailed, RowError

# The one alias table. field -> accepted headers; the first is the canonical Chinese header.
# Headers are matched after folding full-width characters and dropping spaces, "*" and a
# trailing (…) note, so "整改时限（时间节点）" and "责 任 人" match too.
COLUMNS: dict[str, tuple[str, ...]] = {
    "round": ("轮次", "巡察轮次", "round"),
    "ref": ("序号", "编号", "ref", "no", "no.", "#"),
    "aspect": ("方面", "问题方面", "问题类别", "问题类型", "aspect"),
    "problem": ("具体问题", "问题", "问题内容", "存在问题", "反馈问题", "problem"),
    "title": ("整改任务", "任务", "任务名称", "task", "title"),
    "target": ("整改目标", "目标", "target"),
    "measures": ("整改措施", "具体整改措施", "措施", "measures"),
    "kind": ("任务类型", "整改类型", "类型", "kind", "type"),
    "role": ("牵头/参与", "牵头或参与", "牵头参与", "role"),
    "leader": ("责任领导", "分管领导", "牵头领导", "leader", "responsible leader"),
    "lead_unit": (
        "牵头单位",
        "牵头部门",
        "牵头股室",
        "责任单位",
        "责任部门",
        "责任科室",
        "责任股室",
        "lead unit",
    ),
    "partner_units": ("配合单位", "参与部门", "配合部门", "参与单位", "participating units"),
    "owner": ("责任人", "具体责任人", "owner", "responsible official"),
    "supervisor": ("督办人", "督办", "supervisor"),
    "deadline": ("整改时限", "时间节点", "完成时限", "整改期限", "deadline", "due"),
    "status": ("状态", "整改状态", "status"),
    "progress": (
        "整改进展",
        "完成情况",
        "整改落实情况",
        "落实情况",
        "进展情况",
        "整改情况",
        "progress",
    ),
    "completed_date": ("完成日期", "销号日期", "completion date"),
    "notes": ("备注", "notes", "remarks"),
    # written by export; the ID matches a row to its task, the rest is ignored by import
    "task_id": ("ID", "任务ID"),
    "light": ("灯号", "light"),
    "evidence_count": ("佐证材料数", "evidence"),
    "days_overdue": ("逾期天数", "days overdue"),
    "original_deadline": ("原定时限", "original deadline"),
}
EXPORT_ONLY = frozenset({"light", "evidence_count", "days_overdue", "original_deadline"})
REQUIRED = ("ref", "owner")


def _header_key(text: str) -> str:
    text = normalize(text).lower()
    text = re.sub(r"[\s*＊]", "", text)
    return re.sub(r"[(（][^)）]*[)）]$", "", text) or text


@dataclass(frozen=True)
class Table:
    """A kind of sheet: its alias table, required columns, and how many headers find the row."""

    columns: dict[str, tuple[str, ...]]
    required: tuple[str, ...]
    min_headers: int = 3
    skip: frozenset[str] = frozenset()  # columns read from the header but not into rows

    @property
    def aliases(self) -> dict[str, str]:
        return {_header_key(a): f for f, names in self.columns.items() for a in names}


LEDGER = Table(COLUMNS, REQUIRED, 3, EXPORT_ONLY)
# the officials sheet (`ledgerbot officials import`)
OFFICIAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "名字", "人员", "name"),
    "unit": ("单位", "所在单位", "部门", "工作单位", "unit"),
    "title": ("职务", "职位", "title"),
    "role": ("角色", "role"),
    "mobile": ("手机号", "手机", "手机号码", "联系电话", "电话", "mobile", "phone"),
    "email": ("邮箱", "电子邮箱", "邮件", "email", "e-mail"),
    "wecom": ("企业微信账号", "企业微信", "企微账号", "政务微信账号", "wecom"),
    "dingtalk": ("钉钉账号", "钉钉", "dingtalk"),
}
OFFICIALS = Table(OFFICIAL_COLUMNS, ("name",), 2)


# a footnote, legend or signature line under the table: "注：…", "填表说明", "填表人：…"
_FOOTNOTE = re.compile(
    r"^\s*(?:(?:注|附注|备注|说明|制表人?|填表人|填报人|审核人?|签字|签发人?|负责人|联系人|"
    r"联系电话|日期|单位\s*[(（]?盖章[)）]?)\s*\d*\s*[:：]|填表说明|填报说明|注\s*\d+\s*[.、])"
)


@dataclass
class Sheet:
    """Cell values by field, each row with the number the spreadsheet shows for it."""

    headers: dict[str, str]  # field -> header text as written in the sheet
    rows: list[tuple[int, dict[str, Any]]]
    ignored: list[str] = field(default_factory=list)  # header cells no field answers to
    skipped: list[tuple[int, str]] = field(default_factory=list)  # footnote rows: (row, text)
    hidden_rows: list[int] = field(default_factory=list)  # hidden in the sheet: not imported


def _footnote(cells: list[Any]) -> str | None:
    """A footnote/legend/signature row's text (every text in it a note or a label), else None."""
    first = next((text for c in cells if c is not None and (text := str(c).strip())), None)
    if first is None or not _FOOTNOTE.match(normalize(first)):
        return None  # a task row: its first text (the 序号) is no note (one look, not every cell)
    texts = list(dict.fromkeys(str(c).strip() for c in cells if c is not None and str(c).strip()))
    if not texts or not all(_FOOTNOTE.match(normalize(t)) for t in texts):
        return None
    return "  ".join(texts)


def _match_header(cells: Iterable[Any], table: Table = LEDGER) -> dict[int, str]:
    found: dict[int, str] = {}
    aliases = table.aliases
    for index, cell in enumerate(cells):
        if cell is None:
            continue
        field = aliases.get(_header_key(str(cell)))
        if field and field not in found.values():
            found[index] = field
    return found


# a second column of these would be silently ignored, and the sheet read wrongly
SINGLE_COLUMNS = ("ref", "owner", "supervisor", "leader", "deadline", "round")


def refuse_second_columns(cells: list[Any], row: int, table: Table = LEDGER) -> None:
    """Two 责任人 (or 序号, 督办人, …) columns: which one is meant? An error, not a guess."""
    seen: dict[str, str] = {}
    errors: list[RowError] = []
    aliases = table.aliases
    for cell in cells:
        if cell is None:
            continue
        name = aliases.get(_header_key(str(cell)))
        if name not in SINGLE_COLUMNS:
            continue
        assert name is not None
        if name in seen:
            errors.append(
                RowError(
                    row,
                    str(cell).strip(),
                    f"表头有两列“{table.columns[name][0]}”（“{seen[name]}”和“{str(cell).strip()}”），"
                    "无法确定以哪一列为准；请删除或改名其中一列",
                )
            )
        else:
            seen[name] = str(cell).strip()
    if errors:
        raise ImportFailed(errors)


def _locate(grid: list[list[Any]], source: str, table: Table = LEDGER) -> Sheet:
    best: tuple[int, dict[int, str]] | None = None
    for row_index, cells in enumerate(grid[:30]):
        found = _match_header(cells, table)
        if len(found) >= table.min_headers and (best is None or len(found) > len(best[1])):
            best = (row_index, found)
    if best is None:
        raise ImportFailed(
            [
                RowError(
                    1,
                    "表头",
                    f"{source}: 前30行中找不到表头（需要至少包含 "
                    f"{'、'.join(table.columns[f][0] for f in table.required)} 等列名）",
                )
            ]
        )
    header_row, columns = best
    refuse_second_columns(grid[header_row], header_row + 1, table)
    headers = {field: str(grid[header_row][i]).strip() for i, field in columns.items()}
    ignored = [
        str(cell).strip()
        for i, cell in enumerate(grid[header_row])
        if i not in columns and cell is not None and str(cell).strip()
    ]
    missing = [f for f in table.required if f not in headers]
    if table is LEDGER and not {"title", "measures", "problem"} & set(headers):
        missing.append("title")
    if missing:
        names = "、".join(table.columns[f][0] for f in missing)
        raise ImportFailed([RowError(header_row + 1, "表头", f"缺少必需的列：{names}")])
    rows: list[tuple[int, dict[str, Any]]] = []
    skipped: list[tuple[int, str]] = []
    for row_index in range(header_row + 1, len(grid)):
        cells = grid[row_index]
        note = _footnote(cells)
        if note is not None:
            skipped.append((row_index + 1, note))
            continue
        values = {
            field: cells[i] if i < len(cells) else None
            for i, field in columns.items()
            if field not in table.skip
        }
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in values.values()):
            continue
        rows.append((row_index + 1, values))
    return Sheet(headers=headers, rows=rows, ignored=ignored, skipped=skipped)


# what a ledger sheet can sensibly be; anything larger is refused before it is read
MAX_ROWS = 200_000
MAX_COLUMNS = 500
MAX_CELLS = 10_000_000  # rows × columns the reader would hold (a 100k-row ledger: ~2.5M)
MAX_UNCOMPRESSED = 256 * 1024 * 1024  # bytes of XML and parts inside an xlsx
MAX_CSV_BYTES = 256 * 1024 * 1024
MAX_CSV_CELL = 128 * 1024  # characters
_REF = re.compile(rb"<(?:\w+:)?(dimension|mergeCell)\b[^>]*?\bref=\"([A-Za-z0-9:$]+)\"")
_CELL = re.compile(r"\$?([A-Za-z]{1,3})\$?([0-9]{1,7})$")


def _file_error(path: Path, message: str) -> ImportFailed:
    return ImportFailed([RowError(0, "文件", f"{path.name}: {message}")])


def _extent(ref: str) -> tuple[int, int] | None:
    """'A1:XFD1048576' -> (1048576 rows, 16384 columns) at most; None if unreadable."""
    from openpyxl.utils.cell import column_index_from_string

    rows, cols = 0, 0
    for part in ref.split(":"):
        match = _CELL.match(part)
        if match is None:
            return None
        try:
            cols = max(cols, column_index_from_string(match.group(1).upper()))
        except ValueError:
            return None
        rows = max(rows, int(match.group(2)))
    return rows, cols


def _too_large(what: str, ref: str, rows: int, cols: int) -> str | None:
    if rows > MAX_ROWS or cols > MAX_COLUMNS or rows * cols > MAX_CELLS:
        return (
            f"{what} {ref} 过大（{rows} 行 × {cols} 列；最多 {MAX_ROWS} 行、{MAX_COLUMNS} 列、"
            f"共 {MAX_CELLS} 个单元格），未读取。请删除多余的空行空列或取消大范围合并后另存"
        )
    return None


def check_xlsx_package(path: Path) -> None:
    """Before openpyxl reads anything: the uncompressed size, declared ranges, merged ranges.

    A 5 KB file can claim A1:XFD1048576 or merge a range that large, and a 1.5 MB zip can
    inflate to gigabytes; each is refused with a sentence instead of exhausting memory.
    Sizes come from the zip directory, which also bounds what the reader will inflate.
    """
    import zipfile

    try:
        archive = zipfile.ZipFile(path)
    except Exception as exc:  # not a zip, a damaged directory, an unknown compression
        raise _file_error(path, f"不是有效的 xlsx 文件（{exc}）") from None
    with archive:
        members = archive.infolist()
        total = sum(m.file_size for m in members)
        if total > MAX_UNCOMPRESSED:
            raise _file_error(
                path,
                f"解压后共 {total // (1024 * 1024)} MB，超过 {MAX_UNCOMPRESSED // (1024 * 1024)} MB"
                "上限（可能是压缩炸弹或含大量无用内容），未读取",
            )
        for member in members:
            if not member.filename.startswith("xl/worksheets/") or not member.filename.endswith(
                ".xml"
            ):
                continue
            try:
                declared = list(_declared_ranges(archive, member))
            except Exception as exc:  # a damaged member: bad CRC, truncated deflate, …
                raise _file_error(path, f"无法读取 xlsx 文件，文件已损坏（{exc}）") from None
            for kind, ref in declared:
                extent = _extent(ref)
                what = "表格声明的范围" if kind == "dimension" else "合并单元格"
                if extent is None:
                    raise _file_error(path, f"{what}“{ref[:40]}”无法识别，未读取")
                problem = _too_large(what, ref, *extent)
                if problem:
                    raise _file_error(path, problem)


def _declared_ranges(archive: Any, member: Any) -> Iterable[tuple[str, str]]:
    """(kind, ref) of each <dimension> and <mergeCell> in a worksheet, read as a stream."""
    tail = b""
    with archive.open(member) as stream:
        while True:
            chunk = stream.read(1 << 20)
            if not chunk:
                break
            data = tail + chunk
            last = 0
            for match in _REF.finditer(data):
                last = match.end()
                yield match.group(1).decode(), match.group(2).decode()
            tail = data[max(last, len(data) - 256) :]


def check_extent(path: Path, sheet: Any) -> None:
    """The cells a sheet really holds (a stray cell at XFD1048576 needs no <dimension>)."""
    problem = _too_large("表格的范围", sheet.title, sheet.max_row, sheet.max_column)
    if problem:
        raise _file_error(path, problem)


def visible_sheets(workbook: Any) -> list[Any]:
    """Hidden sheets are never read: what the office sees is what is imported."""
    return [ws for ws in workbook.worksheets if ws.sheet_state == "visible"]


def hidden_rows(sheet: Any) -> list[int]:
    """Row numbers hidden in the sheet (listed as skipped, never imported)."""
    return sorted(r for r, dim in sheet.row_dimensions.items() if dim.hidden and r <= sheet.max_row)


def read_xlsx(path: Path, table: Table = LEDGER) -> Sheet:
    check_xlsx_package(path)
    try:
        workbook = load_workbook(path, data_only=True)
    except (InvalidFileException, OSError, KeyError, ValueError, TypeError) as exc:
        raise ImportFailed(
            [RowError(0, "文件", f"无法读取 xlsx 文件 {path.name}：{exc}")]
        ) from None
    except Exception as exc:  # corrupt zips and XML surface as many exception types
        raise ImportFailed(
            [RowError(0, "文件", f"无法读取 xlsx 文件 {path.name}：{exc}")]
        ) from None
    visible = visible_sheets(workbook)
    if not visible:
        raise _file_error(path, "没有可见的工作表（隐藏的工作表不会导入）")
    sheet = visible[0]
    for candidate in visible:
        check_extent(path, candidate)
        rows = list(candidate.iter_rows(min_row=1, max_row=30, values_only=True))
        if any(len(_match_header(r, table)) >= table.min_headers for r in rows):
            sheet = candidate
            break
    grid = [list(row) for row in sheet.iter_rows(values_only=True)]
    hidden = hidden_rows(sheet)
    for merged in sheet.merged_cells.ranges:
        if merged.min_row > len(grid) or merged.min_col > len(grid[merged.min_row - 1]):
            continue  # merged blank cells outside the data: nothing to spread
        top_left = grid[merged.min_row - 1][merged.min_col - 1]
        for r in range(merged.min_row - 1, min(merged.max_row, len(grid))):
            for c in range(merged.min_col - 1, min(merged.max_col, len(grid[r]))):
                grid[r][c] = top_left
    workbook.close()
    return _skip_hidden(grid, hidden, path.name, table)


def _skip_hidden(
    grid: list[list[Any]], hidden: list[int], source: str, table: Table = LEDGER
) -> Sheet:
    """Hidden rows are blanked before the header is looked for, and listed as skipped."""
    shown = [r for r in hidden if r - 1 < len(grid) and any(v is not None for v in grid[r - 1])]
    for r in shown:
        grid[r - 1] = []
    sheet = _locate(grid, source, table)
    sheet.hidden_rows = shown
    return sheet


def read_csv(path: Path, table: Table = LEDGER) -> Sheet:
    size = path.stat().st_size
    if size > MAX_CSV_BYTES:
        raise _file_error(
            path,
            f"文件有 {size // (1024 * 1024)} MB，超过 {MAX_CSV_BYTES // (1024 * 1024)} MB 上限，未读取",
        )
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ImportFailed([RowError(0, "文件", f"{path.name}: 既不是 UTF-8 也不是 GBK 编码")])
    grid: list[list[Any]] = [
        [csv_untext(cell) if cell.strip() else None for cell in row] for row in csv_rows(text, path)
    ]
    return _locate(grid, path.name, table)


CALAMINE_SUFFIXES = (".xls", ".et", ".ods", ".ett", ".xlsb")


def read_calamine(path: Path, table: Table = LEDGER) -> Sheet:
    """Legacy Excel .xls, WPS .et and OpenDocument .ods (and .xlsb), read by python-calamine."""
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        grids = []
        shown = [m.name for m in workbook.sheets_metadata if str(m.visible).endswith("Visible")]
        for name in shown:  # hidden sheets are never read, as for xlsx
            sheet = workbook.get_sheet_by_name(name)
            problem = _too_large("表格的范围", name, sheet.total_height + 1, sheet.total_width + 1)
            if problem:
                raise _file_error(path, problem)
            grid: list[list[Any]] = [
                [None if cell == "" else cell for cell in row] for row in sheet.to_python()
            ]
            for merged in sheet.merged_cell_ranges or []:
                (top, left), (bottom, right) = merged
                value = grid[top][left] if top < len(grid) and left < len(grid[top]) else None
                for r in range(top, min(bottom + 1, len(grid))):
                    for c in range(left, min(right + 1, len(grid[r]))):
                        grid[r][c] = value
            grids.append(grid)
    except ImportFailed:
        raise
    except Exception as exc:  # calamine raises its own error types for every corrupt format
        raise ImportFailed([RowError(0, "文件", f"无法读取表格文件 {path.name}：{exc}")]) from None
    chosen = next(
        (
            g
            for g in grids
            if any(len(_match_header(r, table)) >= table.min_headers for r in g[:30])
        ),
        grids[0] if grids else [],
    )
    return _locate(chosen, path.name, table)


def csv_rows(text: str, path: Path) -> list[list[str]]:
    """CSV rows; old-Mac line endings read as lines; an oversized cell is a row error."""
    if "\r" in text and "\n" not in text:
        text = text.replace("\r", "\n")  # classic Mac OS: CR alone ends every line
    reader = csv.reader(io.StringIO(text))
    rows: list[list[str]] = []
    try:
        for row in reader:
            for column, cell in enumerate(row, start=1):
                if len(cell) > MAX_CSV_CELL:
                    raise _cell_too_large(reader.line_num, column, len(cell))
            rows.append(row)
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise _cell_too_large(reader.line_num, None, None) from None
        raise ImportFailed(
            [RowError(reader.line_num, "文件", f"{path.name}: 无法解析的 CSV（{exc}）")]
        ) from None
    return rows


def _cell_too_large(line: int, column: int | None, size: int | None) -> ImportFailed:
    where = f"第{column}列" if column else "单元格"
    length = f"（{size} 字）" if size else ""
    return ImportFailed(
        [
            RowError(
                line,
                where,
                f"单元格过长{length}，超过 {MAX_CSV_CELL // 1024} KiB 上限，未导入",
            )
        ]
    )


def read_sheet(path: Path, table: Table = LEDGER) -> Sheet:
    if not path.is_file():
        raise ImportFailed([RowError(0, "文件", f"找不到文件 {path}")])
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return read_xlsx(path, table)
    if suffix == ".csv":
        return read_csv(path, table)
    if suffix in CALAMINE_SUFFIXES:
        return read_calamine(path, table)
    raise ImportFailed(
        [
            RowError(
                0,
                "文件",
                f"不支持的文件类型 {suffix}（请用 .xlsx、.xls、.et、.ods 或 .csv）",
            )
        ]
    )
