"""What the job system needs from the chat: send, edit, delete. Implemented over PTB elsewhere."""

from __future__ import annotations

from typing import Protocol

# Rows of (label, callback_data) buttons.
Buttons = list[list[tuple[str, str]]]


class NotSentError(Exception):
    """The message did not reach the chat this time (network, flood); a later try may work.

    Not raised for a chat that is gone (nothing will work), nor for a send whose answer was
    lost (it is most likely in the chat, and sending it again would show it twice).
    """


class ChatUI(Protocol):
    async def send(
        self,
        chat_id: int,
        text: str,
        *,
        buttons: Buttons | None = None,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> int | None:
        """Send an HTML message (into forum topic `thread_id`); returns its id, or None when
        the chat cannot be reached or the id is unknown (the answer was lost). Raises
        NotSentError."""
        ...

    async def edit(
        self, chat_id: int, message_id: int, text: str, *, buttons: Buttons | None = None
    ) -> bool:
        """Edit a message; False when it no longer exists (the caller may send a new one).
        Raises NotSentError."""
        ...

    async def delete(self, chat_id: int, message_id: int) -> None: ...
