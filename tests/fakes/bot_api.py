"""A fake Telegram Bot API server for end-to-end tests: real HTTP, Telegram's shapes and errors.

The daemon under test talks to it through TELEGRAM_API_URL; tests push updates, inject faults
and await what the bot does (`wait_for`, `wait_for_text`, `wait_for_file`) without sleeping.
It takes any pace of calls unless made with `flood=FloodRules()`: then it answers as Telegram's
flood control does (429 and retry_after) and counts calls made into a running retry_after
(`api.flood.violations`; flood.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from tests.fakes.errors import BAD_GATEWAY_HTML, ApiError
from tests.fakes.faults import Faults, Loss
from tests.fakes.flood import FloodControl, FloodRules
from tests.fakes.form import ParsedRequest, decode_params, parse_request
from tests.fakes.methods import BotMethods
from tests.fakes.records import UPLOAD_METHODS, Call, ChatMessage, UploadedFile
from tests.fakes.waiters import Waiters

__all__ = ["SENDS", "Call", "ChatMessage", "FakeBotApi", "Loss", "UploadedFile"]

UPLOAD_LIMIT = 50 * 1024 * 1024
LOCAL_UPLOAD_LIMIT = 2000 * 1024 * 1024
MAX_BODY = 3 * 1024 * 1024 * 1024
STALL_LIMIT = 600.0  # a stalled answer waits at most this long for the client to give up
# The methods that put something new into a chat: sending one twice makes a second copy.
SENDS = frozenset({"sendMessage", *UPLOAD_METHODS})


class FakeBotApi:
    """An aiohttp server on 127.0.0.1 answering `/bot{token}/{method}` like api.telegram.org."""

    def __init__(
        self,
        token: str = "123456:TEST-token",  # noqa: S107 - a fake bot's token, no secret
        *,
        local_mode: bool = False,
        upload_limit: int | None = None,
        save_dir: Path | None = None,
        check_videos: bool = False,
        flood: FloodRules | None = None,
    ) -> None:
        self.token = token
        # Telegram's flood limits (flood.py), or None: every call is taken at any pace.
        self.flood = FloodControl(flood) if flood is not None else None
        # Where uploaded files are kept (for a test that opens what was delivered); None: only
        # hashed as they stream in.
        self.save_dir = save_dir
        self.bot_id = int(token.split(":", 1)[0])
        self.local_mode = local_mode
        self.upload_limit = upload_limit or (LOCAL_UPLOAD_LIMIT if local_mode else UPLOAD_LIMIT)
        self.calls: list[Call] = []
        # (method, part name) of every file part whose first bytes arrived, in order: an upload
        # that has begun, whether or not it ever ends.
        self.uploads_begun: list[tuple[str, str]] = []
        # Bytes a second at which uploaded files are read (a slow link to Telegram); None: as
        # fast as they come.
        self.upload_rate: float | None = None
        self.get_updates_count = 0
        self.last_get_updates_at: float | None = None
        self.bot_user: dict[str, Any] = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "tgfetch",
            "username": "tgfetch_bot",
        }
        self._waiters = Waiters()
        self._faults = Faults()
        # check_videos (with save_dir): every sendVideo upload must be an MP4 that ffprobe plays,
        # of the duration the call says, or it is refused as Telegram would not play it.
        self._bot = BotMethods(
            self.bot_user,
            self._waiters,
            local_mode=local_mode,
            upload_limit=self.upload_limit,
            check_videos=check_videos,
        )
        self._holds: dict[str, int] = {}  # method -> calls still let through before holding
        self.held = 0  # requests held right now (before their body is read)
        self._rejected: int | None = None
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._methods = self._bot.table()
        self._canonical = {name.lower(): name for name in self._methods}

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen on a random loopback port."""
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None
        )
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        self._bot.closing = False

    async def stop(self) -> None:
        """Answer parked long-polls and stalls, then close the server."""
        self._bot.closing = True
        self._waiters.notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """The server root, what goes into TELEGRAM_API_URL."""
        if self._port is None:
            raise RuntimeError("FakeBotApi is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def check_videos(self) -> bool:
        """Whether sendVideo uploads must be playable MP4s of the duration said (save_dir set)."""
        return self._bot.check_videos

    @check_videos.setter
    def check_videos(self, value: bool) -> None:
        self._bot.check_videos = value

    @property
    def blocked_chats(self) -> set[int]:
        """Chats whose calls answer 403 "bot was blocked by the user" (add to it)."""
        return self._bot.chats.blocked_chats

    @property
    def missing_chats(self) -> set[int]:
        """Chats whose calls answer 400 "chat not found" (add to it)."""
        return self._bot.chats.missing_chats

    # --- state for assertions --------------------------------------------------------------

    def chat(self, chat_id: int) -> list[ChatMessage]:
        """The bot's current messages in a chat, oldest first, edits applied."""
        return self._bot.chats.snapshot(chat_id)

    def sent_files(self, chat_id: int) -> list[UploadedFile]:
        """The files of the bot's current messages in a chat, oldest first."""
        return [m.file for m in self.chat(chat_id) if m.file is not None]

    def calls_of(self, method: str, chat_id: int | None = None) -> list[Call]:
        """Recorded calls of one method (any spelling), optionally to one chat."""
        wanted = method.lower()
        return [
            c
            for c in self.calls
            if c.method.lower() == wanted and (chat_id is None or c.chat_id == chat_id)
        ]

    def commands(
        self, language_code: str = "", scope: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """The command list set for a scope and language (what getMyCommands would answer)."""
        return self._bot.commands.get({"language_code": language_code, "scope": scope})

    @property
    def pending_updates(self) -> int:
        """Updates pushed but not yet confirmed by the bot."""
        return len(self._bot.updates)

    # --- injecting -------------------------------------------------------------------------

    def push_message(
        self,
        user_id: int,
        text: str,
        *,
        language_code: str = "en",
        first_name: str = "User",
        username: str | None = None,
        chat_id: int | None = None,
        thread_id: int | None = None,
        reply_to: int | None = None,
    ) -> int:
        """Queue a user's text message (private chat unless `chat_id`), in forum topic
        `thread_id`, as a reply to message `reply_to`; returns the update_id."""
        return self._bot.pushes.message(
            user_id,
            text,
            language_code=language_code,
            first_name=first_name,
            username=username,
            chat_id=chat_id,
            thread_id=thread_id,
            reply_to=reply_to,
        )

    def push_inline_query(self, user_id: int, query: str, *, language_code: str = "en") -> str:
        """Queue an inline query (`@bot query`); returns its id (see `inline_answer`)."""
        return self._bot.pushes.inline_query(user_id, query, language_code=language_code)

    def inline_answer(self, query_id: str) -> dict[str, Any] | None:
        """The bot's answerInlineQuery to a query, as sent (None: not answered yet)."""
        return self._bot.pushes.inline_answers.get(query_id)

    def push_joined(
        self, chat_id: int, by: int, *, status: str = "member", old: str = "left"
    ) -> int:
        """Queue the update that `by` added the bot to a group (status "left": removed it)."""
        return self._bot.pushes.joined(chat_id, by, status=status, old=old)

    def forum(self, chat_id: int) -> None:
        """Make `chat_id` a supergroup with topics (before pushing messages into it)."""
        self._bot.chats.forum(chat_id)

    def topic(self, chat_id: int) -> int:
        """Open a topic in the forum `chat_id`; returns its message_thread_id."""
        return self._bot.chats.topic(chat_id)

    def set_member(self, chat_id: int, user_id: int, status: str) -> None:
        """What getChatMember says of the user in the chat: "creator", "administrator"..."""
        self._bot.chats.members[(chat_id, user_id)] = status

    def push_document(
        self, user_id: int, name: str, content: bytes, *, size: int | None = None
    ) -> int:
        """Queue a user's document (a private chat); `size`: the size Telegram announces."""
        document = self._bot.files.add_incoming(content, name, size)
        return self._bot.pushes.message(
            user_id,
            "",
            language_code="en",
            first_name="User",
            username=None,
            chat_id=None,
            document=document,
        )

    def message_id_of(self, update_id: int) -> int:
        """The message_id of the user's message pushed as `update_id` (what a reply points at)."""
        return self._bot.pushes.message_ids[update_id]

    def push_callback(
        self,
        user_id: int,
        message_id: int,
        data: str,
        *,
        language_code: str = "en",
        chat_id: int | None = None,
    ) -> int:
        """Queue a button press on the bot's message `message_id`; returns the update_id."""
        return self._bot.pushes.callback(
            user_id, message_id, data, language_code=language_code, chat_id=chat_id
        )

    def push_update(self, raw: dict[str, Any]) -> int:
        """Queue any update (its update_id is assigned here); returns the update_id."""
        return self._bot.pushes.raw(raw)

    # --- awaiting --------------------------------------------------------------------------

    def mark(self) -> int:
        """A position in `calls`; pass it as `after=` to wait only for later calls."""
        return len(self.calls)

    async def wait_for(
        self,
        predicate: Callable[[Call], bool],
        timeout: float = 10,
        *,
        after: int = 0,
    ) -> Call:
        """The first call from index `after` on, recorded or yet to come, matching predicate."""
        index = after

        def check() -> Call | None:
            nonlocal index
            while index < len(self.calls):
                call = self.calls[index]
                index += 1
                if predicate(call):
                    return call
            return None

        found = await self._waiters.wait(check, timeout)
        if found is None:
            raise TimeoutError(self._timeout_report("no matching call", timeout))
        return found

    async def wait_for_text(
        self,
        chat_id: int,
        substring: str,
        timeout: float = 10,
    ) -> ChatMessage:
        """A message of the bot in the chat, now or later, whose text or caption has substring."""

        def check() -> ChatMessage | None:
            return next((m for m in self.chat(chat_id) if substring in m.content), None)

        found = await self._waiters.wait(check, timeout)
        if found is None:
            shown = "\n".join(f"  {m.message_id}: {m.content!r}" for m in self.chat(chat_id))
            what = f"no message containing {substring!r} in chat {chat_id}; it has:\n{shown}"
            raise TimeoutError(self._timeout_report(what, timeout))
        return found

    async def wait_for_file(
        self,
        chat_id: int,
        timeout: float = 30,
        *,
        after: int = 0,
    ) -> Call:
        """A successful upload call (sendDocument, sendVideo, ...) to the chat."""
        try:
            return await self.wait_for(
                lambda c: c.method in UPLOAD_METHODS and c.ok and c.chat_id == chat_id,
                timeout,
                after=after,
            )
        except TimeoutError as err:
            raise TimeoutError(f"no file was delivered to chat {chat_id}: {err}") from None

    async def wait_upload_begun(self, method: str, timeout: float = 10) -> None:
        """Return once a `method` call's file part has begun to arrive (it may not end)."""
        begun = await self._waiters.wait(
            lambda: True if any(m == method for m, _ in self.uploads_begun) else None, timeout
        )
        if begun is None:
            raise TimeoutError(self._timeout_report(f"no {method} upload began", timeout))

    async def wait_until_polling(
        self,
        timeout: float = 10,
    ) -> None:
        """Return once a getUpdates long-poll is parked here (the bot is up and polling)."""
        if await self._waiters.wait(lambda: True if self._bot.polling else None, timeout) is None:
            raise TimeoutError(self._timeout_report("the bot never long-polled", timeout))

    def _timeout_report(self, what: str, timeout: float) -> str:
        recent = [c for c in self.calls if c.method != "getUpdates"][-20:]
        lines = "\n".join(f"  {c.summary()}" for c in recent) or "  (none)"
        return (
            f"{what} within {timeout}s; getUpdates seen {self.get_updates_count} times; "
            f"recent calls:\n{lines}"
        )

    # --- faults ----------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        status: int,
        count: int = 1,
        *,
        retry_after: int | None = None,
        description: str | None = None,
    ) -> None:
        """Make the next `count` calls of `method` fail with Telegram's error for `status`."""
        self._faults.fail_next(
            method, status, count, retry_after=retry_after, description=description
        )

    def fail_ratio(
        self,
        ratio: float,
        statuses: Iterable[int] = (500, 429),
        *,
        seed: int = 0,
        methods: set[str] | None = None,
        retry_after: int = 1,
    ) -> None:
        """Fail a seeded-random fraction of calls; getUpdates only if listed in `methods`."""
        self._faults.fail_ratio(
            ratio, statuses, seed=seed, methods=methods, retry_after=retry_after
        )

    def stall_get_updates(self, stalled: bool = True) -> None:
        """While True, getUpdates requests hang unanswered (until released or abandoned)."""
        self._bot.stalled = stalled
        self._waiters.notify()

    def reject_get_updates(self, status: int | None) -> None:
        """Answer every getUpdates with this error (e.g. 401, 409) until given None."""
        self._rejected = status

    def set_slow(self, method: str, seconds: float) -> None:
        """Delay the answers to `method` by `seconds` (0 to stop)."""
        self._faults.set_slow(method, seconds)

    def lose_next(self, method: str, count: int = 1, how: Loss = Loss.DROP) -> None:
        """Perform the next `count` calls of `method`, then lose their answers."""
        self._faults.lose_next(method, count, how)

    def lose_answers(
        self,
        ratio: float,
        *,
        methods: Iterable[str] | None = SENDS,
        seed: int = 0,
        modes: Iterable[Loss] = (Loss.DROP,),
    ) -> None:
        """Perform a seeded-random fraction of calls, then lose their answers.

        As Telegram does on a slow upload: the message is in the chat, the bot never hears so.
        `methods` None means every method but getUpdates. Lost calls are recorded with status
        200 and `answer_lost`.
        """
        self._faults.lose_ratio(ratio, seed=seed, methods=methods, modes=modes)

    def hold(self, method: str, after: int = 0) -> None:
        """Let `after` more calls of `method` through, then hold each later one before reading
        its body (an upload that never gets going) until `release`."""
        self._holds[method.lower()] = after

    def release(self, method: str) -> None:
        self._holds.pop(method.lower(), None)
        self._waiters.notify()

    async def wait_held(self, timeout: float = 30) -> None:
        """Return once a request is being held."""
        if await self._waiters.wait(lambda: True if self.held else None, timeout) is None:
            raise TimeoutError(self._timeout_report("no request was held", timeout))

    async def _gate(self, method: str) -> None:
        key = method.lower()
        left = self._holds.get(key)
        if left is None:
            return
        if left > 0:
            self._holds[key] = left - 1
            return
        self.held += 1
        self._waiters.notify()
        try:
            await self._waiters.wait(
                lambda: True if key not in self._holds or self._bot.closing else None, STALL_LIMIT
            )
        finally:
            self.held -= 1

    def answer_without(self, method: str, *path: str, count: int = 1) -> None:
        """Perform the next `count` calls of `method`, then answer without the field at `path`
        (`answer_without("sendVideo", "video", "width")`): an answer PTB cannot read."""
        self._faults.cut_next(method, path, count)

    def answer_with(self, method: str, result: Any) -> None:
        """Answer every call of `method` with this `result`, whatever its shape."""
        self._faults.answer_with(method, result)

    def clear_faults(self) -> None:
        """Undo every fail_next, fail_ratio, set_slow, lost answer, stall and reject."""
        self._faults = Faults()
        self._rejected = None
        self.stall_get_updates(False)

    # --- HTTP ------------------------------------------------------------------------------

    async def _file(self, request: web.Request) -> web.StreamResponse:
        """GET /file/bot{token}/{file_path}: a file a user sent, as getFile named it."""
        content = self._bot.files.incoming_bytes(request.match_info["path"])
        if request.match_info["token"] != self.token or content is None:
            return web.Response(status=404)
        self._record(Call("downloadFile", {"path": request.match_info["path"]}, {}, 0, 200))
        return web.Response(body=content)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        at = time.monotonic()
        name = request.match_info["method"]
        method = self._canonical.get(name.lower(), name)
        raw: dict[str, object] = {}
        parsed: ParsedRequest | None = None
        try:
            await self._gate(method)
            parsed = await parse_request(
                request,
                self.upload_limit,
                raw,
                self.save_dir,
                self.upload_rate,
                lambda part: self._began(method, part),
            )
        finally:
            if parsed is None:  # the client hung up mid-request (a cancelled upload, say)
                self._record(Call(method, decode_params(raw), {}, at, 499))
        status = 499
        lost: Loss | None = None
        try:
            result = await self._dispatch(method, request.match_info["token"], parsed)
        except ApiError as err:
            status = err.status
            if status == 502:
                return web.Response(status=502, text=BAD_GATEWAY_HTML, content_type="text/html")
            return web.json_response(err.payload(), status=status)
        else:
            status = 200
            lost = self._faults.loss(method)
            if lost is None:
                result = self._faults.cut(method, result)
                return web.json_response({"ok": True, "result": result})
        finally:
            call = Call(method, parsed.params, parsed.files, at, status, lost is not None)
            self._record(call)
        return await self._lose_answer(request, lost)

    async def _lose_answer(self, request: web.Request, how: Loss) -> web.StreamResponse:
        """Hang up without answering: at once, or once the client has given up waiting."""
        if how is Loss.STALL:
            # aiohttp cancels this handler when the client hangs up (handler_cancellation).
            await self._waiters.wait(lambda: True if self._bot.closing else None, STALL_LIMIT)
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=200)  # never written: the connection is closed

    def _began(self, method: str, part: str) -> None:
        self.uploads_begun.append((method, part))
        self._waiters.notify()

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        self._waiters.notify()

    async def _dispatch(self, method: str, token: str, parsed: ParsedRequest) -> Any:
        if token != self.token:
            raise ApiError(401)
        handler = self._methods.get(method)
        if handler is None:
            raise ApiError(404)
        if parsed.error is not None:
            raise ApiError(400, parsed.error)
        if parsed.too_large:
            raise ApiError(413)
        if method == "getUpdates":
            self.get_updates_count += 1
            self.last_get_updates_at = time.monotonic()
            if self._rejected is not None:
                raise ApiError(self._rejected)
        if self.flood is not None and (limited := self.flood.check(method, parsed.params)):
            raise limited
        fault = self._faults.take(method)
        if fault is not None:
            raise fault
        if delay := self._faults.delay(method):
            await asyncio.sleep(delay)
        answered, result = self._faults.answer_of(method)
        if answered:
            return result
        return await handler(parsed.params, parsed.files)
