"""Message catalogs: Chinese first, English second. Code holds keys; people read these."""

from __future__ import annotations

from typing import Any

LANGUAGES = ("zh", "en")

ZH: dict[str, str] = {
    # vocabulary
    "light.red": "🔴 红灯",
    "light.yellow": "🟡 黄灯",
    "light.green": "🟢 绿灯",
    "light.blue": "🔵 蓝灯",
    "light.closed": "✅ 已销号",
    "status.not_started": "未启动",
    "status.in_progress": "推进中",
    "status.submitted": "待销号",
    "status.closed": "已销号",
    "kind.immediate": "立行立改",
    "kind.deadline": "限期整改",
    "kind.long_term": "长期坚持",
    "role.lead": "牵头",
    "role.participating": "参与",
    "orole.owner": "责任人",
    "orole.leader": "责任领导",
    "orole.head": "主要负责人",
    "orole.supervisor": "督办人",
    "orole.admin": "管理员",
    "ext.pending": "待审批",
    "ext.approved": "已批准",
    "ext.rejected": "未批准",
    "deadline.none": "长期坚持",
    "deadline.extended": "（原定 {original}，已延期）",
    "word.task": "任务",
    "word.extension": "延期申请",
    "word.official": "人员",
    "days.left": "还剩{days}天",
    "days.today": "今天到期",
    "days.overdue": "已逾期{days}天",
    "audit.submit": "提交销号",
    "audit.evidence": "上传佐证",
    "audit.verify": "验收销号",
    "audit.escalate": "督办升级",
    "audit.nudge": "催办",
    "audit.extension_request": "申请延期",
    "audit.extension_approved": "批准延期",
    "audit.extension_rejected": "不批准延期",
    "audit.import_create": "导入新增",
    "audit.import_update": "导入更新",
    "audit.progress": "报告进展",
    "audit.reject": "退回",
    "audit.reopen": "回头看·重新打开",
    "audit.long_term": "转为长期坚持",
    "audit.unreachable": "无法送达",
    "audit.report_due": "报告提醒",
    "word.evidence": "佐证材料",
    # errors
    "error.generic": "操作失败：{detail}",
    "error.not_found": "找不到{what} {ref}。",
    "error.not_allowed": "无权操作：{why}",
    "error.transition": "不能{action}：任务 #{task_id} 当前状态为“{status}”。{why}",
    "error.input": "{detail}",
    "error.need_note_or_evidence": "提交销号需要填写完成说明或上传佐证材料。",
    "error.need_reason": "{action}需要说明理由。",
    "error.nudge_cooldown": "#{task_id} 已于 {at} 催办过，{minutes} 分钟内不重复发送。",
    "error.reopen_past": "新的整改时限 {new} 应晚于今天（{today}）。",
    "error.long_term_no_close": "长期坚持任务不销号，请定期报告进展。",
    "error.no_deadline": "任务 #{task_id} 没有截止日期（长期坚持），无需延期。",
    "error.extension_late": "延期须在截止日期（{deadline}）前申请。",
    "error.extension_not_later": "新的日期（{new}）须晚于当前截止日期（{deadline}）。",
    "error.extension_pending": "任务 #{task_id} 已有一项待审批的延期申请。",
    "error.extension_decided": "延期申请 #{request_id} 已处理（{status}）。",
    "error.closed_task": "任务 #{task_id} 已销号，不能再修改；如需重新整改，请督办人“回头看”重新打开。",
    "error.invite_unknown": "邀请码无效。请向整改办索取新的邀请链接。",
    "error.invite_used": "该邀请码已使用过。每个邀请码只能使用一次，请向整改办索取新的邀请链接。",
    "error.invite_expired": "该邀请码已过期。请向整改办索取新的邀请链接。",
    "error.account_bound_other": "这个 Telegram 账号已绑定 {name}，不能再绑定其他人员。",
    "error.official_unknown": "找不到人员“{name}”。",
    "error.contact_address": "{channel} 地址“{address}”格式不对。",
    "error.contact_taken": "{channel} 地址“{address}”已属于 {name}，不能再给其他人员。",
    "error.bad_date": "无法识别的日期“{value}”（示例：2026-12-31、2026年12月31日、2026年12月底）。",
    "error.file_too_large": "文件过大（{size_mb} MB），上限为 {limit_mb} MB。",
    "why.not_owner": "任务 #{task_id} 不是您负责的任务。",
    "why.not_supervisor": "只有该任务的督办人或管理员可以{action}。",
    "why.not_visible": "您无权查看任务 #{task_id}。",
    "why.needs_role": "该命令仅限{roles}使用。",
    "action.progress": "报告进展",
    "action.submit": "提交销号",
    "action.verify": "销号",
    "action.reject": "退回",
    "action.long_term": "转为长期坚持",
    "action.reopen": "重新打开（回头看）",
    "action.extend": "申请延期",
    "action.decide_extension": "审批延期",
    "action.evidence": "上传佐证材料",
    "action.remind": "催办",
    "why.only_submitted": "只有“待销号”的任务可以销号或退回。",
    "why.only_closed": "只有“已销号”的任务可以重新打开。",
    "why.already_closed": "任务已销号。",
    "why.already_submitted": "任务已提交，等待督办人销号。",
    "why.already_long_term": "任务已是长期坚持。",
}

EN: dict[str, str] = {
    "light.red": "🔴 red",
    "light.yellow": "🟡 yellow",
    "light.green": "🟢 green",
    "light.blue": "🔵 blue",
    "light.closed": "✅ closed",
    "status.not_started": "not started",
    "status.in_progress": "in progress",
    "status.submitted": "awaiting verification",
    "status.closed": "closed",
    "kind.immediate": "immediate",
    "kind.deadline": "fixed deadline",
    "kind.long_term": "long-term",
    "role.lead": "lead",
    "role.participating": "participating",
    "orole.owner": "owner",
    "orole.leader": "leader",
    "orole.head": "head",
    "orole.supervisor": "supervisor",
    "orole.admin": "admin",
    "ext.pending": "pending",
    "ext.approved": "approved",
    "ext.rejected": "rejected",
    "deadline.none": "long-term",
    "deadline.extended": " (was {original}, extended)",
    "word.task": "task",
    "word.extension": "extension request",
    "word.official": "official",
    "days.left": "{days} days left",
    "days.today": "due today",
    "days.overdue": "{days} days overdue",
    "audit.submit": "submitted",
    "audit.evidence": "evidence attached",
    "audit.verify": "verified and closed",
    "audit.escalate": "escalated",
    "audit.nudge": "nudged",
    "audit.extension_request": "extension requested",
    "audit.extension_approved": "extension approved",
    "audit.extension_rejected": "extension refused",
    "audit.import_create": "imported",
    "audit.import_update": "updated by import",
    "audit.progress": "progress reported",
    "audit.reject": "rejected",
    "audit.reopen": "reopened",
    "audit.long_term": "made long-term",
    "audit.unreachable": "unreachable",
    "audit.report_due": "report reminder",
    "word.evidence": "evidence",
    "days.left.one": "1 day left",
    "days.overdue.one": "1 day overdue",
    "error.generic": "Failed: {detail}",
    "error.not_found": "No {what} {ref}.",
    "error.not_allowed": "Not allowed: {why}",
    "error.transition": "Cannot {action}: task #{task_id} is “{status}”. {why}",
    "error.input": "{detail}",
    "error.need_note_or_evidence": "Submitting needs a completion note or an evidence file.",
    "error.need_reason": "{action} needs a reason.",
    "error.nudge_cooldown": "#{task_id} was nudged at {at}; not again within {minutes} minutes.",
    "error.reopen_past": "The new deadline {new} must be after today ({today}).",
    "error.long_term_no_close": "Long-term tasks are not closed; report progress regularly.",
    "error.no_deadline": "Task #{task_id} has no deadline (long-term); nothing to extend.",
    "error.extension_late": "Extensions must be requested before the deadline ({deadline}).",
    "error.extension_not_later": "The new date ({new}) must be after the deadline ({deadline}).",
    "error.extension_pending": "Task #{task_id} already has a pending extension request.",
    "error.extension_decided": "Extension request #{request_id} was already decided ({status}).",
    "error.closed_task": "Task #{task_id} is closed; a supervisor must reopen it first.",
    "error.invite_unknown": "This invite code is not valid. Ask the office for a new link.",
    "error.invite_used": "This invite code was already used. Ask the office for a new link.",
    "error.invite_expired": "This invite code has expired. Ask the office for a new link.",
    "error.account_bound_other": "This Telegram account is already bound to {name}.",
    "error.official_unknown": "No official named “{name}”.",
    "error.contact_address": "“{address}” is not a valid {channel} address.",
    "error.contact_taken": "The {channel} address “{address}” already belongs to {name}.",
    "error.bad_date": "Unrecognised date “{value}” (e.g. 2026-12-31).",
    "error.file_too_large": "File too large ({size_mb} MB); the limit is {limit_mb} MB.",
    "why.not_owner": "task #{task_id} is not yours.",
    "why.not_supervisor": "only the task's supervisor or an admin may {action}.",
    "why.not_visible": "you may not see task #{task_id}.",
    "why.needs_role": "this command is for {roles} only.",
    "action.progress": "report progress",
    "action.submit": "submit for verification",
    "action.verify": "verify and close",
    "action.reject": "reject",
    "action.long_term": "make long-term",
    "action.reopen": "reopen",
    "action.extend": "request an extension",
    "action.decide_extension": "decide an extension",
    "action.evidence": "attach evidence",
    "action.remind": "nudge",
    "why.only_submitted": "Only tasks awaiting verification can be closed or rejected.",
    "why.only_closed": "Only closed tasks can be reopened.",
    "why.already_closed": "The task is closed.",
    "why.already_submitted": "The task was submitted and awaits verification.",
    "why.already_long_term": "The task is already long-term.",
}

CATALOGS: dict[str, dict[str, str]] = {"zh": ZH, "en": EN}


def register(lang: str, entries: dict[str, str]) -> None:
    """Other modules (notices, bot UI) add their keys here so there is one catalog per language."""
    catalog = CATALOGS[lang]
    clash = set(entries) & set(catalog)
    if clash:
        raise KeyError(f"catalog keys defined twice: {sorted(clash)}")
    catalog.update(entries)


class _Params(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render(key: str, lang: str = "zh", **params: Any) -> str:
    """The message for `key` in `lang` (falling back to Chinese), with parameters filled in."""
    catalog = CATALOGS.get(lang, ZH)
    if params.get("days") == 1 and f"{key}.one" in catalog:  # "1 day", not "1 days"
        key = f"{key}.one"
    template = catalog.get(key) or ZH.get(key) or key
    return template.format_map(_Params(params))


def audit_action(action: str, lang: str = "zh") -> str:
    """A history line's action as people say it (提交销号), never the code name (submit)."""
    key = f"audit.{action}"
    return render(key, lang) if key in CATALOGS.get(lang, ZH) or key in ZH else action


def label(prefix: str, value: str, lang: str = "zh") -> str:
    return render(f"{prefix}.{value}", lang)
