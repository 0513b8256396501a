"""`ledgerbot officials set …` and `ledgerbot groups …` as an operator types them."""

from datetime import date

from sqlmodel import Session, select

from ledger.db import make_engine
from ledger.enums import Channel
from ledger.models import AuditEvent, GroupSubscription
from tests.factories import task_row, write_xlsx
from tests.unit.test_cli import db, run  # noqa: F401  (the CLI on a real database)

WECOM_HOOK = (
    "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7aaa-4bc4-97a0-0ec2sifa5aaa"
)
DING_HOOK = "https://oapi.dingtalk.com/robot/send?access_token=b7d7c1f6e0a1c2d3e4f5"


def test_officials_set_shows_each_channel_and_the_one_in_use(db, capsys, monkeypatch):  # noqa: F811
    sheet = write_xlsx(db / "l.xlsx", [task_row(1, date(2026, 11, 30), "孙丽")])
    assert run("import", str(sheet), "--round", "第一轮") == 0
    capsys.readouterr()
    monkeypatch.setenv("LEDGERBOT_WECOM__CORP_ID", "ww-corp")
    monkeypatch.setenv("LEDGERBOT_EMAIL__SMTP_HOST", "mail.wl.local")
    assert (
        run(
            "officials",
            "set",
            "孙丽",
            "--wecom",
            "sunli",
            "--email",
            "sunli@wl.gov.cn",
            "--mobile",
            "138-0013-8000",
        )
        == 0
    )
    out = capsys.readouterr().out
    assert (
        "企业微信 sunli ✓" in out and "邮箱 sunli@wl.gov.cn ✓" in out and "手机 13800138000" in out
    )
    assert "在用 (in use)：企业微信" in out  # the order: telegram (not bound), then wecom
    assert run("officials", "set", "孙丽", "--prefer", "email") == 0
    assert "在用 (in use)：邮箱" in capsys.readouterr().out
    assert run("officials") == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("孙丽"))
    assert "企业微信 sunli" in line and line.rstrip().endswith("邮箱")
    monkeypatch.setenv("LEDGERBOT_DELIVERY__CHANNEL_ORDER", "wecom,telegram")
    assert run("officials") == 0  # email is not in the order: the preference cannot win
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("孙丽"))
    assert line.rstrip().endswith("企业微信")


def test_officials_set_refuses_bad_input_and_changes_nothing(db, capsys):  # noqa: F811
    sheet = write_xlsx(db / "l.xlsx", [task_row(1, date(2026, 11, 30), "孙丽")])
    assert run("import", str(sheet), "--round", "第一轮") == 0
    assert run("officials", "set", "孙丽", "--email", "sunli at wl") == 1
    assert "邮箱“sunli at wl”格式不对" in capsys.readouterr().err
    assert run("officials", "set", "孙丽", "--wecom", "sun li") == 1
    assert "wecom 地址“sun li”格式不对" in capsys.readouterr().err
    assert run("officials", "set", "孙丽", "--wecom", "sunli", "--prefer", "qq") == 1
    assert "--prefer 只能是" in capsys.readouterr().err
    assert run("officials") == 0
    assert "sunli" not in capsys.readouterr().out  # the valid --wecom was not kept either


def test_groups_add_list_remove(db, capsys):  # noqa: F811
    assert run("groups") == 0
    assert "还没有群" in capsys.readouterr().out
    assert run("groups", "add", "领导小组", "--wecom-webhook", WECOM_HOOK) == 0
    assert (
        run(
            "groups",
            "add",
            "督查室",
            "--dingtalk-webhook",
            DING_HOOK,
            "--dingtalk-secret",
            "SEC123",
        )
        == 0
    )
    capsys.readouterr()
    assert run("groups") == 0
    out = capsys.readouterr().out
    assert "领导小组" in out and "企业微信群机器人" in out and "key=693a…" in out
    assert "督查室" in out and "钉钉群机器人" in out and "是" in out
    assert "0ec2sifa5aaa" not in out and "SEC123" not in out  # credentials never shown whole
    assert (
        run(
            "groups",
            "add",
            "领导小组",
            "--feishu-webhook",
            "https://open.feishu.cn/open-apis/bot/v2/hook/abc",
        )
        == 1
    )
    assert "已有名为“领导小组”的群" in capsys.readouterr().err
    assert run("groups", "add", "错群", "--wecom-webhook", DING_HOOK) == 1
    assert "--wecom-webhook 不是该机器人的 Webhook 地址" in capsys.readouterr().err
    assert run("groups", "remove", "督查室") == 0
    assert run("groups", "remove", "督查室") == 1
    assert "找不到名为“督查室”的群" in capsys.readouterr().err


def test_groups_are_audited(db, capsys, database_url):  # noqa: F811
    assert run("groups", "add", "领导小组", "--wecom-webhook", WECOM_HOOK) == 0
    engine = make_engine(database_url)
    with Session(engine) as session:
        [group] = session.exec(select(GroupSubscription)).all()
        assert (group.channel, group.address) == (Channel.WECOM_ROBOT, WECOM_HOOK)
        [event] = session.exec(select(AuditEvent).where(AuditEvent.action == "group_add")).all()
        assert "0ec2sifa5aaa" not in str(event.after)
    engine.dispose()


def test_the_officials_sheet_carries_wecom_and_dingtalk_accounts(db, capsys, monkeypatch):  # noqa: F811
    sheet = db / "人员.csv"
    sheet.write_text(
        "姓名,单位,角色,手机号,邮箱,企业微信账号,钉钉账号\n"
        "孙丽,产业发展股,责任人,13800138000,sunli@wl.gov.cn,sunli,\n"
        "赵磊,办公室,督办人,,,,zhaolei01\n",
        encoding="utf-8",
    )
    assert run("officials", "import", str(sheet)) == 0
    capsys.readouterr()
    monkeypatch.setenv("LEDGERBOT_WECOM__CORP_ID", "ww-corp")
    monkeypatch.setenv("LEDGERBOT_DINGTALK__APP_KEY", "ding-key")
    assert run("officials") == 0
    lines = {x.split()[0]: x for x in capsys.readouterr().out.splitlines()[2:]}
    assert "企业微信 sunli ✓" in lines["孙丽"] and lines["孙丽"].rstrip().endswith("企业微信")
    assert "钉钉 zhaolei01 ✓" in lines["赵磊"] and lines["赵磊"].rstrip().endswith("钉钉")
    bad = db / "坏.csv"
    bad.write_text("姓名,企业微信账号\n孙丽,sun li\n", encoding="utf-8")
    assert run("officials", "import", str(bad)) == 1
    err = capsys.readouterr().err
    assert "第2行 [企业微信账号]" in err and "sun li" in err
