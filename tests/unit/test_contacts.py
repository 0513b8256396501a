"""Contacts: one address per channel, owned by one person, each change audited."""

from datetime import date

import pytest
from sqlmodel import select

from ledger.contacts import contacts_of, holder, route, set_contact
from ledger.enums import Channel
from ledger.errors import InvalidInput
from ledger.models import AuditEvent, Contact, Official
from tests.conftest import SHANGHAI_9AM_UTC as NOW
from tests.factories import build_ledger, cli_ctx


@pytest.fixture
def people(session, settings, tmp_path):
    build_ledger(session, settings, NOW, tmp_path, today=date(2026, 11, 2))
    return {o.name: o for o in session.exec(select(Official))}


def test_a_contact_per_channel_replaced_not_doubled_and_audited(session, settings, people):
    ctx = cli_ctx(session, settings, NOW)
    zhao = people["赵磊"]
    set_contact(ctx, zhao, Channel.EMAIL, " Zhao.Lei@Example.gov.cn ")
    set_contact(ctx, zhao, Channel.MOBILE, "139-1234-5678")
    set_contact(ctx, zhao, Channel.EMAIL, "zl@example.gov.cn")
    session.commit()
    assert [(c.channel, c.address) for c in contacts_of(session, zhao.id)] == [
        (Channel.EMAIL, "zl@example.gov.cn"),
        (Channel.MOBILE, "13912345678"),
    ]
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "contact")).all()
    assert [e.after["address"] for e in events] == [
        "zhao.lei@example.gov.cn",
        "13912345678",
        "zl@example.gov.cn",
    ]
    assert events[2].before["address"] == "zhao.lei@example.gov.cn"
    assert holder(session, Channel.MOBILE, "13912345678").name == "赵磊"


def test_an_address_of_someone_else_or_malformed_is_refused_and_changes_nothing(
    session, settings, people
):
    ctx = cli_ctx(session, settings, NOW)
    set_contact(ctx, people["赵磊"], Channel.WECOM, "zhaolei")
    session.commit()
    with pytest.raises(InvalidInput) as taken:
        set_contact(ctx, people["孙丽"], Channel.WECOM, "zhaolei")
    assert taken.value.key == "error.contact_taken" and taken.value.params["name"] == "赵磊"
    for channel, bad in [(Channel.EMAIL, "not-an-address"), (Channel.TELEGRAM, "@someone")]:
        with pytest.raises(InvalidInput) as malformed:
            set_contact(ctx, people["孙丽"], channel, bad)
        assert malformed.value.key == "error.contact_address"
    session.rollback()
    assert session.exec(select(Contact).where(Contact.official_id == people["孙丽"].id)).all() == []


def test_notices_are_routed_to_the_preferred_reachable_contact(session, settings, people):
    ctx = cli_ctx(session, settings, NOW)
    sun = people["孙丽"]
    assert route(session, sun.id) is None  # unbound
    set_contact(ctx, sun, Channel.TELEGRAM, "4242")
    set_contact(ctx, sun, Channel.EMAIL, "sunli@example.gov.cn")
    assert route(session, sun.id).channel == Channel.TELEGRAM  # Channel order without a preference
    set_contact(ctx, sun, Channel.EMAIL, "sunli@example.gov.cn", prefer=True)
    assert route(session, sun.id).channel == Channel.EMAIL
    email = route(session, sun.id)
    email.reachable = False
    assert route(session, sun.id).channel == Channel.TELEGRAM  # the preferred one is unreachable


def test_the_routes_table_routes_everyone_as_each_persons_own_route(session, settings, people):
    """A sweep queueing many rows joins `routes` (everyone at once) instead of one lookup a
    row: it must pick what `route` picks for each person, preference and reachability alike."""
    from ledger.contacts import routes

    ctx = cli_ctx(session, settings, NOW)
    names = sorted(people)
    a, b, c, d, e = (people[n] for n in names[:5])
    set_contact(ctx, a, Channel.TELEGRAM, "4242")
    set_contact(ctx, a, Channel.EMAIL, "a@example.gov.cn")  # telegram first, no preference
    set_contact(ctx, b, Channel.TELEGRAM, "4343")
    set_contact(ctx, b, Channel.DINGTALK, "b-ding", prefer=True)  # preferred over channel order
    set_contact(ctx, c, Channel.WECOM, "c-wecom", prefer=True)
    set_contact(ctx, c, Channel.EMAIL, "c@example.gov.cn")
    route(session, c.id).reachable = False  # the preferred one is blocked: email
    set_contact(ctx, d, Channel.MOBILE, "13912345678")  # a mobile only: nowhere
    set_contact(ctx, e, Channel.EMAIL, "e@example.gov.cn")
    session.flush()
    table = routes(session)
    found = dict(session.execute(select(table.c.official_id, table.c.channel)).all())
    expected = {}
    for person in (a, b, c, d, e):
        chosen = route(session, person.id)
        if chosen is not None:
            expected[person.id] = Channel(chosen.channel).value
    assert {k: v for k, v in found.items() if k in expected or k == d.id} == expected
    assert expected == {
        a.id: "telegram",
        b.id: "dingtalk",
        c.id: "email",
        e.id: "email",
    }


def _queue_nudge(session, settings, official):
    from ledger.outbox import notify

    notify(
        session,
        recipients=[official],
        kind="nudge",
        text_key="notice.nudge",
        now=NOW,
        zone=settings.zone,
        quiet=None,
        params={"task_id": 1, "title": "任务", "by": "陈静"},
    )
    session.flush()
    from ledger.models import Outbox

    return session.exec(select(Outbox).where(Outbox.recipient_id == official.id)).all()


def test_a_row_is_routed_when_queued_and_rerouted_when_contacts_change(session, settings, people):
    """Queued for someone unbound: no channel yet; binding routes it; a blocked contact moves
    it to another reachable one; with none left it waits where it was."""
    from ledger.contacts import mark_unreachable

    ctx = cli_ctx(session, settings, NOW)
    sun = people["孙丽"]
    [row] = _queue_nudge(session, settings, sun)
    assert row.channel is None
    set_contact(ctx, sun, Channel.TELEGRAM, "4242")
    session.refresh(row)
    assert row.channel == Channel.TELEGRAM
    set_contact(ctx, sun, Channel.EMAIL, "sunli@example.gov.cn", prefer=True)
    [_, second] = _queue_nudge(session, settings, sun)
    assert second.channel == Channel.EMAIL  # queued now: where she is preferred
    session.refresh(row)
    assert row.channel == Channel.EMAIL  # what waited follows her preference
    email = route(session, sun.id)
    mark_unreachable(ctx, email, "mailbox gone")
    session.refresh(row)
    assert row.channel == Channel.TELEGRAM
    mark_unreachable(ctx, route(session, sun.id), "blocked")
    session.refresh(row)
    assert row.channel == Channel.TELEGRAM and route(session, sun.id) is None  # waits there


def test_a_mobile_number_alone_does_not_make_a_person_reachable(session, settings, people):
    """A 手机号 serves robots' @-mentions: no notice is routed to it, so someone with only a
    mobile number stays unbound (listed in the digest as not yet reachable)."""
    ctx = cli_ctx(session, settings, NOW)
    sun = people["孙丽"]
    set_contact(ctx, sun, Channel.MOBILE, "13912345678")
    assert route(session, sun.id) is None
    [row] = _queue_nudge(session, settings, sun)
    assert row.channel is None
    set_contact(ctx, sun, Channel.EMAIL, "sunli@example.gov.cn")
    session.refresh(row)
    assert row.channel == Channel.EMAIL


def test_a_group_is_subscribed_once_and_only_by_supervisors_or_admins(session, settings, people):
    from ledger.errors import NotAllowed
    from ledger.groups import subscribe
    from ledger.models import GroupSubscription
    from tests.factories import as_official

    with pytest.raises(NotAllowed):
        subscribe(as_official(session, settings, NOW, "赵磊"), Channel.TELEGRAM, "-100123")
    chen = as_official(session, settings, NOW, "陈静")
    group, new = subscribe(chen, Channel.TELEGRAM, "-100123", title="领导小组")
    again, new_again = subscribe(chen, Channel.TELEGRAM, "-100123", title="领导小组")
    assert new and not new_again and again.id == group.id
    assert session.exec(select(GroupSubscription)).all() == [group]
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "subscribe")).one()


def test_the_officials_list_is_for_the_operator_and_admins(session, settings, people):
    from ledger import reads
    from ledger.errors import NotAllowed
    from tests.factories import as_official

    ctx = cli_ctx(session, settings, NOW)
    set_contact(ctx, people["赵磊"], Channel.TELEGRAM, "7001")
    views = {v.official.name: v for v in reads.officials(ctx)}
    assert views["赵磊"].bound and not views["孙丽"].bound
    assert reads.officials(as_official(session, settings, NOW, "管理员"))
    with pytest.raises(NotAllowed):
        reads.officials(as_official(session, settings, NOW, "陈静"))
