"""Who may see and do what: checked here, in the service layer, whatever the front end shows."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from ledger.context import WorkContext
from ledger.enums import Duty, OfficialRole
from ledger.errors import NotAllowed
from ledger.models import Official, Task, TaskPerson


def duties(session: Session, official_id: int, task_id: int) -> set[Duty]:
    stmt = select(TaskPerson.duty).where(
        TaskPerson.official_id == official_id, TaskPerson.task_id == task_id
    )
    return {Duty(d) for d in session.exec(stmt)}


def supervised_round_ids(session: Session, official_id: int) -> set[int]:
    stmt = (
        select(Task.round_id)
        .join(TaskPerson, TaskPerson.task_id == Task.id)  # type: ignore[arg-type]
        .where(TaskPerson.official_id == official_id, TaskPerson.duty == Duty.SUPERVISOR)
        .distinct()
    )
    return set(session.exec(stmt))


def supervises(session: Session, official: Official, task: Task) -> bool:
    """Admins, the task's 督办人, and supervisors of any item in the task's round."""
    if official.role == OfficialRole.ADMIN:
        return True
    assert official.id is not None and task.id is not None
    if Duty.SUPERVISOR in duties(session, official.id, task.id):
        return True
    if official.role == OfficialRole.SUPERVISOR:
        rounds = supervised_round_ids(session, official.id)
        return not rounds or task.round_id in rounds
    return False


def can_view(session: Session, official: Official, task: Task) -> bool:
    assert official.id is not None and task.id is not None
    if supervises(session, official, task):
        return True
    if duties(session, official.id, task.id) & {Duty.OWNER, Duty.LEADER}:
        return True
    return heads_task(official, task)


def heads_task(official: Official, task: Task) -> bool:
    """A head with a unit heads its lead-unit's tasks; a head with no unit (主要负责人) all."""
    if official.role != OfficialRole.HEAD:
        return False
    return not official.unit or official.unit == task.lead_unit


def is_owner(session: Session, official: Official, task: Task) -> bool:
    assert official.id is not None and task.id is not None
    return Duty.OWNER in duties(session, official.id, task.id)


def require_owner(ctx: WorkContext, task: Task) -> None:
    official = ctx.actor.official
    if ctx.actor.is_operator:
        return
    if official is None or not is_owner(ctx.session, official, task):
        raise NotAllowed(why=_why(ctx, "why.not_owner", task_id=task.id))


def require_supervisor(ctx: WorkContext, task: Task, action_key: str) -> None:
    official = ctx.actor.official
    if ctx.actor.is_operator:
        return
    if official is None or not supervises(ctx.session, official, task):
        from ledger.i18n import render

        action = render(action_key, ctx.actor.lang)
        raise NotAllowed(why=_why(ctx, "why.not_supervisor", action=action))


def manages(session: Session, official: Official, task: Task) -> bool:
    """Supervisors, the task's leaders, and the head of its lead unit: those who chase it."""
    assert official.id is not None and task.id is not None
    if supervises(session, official, task):
        return True
    if Duty.LEADER in duties(session, official.id, task.id):
        return True
    return heads_task(official, task)


def require_manager(ctx: WorkContext, task: Task, action_key: str) -> None:
    official = ctx.actor.official
    if ctx.actor.is_operator:
        return
    if official is None or not manages(ctx.session, official, task):
        raise NotAllowed(why=_why(ctx, "why.not_visible", task_id=task.id))


def require_view(ctx: WorkContext, task: Task) -> None:
    official = ctx.actor.official
    if ctx.actor.is_operator:
        return
    if official is None or not can_view(ctx.session, official, task):
        raise NotAllowed(why=_why(ctx, "why.not_visible", task_id=task.id))


def _why(ctx: WorkContext, key: str, **params: Any) -> str:
    from ledger.i18n import render

    return render(key, ctx.actor.lang, **params)


def manages_filter(session: Session, official: Official) -> Any:
    """A SQL condition on Task: what `official` oversees in the supervisors' queries.

    Admins see all; supervisors their rounds (all rounds if they supervise no item yet);
    leaders what they lead; heads their unit's items, a head with no unit everything.
    """
    if official.role == OfficialRole.ADMIN or (
        official.role == OfficialRole.HEAD and not official.unit
    ):
        return sa.true()
    assert official.id is not None
    led = select(TaskPerson.task_id).where(
        TaskPerson.official_id == official.id,
        TaskPerson.duty.in_([Duty.LEADER, Duty.SUPERVISOR]),  # type: ignore[attr-defined]
    )
    conditions: list[Any] = [Task.id.in_(led)]  # type: ignore[union-attr]
    if official.role == OfficialRole.SUPERVISOR:
        rounds = supervised_round_ids(session, official.id)
        conditions.append(Task.round_id.in_(rounds) if rounds else sa.true())  # type: ignore[attr-defined]
    if official.role == OfficialRole.HEAD and official.unit:
        conditions.append(Task.lead_unit == official.unit)
    return sa.or_(*conditions)
