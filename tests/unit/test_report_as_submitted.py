"""The report an office submits, read beside the seed notice (shared/seed) with python-docx."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta

from docx import Document
from sqlmodel import select

from cli.main import main
from ledger import lifecycle
from ledger.clock import FakeClock
from ledger.importer import RoundOptions, import_file
from ledger.models import Task
from ledger.reads import report_data
from ledger.reports import write_report
from tests.conftest import SHANGHAI_9AM_UTC
from tests.factories import HEADERS, as_official, cli_ctx, task_row, write_xlsx

NOW = SHANGHAI_9AM_UTC  # Monday 2026-11-02 09:00 Beijing
TODAY = date(2026, 11, 2)
ROLE_HEADERS = [*HEADERS, "牵头/参与"]


def rows() -> list[list[object]]:
    return [
        [*task_row(1, "2026-12-31", problem="理论学习有计划无行动", title="制定学习方案"), "牵头"],
        [*task_row(2, TODAY - timedelta(days=40), "孙丽", aspect="(二)方面二", problem=""), "牵头"],
        [*task_row(3, "2026-12-31", "孙丽", aspect="(二)方面二", problem=""), "参与"],
        [
            *task_row(4, "2026-12-31", aspect="(二)方面二", problem="", title="完善罚没物品办法"),
            "牵头",
        ],
    ]


def paragraphs(path) -> list[str]:
    return [p.text for p in Document(str(path)).paragraphs]


def appendix_cells(path) -> list[list[str]]:
    return [[c.text for c in row.cells] for t in Document(str(path)).tables for row in t.rows]


def test_report_writes_what_was_done_overdue_roles_process_and_local_times(
    session, settings, tmp_path
):
    options = RoundOptions(
        name="第一轮",
        inspected_unit="区文旅局",
        inspection_group="区委第二巡察组",
        feedback_date=date(2026, 10, 25),
    )
    sheet = write_xlsx(tmp_path / "l.xlsx", rows(), headers=ROLE_HEADERS)
    import_file(cli_ctx(session, settings, NOW), sheet, options)
    session.commit()
    ids = {t.ref: t.id for t in session.exec(select(Task))}
    zhao = as_official(session, settings, NOW, "赵磊")
    sun = as_official(session, settings, NOW, "孙丽")
    chen = as_official(session, settings, NOW, "陈静")
    lifecycle.record_progress(zhao, ids["1"], "已召开理论中心组专题学习会")
    lifecycle.record_progress(sun, ids["2"], "已起草工作方案，待党组会审议")
    content = b"%PDF minutes"
    lifecycle.add_evidence(
        zhao,
        ids["4"],
        file_name="纪要.pdf",
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
    )
    lifecycle.mark_submitted(zhao, ids["4"], "已印发《罚没物品管理办法》")
    lifecycle.verify(chen, ids["4"], "同意")
    lifecycle.reopen(chen, ids["4"], "回头看发现未执行", deadline=date(2026, 12, 15))
    lifecycle.nudge(chen, ids["2"])
    lifecycle.mark_submitted(sun, ids["3"], "已配合完成")
    lifecycle.reject(chen, ids["3"], "材料不全")
    session.commit()

    data = report_data(chen, "第一轮")
    lines = paragraphs(write_report(data, tmp_path / "r.docx"))
    text = "\n".join(lines)
    # a problem without "1、" keeps its line
    assert "理论学习有计划无行动。" in lines
    # 整改情况 says what was done, the planned measure only where nothing was reported
    first = next(line for line in lines if "已召开理论中心组专题学习会" in line)
    assert "措施1" not in first
    assert "措施3" in text  # task 3 was rejected and has no progress: its measure stands
    # overdue items say so, by how long, and what is being done
    overdue = next(line for line in lines if "已起草工作方案" in line)
    assert "已逾期40天" in overdue and "正在整改）" not in overdue
    plan = next(line for line in lines if line.startswith("任务2："))
    assert "已逾期40天" in plan and "已起草工作方案" in plan and "确保按期完成" not in plan
    # 牵头 and 参与 counted and told apart
    assert "其中牵头任务3项、参与任务1项" in text and "（参与任务）" in text
    # the process figures from the audit trail, with the reopened item named
    assert "一键催办1次" in text and "退回重新整改1项次" in text
    assert "重新打开1项次" in text and "完善罚没物品办法（新时限2026年12月15日）" in text
    # evidence times in Beijing time: uploaded at 09:00 Beijing (01:00 UTC)
    cells = appendix_cells(tmp_path / "r.docx")
    assert any(row[1] == "纪要.pdf" and row[4] == "2026-11-02 09:00" for row in cells)


def test_public_report_reads_naturally_without_names(session, settings, tmp_path):
    sheet = write_xlsx(tmp_path / "l.xlsx", rows(), headers=ROLE_HEADERS)
    import_file(cli_ctx(session, settings, NOW), sheet, RoundOptions(name="第一轮"))
    session.commit()
    ids = {t.ref: t.id for t in session.exec(select(Task))}
    lifecycle.record_progress(
        as_official(session, settings, NOW, "赵磊"),
        ids["1"],
        "由李明同志负责跟进，赵磊、孙丽具体落实",
    )
    session.commit()
    data = report_data(cli_ctx(session, settings, NOW), "第一轮")
    text = "\n".join(paragraphs(write_report(data, tmp_path / "p.docx", public=True)))
    assert "由有关同志负责跟进，有关同志具体落实" in text
    assert "相关责任人同志" not in text and "李明" not in text


def test_cli_report_has_page_numbers_contact_signature_and_says_it_is_on_time(
    monkeypatch, tmp_path, database_url, capsys
):
    monkeypatch.setenv("LEDGERBOT_DATABASE_URL", database_url)
    monkeypatch.setenv(
        "LEDGERBOT_REPORT__CONTACT", "电话：0539-8243458；电子邮箱：lzqlyj11@ly.shandong.cn。"
    )
    monkeypatch.setenv("LEDGERBOT_REPORT__SIGNATURE", "中共区文化和旅游局党组")
    clock = FakeClock(datetime(2026, 11, 2, 1, 0, tzinfo=UTC))
    sheet = write_xlsx(tmp_path / "l.xlsx", rows(), headers=ROLE_HEADERS)
    argv = ["import", str(sheet), "--round", "第一轮", "--unit", "区文旅局"]
    assert main([*argv, "--report-due", "2026-11-30"], clock=clock) == 0
    out = tmp_path / "public.docx"
    assert main(["report", "--round", "第一轮", "--out", str(out), "--public"], clock=clock) == 0
    lines = paragraphs(out)
    assert any("联系方式：电话：0539-8243458" in line for line in lines)
    assert lines[-2:] == ["中共区文化和旅游局党组", "2026年11月2日"]
    footer = Document(str(out)).sections[0].footer._element.xml
    assert "PAGE" in footer  # page numbers
    # the closing paragraph travels with the signature: never a page with the signature alone
    closing = Document(str(out)).paragraphs[-4]
    assert closing.text.startswith("欢迎广大干部群众") and closing.paragraph_format.keep_with_next
    internal = tmp_path / "internal.docx"
    assert main(["report", "--round", "第一轮", "--out", str(internal)], clock=clock) == 0
    assert "本报告按规定时限（2026年11月30日前）报送。" in paragraphs(internal)[2]
    late = FakeClock(datetime(2026, 12, 3, 1, 0, tzinfo=UTC))
    assert main(["report", "--round", "第一轮", "--out", str(internal)], clock=late) == 0
    assert "本报告应于2026年11月30日前报送，逾期3天报送。" in paragraphs(internal)[2]
