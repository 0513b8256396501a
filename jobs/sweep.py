"""The deadline sweep: turns the ledger into outbox rows. Never talks to Telegram.

Set-based: each step is one SQL query over indexed columns (status, deadline) that returns only
the due items, so the cost follows the number of due items, not the size of the ledger. Outbox
rows carry a unique key (task, recipient, kind, stage), so running a sweep twice, or in two
processes at once, queues nothing twice.
"""

from __future__ import annotations

import json
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, func, select

from jobs.policy import SweepPolicy, before_stage, effective_days_left
from ledger.clock import as_utc
from ledger.contacts import routed_channel
from ledger.enums import (
    MANAGER_ROLES,
    OPEN_STATUSES,
    Duty,
    OfficialRole,
    OutboxStatus,
    TaskKind,
    TaskStatus,
    Via,
)
from ledger.lights import traffic_light
from ledger.models import (
    AuditEvent,
    GroupSubscription,
    Official,
    Outbox,
    ProgressReport,
    Round,
    SweepRun,
    Task,
    TaskPerson,
    UTCDateTime,
)
from ledger.notices import task_params
from ledger.outbox import insert_ignore, outbox_row
from ledger.queries import LIGHT_COUNTS, WEEKLY_CHANGES, light_counts, weekly_changes
from ledger.workdays import provisional_notice

log = logging.getLogger(__name__)

OPEN = [s.value for s in OPEN_STATUSES]
SUPERSEDING_FAMILIES = ("reminder", "escalation", "long_term_request")
OUTBOX = Outbox.__table__  # type: ignore[attr-defined]
TASKS = Task.__table__  # type: ignore[attr-defined]
PEOPLE = TaskPerson.__table__  # type: ignore[attr-defined]
AUDIT = AuditEvent.__table__  # type: ignore[attr-defined]


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
        self._heads: list[tuple[int, str]] | None = None
        self.escalated = 0

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

    def supervisors(self, task: _DueTask) -> list[int]:
        if task.people.get(Duty.SUPERVISOR.value):
            return task.people[Duty.SUPERVISOR.value]
        return self.all_supervisors()

    def all_supervisors(self) -> list[int]:
        """Everyone with the supervisor role: who is told where no 督办人 is named."""
        if self._supervisors is None:
            self._supervisors = [
                oid
                for oid in self.session.exec(
                    select(col(Official.id)).where(Official.role == OfficialRole.SUPERVISOR)
                )
                if oid is not None
            ]
        return self._supervisors

    def heads(self, task: _DueTask) -> list[int]:
        """The heads who see the task: its lead unit's head, and heads with no unit (主要负责人)."""
        if self._heads is None:
            self._heads = [
                (oid, unit)
                for oid, unit in self.session.exec(
                    select(Official.id, Official.unit).where(Official.role == OfficialRole.HEAD)
                )
                if oid is not None
            ]
        return [oid for oid, unit in self._heads if not unit or unit == task.lead_unit]

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
        """Reminders before the deadline, as one INSERT … SELECT: no Python loop over tasks.

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
            params = {
                "deadline": deadline.isoformat(),
                "days_left": offset,
                "light": light.value,
                "stage": stage,
            }
            stages.append(
                sa.select(
                    sa.literal(deadline, sa.Date).label("deadline"),
                    sa.literal(f"before:{deadline.isoformat()}:{stage}").label("stage"),
                    sa.literal(1000 - stage).label("urgency"),
                    sa.literal(stage <= self.rules.leader_from_days).label("leaders"),
                    sa.literal(json.dumps(params, ensure_ascii=False)).label("params"),
                )
            )
        if not stages:
            return 0
        table = (
            sa.union_all(*stages).subquery("stages")
            if len(stages) > 1
            else stages[0].subquery("stages")
        )
        owner = PEOPLE.c.duty == Duty.OWNER.value
        return self.insert_select(
            sa.select(
                sa.literal(""),  # keyed by (task, recipient, kind, stage)
                PEOPLE.c.official_id,
                sa.literal("reminder"),
                sa.literal("reminder"),
                TASKS.c.id,
                table.c.stage,
                table.c.urgency,
                sa.case((owner, "notice.reminder.owner"), else_="notice.reminder.leader"),
                table.c.params,
            )
            .select_from(
                TASKS.join(table, TASKS.c.deadline == table.c.deadline).join(
                    PEOPLE, PEOPLE.c.task_id == TASKS.c.id
                )
            )
            .where(
                TASKS.c.status.in_(OPEN),
                TASKS.c.kind != TaskKind.LONG_TERM.value,
                sa.or_(owner, sa.and_(PEOPLE.c.duty == Duty.LEADER.value, table.c.leaders)),
            )
        )

    def insert_select(self, rows: Any) -> int:
        """INSERT the selected rows (key, recipient, kind, family, task, stage, urgency,
        text key, params) into the outbox, skipping existing keys; returns how many it added."""
        dialect = self.session.get_bind().dialect.name
        columns = [
            "dedupe_key",
            "recipient_id",
            "kind",
            "family",
            "task_id",
            "stage",
            "urgency",
            "text_key",
            "params",
        ]
        selected = list(rows.selected_columns)
        if dialect == "postgresql":
            selected[-1] = sa.cast(selected[-1], postgresql.JSON)
        constant = {
            "sweep_id": self.run_id,
            "status": "pending",
            "attempts": 0,
            "last_error": "",
            "claimed_by": "",
        }
        full = rows.with_only_columns(
            *selected,
            routed_channel(selected[1]),  # each person's notice goes where they are reached
            *(sa.literal(v) for v in constant.values()),
            sa.literal(self.now, UTCDateTime()),
            sa.literal(self.now, UTCDateTime()),
        )
        insert = postgresql.insert(OUTBOX) if dialect == "postgresql" else sqlite.insert(OUTBOX)
        result: Any = self.session.execute(
            insert.from_select(
                [*columns, "channel", *constant, "not_before", "created_at"], full
            ).on_conflict_do_nothing(),
            execution_options={"preserve_rowcount": True},  # PostgreSQL reports -1 without it
        )
        return max(result.rowcount or 0, 0)

    def overdue(self) -> None:
        condition = sa.and_(
            TASKS.c.status.in_(OPEN),
            TASKS.c.kind != TaskKind.LONG_TERM.value,
            TASKS.c.deadline < self.today,
        )
        level_one: list[int] = []
        level_two: list[int] = []
        threshold = self.rules.escalate_leader_after_working_days
        for task in self.load_due(condition, [Duty.OWNER, Duty.LEADER, Duty.SUPERVISOR]):
            assert task.deadline is not None
            wdays = self.working_days_overdue(task.deadline)
            overdue_days = (self.today - task.deadline).days
            params = self.params(task, overdue=overdue_days, wdays=wdays, threshold=threshold)
            deadline_key = task.deadline.isoformat()
            for owner in task.people.get(Duty.OWNER.value, []):
                self.queue(
                    kind="reminder",
                    family="reminder",
                    task_id=task.id,
                    recipient=owner,
                    stage=f"overdue:{deadline_key}:{self.today.isoformat()}",
                    urgency=2000 + wdays,
                    text_key="notice.reminder.overdue",
                    params=params,
                )
            ladder = [
                (1, wdays >= 1, level_one, self.supervisors(task)),
                (
                    2,
                    wdays > threshold,
                    level_two,
                    list(dict.fromkeys(task.people.get(Duty.LEADER.value, []) + self.heads(task))),
                ),
            ]
            for level, reached, raised, people in ladder:
                if not reached:
                    continue
                raised.append(task.id)
                for person in people:
                    self.queue(
                        kind="escalation",
                        family="escalation",
                        task_id=task.id,
                        recipient=person,
                        stage=f"esc{level}:{deadline_key}",
                        urgency=3000 + level,
                        text_key=f"notice.escalation.{level}",
                        params={**params, "level": level},
                    )
        self.raise_levels(level_one, 1)
        self.raise_levels(level_two, 2)

    def raise_levels(self, task_ids: list[int], level: int) -> None:
        """Record each escalation once (督办日志): only the process that raises the level writes."""
        for start in range(0, len(task_ids), 900):
            chunk = task_ids[start : start + 900]
            raised = (
                self.session.execute(
                    TASKS.update()
                    .where(TASKS.c.id.in_(chunk), TASKS.c.escalation_level < level)
                    .values(escalation_level=level)
                    .returning(TASKS.c.id)
                )
                .scalars()
                .all()
            )
            if raised:
                self.session.execute(
                    sa.insert(AUDIT),
                    [
                        {
                            "at": self.now,
                            "actor_name": "调度器",
                            "via": Via.SCHEDULER.value,
                            "action": "escalate",
                            "task_id": tid,
                            "before": None,
                            "after": {"escalation_level": level},
                        }
                        for tid in raised
                    ],
                )
                self.escalated += len(raised)

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
            for supervisor in self.supervisors(task):
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
        for task in tasks:
            for supervisor in self.supervisors(task):
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
        roles = MANAGER_ROLES
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
                per_leader = per_leader if per_leader is not None else self.leader_figures()
                figures = per_leader.get(person.id) or self.empty_figures()
            else:  # supervisors (their rounds) and heads (their unit): few, each scoped
                figures = self.digest_figures(scope)
            # the unbound line names only people on tasks the reader oversees
            if person.role == OfficialRole.ADMIN:
                everyone = everyone if everyone is not None else unbound_names(self.session, None)
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

    @staticmethod
    def empty_figures() -> dict[str, Any]:
        return {**dict.fromkeys((*LIGHT_COUNTS, *WEEKLY_CHANGES), 0), "red_items": []}

    def red_condition(self) -> Any:
        return sa.and_(
            TASKS.c.status.in_(OPEN),
            TASKS.c.kind != TaskKind.LONG_TERM.value,
            TASKS.c.deadline < self.today,
        )

    def red_items(self, task_ids: list[int]) -> dict[int, dict[str, Any]]:
        tasks = self.load_due(TASKS.c.id.in_(task_ids), [Duty.OWNER]) if task_ids else []
        return {
            t.id: {
                "task_id": t.id,
                "title": t.title,
                "owners": self.owner_names(t),
                "overdue": (self.today - t.deadline).days if t.deadline else 0,
            }
            for t in tasks
        }

    def digest_figures(self, scope: Any) -> dict[str, Any]:
        figures = self.empty_figures()
        counts = light_counts(
            self.session, today=self.today, yellow_days=self.rules.yellow_days, scope=scope
        )
        figures.update(counts.get(None, {}))
        figures.update(
            weekly_changes(self.session, today=self.today, now=self.now, scope=scope).get(None, {})
        )
        condition = self.red_condition() if scope is None else sa.and_(self.red_condition(), scope)
        red = list(
            self.session.execute(
                sa.select(TASKS.c.id)
                .where(condition)
                .order_by(TASKS.c.deadline, TASKS.c.id)
                .limit(10)
            ).scalars()
        )
        items = self.red_items(red)
        figures["red_items"] = [items[i] for i in red if i in items]
        return figures

    def leader_figures(self) -> dict[int, dict[str, Any]]:
        """Every leader's figures, scoped to the tasks they lead, in a handful of queries."""
        counts = light_counts(
            self.session, today=self.today, yellow_days=self.rules.yellow_days, by_leader=True
        )
        changes = weekly_changes(self.session, today=self.today, now=self.now, by_leader=True)
        red_rows = self.session.execute(
            sa.select(PEOPLE.c.official_id, TASKS.c.id)
            .join(
                PEOPLE, sa.and_(PEOPLE.c.task_id == TASKS.c.id, PEOPLE.c.duty == Duty.LEADER.value)
            )
            .where(self.red_condition())
            .order_by(PEOPLE.c.official_id, TASKS.c.deadline, TASKS.c.id)
        ).all()
        red_by_leader: dict[int, list[int]] = defaultdict(list)
        for leader, task_id in red_rows:
            if len(red_by_leader[leader]) < 10:
                red_by_leader[leader].append(task_id)
        items = self.red_items(sorted({t for ids in red_by_leader.values() for t in ids}))
        result: dict[int, dict[str, Any]] = {}
        for leader in set(counts) | set(changes) | set(red_by_leader):
            if leader is None:
                continue
            figures = self.empty_figures()
            figures.update(counts.get(leader, {}))
            figures.update(changes.get(leader, {}))
            figures["red_items"] = [items[t] for t in red_by_leader.get(leader, []) if t in items]
            result[leader] = figures
        return result

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
        work.overdue()
        work.long_term()
        work.pending_lists()
        work.report_due()
        work.weekly_digest()
        for kind in sorted({row["kind"] for row in work.rows}):
            result.by_kind[kind] += insert_ignore(
                session, [row for row in work.rows if row["kind"] == kind]
            )
        result.covered = work.cover_superseded(waiting)
        result.escalated = work.escalated
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
