"""Signed links: one person, one task, expiry at the exact instant, forgery refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ledger import links

SECRET = "k" * 40
NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


def test_action_link_reads_back_until_the_exact_expiry() -> None:
    url = links.action_url("http://127.0.0.1:8080/", SECRET, 7, 42, NOW, hours=72)
    assert url.startswith("http://127.0.0.1:8080/a/a.7.42.")
    token = url.rsplit("/", 1)[1]
    found = links.read(
        SECRET, token, links.ACTION, NOW + timedelta(hours=72) - timedelta(seconds=1)
    )
    assert (found.official_id, found.target) == (7, 42)
    with pytest.raises(links.ExpiredLink) as expired:
        links.read(SECRET, token, links.ACTION, NOW + timedelta(hours=72))
    assert expired.value.token.official_id == 7  # so a fresh one can go to that person


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t.replace("a.7.", "a.8.", 1),  # another person
        lambda t: t.replace(".42.", ".43.", 1),  # another task
        lambda t: t[:-2],  # cut short
        lambda t: "s" + t[1:],  # another purpose
    ],
)
def test_a_changed_token_is_forged(change: object) -> None:
    token = links.action_token(SECRET, 7, 42, NOW)
    with pytest.raises(links.BadLink):
        links.read(SECRET, change(token), links.ACTION, NOW)  # type: ignore[operator]


def test_another_secret_does_not_verify() -> None:
    token = links.action_token(SECRET, 7, 42, NOW)
    with pytest.raises(links.BadLink):
        links.read("x" * 40, token, links.ACTION, NOW)
