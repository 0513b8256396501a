"""The deadline sweep: decides what the ledger should say, and has the ledger write it.

Set-based: the stage of a task follows from its deadline, so the horizon's deadlines are worked
out in Python (working-day calendar) and each step is one INSERT … SELECT joining them
(`ledger.outbox.insert_from_select`, `ledger.audit.record_from_select`): the cost follows the
number of due items, not the size of the ledger, and no Python loop runs over tasks. Owners get
one notice per task; leaders, supervisors and heads one oversight notice per sweep listing their
tasks. Outbox rows carry a unique key (task, recipient, kind, stage), so running a sweep twice,
or in two processes at once, queues nothing twice.
"""

from __future__ import annotations

import json
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from jobs.oversight import escalation_told, insert_oversight, leaders_due_soon
from jobs.policy import SweepPolicy, before_stage, effective_days_left
from ledger.audit import record_from_select
from ledger.clock import as_utc
from ledger.contacts import routes
from ledger.context import Actor
from ledger.db import COMPOUND_LIMIT, literal_table, scratch
from ledger.digest import digest_figures, empty_figures, leader_figures, red_condition
from ledger.enums import OPEN_STATUSES, Duty, OfficialRole, OutboxStatus, TaskKind, TaskStatus, Via
from ledger.lights import traffic_light
from ledger.models import (
    Contact,
    GroupSubscription,
    Official,
    Outbox,
    ProgressReport,
    Round,
    SweepRun,
    Task,
    TaskPerson,
)
from ledger.notices import task_params
from ledger.outbox import (
    insert_from_select,
    insert_ignore,
    outbox_row,
    supervisors_by_task,
)
from ledger.workdays import provisional_notice

log = logging.getLogger(__name__)

OPEN = [s.value for s in OPEN_STATUSES]
SUPERSEDING_FAMILIES = ("reminder", "escalation", "long_term_request")
OUTBOX = Outbox.__table__  # type: ignore[attr-defined]
TASKS = Task.__table__  # type: ignore[attr-defined]
PEOPLE = TaskPerson.__table__  # type: ignore[attr-defined]


SCHEDULER = Actor(Via.SCHEDULER)

# the tasks one sweep raises (jobs/ owns it: the sweep's working set, not a ledger table)
RAISED = sa.Table(
    "sweep_raised",
    sa.MetaData(),
    sa.Column("task_id", sa.Integer, primary_key=True),
    sa.Column("lead_unit", sa.String),
    sa.Column("deadline", sa.Date),
    sa.Column("old", sa.Integer),
    sa.Column("new", sa.Integer),
    prefixes=["TEMPORARY"],
)


def stage_table(stages: list[dict[str, Any]]) -> Any:
    """The horizon's stages as a table to join on `deadline` (`params` as JSON text)."""
    return literal_table(
        [
            {k: json.dumps(v, ensure_ascii=False) if k == "params" else v for k, v in s.items()}
            for s in stages
        ],
        "stages",
    )


@dataclass
class SweepResult:
    as_of: datetime
    today: date
    working_day: bool
    sweep_id: int | None = None
    queued: int = 0
    covered: int = 0
    escalated: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    raised: Counter[int] = field(default_factory=Counter)  # tasks raised to each level
    stages: Counter[tuple[str, str]] = field(default_factory=Counter)  # (kind, stage), if read


@dataclass
class _DueTask:
    id: int
    ref: str
    title: str
    deadline: date | None
    status: str
    kind: str
    lead_unit: str
    people: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))


class _Sweep:
    def __init__(self, session: Session, now: datetime, policy: SweepPolicy, run: SweepRun):
        self.session = session
        self.now = now
        self.policy = policy
        self.rules = policy.rules
        self.today = policy.local_day(now)
        self.run_id = run.id
        self.rows: list[dict[str, Any]] = []
        self.names: dict[int, str] = {}
        self._wd_cache: dict[date, int] = {}
        self._supervisors: list[int] | None = None
        self.escalated = 0
        self.by_kind: Counter[str] = Counter()
        self.raised: Counter[int] = Counter()
        self.horizon: list[tuple[date, int, int]] = []
        self._routes: sa.Table | None = None
        self.before_stages: list[dict[str, Any]] = []  # upcoming's, for leaders' notices

    # --- helpers -------------------------------------------------------------------------
    def working_days_overdue(self, deadline: date) -> int:
        if deadline not in self._wd_cache:
            self._wd_cache[deadline] = self.policy.calendar.working_days_between(
                deadline, self.today
            )
        return self._wd_cache[deadline]

    def load_due(self, condition: Any, duties: list[Duty]) -> list[_DueTask]:
        stmt = (
            sa.select(
                TASKS.c.id,
                TASKS.c.ref,
                TASKS.c.title,
                TASKS.c.deadline,
                TASKS.c.status,
                TASKS.c.kind,
                TASKS.c.lead_unit,
                PEOPLE.c.official_id,
                PEOPLE.c.duty,
            )
            .select_from(
                TASKS.outerjoin(
                    PEOPLE,
                    sa.and_(
                        PEOPLE.c.task_id == TASKS.c.id, PEOPLE.c.duty.in_([d.value for d in duties])
                    ),
                )
            )
            .where(condition)
            .order_by(TASKS.c.id, PEOPLE.c.position)
        )
        tasks: dict[int, _DueTask] = {}
        for row in self.session.execute(stmt):
            task = tasks.get(row.id)
            if task is None:
                task = tasks[row.id] = _DueTask(
                    row.id, row.ref, row.title, row.deadline, row.status, row.kind, row.lead_unit
                )
            if row.official_id is not None:
                task.people[row.duty].append(row.official_id)
        self.load_names({i for t in tasks.values() for ids in t.people.values() for i in ids})
        return list(tasks.values())

    def load_names(self, ids: set[int]) -> None:
        missing = list(ids - set(self.names))
        for start in range(0, len(missing), 900):
            chunk = missing[start : start + 900]
            for oid, name in self.session.execute(
                sa.select(col(Official.id), col(Official.name)).where(col(Official.id).in_(chunk))
            ):
                self.names[oid] = name

    def all_supervisors(self) -> list[int]:
        """Everyone with the supervisor role: who hears of a round whose tasks name no 督办人."""
        if self._supervisors is None:
            self._supervisors = [
                oid
                for oid in self.session.exec(
                    select(col(Official.id)).where(Official.role == OfficialRole.SUPERVISOR)
                )
                if oid is not None
            ]
        return self._supervisors

    def params(self, task: _DueTask, **extra: Any) -> dict[str, Any]:
        return {
            **task_params(task, self.today, self.rules.yellow_days),
            "owners": self.owner_names(task),
            "lead_unit": task.lead_unit,
            **extra,
        }

    def owner_names(self, task: _DueTask) -> list[str]:
        return [self.names.get(i, "?") for i in task.people.get(Duty.OWNER.value, [])]

    def queue(
        self,
        *,
        kind: str,
        family: str,
        task_id: int | None,
        recipient: int | None,
        stage: str,
        urgency: int,
        text_key: str,
        params: dict[str, Any],
        group: GroupSubscription | None = None,
    ) -> None:
        who = recipient if recipient is not None else f"group{group.id if group else 0}"
        self.rows.append(
            outbox_row(
                kind=kind,
                family=family,
                text_key=text_key,
                not_before=self.now,
                now=self.now,
                dedupe_key=f"{kind}:{task_id or 0}:{who}:{stage}",
                recipient_id=recipient,
                group=group,
                task_id=task_id,
                stage=stage,
                urgency=urgency,
                params=params,
                sweep_id=self.run_id,
            )
        )

    # --- steps ---------------------------------------------------------------------------
    def upcoming(self) -> int:
        """Owners' reminders before the deadline, as one INSERT … SELECT: no Python loop over
        tasks (leaders hear of them in their oversight notice).

        Everything a stage depends on is a function of the deadline (days left, the
        working-day rule, the light), so the at most 21 deadlines of the horizon are worked
        out here and joined in SQL; task details are filled in when the message is rendered.
        """
        thresholds = self.rules.remind_days_before
        if not thresholds:
            return 0
        stages = []
        for offset in range(max(thresholds) + 1):
            deadline = self.today + timedelta(days=offset)
            stage = before_stage(
                effective_days_left(deadline, self.today, self.policy.calendar), thresholds
            )
            if stage is None:
                continue
            light = traffic_light(
                status=TaskStatus.IN_PROGRESS,
                kind=TaskKind.DEADLINE,
                deadline=deadline,
                today=self.today,
                yellow_days=self.rules.yellow_days,
            )
            stages.append(
                {
                    "deadline": deadline,
                    "stage": f"before:{deadline.isoformat()}:{stage}",
                    "urgency": 1000 - stage,
                    "params": {
                        "deadline": deadline.isoformat(),
                        "days_left": offset,
                        "light": light.value,
                        "stage": stage,
                    },
                }
            )
        if not stages:
            return 0
        self.before_stages = stages
        return self.owner_reminders(stages, "notice.reminder.owner")

    def owner_reminders(self, stages: list[dict[str, Any]], text_key: str) -> int:
        """Each open task's owners, one row each, at the stage its deadline reached: the
        stages joined on the deadline, one INSERT … SELECT per `COMPOUND_LIMIT` deadlines."""
        queued = 0
        route = self.routes([s["deadline"] for s in stages])
        for start in range(0, len(stages), COMPOUND_LIMIT):
            chunk = stages[start : start + COMPOUND_LIMIT]
            table = stage_table(chunk)
            queued += insert_from_select(
                self.session,
                sa.select(
                    sa.literal(""),  # keyed by (task, recipient, kind, stage)
                    PEOPLE.c.official_id,
                    sa.literal("reminder"),
                    sa.literal("reminder"),
                    TASKS.c.id,
                    table.c.stage,
                    table.c.urgency,
                    sa.literal(text_key),
                    table.c.params,
                )
                .select_from(
                    self.routed(
                        TASKS.join(table, TASKS.c.deadline == table.c.deadline).join(
                            PEOPLE,
                            sa.and_(
                                PEOPLE.c.task_id == TASKS.c.id, PEOPLE.c.duty == Duty.OWNER.value
                            ),
                        ),
                        route,
                    )
                )
                .where(TASKS.c.status.in_(OPEN), TASKS.c.kind != TaskKind.LONG_TERM.value)
                # in task order the outbox's key (task first) grows at its end; in deadline
                # order (the index the join walks) it is written all over: 1M overdue rows
                # over 15 deadlines, 5.8 s unordered, 4.5 s sorted (one deadline: in order)
                .order_by(TASKS.c.id if len(chunk) > 1 else None),
                now=self.now,
                sweep_id=self.run_id,
                channel=None if route is None else route.c.channel,
            )
        return queued

    def routes(self, deadlines: list[date]) -> sa.Table | None:
        """`contacts.routes` (one pass over everyone's contacts) when a step queues more rows
        than there are contacts, else None: each row looks up its person's (1% due at 1M:
        10k lookups cost less than filling a table for 100k people)."""
        if self._routes is not None:
            return self._routes
        due = self.session.execute(
            sa.select(sa.func.count()).where(
                TASKS.c.status.in_(OPEN), TASKS.c.deadline.between(min(deadlines), max(deadlines))
            )
        ).scalar_one()
        if due > self.session.execute(sa.select(sa.func.count(col(Contact.id)))).scalar_one():
            self._routes = routes(self.session)
        return self._routes

    @staticmethod
    def routed(joined: Any, route: sa.Table | None) -> Any:
        """`joined` (tasks and their people) with each person's route, if routed by table."""
        if route is None:
            return joined
        return joined.outerjoin(route, route.c.official_id == PEOPLE.c.official_id)

    def overdue_horizon(self) -> list[tuple[date, int, int]]:
        """(deadline, days overdue, working days overdue) for every passed deadline of an open
        task: one DISTINCT query, the working-day calendar in Python."""
        deadlines = self.session.execute(
            sa.select(TASKS.c.deadline).where(self.red_condition()).distinct()
        ).scalars()
        return sorted((d, (self.today - d).days, self.working_days_overdue(d)) for d in deadlines)

    def overdue(self) -> int:
        """Owners' daily overdue reminders, then the escalation ladder: set-based, as
        `upcoming` is; the stage of each task follows from its deadline."""
        self.horizon = self.overdue_horizon()
        return self.overdue_reminders(self.horizon) if self.horizon else 0

    def overdue_reminders(self, horizon: list[tuple[date, int, int]]) -> int:
        threshold = self.rules.escalate_leader_after_working_days
        today = self.today.isoformat()
        stages = [
            {
                "deadline": deadline,
                "stage": f"overdue:{deadline.isoformat()}:{today}",
                "urgency": 2000 + wdays,
                "params": {
                    "deadline": deadline.isoformat(),
                    "days_left": -days,
                    "light": "red",
                    "overdue": days,
                    "wdays": wdays,
                    "threshold": threshold,
                },
            }
            for deadline, days, wdays in horizon
        ]
        return self.owner_reminders(stages, "notice.reminder.overdue")

    def oversight(self) -> None:
        """Raise each overdue task to the level its deadline reached (督办人 at 1 working day,
        leaders and heads after `escalate_leader_after_working_days`) and tell the people who
        oversee: one notice per person counting every task raised (and listing the most
        urgent), and for leaders every task of theirs whose owner was reminded from
        `leader_from_days` on; then one audit event per task and level, and the levels
        themselves. Five statements, whatever the size. Only tasks below their level take
        part, so a level is raised (and told) once."""
        threshold = self.rules.escalate_leader_after_working_days
        horizon = self.horizon
        cut = {
            1: max((d for d, _, wdays in horizon if wdays >= 1), default=None),
            2: max((d for d, _, wdays in horizon if wdays > threshold), default=None),
        }
        if cut[1] is None:
            self.queue_oversight(None)
            return
        whens = [(TASKS.c.deadline <= cut[n], n) for n in (2, 1) if cut[n] is not None]
        level = sa.case(*whens, else_=0)
        # worked out once into a scratch table (task, unit, deadline, old and new level) that the
        # notices, the audit trail and the update read by key
        raised = scratch(
            self.session,
            RAISED,
            sa.select(
                TASKS.c.id, TASKS.c.lead_unit, TASKS.c.deadline, TASKS.c.escalation_level, level
            ).where(self.red_condition(), TASKS.c.escalation_level < level),
            ["task_id", "lead_unit", "deadline", "old", "new"],
        )
        self.queue_oversight(raised)
        for n in (1, 2):
            self.raised[n] = record_from_select(
                self.session,
                now=self.now,
                actor=SCHEDULER,
                action="escalate",
                rows=sa.select(
                    raised.c.task_id, sa.literal(json.dumps({"escalation_level": n}))
                ).where(raised.c.old < n, raised.c.new >= n),
            )
            self.escalated += self.raised[n]
        self.session.execute(
            TASKS.update()
            .where(TASKS.c.id == raised.c.task_id)
            .values(escalation_level=raised.c.new)
        )

    def queue_oversight(self, raised: Any) -> None:
        """One notice per person: the tasks raised to a level they are told of (`raised`, or
        None), and a leader's tasks whose owner this sweep reminded from `leader_from_days`
        on (level 0). Two levels of one task: the higher."""
        due_soon = leaders_due_soon(self.before_stages, self.rules.leader_from_days, self.run_id)
        if raised is None:
            if due_soon is not None:  # one row per task and leader: nothing to merge
                self.insert_oversight(due_soon.subquery("told"), merged=True)
            return
        self.insert_oversight(escalation_told(self.session, raised, due_soon))

    def insert_oversight(self, told: Any, *, merged: bool = False) -> None:
        self.by_kind["oversight"] += insert_oversight(
            self.session, told, sweep_id=self.run_id, today=self.today, now=self.now, merged=merged
        )

    def months(self) -> list[str]:
        first = self.today.replace(day=1)
        previous = (first - timedelta(days=1)).replace(day=1)
        return [previous.strftime("%Y-%m"), first.strftime("%Y-%m")]

    def long_term(self) -> None:
        condition = sa.and_(
            TASKS.c.status != TaskStatus.CLOSED.value, TASKS.c.kind == TaskKind.LONG_TERM.value
        )
        tasks = self.load_due(condition, [Duty.OWNER, Duty.SUPERVISOR])
        if not tasks:
            return
        month = self.today.strftime("%Y-%m")
        if self.today.day >= self.rules.long_term_report_day:
            urgency = self.today.year * 12 + self.today.month
            for task in tasks:
                for owner in task.people.get(Duty.OWNER.value, []):
                    self.queue(
                        kind="long_term_request",
                        family="long_term_request",
                        task_id=task.id,
                        recipient=owner,
                        stage=f"lt:{month}",
                        urgency=urgency,
                        text_key="notice.long_term_request",
                        params=self.params(task, month=month),
                    )
        self.long_term_escalations({t.id: t for t in tasks})

    def long_term_escalations(self, tasks: dict[int, _DueTask]) -> None:
        asked = self.session.execute(
            sa.select(OUTBOX.c.task_id, OUTBOX.c.stage, sa.func.min(OUTBOX.c.created_at))
            .where(
                OUTBOX.c.kind == "long_term_request",
                OUTBOX.c.stage.in_([f"lt:{m}" for m in self.months()]),
                OUTBOX.c.task_id.in_(list(tasks)),
            )
            .group_by(OUTBOX.c.task_id, OUTBOX.c.stage)
        ).all()
        if not asked:
            return
        last_report = dict(
            self.session.execute(
                sa.select(col(ProgressReport.task_id), func.max(col(ProgressReport.created_at)))
                .where(col(ProgressReport.task_id).in_([a[0] for a in asked]))
                .group_by(col(ProgressReport.task_id))
            ).all()
        )
        supervisors = supervisors_by_task(self.session, sorted({a[0] for a in asked}))
        for task_id, stage, asked_at in asked:
            asked_utc = as_utc(asked_at)  # aggregates may come back naive on SQLite
            reported = last_report.get(task_id)
            if reported is not None and as_utc(reported) >= asked_utc:
                continue
            wdays = self.policy.calendar.working_days_between(
                self.policy.local_day(asked_utc), self.today
            )
            if wdays < self.rules.long_term_escalate_after_working_days:
                continue
            task = tasks[task_id]
            month = stage.split(":", 1)[1]
            for supervisor in supervisors.get(task_id, []):
                self.queue(
                    kind="escalation",
                    family="escalation",
                    task_id=task_id,
                    recipient=supervisor,
                    stage=f"lt_esc:{month}",
                    urgency=3001,
                    text_key="notice.long_term_escalation",
                    params=self.params(task, month=month, wdays=wdays),
                )

    def pending_lists(self) -> None:
        tasks = self.load_due(
            TASKS.c.status == TaskStatus.SUBMITTED.value, [Duty.OWNER, Duty.SUPERVISOR]
        )
        by_supervisor: dict[int, list[_DueTask]] = defaultdict(list)
        supervisors = supervisors_by_task(self.session, [t.id for t in tasks])
        for task in tasks:
            for supervisor in supervisors.get(task.id, []):
                by_supervisor[supervisor].append(task)
        submitted = (
            dict(
                self.session.execute(
                    sa.select(TASKS.c.id, TASKS.c.submitted_at).where(
                        TASKS.c.id.in_([t.id for t in tasks])
                    )
                ).all()
            )
            if tasks
            else {}
        )
        for supervisor, items in by_supervisor.items():
            shown = items[:30]
            lines = [
                {
                    "task_id": t.id,
                    "title": t.title,
                    "owners": self.owner_names(t),
                    "submitted": self.policy.local_day(submitted[t.id]).isoformat()
                    if submitted.get(t.id)
                    else "",
                }
                for t in shown
            ]
            self.queue(
                kind="pending_list",
                family="pending_list",
                task_id=None,
                recipient=supervisor,
                stage=f"pending:{self.today.isoformat()}",
                urgency=0,
                text_key="notice.pending_list",
                params={
                    "count": len(items),
                    "items": lines,
                    "more": max(len(items) - len(shown), 0),
                },
            )

    def report_due(self) -> None:
        """The round's supervisors are reminded of the report date (--report-due) 10 and 3
        working days before it (policy.report_due_reminder_working_days), once each."""
        marks = sorted(self.rules.report_due_reminder_working_days)
        if not marks:
            return
        rounds = self.session.exec(
            select(Round).where(
                col(Round.report_due_date).is_not(None), col(Round.report_due_date) >= self.today
            )
        ).all()
        for round_ in rounds:
            due = round_.report_due_date
            assert due is not None and round_.id is not None
            reached = [
                n for n in marks if self.policy.calendar.subtract_working_days(due, n) <= self.today
            ]
            if not reached:
                continue
            supervisors = list(
                self.session.exec(
                    select(TaskPerson.official_id)
                    .join(Task, col(Task.id) == col(TaskPerson.task_id))
                    .where(Task.round_id == round_.id, TaskPerson.duty == Duty.SUPERVISOR)
                    .distinct()
                )
            )
            left = self.policy.calendar.working_days_between(self.today, due)
            for person in supervisors or self.all_supervisors():
                self.queue(
                    kind="report_due",
                    family="report_due",
                    task_id=None,
                    recipient=person,
                    stage=f"report_due:{round_.id}:{due.isoformat()}:{reached[0]}",
                    urgency=0,
                    text_key="notice.report_due",
                    params={
                        "round": round_.name,
                        "due": due.isoformat(),
                        "wdays": left,
                    },
                )

    def weekly_digest(self) -> None:
        """一周一调度 on the configured weekday (or the first sweep after it in that week).

        Figures are computed only for recipients who have not had this week's digest, and
        for all leaders at once by grouped queries: the cost is a few aggregates a week.
        """
        if self.today.weekday() < self.rules.weekly_digest_weekday:
            return
        year, week, _ = self.today.isocalendar()
        stage = f"week:{year}-W{week:02d}"
        done = set(
            self.session.execute(
                sa.select(OUTBOX.c.recipient_id, OUTBOX.c.group_id).where(
                    OUTBOX.c.kind == "weekly_digest", OUTBOX.c.stage == stage
                )
            ).all()
        )
        roles = [
            OfficialRole.SUPERVISOR,
            OfficialRole.LEADER,
            OfficialRole.HEAD,
            OfficialRole.ADMIN,
        ]
        recipients = [
            p
            for p in self.session.exec(select(Official).where(col(Official.role).in_(roles)))
            if (p.id, None) not in done
        ]
        groups = [
            g for g in self.session.exec(select(GroupSubscription)) if (None, g.id) not in done
        ]
        if not recipients and not groups:
            return
        base = {"week": stage.split(":", 1)[1]}
        everyone: list[str] | None = None
        whole: dict[str, Any] | None = None
        per_leader: dict[int, dict[str, Any]] | None = None
        from ledger.access import manages_filter
        from ledger.reads import unbound_names

        for person in recipients:
            assert person.id is not None
            scope = manages_filter(self.session, person)
            if person.role == OfficialRole.ADMIN:
                whole = whole or self.digest_figures(None)
                figures = whole
            elif person.role == OfficialRole.LEADER:
                if per_leader is None:
                    per_leader = leader_figures(
                        self.session,
                        today=self.today,
                        now=self.now,
                        yellow_days=self.rules.yellow_days,
                    )
                figures = per_leader.get(person.id) or empty_figures()
            else:  # supervisors (their rounds) and heads (their unit): few, each scoped
                figures = self.digest_figures(scope)
            # the unbound line names only people on tasks the reader oversees; nobody unbound
            # at all (the usual case once everyone is reached): no query per reader
            everyone = everyone if everyone is not None else unbound_names(self.session, None)
            if person.role == OfficialRole.ADMIN or not everyone:
                unbound = everyone
            else:
                unbound = unbound_names(self.session, scope)
            extra = {}
            if person.role == OfficialRole.ADMIN and provisional_notice(
                self.today, self.policy.calendar
            ):
                extra = {"calendar_year": self.today.year + 1}
            self.queue(
                kind="weekly_digest",
                family="weekly_digest",
                task_id=None,
                recipient=person.id,
                stage=stage,
                urgency=0,
                text_key="notice.weekly_digest",
                params={**base, **figures, "unbound": unbound, **extra},
            )
        for group in groups:
            whole = whole or self.digest_figures(None)
            everyone = everyone if everyone is not None else unbound_names(self.session, None)
            self.queue(
                kind="weekly_digest",
                family="weekly_digest",
                task_id=None,
                recipient=None,
                group=group,
                stage=stage,
                urgency=0,
                text_key="notice.weekly_digest",
                params={**base, **whole, "unbound": everyone},
            )

    def red_condition(self) -> Any:
        return red_condition(self.today)

    def digest_figures(self, scope: Any) -> dict[str, Any]:
        return digest_figures(
            self.session,
            today=self.today,
            now=self.now,
            yellow_days=self.rules.yellow_days,
            scope=scope,
        )

    def pending_before(self) -> list[int]:
        """Pending notices queued before this sweep that a new one may supersede.

        Read before anything is inserted, so covering costs what was waiting (usually little),
        not what this sweep adds.
        """
        return list(
            self.session.execute(
                sa.select(OUTBOX.c.id).where(
                    OUTBOX.c.status == OutboxStatus.PENDING.value,
                    OUTBOX.c.family.in_(SUPERSEDING_FAMILIES),
                    OUTBOX.c.task_id.is_not(None),
                )
            ).scalars()
        )

    def cover_superseded(self, waiting: list[int]) -> int:
        """Pending notices overtaken by a more urgent one for the same task and person.

        Candidates are the notices that were waiting before this sweep and this sweep's own
        per-task notices built in Python (escalations can overtake each other in one sweep);
        the reminders inserted set-based carry one stage per task and cannot overtake each other.
        """
        touched = sorted(
            {
                row["task_id"]
                for row in self.rows
                if row["task_id"] is not None and row["family"] in SUPERSEDING_FAMILIES
            }
        )
        later = OUTBOX.alias("later")
        superseded = sa.and_(
            # an expression, not the bare column: SQLite (no statistics) would otherwise walk
            # the status index over every pending row instead of fetching the listed rows
            # (0.15 s instead of 1 ms a chunk with 2M notices pending)
            sa.func.coalesce(OUTBOX.c.status, "") == OutboxStatus.PENDING.value,
            OUTBOX.c.family.in_(SUPERSEDING_FAMILIES),
            sa.exists().where(
                later.c.task_id == OUTBOX.c.task_id,
                later.c.recipient_id == OUTBOX.c.recipient_id,
                later.c.family == OUTBOX.c.family,
                later.c.urgency > OUTBOX.c.urgency,
            ),
        )
        covered = 0
        for column, values in ((OUTBOX.c.id, waiting), (OUTBOX.c.task_id, touched)):
            for start in range(0, len(values), 900):
                result: Any = self.session.execute(
                    OUTBOX.update()
                    .where(column.in_(values[start : start + 900]), superseded)
                    .values(status=OutboxStatus.COVERED.value, last_error="superseded")
                )
                covered += max(result.rowcount or 0, 0)
        return covered


def sweep(
    *, session: Session, now: datetime, policy: SweepPolicy, scheduled: bool = True
) -> SweepResult:
    """One sweep as of `now`: queue every notice due, record the run. The caller commits."""
    today = policy.local_day(now)
    run = SweepRun(as_of=now, scheduled=scheduled, started_at=now)
    session.add(run)
    session.flush()
    result = SweepResult(
        as_of=now, today=today, sweep_id=run.id, working_day=policy.calendar.is_working_day(today)
    )
    if result.working_day:
        work = _Sweep(session, now, policy, run)
        waiting = work.pending_before()
        result.by_kind["reminder"] += work.upcoming()
        result.by_kind["reminder"] += work.overdue()
        work.oversight()
        work.long_term()
        work.pending_lists()
        work.report_due()
        work.weekly_digest()
        for kind in sorted({row["kind"] for row in work.rows}):
            result.by_kind[kind] += insert_ignore(
                session, [row for row in work.rows if row["kind"] == kind]
            )
        result.by_kind.update(work.by_kind)
        result.covered = work.cover_superseded(waiting)
        result.escalated = work.escalated
        result.raised = +work.raised
        result.by_kind = +result.by_kind  # drop kinds that queued nothing
        result.queued = sum(result.by_kind.values())
    run.completed_at = now
    run.queued = result.queued
    run.covered = result.covered
    session.add(run)
    session.flush()
    log.info(
        "sweep as_of=%s working_day=%s queued=%s covered=%s escalated=%s",
        now.isoformat(),
        result.working_day,
        result.queued,
        result.covered,
        result.escalated,
    )
    return result
