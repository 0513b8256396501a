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

    from ledger.models import Official, Outbox, Task
    from ledger.outbox import insert_ignore, outbox_row
    from tests.conftest import SHANGHAI_9AM_UTC as NOW
    from tests.factories import build_ledger

    engine = make_engine(database_url)
    try:
        upgrade(engine, "0002")
        with Session(engine) as session:
            build_ledger(session, settings, NOW, tmp_path, today=date(2026, 11, 2))
            task = session.exec(select(Task).where(Task.ref == "1")).one()
            owner = session.exec(select(Official).where(Official.name == "赵磊")).one()
            task_id, owner_id = task.id, owner.id
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
                chat_id=7,
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
    """0006 turns a bound person's Telegram account into their telegram contact, keeping
    whether they can be reached; unbound people get none."""
    from datetime import datetime

    engine = make_engine(database_url)
    at = datetime(2026, 11, 2, 1, 0)
    try:
        upgrade(engine, "0004_i15_delivery")
        official = sa.table(
            "official",
            *(
                sa.column(n)
                for n in ["id", "name", "unit", "title", "role", "language", "telegram_user_id", "chat_id", "reachable", "bound_at", "created_at"]
            ),
        )
        base = {"unit": "", "title": "", "role": "owner", "language": "zh", "created_at": at}
        with engine.begin() as connection:
            connection.execute(
                official.insert(),
                [
                    {
                        **base,
                        "id": 1,
                        "name": "赵磊",
                        "telegram_user_id": 9_000_000_001,
                        "chat_id": 9_000_000_001,
                        "reachable": True,
                        "bound_at": at,
                    },
                    {
                        **base,
                        "id": 2,
                        "name": "孙丽",
                        "telegram_user_id": 77,
                        "chat_id": 77,
                        "reachable": False,
                        "bound_at": at,
                    },
                    {
                        **base,
                        "id": 3,
                        "name": "陈静",
                        "telegram_user_id": None,
                        "chat_id": None,
                        "reachable": True,
                        "bound_at": None,
                    },
                ],
            )
        upgrade(engine)
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT official_id, channel, address, reachable, bound_at FROM contact"
                    " ORDER BY official_id"
                )
            ).all()
        assert [tuple(r[:4]) for r in rows] == [
            (1, "telegram", "9000000001", True),
            (2, "telegram", "77", False),
        ]
        assert all(r[4] is not None for r in rows)
        downgrade(engine, "0004_i15_delivery")
        upgrade(engine)
    finally:
        engine.dispose()
