"""What the job system needs from the chat: send, edit, delete. Implemented over PTB elsewhere."""

from __future__ import annotations

from typing import Protocol

# Rows of (label, callback_data) buttons.
Buttons = list[list[tuple[str, str]]]


class ChatUI(Protocol):
    async def send(
        self,
        chat_id: int,
        text: str,
        *,
        buttons: Buttons | None = None,
        reply_to: int | None = None,
    ) -> int | None:
        """Send an HTML message; returns its id, or None when the chat cannot be reached."""
        ...

    async def edit(
        self, chat_id: int, message_id: int, text: str, *, buttons: Buttons | None = None
    ) -> bool:
        """Edit a message; False when it no longer exists (the caller may send a new one)."""
        ...

    async def delete(self, chat_id: int, message_id: int) -> None: ...
