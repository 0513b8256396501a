"""Who acts, through what, and when: passed to every service so the audit trail is complete."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session

from config import Settings
from ledger.clock import local_date
from ledger.enums import OfficialRole, Via
from ledger.models import Official


@dataclass(frozen=True)
class Actor:
    """`official` is None for the trusted operator at the command line and for the scheduler."""

    via: Via
    official: Official | None = None

    @property
    def official_id(self) -> int | None:
        return self.official.id if self.official else None

    @property
    def name(self) -> str:
        if self.official is not None:
            return self.official.name
        return {Via.CLI: "管理员(cli)", Via.SCHEDULER: "调度器", Via.IMPORT: "导入"}.get(
            self.via, str(self.via)
        )

    @property
    def is_operator(self) -> bool:
        """The CLI operator and admins may do anything; the scheduler only what it is given."""
        if self.official is None:
            return self.via in (Via.CLI, Via.IMPORT)
        return self.official.role == OfficialRole.ADMIN

    @property
    def lang(self) -> str:
        return self.official.language if self.official else "zh"


@dataclass(frozen=True)
class WorkContext:
    """One unit of work: a session, the instant it happens at, who does it, and the rules."""

    session: Session
    now: datetime
    actor: Actor
    settings: Settings

    @property
    def today(self) -> date:
        return local_date(self.now, self.settings.zone)
