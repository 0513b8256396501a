"""Random and hostile input: it imports or fails with a row/column error, and writes nothing."""

from __future__ import annotations

import io
import random
import zipfile
from datetime import date, datetime

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from openpyxl import Workbook
from sqlmodel import Session, func, select

from ledger.dates import parse_date
from ledger.errors import ImportFailed
from ledger.importer import RoundOptions, import_file
from ledger.models import AuditEvent, Official, Task
from tests.conftest import SHANGHAI_9AM_UTC
from tests.factories import HEADERS, cli_ctx

SLOW = hsettings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@given(
    st.one_of(
        st.text(max_size=40),
        st.integers(),
        st.floats(allow_nan=True),
        st.datetimes(),
        st.dates(),
        st.none(),
        st.booleans(),
    )
)
@hsettings(max_examples=400, deadline=None)
def test_parse_date_returns_a_date_or_raises_value_error(value):
    try:
        result = parse_date(value)
    except ValueError:
        return
    assert isinstance(result, date) and not isinstance(result, datetime)


@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
    st.sampled_from(["{y}-{m:02d}-{d:02d}", "{y}/{m}/{d}", "{y}.{m}.{d}", "{y}年{m}月{d}日"]),
)
def test_every_written_form_parses_back(day, form):
    assert parse_date(form.format(y=day.year, m=day.month, d=day.day)) == day


# characters a real xlsx can hold (openpyxl refuses control characters when writing)
sheet_text = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=30)
cell = st.one_of(
    st.none(),
    sheet_text,
    st.integers(-5, 100_000),
    st.dates(min_value=date(2000, 1, 1), max_value=date(2050, 1, 1)),
    st.sampled_from(
        [
            "长期坚持",
            "立行立改",
            "限期整改",
            "推进中",
            "赵磊、孙丽",
            "（一）方面",
            "1、问题",
            "2026年2月30日",
            "2026年2月底",
            "",
        ]
    ),
)


@SLOW
@given(
    rows=st.lists(
        st.lists(cell, min_size=len(HEADERS), max_size=len(HEADERS)), min_size=1, max_size=8
    )
)
def test_random_sheets_import_or_fail_cleanly(engine, settings, tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("fuzz") / "random.xlsx"
    workbook = Workbook()
    workbook.active.append(HEADERS)
    for row in rows:
        workbook.active.append(row)
    workbook.save(path)
    with Session(engine) as session:
        before = {
            m: session.exec(select(func.count()).select_from(m)).one()
            for m in (Task, Official, AuditEvent)
        }
        try:
            import_file(
                cli_ctx(session, settings, SHANGHAI_9AM_UTC),
                path,
                RoundOptions(name="随机", feedback_date=date(2026, 1, 1)),
            )
        except ImportFailed as failure:
            session.rollback()
            assert failure.errors and all(e.column and e.message for e in failure.errors)
            assert "第0行" not in str(failure)
            after = {
                m: session.exec(select(func.count()).select_from(m)).one()
                for m in (Task, Official, AuditEvent)
            }
            assert after == before  # nothing written
        else:
            session.rollback()


def corrupt_variants(seed: int) -> list[bytes]:
    buffer = io.BytesIO()
    workbook = Workbook()
    workbook.active.append(HEADERS)
    workbook.active.append(
        [
            1,
            "（一）方面",
            "1、问题",
            "任务",
            "",
            "",
            "李明",
            "办公室",
            "赵磊",
            "陈静",
            "2026-12-31",
            "",
        ]
    )
    workbook.save(buffer)
    good = buffer.getvalue()
    rng = random.Random(seed)
    variants = [b"", b"not a zip at all", good[: len(good) // 2]]
    for _ in range(12):
        damaged = bytearray(good)
        for _ in range(rng.randint(1, 40)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        variants.append(bytes(damaged))
    # a valid zip whose XML parts are garbage
    rebuilt = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as source, zipfile.ZipFile(rebuilt, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            target.writestr(
                item, data[: len(data) // 3] if item.filename.endswith(".xml") else data
            )
    variants.append(rebuilt.getvalue())
    return variants


def test_corrupt_xlsx_files_are_refused_with_a_clear_error(session, settings, tmp_path):
    for n, blob in enumerate(corrupt_variants(2026)):
        path = tmp_path / f"corrupt{n}.xlsx"
        path.write_bytes(blob)
        try:
            import_file(
                cli_ctx(session, settings, SHANGHAI_9AM_UTC), path, RoundOptions(name="坏文件")
            )
        except ImportFailed as failure:
            session.rollback()
            assert str(failure)  # says what is wrong
        else:
            session.rollback()  # some damage leaves a readable workbook: that is fine too
        assert session.exec(select(func.count()).select_from(Task)).one() in (0, 1)
        for task in session.exec(select(Task)).all():  # a readable one imported fully, once
            assert task.ref == "1"
