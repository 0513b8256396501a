"""The drafted report and the evidence archive, read back with python-docx, openpyxl and zipfile."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import date

import pytest
from docx import Document
from openpyxl import load_workbook
from sqlmodel import select

from ledger import lifecycle
from ledger.errors import InvalidInput
from ledger.importer import RoundOptions, import_file
from ledger.models import Official, Task
from ledger.reports import gather, write_archive, write_report
from ledger.sample import ROUND_NAME, write_sample
from tests.conftest import SHANGHAI_9AM_UTC
from tests.factories import as_official, cli_ctx, task_row, write_xlsx

NOW = SHANGHAI_9AM_UTC
TODAY = date(2026, 11, 2)


def texts(path) -> list[str]:
    doc = Document(str(path))
    body = [p.text for p in doc.paragraphs]
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    return body + cells


@pytest.fixture
def sample(session, settings, tmp_path):
    sheet = write_sample(tmp_path / "sample.xlsx", TODAY)
    import_file(
        cli_ctx(session, settings, NOW),
        sheet,
        RoundOptions(
            name=ROUND_NAME,
            inspected_unit="区文化和旅游局",
            inspection_group="区委第二巡察组",
            feedback_date=date(2026, 10, 25),
        ),
    )
    session.commit()
    return {t.ref: t.id for t in session.exec(select(Task))}


def add_file(session, settings, tmp_path, task_id, owner, name, content: bytes):
    path = tmp_path / name
    path.write_bytes(content)
    lifecycle.add_evidence(
        as_official(session, settings, NOW, owner),
        task_id,
        file_name=name,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        local_path=str(path),
    )
    session.commit()


def test_report_structure_counts_and_order(session, settings, sample, tmp_path):
    lifecycle.record_progress(
        as_official(session, settings, NOW, "孙丽"), sample["6"], "孙丽已报送申报材料"
    )
    session.commit()
    data = gather(session, ROUND_NAME, today=TODAY, yellow_days=10)
    out = write_report(data, tmp_path / "r.docx")
    lines = texts(out)
    assert lines[0] == "关于区委第二巡察组巡察反馈意见整改落实情况的报告"
    order = ["一、整改工作基本情况", "二、问题整改落实情况", "三、下一步工作打算"]
    positions = [lines.index(h) for h in order]
    assert positions == sorted(positions)
    aspects = [
        line
        for line in lines
        if line.startswith("（") and line[1] in "一二三四五六" and lines.index(line) < positions[2]
    ]
    assert [a[:3] for a in aspects] == ["（一）", "（二）", "（三）", "（四）", "（五）", "（六）"]
    # the seed writes its first problem without "1、": it keeps its own line all the same
    first = lines.index(
        "（一）学习习近平总书记关于黄河流域生态保护和高质量发展的重要讲话、重要指示精神不到位。"
    )
    assert lines[first + 1] == "理论学习有计划无行动。"
    problems = [line for line in lines if line[:2] in ("1、", "2、", "3、")]
    assert problems[:3] == [
        "1、对文化旅游发展统筹谋划不足。",
        "2、文化旅游产业提质增效不明显。",
        "3、工业旅游推进缓慢。",
    ]
    summary = lines[positions[0] + 1]
    assert "6个方面10个具体问题" in summary and "分解为10项整改任务" in summary
    assert "已完成整改（销号）1项，正在整改8项，长期坚持1项，完成率11.1%" in summary
    assert sum(line.startswith("整改情况：") for line in lines) == 10
    assert any("孙丽已报送申报材料" in line for line in lines)  # latest progress
    assert any("责任人：孙丽" in line for line in lines)  # the internal variant names people


def test_public_variant_names_no_official_and_has_no_appendix(session, settings, sample, tmp_path):
    lifecycle.record_progress(
        as_official(session, settings, NOW, "孙丽"), sample["6"], "孙丽已报送申报材料，郑涛协助"
    )
    add_file(session, settings, tmp_path, sample["6"], "孙丽", "申报表.pdf", b"pdf")
    data = gather(session, ROUND_NAME, today=TODAY, yellow_days=10)
    document = "\n".join(texts(write_report(data, tmp_path / "p.docx", public=True)))
    names = [o.name for o in session.exec(select(Official))]
    assert names and not [n for n in names if n in document]
    assert "整改档案清单" not in document and "申报表.pdf" not in document
    assert "现将巡察整改情况予以公布" in document


def test_numbering_past_ten(session, settings, tmp_path):
    from ledger.numbering import chinese_numeral

    rows = [
        task_row(n, "2026-12-31", aspect=f"（{chinese_numeral(n)}）方面{n}", problem="")
        for n in range(1, 13)
    ]
    import_file(
        cli_ctx(session, settings, NOW),
        write_xlsx(tmp_path / "12.xlsx", rows),
        RoundOptions(name="十二个方面"),
    )
    session.commit()
    lines = texts(
        write_report(
            gather(session, "十二个方面", today=TODAY, yellow_days=10), tmp_path / "12.docx"
        )
    )
    heads = [line for line in lines if line.startswith("（") and "方面" in line]
    assert [h.split("）")[0] + "）" for h in heads] == [
        "（一）",
        "（二）",
        "（三）",
        "（四）",
        "（五）",
        "（六）",
        "（七）",
        "（八）",
        "（九）",
        "（十）",
        "（十一）",
        "（十二）",
    ]
    assert "12个方面12个具体问题" in "".join(lines)


def test_appendix_and_archive_hold_every_evidence_file(session, settings, sample, tmp_path):
    add_file(session, settings, tmp_path, sample["1"], "赵磊", "方案.pdf", b"plan")
    add_file(session, settings, tmp_path, sample["1"], "赵磊", "纪要.docx", b"minutes")
    add_file(session, settings, tmp_path, sample["6"], "孙丽", "申报表.pdf", b"form")
    data = gather(session, ROUND_NAME, today=TODAY, yellow_days=10)
    lines = texts(write_report(data, tmp_path / "r.docx"))
    for name, blob in (("方案.pdf", b"plan"), ("纪要.docx", b"minutes"), ("申报表.pdf", b"form")):
        assert name in lines and hashlib.sha256(blob).hexdigest() in lines
    summary = write_archive(data, tmp_path / "a.zip", zone=settings.zone)
    assert summary.files == 3
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        names = set(archive.namelist())
        assert {
            f"task-{sample['1']}/方案.pdf",
            f"task-{sample['1']}/纪要.docx",
            f"task-{sample['6']}/申报表.pdf",
            "整改档案清单.xlsx",
        } == names
        assert archive.read(f"task-{sample['6']}/申报表.pdf") == b"form"
        listing = load_workbook(io.BytesIO(archive.read("整改档案清单.xlsx"))).active
        assert listing.max_row == 4


def test_archive_refuses_a_file_that_changed(session, settings, sample, tmp_path):
    add_file(session, settings, tmp_path, sample["1"], "赵磊", "方案.pdf", b"plan")
    (tmp_path / "方案.pdf").write_bytes(b"tampered")
    data = gather(session, ROUND_NAME, today=TODAY, yellow_days=10)
    with pytest.raises(InvalidInput, match="sha256 不一致"):
        write_archive(data, tmp_path / "a.zip", zone=settings.zone)
    assert not (tmp_path / "a.zip").exists()


def test_unknown_round(session):
    with pytest.raises(InvalidInput):
        gather(session, "没有这一轮", today=TODAY, yellow_days=10)
