"""Access: admins always; banned users never; the allowlist, when set, decides for the rest."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.access.rules import Access, Verdict
from bot.store.users import UserRecord


def user(user_id: int, *, banned: bool = False) -> UserRecord:
    return UserRecord(
        user_id, "U", None, "en", None, banned, dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    )


@pytest.mark.parametrize(
    ("allowed", "record", "verdict"),
    [
        (None, user(5), Verdict.ALLOWED),
        (None, user(5, banned=True), Verdict.BANNED),
        (frozenset({5}), user(5), Verdict.ALLOWED),
        (frozenset({5}), user(6), Verdict.NOT_ALLOWED),
        (frozenset({5}), user(5, banned=True), Verdict.BANNED),
        (frozenset({5}), user(1), Verdict.ALLOWED),  # an admin, though not listed
        (None, user(1, banned=True), Verdict.ALLOWED),  # an admin cannot lock themselves out
    ],
)
def test_verdicts(allowed: frozenset[int] | None, record: UserRecord, verdict: Verdict) -> None:
    assert Access(frozenset({1}), allowed).verdict(record) is verdict
