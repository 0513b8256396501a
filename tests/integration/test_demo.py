"""The README's main-job command: the sample ledger and its simulated period, in Chinese."""

from cli.main import main


def test_demo_runs_the_period_and_prints_the_journey(capsys):
    assert main(["demo", "--days", "45"]) == 0
    out = capsys.readouterr().out
    assert "新增 10 项" in out and "6个方面10个具体问题" in out
    for phrase in (
        "【逾期提醒】",
        "【督办】",
        "【提交销号】",
        "【已销号】",
        "【退回】",
        "【延期申请】",
        "【延期已批准】",
        "【一周一调度】",
        "【长期坚持·月度报告】",
    ):
        assert phrase in out, phrase
    assert "== 模拟结束 ==" in out
