"""The fake Bot API's update queue: ids, offsets that confirm, allowed_updates filtering."""

from __future__ import annotations

from typing import Any

FIRST_UPDATE_ID = 700_000_001


def _kind(update: dict[str, Any]) -> str:
    return next((key for key in update if key != "update_id"), "")


class UpdateQueue:
    """Updates waiting for getUpdates; an update stays until an offset past it confirms it."""

    def __init__(self) -> None:
        self._pending: list[dict[str, Any]] = []
        self._next_id = FIRST_UPDATE_ID

    def __len__(self) -> int:
        return len(self._pending)

    def push(self, raw: dict[str, Any]) -> int:
        """Queue an update under the next update_id and return that id."""
        update_id = self._next_id
        self._next_id += 1
        self._pending.append({**raw, "update_id": update_id})
        return update_id

    def confirm(self, offset: object) -> None:
        """Forget updates below `offset`; a negative one keeps only the last -offset."""
        if not isinstance(offset, int) or offset == 0:
            return
        if offset < 0:
            self._pending = self._pending[offset:]
        else:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]

    def take(self, limit: int, allowed: object) -> list[dict[str, Any]] | None:
        """Up to `limit` pending updates (still pending until confirmed), or None if none."""
        if isinstance(allowed, list) and allowed:
            # Telegram never delivers updates of types the bot did not ask for.
            self._pending = [u for u in self._pending if _kind(u) in allowed]
        return [dict(u) for u in self._pending[:limit]] or None

    def clear(self) -> None:
        """Drop every pending update (deleteWebhook with drop_pending_updates)."""
        self._pending.clear()
