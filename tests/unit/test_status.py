"""The status message: throttled edits, never unchanged text, recreated when it vanished."""

from __future__ import annotations

from bot.presenter.status import StatusMessage
from bot.telegram_io.chat import Buttons, NotSentError


class FakeUI:
    def __init__(self) -> None:
        self.sent: list[str] = []
        self.edits: list[str] = []
        self.deleted: list[int] = []
        self.lost = False
        self.down = False

    async def send(
        self,
        chat_id: int,
        text: str,
        *,
        buttons: Buttons | None = None,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> int | None:
        if self.down:
            raise NotSentError("network down")
        self.sent.append(text)
        return len(self.sent)

    async def edit(
        self, chat_id: int, message_id: int, text: str, *, buttons: Buttons | None = None
    ) -> bool:
        if self.lost:
            return False
        self.edits.append(text)
        return True

    async def delete(self, chat_id: int, message_id: int) -> None:
        self.deleted.append(message_id)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_edits_are_throttled_and_never_repeat() -> None:
    ui, clock = FakeUI(), Clock()
    status = StatusMessage(ui, 1, None, clock=clock)
    await status.show("a")
    await status.show("b")  # too soon: dropped
    clock.now += 3
    await status.show("b")
    clock.now += 3
    await status.show("b")  # same text: no edit
    await status.final("done")  # final ignores the throttle
    assert ui.sent == ["a"]
    assert ui.edits == ["b", "done"]


async def test_vanished_message_is_sent_again() -> None:
    ui, clock = FakeUI(), Clock()
    status = StatusMessage(ui, 1, 41, clock=clock)
    ui.lost = True
    await status.final("resuming")
    assert ui.sent == ["resuming"]
    assert status.message_id == 1
    await status.remove()
    assert ui.deleted == [1]


async def test_a_message_that_did_not_go_out_says_so_and_goes_out_next_time() -> None:
    ui, clock = FakeUI(), Clock()
    status = StatusMessage(ui, 1, None, clock=clock)
    ui.down = True
    assert await status.final("failed") is False  # worth trying again
    clock.now += 3
    assert await status.show("progress") is False
    ui.down = False
    assert await status.final("failed") is True
    assert ui.sent == ["failed"]
