"""The operator's commands, run through main() as a shell would, on a real SQLite file."""

import os
from datetime import UTC, date, datetime

import pytest

from cli.main import main
from ledger.clock import FakeClock
from tests.factories import task_row, write_xlsx

CLOCK = FakeClock(datetime(2026, 11, 2, 1, 0, tzinfo=UTC))


@pytest.fixture
def db(monkeypatch, tmp_path, database_url):
    monkeypatch.setenv("LEDGERBOT_DATABASE_URL", database_url)
    monkeypatch.setenv("LEDGERBOT_TELEGRAM__BOT_USERNAME", "zg_bot")
    return tmp_path


def run(*argv):
    return main(list(argv), clock=CLOCK)


def test_import_tasks_invite(db, capsys):
    rows = [task_row(1, date(2026, 11, 1)), task_row(2, "2026-11-30", "孙丽")]
    sheet = write_xlsx(db / "l.xlsx", rows)
    assert run("import", str(sheet), "--round", "第一轮") == 0
    out = capsys.readouterr().out
    assert "新增 2 项" in out and "待邀请的新人员" in out and "孙丽" in out
    assert run("tasks", "--overdue") == 0
    out = capsys.readouterr().out
    assert "#1" in out and "🔴" in out and "已逾期1天" in out and "#2" not in out
    assert run("tasks", "--owner", "孙丽") == 0
    assert "#2" in capsys.readouterr().out
    assert run("invite", "孙丽", "--role", "leader") == 0
    out = capsys.readouterr().out
    assert "https://t.me/zg_bot?start=" in out and "责任领导" in out
    assert run("officials") == 0
    assert "待邀请" in capsys.readouterr().out


def test_errors_go_to_stderr_with_nonzero_exit(db, capsys):
    bad = write_xlsx(db / "bad.xlsx", [task_row(1, "明天")])
    assert run("import", str(bad), "--round", "R") == 1
    err = capsys.readouterr().err
    assert "第2行 [整改时限]" in err and "明天" in err
    assert run("invite", "无此人") == 1
    assert "找不到人员" in capsys.readouterr().err
    assert run("import", str(db / "missing.xlsx"), "--round", "R") == 1
    assert "找不到文件" in capsys.readouterr().err


def test_bad_setting_stops_startup(db, monkeypatch, capsys):
    monkeypatch.setenv("LEDGERBOT_TIMEZONE", "Mars/Base")
    assert run("tasks") == 2
    assert "LEDGERBOT_TIMEZONE" in capsys.readouterr().err


@pytest.mark.sqlite_only
def test_database_file_is_owner_only(db):
    assert run("init") == 0
    assert (db / "ledger.db").stat().st_mode & 0o077 == 0


def test_run_webhook_without_token_names_the_setting(db, capsys):
    assert run("run", "--webhook") == 2
    err = capsys.readouterr().err
    assert "LEDGERBOT_TELEGRAM__TOKEN" in err


def test_report_and_archive_commands(db, capsys):
    sheet = write_xlsx(db / "l.xlsx", [task_row(1, "2026-12-31"), task_row(2, "长期坚持", "孙丽")])
    assert run("import", str(sheet), "--round", "第一轮", "--group", "区委第二巡察组") == 0
    assert run("report", "--round", "第一轮", "--out", str(db / "r.docx")) == 0
    assert "完成率0.0%" in capsys.readouterr().out and (db / "r.docx").stat().st_size > 0
    assert run("report", "--round", "第一轮", "--out", str(db / "p.docx"), "--public") == 0
    assert run("archive", "--round", "第一轮", "--out", str(db / "a.zip")) == 0
    assert "已归档 0 个佐证文件" in capsys.readouterr().out
    assert run("report", "--round", "第九轮", "--out", str(db / "x.docx")) == 1
    assert "第九轮" in capsys.readouterr().err


def test_sweep_prints_each_notice_with_its_task(db, capsys):
    # deadline in 10 days: a reminder to the owner and the leader, inserted set-based with
    # only its stage; the printout must still name the task as the message will
    sheet = write_xlsx(db / "l.xlsx", [task_row(1, "2026-11-12", title="规范执法文书制作")])
    assert run("import", str(sheet), "--round", "R") == 0
    capsys.readouterr()
    assert run("sweep", "--dry-run") == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("→ 赵磊")]
    assert lines == ["→ 赵磊：🟡 #1（序号1）规范执法文书制作"], out
    assert "还剩10天" in out and "#None" not in out


def test_sweep_at_a_future_instant_is_refused_unless_dry_run(db, capsys):
    from sqlmodel import Session, func, select

    from ledger.db import make_engine
    from ledger.models import Outbox, SweepRun

    sheet = write_xlsx(db / "l.xlsx", [task_row(1, "2027-05-20"), task_row(2, "2026-11-12")])
    assert run("import", str(sheet), "--round", "R") == 0
    capsys.readouterr()
    assert run("sweep", "--at", "2027-06-01T09:00+08:00") == 2
    err = capsys.readouterr().err
    assert "拒绝按未来的时间" in err and "--dry-run" in err
    assert run("sweep", "--at", "2027-06-01T09:00+08:00", "--dry-run") == 0
    out = capsys.readouterr().out
    assert "[试运行，未写入]" in out and "逾期" in out  # what June would bring, printed
    engine = make_engine(os.environ["LEDGERBOT_DATABASE_URL"])
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Outbox)).one() == 0
        assert session.exec(select(func.count()).select_from(SweepRun)).one() == 0
    engine.dispose()
    assert run("sweep") == 0  # today's sweep is not blocked by the preview
    out = capsys.readouterr().out
    assert "→ 赵磊" in out and "还剩10天" in out
    assert run("sweep", "--at", "2026-10-30T09:00+08:00") == 0  # a missed slot, in the past


def test_init_writes_an_owner_only_web_key_once(db, capsys, tmp_path):
    import config.settings

    path = config.settings.DEFAULT_WEB_SECRET_FILE
    assert run("init") == 0
    assert "已生成网页签名密钥" in capsys.readouterr().out
    key = path.read_text(encoding="utf-8")
    assert path.stat().st_mode & 0o077 == 0 and len(key.strip()) >= 32
    assert run("init") == 0  # a key that exists is kept
    assert "网页签名密钥已设置" in capsys.readouterr().out and path.read_text() == key


def test_weblink_prints_a_sign_in_link(db, capsys):
    sheet = write_xlsx(db / "l.xlsx", [task_row(1, "2026-12-31")])
    assert run("init") == 0
    assert run("import", str(sheet), "--round", "第一轮") == 0
    capsys.readouterr()
    assert run("weblink", "陈静") == 0
    out = capsys.readouterr().out
    assert "一次有效" in out and "http://127.0.0.1:8080/signin/s." in out
    assert run("weblink", "无此人") == 1
    assert "无此人" in capsys.readouterr().err
