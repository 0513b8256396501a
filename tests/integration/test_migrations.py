"""Migrations: up, down and up again, and the migrated schema equals the models (both databases)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

from ledger.db import make_engine
from ledger.migrate import current_revision, downgrade, head_revision, upgrade


def tables(engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}


def plain_insert(connection, table: str, **values) -> int | None:
    """A row as an old schema holds it (the models describe only the newest): the columns
    given, every other required one filled with an empty value of its type."""
    from datetime import datetime

    columns = sa.inspect(connection).get_columns(table)
    for column in columns:
        if column["name"] in values or column["nullable"] or column["name"] == "id":
            continue
        python = column["type"].python_type
        empty = {str: "", int: 0, bool: False, dict: {}}.get(python)
        values[column["name"]] = datetime(2026, 11, 2, 1, 0) if empty is None else empty
    shape = sa.table(table, *(sa.column(c["name"], c["type"]) for c in columns))
    if "id" not in {c["name"] for c in columns}:
        connection.execute(shape.insert().values(**values))
        return None
    result = connection.execute(shape.insert().values(**values).returning(sa.column("id")))
    return int(result.scalar_one())


def test_stairway_up_down_up(database_url):
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        assert tables(engine) == set(SQLModel.metadata.tables)
        downgrade(engine, "base")
        assert tables(engine) == set() and current_revision(engine) is None
        upgrade(engine)
        assert tables(engine) == set(SQLModel.metadata.tables)
    finally:
        engine.dispose()


def test_migrated_schema_matches_the_models(database_url):
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, SQLModel.metadata)
        assert differences == []
    finally:
        engine.dispose()


def test_processes_starting_together_migrate_once(database_url):
    import threading

    engines = [make_engine(database_url) for _ in range(3)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def start(engine):
        try:
            barrier.wait()
            upgrade(engine)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        assert current_revision(engines[0]) == head_revision()
    finally:
        for engine in engines:
            engine.dispose()


def test_notice_key_migration_keeps_what_was_queued(database_url, settings, tmp_path):
    """0003 moves the outbox's key from text to columns: rows queued before it still stop the
    same notice being queued again, and rows the columns cannot tell apart survive."""
    from datetime import date

    from sqlmodel import Session, select

    from ledger.models import Outbox
    from ledger.outbox import insert_ignore, outbox_row
    from tests.conftest import SHANGHAI_9AM_UTC as NOW

    engine = make_engine(database_url)
    try:
        upgrade(engine, "0002")
        with engine.begin() as connection:
            round_id = plain_insert(connection, "round", name="第一轮")
            aspect_id = plain_insert(connection, "aspect", round_id=round_id, number=1, title="一")
            problem_id = plain_insert(connection, "problem", aspect_id=aspect_id, title="1")
            owner_id = plain_insert(connection, "official", name="赵磊", reachable=True)
            task_id = plain_insert(
                connection,
                "task",
                round_id=round_id,
                problem_id=problem_id,
                ref="1",
                title="任务",
                kind="deadline",
                role="lead",
                status="in_progress",
                deadline=date(2026, 12, 2),
            )
        with Session(engine) as session:
            old = {
                "channel": "telegram",
                "recipient_id": owner_id,
                "task_id": task_id,
                "urgency": 0,
                "text_key": "",
                "params": {},
                "not_before": NOW,
                "status": "sent",
                "attempts": 0,
                "last_error": "",
                "claimed_by": "",
                "created_at": NOW,
            }

            added_later = {"parts_sent", "failing_since"}  # by 0004: not in this schema yet
            table = sa.table(
                "outbox",
                *(
                    sa.column(c.name, c.type)
                    for c in Outbox.__table__.c
                    if c.name not in added_later
                ),
            )
            session.execute(
                table.insert(),
                [
                    {
                        **old,
                        "kind": "reminder",
                        "family": "reminder",
                        "stage": "before:x:10",
                        "dedupe_key": f"reminder:{task_id}:{owner_id}:before:x:10",
                    },
                    {
                        **old,
                        "kind": "prompt",
                        "family": "prompt",
                        "stage": "",
                        "dedupe_key": "prompt:7:1",
                        "chat_id": 7,
                        "sent_message_id": 1,
                    },
                    {
                        **old,
                        "kind": "prompt",
                        "family": "prompt",
                        "stage": "",
                        "dedupe_key": "prompt:7:2",
                        "chat_id": 7,
                        "sent_message_id": 2,
                    },
                    {
                        **old,
                        "recipient_id": None,
                        "task_id": None,
                        "kind": "weekly_digest",
                        "family": "weekly_digest",
                        "stage": "2026-W45",
                        "dedupe_key": "wd:chat7",
                    },
                ],
            )
            session.commit()
        upgrade(engine)
        with Session(engine) as session:
            rows = session.exec(select(Outbox).order_by(Outbox.id)).all()
            assert [(r.kind, r.dedupe_key) for r in rows] == [
                ("reminder", ""),
                ("prompt", ""),
                ("prompt", ""),
                ("weekly_digest", "wd:chat7"),
            ]
            assert rows[1].stage != rows[2].stage  # told apart by their ids
            again = dict(
                kind="reminder",
                text_key="",
                not_before=NOW,
                now=NOW,
                dedupe_key="new",
                recipient_id=owner_id,
                task_id=task_id,
                stage="before:x:10",
            )
            digest = dict(
                kind="weekly_digest",
                text_key="",
                not_before=NOW,
                now=NOW,
                dedupe_key="wd:chat7",
                stage="2026-W45",
            )
            assert insert_ignore(session, [outbox_row(**again), outbox_row(**digest)]) == 0
            next_stage = outbox_row(**{**again, "stage": "before:x:3"})
            assert insert_ignore(session, [next_stage]) == 1
            session.commit()
        downgrade(engine, "0002")
        with Session(engine) as session:
            keys = session.exec(select(Outbox.dedupe_key)).all()
            assert "" not in keys and len(set(keys)) == len(keys) == 5
    finally:
        engine.dispose()


def test_contacts_migration_moves_bound_accounts_and_their_reachability(database_url):
    """0007 turns a bound person's Telegram account into their telegram contact, keeping
    whether they can be reached; unbound people get none."""
    from datetime import datetime

    engine = make_engine(database_url)
    at = datetime(2026, 11, 2, 1, 0)
    try:
        upgrade(engine, "0006_i16_web")
        people = [
            (1, "赵磊", 9_000_000_001, True, at),
            (2, "孙丽", 77, False, at),
            (3, "陈静", None, True, None),
        ]
        with engine.begin() as connection:
            for id_, name, telegram, reachable, bound_at in people:
                plain_insert(
                    connection,
                    "official",
                    id=id_,
                    name=name,
                    role="owner",
                    language="zh",
                    telegram_user_id=telegram,
                    chat_id=telegram,
                    reachable=reachable,
                    bound_at=bound_at,
                )
        with engine.begin() as connection:
            plain_insert(connection, "group_subscription", chat_id=-100123, title="领导小组")
            sent = {"status": "sent", "channel": "telegram", "params": {}}
            plain_insert(
                connection,
                "outbox",
                **sent,
                recipient_id=1,
                kind="nudge",
                text_key="notice.nudge",
                dedupe_key="n1",
                chat_id=9_000_000_001,
                sent_message_id=55,
            )
            plain_insert(  # a prompt marker: it only threads replies
                connection,
                "outbox",
                **{**sent, "params": {"action": "extend"}},
                recipient_id=2,
                kind="prompt",
                dedupe_key="prompt:77:56",
                chat_id=77,
                sent_message_id=56,
            )
            waiting = {"status": "pending", "channel": "telegram", "params": {}}
            plain_insert(
                connection,
                "outbox",
                **waiting,
                kind="weekly_digest",
                dedupe_key="wd",
                chat_id=-100123,
            )
            plain_insert(
                connection, "outbox", **waiting, recipient_id=3, kind="nudge", dedupe_key="n3"
            )
        upgrade(engine)
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT official_id, channel, address, reachable, bound_at FROM contact"
                    " ORDER BY official_id"
                )
            ).all()
            threads = connection.execute(
                sa.text(
                    "SELECT channel, address, message_id, outbox_id IS NOT NULL, kind, params"
                    " FROM sent_message ORDER BY message_id"
                )
            ).all()
            outbox = connection.execute(
                sa.text("SELECT kind, channel, group_id FROM outbox ORDER BY id")
            ).all()
            groups = connection.execute(
                sa.text("SELECT id, channel, address FROM group_subscription")
            ).all()
        assert [tuple(r[:4]) for r in rows] == [
            (1, "telegram", "9000000001", True),
            (2, "telegram", "77", False),
        ]
        assert all(r[4] is not None for r in rows)
        # replies still find what they answer; the prompt marker left the outbox
        assert [tuple(t[:5]) for t in threads] == [
            ("telegram", "9000000001", "55", True, "nudge"),
            ("telegram", "77", "56", False, "prompt"),
        ]
        assert "extend" in str(threads[1][5])
        assert [tuple(g[1:]) for g in groups] == [("telegram", "-100123")]
        assert outbox == [
            ("nudge", "telegram", None),
            ("weekly_digest", "telegram", groups[0][0]),  # the group's row names the group
            ("nudge", None, None),  # 陈静 has no contact: routed when she binds
        ]
        downgrade(engine, "0006_i16_web")
        upgrade(engine)
    finally:
        engine.dispose()
