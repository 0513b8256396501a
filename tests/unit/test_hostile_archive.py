"""The evidence archive and the files the CLI writes: safe names, text cells, local times, 0600."""

from __future__ import annotations

import io
import os
import stat
import zipfile
from datetime import UTC, datetime
from pathlib import PurePosixPath

import pytest
from openpyxl import load_workbook

from cli.main import main
from ledger.clock import FakeClock
from ledger.errors import InvalidInput
from ledger.private import owner_only
from ledger.reports import gather, write_archive
from ledger.sample import ROUND_NAME
from tests.unit.test_reports import TODAY, add_file, sample  # noqa: F401  (the fixture)

HOSTILE_NAMES = [
    "../../../etc/cron.d/evil",
    "/etc/passwd",
    "..\\..\\Windows\\win.ini",
    "C:\\Users\\x\\a.pdf",
    "..",
    "",
    "   ",
    "...",
    "a" * 300 + ".pdf",
    "x" * 300,
    "正常的方案.pdf",
    '=HYPERLINK("http://evil.example","点我").pdf',
]


def archive_of(session, settings, tmp_path, sample, names):  # noqa: F811
    for n, name in enumerate(names):
        add_file(session, settings, tmp_path, sample["1"], "赵磊", f"f{n}", f"blob{n}".encode())
        # the name as the uploader's Telegram client sent it
        from sqlmodel import select

        from ledger.models import Evidence

        evidence = session.exec(select(Evidence).where(Evidence.local_path.endswith(f"f{n}"))).one()
        evidence.file_name = name
        session.add(evidence)
    session.commit()
    data = gather(session, ROUND_NAME, today=TODAY, yellow_days=10)
    out = tmp_path / "a.zip"
    write_archive(data, out, zone=settings.zone)
    return out


def test_archive_entry_names_are_sanitised(session, settings, tmp_path, sample):  # noqa: F811
    out = archive_of(session, settings, tmp_path, sample, HOSTILE_NAMES)
    with zipfile.ZipFile(out) as archive:
        names = [n for n in archive.namelist() if n != "整改档案清单.xlsx"]
    assert len(names) == len(HOSTILE_NAMES) and len(set(names)) == len(names)
    for name in names:
        path = PurePosixPath(name)
        assert not path.is_absolute() and ".." not in path.parts and "\\" not in name, name
        assert path.parts[0] == f"task-{sample['1']}" and len(path.parts) == 2, name
        assert path.name.strip(" ."), name
        assert len(path.name) <= 100, name
    assert f"task-{sample['1']}/正常的方案.pdf" in names
    assert any(n.endswith(".pdf") and len(PurePosixPath(n).name) == 100 for n in names)


def test_the_archive_list_holds_text_not_formulas_in_beijing_time(
    session,
    settings,
    tmp_path,
    sample,  # noqa: F811
):
    formula = '=HYPERLINK("http://evil.example","点我")'
    out = archive_of(session, settings, tmp_path, sample, [formula, "+1", "-2", "@SUM(A1)"])
    with zipfile.ZipFile(out) as archive:
        sheet = load_workbook(io.BytesIO(archive.read("整改档案清单.xlsx"))).active
    files = [sheet.cell(row=r, column=2) for r in range(2, sheet.max_row + 1)]
    assert [c.value for c in files] == [formula, "+1", "-2", "@SUM(A1)"]
    assert all(c.data_type == "s" for c in files)
    # the files were uploaded at 09:00 in Shanghai (01:00 UTC)
    assert {sheet.cell(row=r, column=5).value for r in range(2, sheet.max_row + 1)} == {
        "2026-11-02 09:00"
    }


@pytest.fixture
def cli_db(monkeypatch, tmp_path, database_url):
    monkeypatch.setenv("LEDGERBOT_DATABASE_URL", database_url)
    return tmp_path


def test_exports_reports_and_archives_are_owner_only(cli_db, capsys):
    from tests.factories import task_row, write_xlsx

    def run(*argv):
        return main(list(argv), clock=FakeClock(datetime(2026, 11, 2, 1, 0, tzinfo=UTC)))

    sheet = write_xlsx(cli_db / "l.xlsx", [task_row(1, "2026-12-31")])
    assert run("import", str(sheet), "--round", "R") == 0
    stale = cli_db / "old-export.xlsx"
    stale.write_bytes(b"")
    stale.chmod(0o644)  # a file someone made readable earlier
    old = os.umask(0o022)
    try:
        outputs = [
            (("export", str(cli_db / "e.xlsx")), cli_db / "e.xlsx"),
            (("export", str(cli_db / "e.csv")), cli_db / "e.csv"),
            (("export", str(stale)), stale),
            (("report", "--round", "R", "--out", str(cli_db / "r.docx")), cli_db / "r.docx"),
            (("archive", "--round", "R", "--out", str(cli_db / "a.zip")), cli_db / "a.zip"),
        ]
        for argv, path in outputs:
            assert run(*argv) == 0, capsys.readouterr().err
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, argv
    finally:
        os.umask(old)


def test_a_refused_archive_leaves_no_file(session, settings, tmp_path, sample):  # noqa: F811
    add_file(session, settings, tmp_path, sample["1"], "赵磊", "方案.pdf", b"plan")
    (tmp_path / "方案.pdf").write_bytes(b"tampered")
    data = gather(session, ROUND_NAME, today=TODAY, yellow_days=10)
    out = tmp_path / "a.zip"
    with pytest.raises(InvalidInput, match="sha256"), owner_only(out):
        write_archive(data, out, zone=settings.zone)
    assert not out.exists()
