"""An owner's page from the signed link in a reminder: the task, and progress / 已完成 with
evidence / extension, each through the same ledger service as chat (Via.WEB)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ledger import lifecycle, links, reads
from ledger.access import is_owner
from ledger.dates import parse_date
from ledger.errors import InvalidInput, LedgerError
from ledger.i18n import render
from ledger.models import Official, Task
from ledger.queries import history, task_view
from web.app import FORM_SLACK, WebServices, client_key, html, read_upload, too_large
from web.html import e, event_line, hidden, light_badge, notice, page, t

ACTIONS = ("progress", "done", "evidence", "extend")


@dataclass
class Holder:
    official_id: int
    task_id: int
    lang: str


def _lang_of(services: WebServices, official_id: int) -> str:
    with services.work(None) as ctx:
        official = ctx.session.get(Official, official_id)
        return official.language if official else "zh"


def _bad(services: WebServices, lang: str = "zh") -> Response:
    body = f"<h1>{t('web.link_bad', lang)}</h1><p>{t('web.link_bad_help', lang)}</p>"
    return html(page(render("web.link_bad", lang), f'<div class="card">{body}</div>', lang), 403)


def _expired(services: WebServices, token: str, found: links.Token, flash: str = "") -> Response:
    lang = _lang_of(services, found.official_id)
    hours = services.settings.web.link_hours
    body = (
        f"<h1>{t('web.link_expired', lang)}</h1>{flash}"
        f"<p>{t('web.link_expired_help', lang, hours=hours)}</p>"
        f'<form method="post" action="/a/{e(token)}/fresh">{hidden("csrf", services.csrf(token))}'
        f'<button type="submit">{t("web.send_fresh", lang)}</button></form>'
    )
    return html(
        page(render("web.link_expired", lang), f'<div class="card">{body}</div>', lang), 410
    )


def _holder(services: WebServices, token: str) -> Holder | Response:
    """Who the link is for, or the page that says why it cannot be used."""
    now = services.clock.now()
    try:
        found = links.read(services.secret, token, links.ACTION, now)
    except links.ExpiredLink as exc:
        return _expired(services, token, exc.token)
    except links.BadLink:
        log_bad(services, token)
        return _bad(services)
    with services.work(None) as ctx:
        official = ctx.session.get(Official, found.official_id)
        task = ctx.session.get(Task, found.target)
        if official is None or task is None or not is_owner(ctx.session, official, task):
            return _bad(services)
        return Holder(found.official_id, found.target, official.language)


def log_bad(services: WebServices, token: str) -> None:
    import logging

    # the token itself is never logged: only that one failed to verify
    logging.getLogger(__name__).info("web_link_refused kind=action length=%s", len(token))


def owner_page(
    services: WebServices, token: str, holder: Holder, *, flash: str = "", status: int = 200
) -> Response:
    lang = holder.lang
    settings = services.settings
    with services.work(holder.official_id) as ctx:
        view = task_view(
            ctx.session, holder.task_id, today=ctx.today, yellow_days=settings.policy.yellow_days
        )
        assert view is not None
        events = history(ctx.session, holder.task_id, limit=50)
        evidence = reads.evidence_of(ctx.session, [holder.task_id])
        zone = settings.zone
        task = view.task
        csrf = hidden("csrf", services.csrf(token))
        deadline = task.deadline.isoformat() if task.deadline else render("deadline.none", lang)
        facts = (
            '<dl class="facts">'
            f"<dt>{t('web.col.ref', lang)}</dt><dd>{e(task.ref)}</dd>"
            f"<dt>{t('web.deadline', lang)}</dt><dd>{e(deadline)}</dd>"
            f"<dt>{t('web.light', lang)}</dt><dd>{light_badge(view.light.value, lang)}</dd>"
            f"<dt>{t('web.status', lang)}</dt><dd>{t(f'status.{task.status}', lang)}</dd>"
            f"<dt>{t('web.measures', lang)}</dt><dd>{e(task.measures or '—')}</dd>"
            f"<dt>{t('web.lead_unit', lang)}</dt><dd>{e(task.lead_unit or '—')}</dd>"
            "</dl>"
        )
        hist = "".join(event_line(ev, lang, zone) for ev in events)
        file_list = (
            "".join(
                f"<li>{e(f.file_name)} <span class='muted'>{f.size} B</span></li>" for f in evidence
            )
            or f"<li class='muted'>{t('web.no_files', lang)}</li>"
        )
        limit = settings.max_evidence_mb
        base = f"/a/{e(token)}"
        closed = task.status in ("closed",)
        forms = ""
        if not closed:
            forms += (
                f'<form class="card" method="post" action="{base}/progress">{csrf}'
                f"<h2>{t('web.progress', lang)}</h2>"
                f'<label for="progress-text">{t("web.progress_text", lang)}</label>'
                '<textarea id="progress-text" name="text" required maxlength="2000"></textarea>'
                f'<button type="submit">{t("web.submit", lang)}</button></form>'
            )
            if task.status != "submitted" and task.kind != "long_term":
                forms += (
                    f'<form class="card" method="post" action="{base}/done" '
                    f'enctype="multipart/form-data">{csrf}'
                    f"<h2>{t('web.done', lang)}</h2>"
                    f'<label for="done-note">{t("web.done_note", lang)}</label>'
                    '<textarea id="done-note" name="note" maxlength="2000"></textarea>'
                    f'<label for="done-file">{t("web.evidence", lang, limit=limit)}</label>'
                    '<input id="done-file" type="file" name="file">'
                    f'<button type="submit">{t("web.done", lang)}</button></form>'
                )
            forms += (
                f'<form class="card" method="post" action="{base}/evidence" '
                f'enctype="multipart/form-data">{csrf}'
                f"<h2>{t('web.upload', lang)}</h2>"
                f'<label for="ev-file">{t("web.evidence_file", lang, limit=limit)}</label>'
                '<input id="ev-file" type="file" name="file" required>'
                f'<button type="submit" class="quiet">{t("web.upload", lang)}</button></form>'
            )
            if task.deadline is not None and task.status != "submitted":
                forms += (
                    f'<form class="card" method="post" action="{base}/extend">{csrf}'
                    f"<h2>{t('web.extend', lang)}</h2>"
                    f'<label for="ext-date">{t("web.extend_date", lang)}</label>'
                    '<input id="ext-date" type="date" name="date" required>'
                    f'<label for="ext-reason">{t("web.extend_reason", lang)}</label>'
                    '<textarea id="ext-reason" name="reason" required maxlength="1000"></textarea>'
                    f'<button type="submit" class="quiet">{t("web.extend", lang)}</button></form>'
                )
        body = (
            f"<h1>#{task.id} {e(task.title)}</h1>{flash}"
            f'<div class="card">{facts}</div>{forms}'
            f'<div class="card"><h2>{t("web.files", lang)}</h2><ul>{file_list}</ul></div>'
            f'<div class="card"><h2>{t("web.history", lang)}</h2><ul class="history">{hist}</ul></div>'
        )
    return html(page(f"#{task.id} {task.title}", body, lang), status)


def routes(services: WebServices) -> list[Route]:
    async def show(request: Request) -> Response:
        token = request.path_params["token"]
        found = _holder(services, token)
        if isinstance(found, Response):
            return found
        ok = request.query_params.get("ok", "")
        flash = notice(render(f"web.ok.{ok}", found.lang)) if ok in (*ACTIONS, "fresh") else ""
        return owner_page(services, token, found, flash=flash)

    async def act(request: Request) -> Response:
        token, action = request.path_params["token"], request.path_params["action"]
        if action not in ACTIONS:
            return _bad(services)
        found = _holder(services, token)
        if isinstance(found, Response):
            return found
        lang = found.lang
        limit = services.upload_limit + FORM_SLACK
        over = too_large(request, limit)
        if over is not False:  # checked before a byte of the body is read
            status = 413 if over else 411
            msg = notice(
                render("web.too_large", lang, limit=services.settings.max_evidence_mb), "err"
            )
            return owner_page(services, token, found, flash=msg, status=status)
        form = await request.form(max_files=1, max_fields=10, max_part_size=64 * 1024)
        if not services.csrf_ok(form, token):
            return owner_page(
                services, token, found, flash=notice(render("web.csrf", lang), "err"), status=403
            )
        try:
            upload = await read_upload(form.get("file"))
            with services.work(found.official_id) as ctx:
                do(ctx, action, found.task_id, form, upload)
        except LedgerError as exc:
            return owner_page(
                services, token, found, flash=notice(exc.text(lang), "err"), status=400
            )
        finally:
            await form.close()
        return RedirectResponse(f"/a/{token}?ok={action}", status_code=303)

    async def fresh(request: Request) -> Response:
        token = request.path_params["token"]
        now = services.clock.now()
        try:
            links.read(services.secret, token, links.ACTION, now)
            return RedirectResponse(f"/a/{token}", status_code=303)  # still valid
        except links.BadLink:
            return _bad(services)
        except links.ExpiredLink as exc:
            found = exc.token
        lang = _lang_of(services, found.official_id)
        form = await request.form(max_files=0, max_fields=5)
        if not services.csrf_ok(form, token):
            return _expired(services, token, found, notice(render("web.csrf", lang), "err"))
        wait = services.link_requests.wait_minutes(f"fresh:{client_key(request)}", now)
        try:
            if wait:
                raise links.TooManyLinks(wait)
            with services.work(found.official_id) as ctx:
                links.send_fresh_link(ctx, found.official_id, found.target)
        except links.TooManyLinks as exc:
            msg = notice(render("web.too_many", lang, minutes=exc.minutes), "err")
            return _expired(services, token, found, msg)
        except links.BadLink:
            return _bad(services, lang)
        body = f'<div class="card">{notice(render("web.ok.fresh", lang))}</div>'
        return html(page(render("web.ok.fresh", lang), body, lang))

    return [
        Route("/a/{token}", show, methods=["GET"]),
        Route("/a/{token}/fresh", fresh, methods=["POST"]),
        Route("/a/{token}/{action}", act, methods=["POST"]),
    ]


def do(
    ctx: Any, action: str, task_id: int, form: Any, upload: tuple[str, bytes, str] | None
) -> None:
    """One ledger service per action, as in chat."""
    if action == "progress":
        lifecycle.record_progress(ctx, task_id, str(form.get("text", "")))
    elif action == "done":
        note = str(form.get("note", ""))
        if upload is not None:
            name, data, mime = upload
            lifecycle.attach_file(
                ctx, task_id, file_name=name, data=data, mime_type=mime, submit_note=note
            )
        else:
            lifecycle.mark_submitted(ctx, task_id, note)
    elif action == "evidence":
        if upload is None:
            raise InvalidInput(
                "error.input",
                detail=render(
                    "web.evidence_file", ctx.actor.lang, limit=ctx.settings.max_evidence_mb
                ),
            )
        name, data, mime = upload
        lifecycle.attach_file(ctx, task_id, file_name=name, data=data, mime_type=mime)
    elif action == "extend":
        raw = str(form.get("date", ""))
        try:
            new = parse_date(raw)
        except ValueError:
            raise InvalidInput("error.bad_date", value=raw) from None
        lifecycle.request_extension(ctx, task_id, new, str(form.get("reason", "")))
