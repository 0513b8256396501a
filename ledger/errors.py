"""Domain errors carry a catalog key and parameters so every front end can say why, in zh or en."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class LedgerError(Exception):
    """Base of every refusal the domain makes; `key` selects the message in the catalogs."""

    key = "error.generic"

    def __init__(self, key: str | None = None, **params: Any) -> None:
        self.key = key or self.key
        self.params = params
        super().__init__(self.key, params)

    def __str__(self) -> str:
        from ledger.i18n import render

        return render(self.key, "zh", **self.params)

    def text(self, lang: str) -> str:
        from ledger.i18n import render

        return render(self.key, lang, **self.params)


class NotFound(LedgerError):
    key = "error.not_found"


class NotAllowed(LedgerError):
    key = "error.not_allowed"


class InvalidTransition(LedgerError):
    key = "error.transition"


class InvalidInput(LedgerError):
    key = "error.input"


@dataclass(frozen=True)
class RowError:
    """One bad cell of an imported sheet, located as the spreadsheet shows it (row 0: the file)."""

    row: int
    column: str
    message: str

    def __str__(self) -> str:
        if self.row <= 0:  # the whole file or sheet, not one row
            return f"[{self.column}]: {self.message}"
        return f"第{self.row}行 [{self.column}]: {self.message}"


@dataclass
class ImportFailed(Exception):
    """Every problem found in a sheet at once; nothing was written."""

    errors: list[RowError] = field(default_factory=list)

    def __str__(self) -> str:
        head = f"导入失败, 共 {len(self.errors)} 处错误, 未写入任何数据 (import failed, nothing written):"
        return "\n".join([head, *(f"  {e}" for e in self.errors)])
