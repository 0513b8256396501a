from datetime import date, datetime

import pytest

from ledger.dates import parse_date
from ledger.numbering import aspect_label, chinese_numeral, split_aspect, split_problem


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2023-01-31", date(2023, 1, 31)),
        ("2023/1/31", date(2023, 1, 31)),
        ("2023.1.31", date(2023, 1, 31)),
        ("2023年1月31日", date(2023, 1, 31)),
        ("2023年1月底", date(2023, 1, 31)),
        ("2024年2月底", date(2024, 2, 29)),
        ("2023年2月末", date(2023, 2, 28)),
        ("２０２３年３月１日", date(2023, 3, 1)),
        (" 2023 年 3 月 1 日 ", date(2023, 3, 1)),
        (datetime(2023, 1, 31, 0, 0), date(2023, 1, 31)),
        (44957, date(2023, 1, 31)),  # an Excel serial
    ],
)
def test_date_forms(value, expected):
    assert parse_date(value) == expected


@pytest.mark.parametrize("value", ["2023-02-30", "2023年13月底", "明年", "", "31/01/2023"])
def test_bad_dates_raise(value):
    with pytest.raises(ValueError):
        parse_date(value)


def test_numbering_past_ten():
    assert [chinese_numeral(n) for n in (1, 9, 10, 11, 12, 20, 21)] == [
        "一",
        "九",
        "十",
        "十一",
        "十二",
        "二十",
        "二十一",
    ]
    assert aspect_label(11) == "(十一)"
    assert split_aspect("（十二）问题整改不到位") == (12, "问题整改不到位")
    assert split_aspect("没有编号") == (None, "没有编号")
    assert split_problem("3、工业旅游推进缓慢") == (3, "工业旅游推进缓慢")
