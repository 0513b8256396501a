"""The dashboard for supervisors, leaders and heads: signed in by a one-time link, scoped by
what they oversee (ledger.board over ledger.access), deciding through the ledger's services."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route

from ledger import board, lifecycle, links, reads
from ledger.enums import Light, TaskRole, TaskStatus
from ledger.errors import LedgerError
from ledger.i18n import render
from ledger.models import Evidence, ExtensionRequest, Official
from ledger.queries import history
from web.app import COOKIE, WebServices, client_key, content_disposition, html
from web.html import bar_chart, e, event_line, hidden, light_badge, notice, options, page, t

INLINE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"}
IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
SECTIONS = ("board", "overdue", "pending", "extensions")


def _nav(services: WebServices, session: links.WebSession, here: str) -> str:
    lang = session.official.language
    items = "".join(
        f'<a href="/dash{"" if s == "board" else "/" + s}"'
        f"{' class=here' if s == here else ''}>{t(f'web.nav.{s}', lang)}</a>"
        for s in SECTIONS
    )
    who = f"{e(session.official.name)}（{t(f'orole.{session.official.role}', lang)}）"
    signout = (
        f'<form method="post" action="/signout">{hidden("csrf", services.csrf(f"s{session.link_id}"))}'
        f'<button type="submit">{t("web.signout", lang)}</button></form>'
    )
    return (
        f'<nav class="top"><strong>{t("web.title", lang)}</strong>{items}'
        f'<span class="who">{who}</span>{signout}</nav>'
    )


def _refuse_page(lang: str, key: str, status: int, **params: Any) -> Response:
    body = f'<div class="card"><p>{t(key, lang, **params)}</p></div>'
    return html(page(render(key, lang, **params), body, lang), status)


def routes(services: WebServices) -> list[Route]:
    settings = services.settings

    def signed_in(request: Request) -> links.WebSession | Response:
        cookie = request.cookies.get(COOKIE, "")
        if not cookie:
            return _refuse_page("zh", "web.need_signin", 401)
        try:
            with services.work(None) as ctx:
                return links.session_of(ctx.session, settings, cookie, ctx.now)
        except links.ExpiredLink:
            return _refuse_page("zh", "web.session_over", 401)
        except links.BadLink:
            return _refuse_page("zh", "web.need_signin", 401)

    def csrf_binding(session: links.WebSession) -> str:
        return f"s{session.link_id}"

    def signed(
        handler: Callable[[Request, links.WebSession], Awaitable[Response]],
    ) -> Callable[[Request], Awaitable[Response]]:
        """The handler runs only for a live session; otherwise the sign-in page answers."""

        async def run(request: Request) -> Response:
            session = signed_in(request)
            if isinstance(session, Response):
                return session
            return await handler(request, session)

        return run

    def not_found(session: links.WebSession) -> Response:
        lang = session.official.language
        card = f'<div class="card">{t("web.not_found", lang)}</div>'
        return frame(session, "", render("web.not_found", lang), card, 404)

    def flash_of(request: Request, lang: str, keys: tuple[str, ...]) -> str:
        ok = request.query_params.get("ok", "")
        return notice(render(f"web.ok.{ok}", lang)) if ok in keys else ""

    # --- sign-in -----------------------------------------------------------------------
    def _signin_token(token: str) -> links.Token | Response:
        now = services.clock.now()
        try:
            return links.read(services.secret, token, links.SIGNIN, now)
        except links.ExpiredLink:
            return _refuse_page("zh", "web.link_expired", 410)
        except links.BadLink:
            return _refuse_page("zh", "web.link_bad_help", 403)

    async def signin_page(request: Request) -> Response:
        token = request.path_params["token"]
        found = _signin_token(token)
        if isinstance(found, Response):
            return found
        with services.work(None) as ctx:
            official = ctx.session.get(Official, found.official_id)
            if official is None:
                return _refuse_page("zh", "web.link_bad_help", 403)
            lang, name, role = official.language, official.name, official.role
        body = (
            f'<form class="card" method="post" action="/signin/{e(token)}">'
            f"<h1>{t('web.signin_title', lang)}</h1>"
            f"<p>{t('web.signin_as', lang, name=name, role=render(f'orole.{role}', lang))}</p>"
            f"{hidden('csrf', services.csrf(token))}"
            f'<button type="submit">{t("web.signin_button", lang)}</button></form>'
        )
        return html(page(render("web.signin_title", lang), body, lang))

    async def signin(request: Request) -> Response:
        token = request.path_params["token"]
        now = services.clock.now()
        wait = services.link_requests.wait_minutes(f"signin:{client_key(request)}", now)
        if wait:
            return _refuse_page("zh", "web.too_many", 429, minutes=wait)
        found = _signin_token(token)
        if isinstance(found, Response):
            return found
        form = await request.form(max_files=0, max_fields=5)
        if not services.csrf_ok(form, token):
            return _refuse_page("zh", "web.csrf", 403)
        try:
            with services.work(found.official_id) as ctx:
                session = links.redeem_signin(ctx, token)
        except links.UsedLink:
            return _refuse_page("zh", "web.link_used", 403)
        except (links.BadLink, links.ExpiredLink):
            return _refuse_page("zh", "web.link_bad_help", 403)
        response = RedirectResponse("/dash", status_code=303)
        response.set_cookie(
            COOKIE,
            session.cookie,
            max_age=settings.web.session_hours * 3600,
            httponly=True,
            samesite="strict",
            secure=settings.web.secure,
            path="/",
        )
        return response

    @signed
    async def signout(request: Request, session: links.WebSession) -> Response:
        form = await request.form(max_files=0, max_fields=5)
        if not services.csrf_ok(form, csrf_binding(session)):
            return _refuse_page(session.official.language, "web.csrf", 403)
        with services.work(session.official.id) as ctx:
            links.end_session(ctx, session.link_id)
        response = _refuse_page(session.official.language, "web.signed_out", 200)
        response.delete_cookie(COOKIE, path="/")
        return response

    # --- pages -----------------------------------------------------------------------------
    def frame(
        session: links.WebSession, here: str, title: str, body: str, status: int = 200
    ) -> Response:
        lang = session.official.language
        return html(page(title, body, lang, nav=_nav(services, session, here)), status)

    @signed
    async def dash(request: Request, session: links.WebSession) -> Response:
        lang = session.official.language
        q = request.query_params
        flt = board.BoardFilter(**{k: q.get(k, "")[:100] for k in (*board.FILTERS, "q")})
        with services.work(session.official.id) as ctx:
            data = board.board(ctx, flt)
        choices: dict[str, list[tuple[str, str]]] = {
            "aspect": [(a, a) for a in data.options["aspect"]],
            "unit": [(u, u) for u in data.options["unit"]],
            "owner": [(o, o) for o in data.options["owner"]],
            "light": [(v.value, render(f"light.{v.value}", lang)) for v in Light],
            "status": [(v.value, render(f"status.{v.value}", lang)) for v in TaskStatus],
            "role": [(v.value, render(f"role.{v.value}", lang)) for v in TaskRole],
        }
        selects = "".join(
            f'<label>{t(f"web.f.{name}", lang)}<select name="{name}">'
            f'<option value="">{t("web.all", lang)}</option>'
            f"{options(values, getattr(flt, name))}</select></label>"
            for name, values in choices.items()
        )
        filters = (
            f'<form class="filters card" method="get" action="/dash">{selects}'
            f'<label>{t("web.search", lang)}<input type="search" name="q" value="{e(flt.q)}"></label>'
            f'<span><button type="submit">{t("web.filter", lang)}</button> '
            f'<a class="button quiet" href="/dash">{t("web.clear", lang)}</a></span></form>'
        )
        table = _ledger_table(
            ("ref", "task", "deadline", "light", "status", "owners", "unit"),
            "".join(_ledger_row(v, lang) for v in data.rows),
            lang,
        )
        charts = (
            '<div class="charts">'
            + bar_chart(render("web.by_aspect", lang), data.by_aspect)
            + bar_chart(render("web.by_unit", lang), data.by_unit)
            + "</div>"
        )
        buttons = (
            '<div class="actions">'
            f'<a class="button" href="/dash/export.xlsx">{t("web.export", lang)}</a>'
            f'<a class="button quiet" href="/dash/report.docx">{t("web.report_internal", lang)}</a>'
            f'<a class="button quiet" href="/dash/report.docx?public=1">{t("web.report_public", lang)}</a>'
            "</div>"
        )
        body = (
            f"<h1>{t('web.title', lang)}</h1>{buttons}{filters}"
            f'<p class="muted">{t("web.count", lang, shown=len(data.rows), total=data.in_scope)}</p>'
            f"{charts}{table}"
        )
        return frame(session, "board", render("web.title", lang), body)

    @signed
    async def overdue(request: Request, session: links.WebSession) -> Response:
        lang = session.official.language
        with services.work(session.official.id) as ctx:
            rows = board.overdue(ctx, services.calendar)
        body_rows = "".join(
            "<tr>"
            f'<td data-label="{t("web.col.ref", lang)}">{e(r.view.task.ref)}</td>'
            f'<td><a href="/dash/task/{r.view.id}">#{r.view.id} {e(r.view.task.title)}</a></td>'
            f'<td data-label="{t("web.col.deadline", lang)}">{e(r.view.task.deadline)}</td>'
            f'<td data-label="{t("web.col.overdue", lang)}">{light_badge("red", lang)} {r.view.days_overdue}</td>'
            f'<td data-label="{t("web.col.wdays", lang)}">{r.working_days}</td>'
            f'<td data-label="{t("web.col.level", lang)}">{_level(r.view.task.escalation_level, lang)}</td>'
            f'<td data-label="{t("web.col.owners", lang)}">{e("、".join(r.view.owners) or "—")}</td>'
            "</tr>"
            for r in rows
        )
        table = _ledger_table(
            ("ref", "task", "deadline", "overdue", "wdays", "level", "owners"), body_rows, lang
        )
        body = f"<h1>{t('web.overdue_title', lang)}</h1>{table}"
        return frame(session, "overdue", render("web.overdue_title", lang), body)

    @signed
    async def pending(request: Request, session: links.WebSession) -> Response:
        lang = session.official.language
        flash = flash_of(request, lang, ("verify", "reject"))
        with services.work(session.official.id) as ctx:
            queue = board.awaiting(ctx)
            stamps = {v.id: lifecycle.submission_stamp(v.task) for v, _ in queue}
        csrf = hidden("csrf", services.csrf(csrf_binding(session)))
        cards = (
            "".join(
                _pending_card(v, files, stamps[v.id], csrf, lang, settings.zone)
                for v, files in queue
            )
            or f'<div class="card">{t("web.none", lang)}</div>'
        )
        body = f"<h1>{t('web.pending_title', lang)}</h1>{flash}{cards}"
        return frame(session, "pending", render("web.pending_title", lang), body)

    @signed
    async def extensions(request: Request, session: links.WebSession) -> Response:
        lang = session.official.language
        flash = flash_of(request, lang, ("ext_yes", "ext_no"))
        with services.work(session.official.id) as ctx:
            requests = board.extension_requests(ctx)
            people = {
                r.requested_by_id: ctx.session.get(Official, r.requested_by_id) for r, _ in requests
            }
            names = {r.id: getattr(people.get(r.requested_by_id), "name", "—") for r, _ in requests}
        csrf = hidden("csrf", services.csrf(csrf_binding(session)))
        cards = (
            "".join(
                f'<div class="card"><h2><a href="/dash/task/{v.id}">#{v.id} {e(v.task.title)}</a> '
                f"{light_badge(v.light.value, lang)}</h2>"
                f"<p>{t('web.ext_line', lang, by=names[r.id], old=r.old_deadline, new=r.new_deadline, reason=r.reason)}</p>"
                f'<form method="post" action="/dash/ext/{r.id}/approve">{csrf}'
                f'<label for="n{r.id}">{t("web.ext_note", lang)}</label>'
                f'<input id="n{r.id}" type="text" name="note" maxlength="500">'
                f'<div class="actions"><button type="submit">{t("web.ext_approve", lang)}</button>'
                f'<button type="submit" class="danger" formaction="/dash/ext/{r.id}/refuse">'
                f"{t('web.ext_refuse', lang)}</button></div></form></div>"
                for r, v in requests
            )
            or f'<div class="card">{t("web.none", lang)}</div>'
        )
        body = f"<h1>{t('web.extensions_title', lang)}</h1>{flash}{cards}"
        return frame(session, "extensions", render("web.extensions_title", lang), body)

    async def task_page(
        request: Request, session: links.WebSession, *, flash: str = "", status: int = 200
    ) -> Response:
        lang = session.official.language
        task_id = int(request.path_params["task_id"])
        with services.work(session.official.id) as ctx:
            view = board.visible(ctx, task_id)
            if view is None:  # a guessed id: the same answer as no such task
                return not_found(session)
            events = history(ctx.session, task_id, limit=500)
            files = reads.evidence_of(ctx.session, [task_id])
            stamp = lifecycle.submission_stamp(view.task)
        task = view.task
        zone = settings.zone
        facts = (
            '<dl class="facts">'
            f"<dt>{t('web.col.ref', lang)}</dt><dd>{e(task.ref)}（{e(view.round_name)}）</dd>"
            f"<dt>{t('web.f.aspect', lang)}</dt><dd>{e(view.aspect.title)}</dd>"
            f"<dt>{t('web.deadline', lang)}</dt><dd>{e(task.deadline or render('deadline.none', lang))}</dd>"
            f"<dt>{t('web.light', lang)}</dt><dd>{light_badge(view.light.value, lang)}</dd>"
            f"<dt>{t('web.status', lang)}</dt><dd>{t(f'status.{task.status}', lang)}</dd>"
            f"<dt>{t('web.measures', lang)}</dt><dd>{e(task.measures or '—')}</dd>"
            f"<dt>{t('web.lead_unit', lang)}</dt><dd>{e(task.lead_unit or '—')}（{t(f'role.{task.role}', lang)}）</dd>"
            f"<dt>{t('web.partners', lang)}</dt><dd>{e(task.participating_units or '—')}</dd>"
            f"<dt>{t('web.owners', lang)}</dt><dd>{e('、'.join(view.owners) or '—')}</dd>"
            f"<dt>{t('web.leaders', lang)}</dt><dd>{e('、'.join(view.leaders) or '—')}</dd>"
            f"<dt>{t('web.col.level', lang)}</dt><dd>{_level(task.escalation_level, lang)}</dd>"
            "</dl>"
        )
        hist = "".join(event_line(ev, lang, zone) for ev in events)
        decide = ""
        if task.status == TaskStatus.SUBMITTED:
            csrf = hidden("csrf", services.csrf(csrf_binding(session)))
            decide = _decide_form(task_id, stamp, csrf, lang)
        body = (
            f"<h1>#{task.id} {e(task.title)}</h1>{flash}"
            f'<div class="card">{facts}</div>{decide}'
            f'<div class="card"><h2>{t("web.files", lang)}</h2>{_files(files, lang, settings.zone)}</div>'
            f'<div class="card"><h2>{t("web.history", lang)}</h2><ul class="history">{hist}</ul></div>'
        )
        return frame(session, "", f"#{task.id} {task.title}", body, status)

    @signed
    async def file(request: Request, session: links.WebSession) -> Response:
        evidence_id = int(request.path_params["evidence_id"])
        with services.work(session.official.id) as ctx:
            try:
                evidence: Evidence | None = reads.evidence_file(ctx, evidence_id)
            except LedgerError:  # none, or not the actor's to see: the same answer
                evidence = None
        if evidence is None or not evidence.local_path or not Path(evidence.local_path).is_file():
            return not_found(session)
        mime = (
            evidence.mime_type if evidence.mime_type in INLINE_TYPES else "application/octet-stream"
        )
        return FileResponse(
            evidence.local_path,
            media_type=mime,
            headers={
                "content-disposition": content_disposition(
                    evidence.file_name, mime in INLINE_TYPES
                ),
                "content-security-policy": "default-src 'none'; img-src 'self'; sandbox",
            },
        )

    @signed
    async def decide_task(request: Request, session: links.WebSession) -> Response:
        lang = session.official.language
        task_id, decision = int(request.path_params["task_id"]), request.path_params["decision"]
        form = await request.form(max_files=0, max_fields=5)
        if not services.csrf_ok(form, csrf_binding(session)):
            return _refuse_page(lang, "web.csrf", 403)
        text = str(form.get("text", ""))
        submission = str(form.get("submission", "")) or None
        try:
            with services.work(session.official.id) as ctx:
                if board.visible(ctx, task_id) is None:
                    return not_found(session)
                if decision == "verify":
                    lifecycle.verify(ctx, task_id, text, submission=submission)
                elif decision == "reject":
                    lifecycle.reject(ctx, task_id, text, submission=submission)
                else:
                    return _refuse_page(lang, "web.not_found", 404)
        except LedgerError as exc:
            return await task_page(
                request, session, flash=notice(exc.text(lang), "err"), status=400
            )
        return RedirectResponse(f"/dash/pending?ok={decision}", status_code=303)

    @signed
    async def decide_extension(request: Request, session: links.WebSession) -> Response:
        lang = session.official.language
        request_id, decision = (
            int(request.path_params["request_id"]),
            request.path_params["decision"],
        )
        if decision not in ("approve", "refuse"):
            return _refuse_page(lang, "web.not_found", 404)
        form = await request.form(max_files=0, max_fields=5)
        if not services.csrf_ok(form, csrf_binding(session)):
            return _refuse_page(lang, "web.csrf", 403)
        try:
            with services.work(session.official.id) as ctx:
                ext = ctx.session.get(ExtensionRequest, request_id)
                if ext is None or board.visible(ctx, ext.task_id) is None:
                    return _refuse_page(lang, "web.not_found", 404)
                lifecycle.decide_extension(
                    ctx, request_id, approve=decision == "approve", note=str(form.get("note", ""))
                )
        except LedgerError as exc:
            body = f'<div class="card">{notice(exc.text(lang), "err")}<a href="/dash/extensions">{t("web.back", lang)}</a></div>'
            return frame(session, "extensions", render("web.extensions_title", lang), body, 400)
        ok = "ext_yes" if decision == "approve" else "ext_no"
        return RedirectResponse(f"/dash/extensions?ok={ok}", status_code=303)

    @signed
    async def export(request: Request, session: links.WebSession) -> Response:
        folder = Path(tempfile.mkdtemp(prefix="ledgerbot-web-"))
        with services.work(session.official.id) as ctx:
            path = folder / f"整改台账-{ctx.today.isoformat()}.xlsx"
            await asyncio.to_thread(reads.export, ctx, path)
        return _download(path, folder)

    @signed
    async def report(request: Request, session: links.WebSession) -> Response:
        lang = session.official.language
        public = request.query_params.get("public") == "1"
        from ledger.reports import write_report

        folder = Path(tempfile.mkdtemp(prefix="ledgerbot-web-"))
        with services.work(session.official.id) as ctx:
            round_name = reads.latest_round(ctx)
            if round_name is None:
                folder.rmdir()
                return frame(
                    session,
                    "",
                    render("web.none", lang),
                    f'<div class="card">{t("web.none", lang)}</div>',
                    404,
                )
            data = await asyncio.to_thread(reads.report_data, ctx, round_name)
            suffix = "公开版" if public else "内部版"
            path = folder / f"整改落实情况报告-{suffix}-{ctx.today.isoformat()}.docx"
            await asyncio.to_thread(write_report, data, path, public=public)
        return _download(path, folder)

    async def home(request: Request) -> Response:
        return RedirectResponse("/dash", status_code=303)

    return [
        Route("/", home, methods=["GET"]),
        Route("/signin/{token}", signin_page, methods=["GET"]),
        Route("/signin/{token}", signin, methods=["POST"]),
        Route("/signout", signout, methods=["POST"]),
        Route("/dash", dash, methods=["GET"]),
        Route("/dash/overdue", overdue, methods=["GET"]),
        Route("/dash/pending", pending, methods=["GET"]),
        Route("/dash/extensions", extensions, methods=["GET"]),
        Route("/dash/task/{task_id:int}", signed(task_page), methods=["GET"]),
        Route("/dash/task/{task_id:int}/{decision}", decide_task, methods=["POST"]),
        Route("/dash/ext/{request_id:int}/{decision}", decide_extension, methods=["POST"]),
        Route("/dash/file/{evidence_id:int}", file, methods=["GET"]),
        Route("/dash/export.xlsx", export, methods=["GET"]),
        Route("/dash/report.docx", report, methods=["GET"]),
    ]


def _download(path: Path, folder: Path) -> Response:
    from starlette.background import BackgroundTask

    def cleanup() -> None:
        path.unlink(missing_ok=True)
        folder.rmdir()

    media = (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        if path.suffix == ".xlsx"
        else "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    return FileResponse(
        path,
        media_type=media,
        headers={"content-disposition": content_disposition(path.name, False)},
        background=BackgroundTask(cleanup),
    )


def _ledger_table(columns: tuple[str, ...], rows: str, lang: str) -> str:
    """A table of tasks (the ledger, the overdue list): its headings, and a line saying so when
    there are no rows."""
    heads = "".join(f"<th>{t(f'web.col.{c}', lang)}</th>" for c in columns)
    body = rows or f'<tr><td colspan="{len(columns)}">{t("web.none", lang)}</td></tr>'
    return (
        f'<div class="table-wrap"><table class="ledger"><thead><tr>{heads}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def _level(level: int, lang: str) -> str:
    return t("web.level", lang, level=level) if level else t("web.level0", lang)


def _ledger_row(view: Any, lang: str) -> str:
    task = view.task
    deadline = task.deadline.isoformat() if task.deadline else render("deadline.none", lang)
    return (
        "<tr>"
        f'<td data-label="{t("web.col.ref", lang)}">{e(task.ref)}</td>'
        f'<td><a href="/dash/task/{view.id}">#{view.id} {e(task.title)}</a>'
        f'<div class="muted">{e(view.aspect.title)}</div></td>'
        f'<td data-label="{t("web.col.deadline", lang)}">{e(deadline)}</td>'
        f'<td data-label="{t("web.col.light", lang)}">{light_badge(view.light.value, lang)}</td>'
        f'<td data-label="{t("web.col.status", lang)}">{t(f"status.{task.status}", lang)}</td>'
        f'<td data-label="{t("web.col.owners", lang)}">{e("、".join(view.owners) or "—")}</td>'
        f'<td data-label="{t("web.col.unit", lang)}">{e(task.lead_unit or "—")}'
        f"（{t(f'role.{task.role}', lang)}）</td>"
        "</tr>"
    )


def _files(files: list[Any], lang: str, zone: Any) -> str:
    if not files:
        return f'<p class="muted">{t("web.no_files", lang)}</p>'
    items = []
    for f in files:
        url = f"/dash/file/{f.id}"
        shown = (
            f'<div><img class="evidence" src="{url}" alt="{e(f.file_name)}"></div>'
            if f.mime_type in IMAGE_TYPES
            else ""
        )
        when = f.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        items.append(
            f'<li><a href="{url}" target="_blank" rel="noopener">{e(f.file_name)}</a> '
            f'<span class="muted">{f.size} B · {e(when)} · sha256 {e(f.sha256[:16])}…</span>{shown}</li>'
        )
    return f"<ul>{''.join(items)}</ul>"


def _decide_form(task_id: int, stamp: str, csrf: str, lang: str) -> str:
    return (
        f'<form class="card" method="post" action="/dash/task/{task_id}/verify">{csrf}'
        f"{hidden('submission', stamp)}"
        f'<label for="op{task_id}">{t("web.opinion", lang)} / {t("web.reject_reason", lang)}</label>'
        f'<textarea id="op{task_id}" name="text" maxlength="1000"></textarea>'
        f'<div class="actions"><button type="submit">{t("web.verify", lang)}</button>'
        f'<button type="submit" class="danger" formaction="/dash/task/{task_id}/reject">'
        f"{t('web.reject', lang)}</button></div></form>"
    )


def _pending_card(view: Any, files: list[Any], stamp: str, csrf: str, lang: str, zone: Any) -> str:
    task = view.task
    submitted = (
        task.submitted_at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if task.submitted_at else "—"
    )
    return (
        f'<div class="card"><h2><a href="/dash/task/{view.id}">#{view.id} {e(task.title)}</a> '
        f"{light_badge(view.light.value, lang)}</h2>"
        f"<p>{t('web.col.owners', lang)}：{e('、'.join(view.owners) or '—')} · "
        f"{t('web.col.submitted', lang)}：{e(submitted)}</p>"
        f"<p>{t('web.col.note', lang)}：{e(task.completion_note or '—')}</p>"
        f"{_files(files, lang, zone)}{_decide_form(view.id, stamp, csrf, lang)}</div>"
    )
