"""Evidence files (佐证材料): kept owner-only on disk, then attached to a task.

A channel downloads the file and hands its bytes here; `keep` stores them (one folder per
task, or `unsorted` while the person is asked which task it is for), `attach` files them as
a task's evidence — with a caption "已完成…" submitting the task, any other caption a
progress report — and a file that is refused leaves no copy behind (`discard`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger import lifecycle
from ledger.context import WorkContext
from ledger.errors import LedgerError
from ledger.models import Evidence, Task
from ledger.texts import split_done

# what a kept file carries until it is attached (it may wait for the person's choice, as JSON)
FIELDS = ("file_name", "size", "mime_type", "sha256", "channel", "channel_file_id")
FIELDS_ALL = (*FIELDS, "channel_file_unique_id", "local_path")
_OLD_NAMES = {
    "telegram_file_id": "channel_file_id",
    "telegram_file_unique_id": "channel_file_unique_id",
}


@dataclass(frozen=True)
class Attached:
    task: Task
    evidence: Evidence
    caption: str  # '' when there was none
    submitted: bool | None  # the caption said done: submitted (True) or long-term progress
    progress: bool  # the caption was recorded as a progress report


def keep(
    ctx: WorkContext, task_id: int | None, name: str, data: bytes, **fields: Any
) -> dict[str, Any]:
    """Store the bytes owner-only, named by their hash (one copy per task); returns the kept
    file as a plain dict (`created`: whether this call wrote the copy)."""
    sha = hashlib.sha256(data).hexdigest()
    folder = f"task-{task_id}" if task_id is not None else "unsorted"
    path, created = lifecycle.store_file(ctx.settings, folder, sha, name, data)
    return {
        **fields,
        "file_name": name,
        "size": len(data),
        "sha256": sha,
        "local_path": str(path),
        "created": created,
    }


def discard(kept: dict[str, Any]) -> None:
    """A kept file that will not be attached: its copy goes, if this upload wrote it."""
    if kept.get("created") and kept.get("local_path"):
        Path(str(kept["local_path"])).unlink(missing_ok=True)


def attach(ctx: WorkContext, task_id: int, kept: dict[str, Any], caption: str = "") -> Attached:
    """File a kept file as the task's evidence and apply its caption; on any refusal the copy
    this upload wrote is deleted (refused evidence is not kept, nor backed up)."""
    fields = {_OLD_NAMES.get(k, k): v for k, v in kept.items()}
    fields = {k: v for k, v in fields.items() if k in FIELDS_ALL}
    try:
        evidence = lifecycle.add_evidence(ctx, task_id, **fields)
        task = lifecycle.get_task(ctx, task_id)
        submitted: bool | None = None
        progress = False
        if caption:
            is_done, rest = split_done(caption)
            if is_done:
                task, submitted = lifecycle.report_done(ctx, task_id, rest, said=caption)
            else:
                lifecycle.record_progress(ctx, task_id, caption)
                progress = True
    except LedgerError:
        discard(kept)
        raise
    return Attached(task, evidence, caption, submitted, progress)
