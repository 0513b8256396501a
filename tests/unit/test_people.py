"""One person is one official, with a unit, a title, a role and contacts (issue #12)."""

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from cli.main import main
from ledger.clock import FakeClock
from ledger.db import make_engine
from ledger.enums import Duty, OfficialRole
from ledger.importer import RoundOptions, import_file
from ledger.migrate import upgrade
from ledger.models import Official, Task, TaskPerson
from ledger.names import clean_name, split_name_title
from tests.conftest import SHANGHAI_9AM_UTC
from tests.factories import cli_ctx, task_row, telegram_id, write_xlsx

NOW = SHANGHAI_9AM_UTC
CLOCK = FakeClock(datetime(2026, 11, 2, 1, 0, tzinfo=UTC))


@pytest.mark.parametrize(
    ("typed", "name", "title"),
    [
        (
            "刘　倩",
            "刘倩",
            "",
        ),  # padded with a full-width space, as offices type two-character names
        (" 陈 静 ", "陈静", ""),
        ("孙明（股长）", "孙明", "股长"),
        ("孙明(股长)", "孙明", "股长"),
        ("赵\u200b磊", "赵磊", ""),  # a zero-width space pasted from a chat
        ("\ufeff李\u202e明\x07", "李明", ""),  # BOM, a bidi override, a control character
        ("ＺＨＡＮＧ  Wei", "ZHANG Wei", ""),
    ],
)
def test_names_as_typed_are_one_person(typed, name, title):
    assert split_name_title(typed) == (name, title)
    assert clean_name(name) == name


def test_a_sheet_with_spaced_and_titled_names_creates_one_official_each(
    session, settings, tmp_path
):
    rows = [
        task_row(1, "2026-12-31", "刘　倩", supervisor="孙明（股长）"),
        task_row(2, "2026-12-31", "刘倩", supervisor="孙明"),
        task_row(3, "2026-12-31", "陈 静、刘\u200b倩", supervisor="孙明"),
    ]
    summary = import_file(
        cli_ctx(session, settings, NOW),
        write_xlsx(tmp_path / "l.xlsx", rows),
        RoundOptions(name="第一轮"),
    )
    session.commit()
    names = sorted(o.name for o in session.exec(select(Official)))
    assert names == sorted(["刘倩", "陈静", "孙明", "李明"])
    assert sorted(summary.new_officials) == names
    sun = session.exec(select(Official).where(Official.name == "孙明")).one()
    assert sun.title == "股长" and sun.role == OfficialRole.SUPERVISOR
    # the same sheet again changes nothing: the names are the same people
    again = import_file(
        cli_ctx(session, settings, NOW),
        write_xlsx(tmp_path / "l.xlsx", rows),
        RoundOptions(name="第一轮"),
    )
    assert not again.changed and again.unchanged == 3


def test_migration_merges_duplicates_keeping_tasks_bindings_and_audit(database_url):
    engine = make_engine(database_url)
    try:
        upgrade(engine, "0003")
        at = datetime(2026, 11, 1, 1, 0)
        with engine.begin() as db:
            insert_official = sa.text(
                "INSERT INTO official (id, name, unit, title, role, language, telegram_user_id, "
                "chat_id, reachable, created_at) VALUES (:id, :name, '', '', :role, 'zh', :tg, "
                ":tg, true, :at)"
            )
            for id_, name, role, tg in [
                (1, "刘倩", "owner", None),
                (2, "刘　倩", "owner", 777),  # the bound one: kept
                (3, "孙明(股长)", "supervisor", None),
                (4, "孙明", "supervisor", None),
                (5, "陈静", "owner", None),
            ]:
                db.execute(
                    insert_official, {"id": id_, "name": name, "role": role, "tg": tg, "at": at}
                )
            db.execute(
                sa.text(
                    "INSERT INTO round (id, name, inspected_unit, inspection_group, created_at) "
                    "VALUES (1, 'R', '', '', :at)"
                ),
                {"at": at},
            )
            db.execute(
                sa.text("INSERT INTO aspect (id, round_id, number, title) VALUES (1, 1, 1, 'A')")
            )
            db.execute(
                sa.text(
                    "INSERT INTO problem (id, aspect_id, number, position, title) VALUES (1, 1, 1, 0, 'P')"
                )
            )
            for task_id in (1, 2):
                db.execute(
                    sa.text(
                        "INSERT INTO task (id, round_id, problem_id, ref, position, title, measures, "
                        "target, kind, role, lead_unit, participating_units, status, "
                        "completion_note, closing_opinion, escalation_level, notes, created_at, "
                        "updated_at) VALUES (:id, 1, 1, :ref, 0, 'T', '', '', 'deadline', 'lead', "
                        "'', '', 'in_progress', '', '', 0, '', :at, :at)"
                    ),
                    {"id": task_id, "ref": str(task_id), "at": at},
                )
            links = [
                (1, 1, "owner"),
                (1, 2, "owner"),
                (2, 1, "owner"),
                (1, 3, "supervisor"),
                (2, 4, "supervisor"),
            ]
            for task_id, official_id, duty in links:
                db.execute(
                    sa.text("INSERT INTO task_person VALUES (:t, :o, :d, 0)"),
                    {"t": task_id, "o": official_id, "d": duty},
                )
            db.execute(
                sa.text(
                    "INSERT INTO audit_event (at, actor_id, actor_name, via, action, task_id, "
                    "official_id) VALUES (:at, 1, '刘倩', 'telegram', 'progress', 1, 1)"
                ),
                {"at": at},
            )
        upgrade(engine)
        with Session(engine) as session:
            people = {o.name: o for o in session.exec(select(Official))}
            assert sorted(people) == ["刘倩", "孙明", "陈静"]
            liu, sun = people["刘倩"], people["孙明"]
            assert liu.id == 2 and telegram_id(session, liu) == 777  # the binding kept
            assert sun.title == "股长"
            owners = session.exec(select(TaskPerson).where(TaskPerson.duty == Duty.OWNER)).all()
            assert sorted((p.task_id, p.official_id) for p in owners) == [(1, 2), (2, 2)]
            supervisors = session.exec(
                select(TaskPerson).where(TaskPerson.duty == Duty.SUPERVISOR)
            ).all()
            assert {p.official_id for p in supervisors} == {sun.id}
            event = session.execute(sa.text("SELECT actor_id, official_id FROM audit_event")).one()
            assert tuple(event) == (2, 2)
            assert len(session.exec(select(Task)).all()) == 2
    finally:
        engine.dispose()


@pytest.fixture
def db(monkeypatch, tmp_path, database_url):
    monkeypatch.setenv("LEDGERBOT_DATABASE_URL", database_url)
    return tmp_path


def run(*argv):
    return main(list(argv), clock=CLOCK)


def test_officials_set_creates_and_updates_a_head_with_unit_and_contacts(db, capsys):
    assert (
        run(
            "officials",
            "set",
            "王　建国",
            "--unit",
            "区文旅局",
            "--title",
            "局长",
            "--role",
            "head",
        )
        == 0
    )
    assert "新增人员 王建国（主要负责人）" in capsys.readouterr().out
    assert (
        run(
            "officials", "set", "王建国", "--mobile", "13800000000", "--email", "wjg@example.gov.cn"
        )
        == 0
    )
    assert "手机号 （空） → 13800000000" in capsys.readouterr().out
    assert run("officials", "set", "王建国", "--role", "supervisor") == 0
    assert "角色 主要负责人 → 督办人" in capsys.readouterr().out
    assert run("officials", "set", "王建国", "--role", "head") == 0
    capsys.readouterr()
    assert run("officials") == 0
    out = capsys.readouterr().out
    for text in (
        "姓名",
        "单位",
        "职务",
        "角色",
        "手机号",
        "邮箱",
        "区文旅局",
        "局长",
        "主要负责人",
        "13800000000",
        "wjg@example.gov.cn",
    ):
        assert text in out
    assert run("officials", "set", "王建国", "--email", "not-an-email") == 1
    assert "邮箱“not-an-email”格式不对" in capsys.readouterr().err


def test_officials_import_is_all_or_nothing_with_row_numbers(db, capsys):
    from openpyxl import Workbook

    def sheet(path, rows):
        book = Workbook()
        book.active.append(["人员名单"])
        book.active.append(["姓名", "单位", "职务", "角色", "手机号", "邮箱"])
        for row in rows:
            book.active.append(row)
        book.save(path)
        return str(path)

    bad = sheet(
        db / "bad.xlsx",
        [
            ["赵磊", "办公室", "主任", "责任人", 13900000000, "zl@example.gov.cn"],
            ["孙丽", "产业股", "", "局长", "", ""],
            ["赵 磊", "办公室", "", "", "", ""],
            ["陈静", "", "", "", "138-0000", "chen@"],
        ],
    )
    assert run("officials", "import", bad) == 1
    err = capsys.readouterr().err
    assert "第4行 [角色]: 未知的角色“局长”" in err
    assert "第5行 [姓名]: “赵磊”重复（与第3行相同）" in err
    assert "第6行 [邮箱]" in err and "未写入任何数据" in err
    assert run("officials") == 0
    assert "还没有人员" in capsys.readouterr().out
    good = sheet(
        db / "good.xlsx",
        [
            ["赵磊", "办公室", "主任", "责任人", 13900000000, "zl@example.gov.cn"],
            ["王建国（局长）", "区文旅局", "", "主要负责人", "", ""],
        ],
    )
    assert run("officials", "import", good) == 0
    assert "新增 2 人" in capsys.readouterr().out
    assert run("officials") == 0
    out = capsys.readouterr().out
    assert "13900000000" in out and "局长" in out and "主要负责人" in out
