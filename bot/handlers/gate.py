"""Decided once, before any handler: which updates the bot acts on, and who may use it.

- Groups only where GROUPS allows (access/groups.py). Elsewhere a command addressed to the
  bot (or a press of one of its buttons) is told to use a private chat; anything else is
  ignored. Where it works, it is quiet: it reads its commands (privacy mode stays on) and,
  where /autodl is on, messages with links; a member it does not serve (a ban,
  ALLOWED_USERS) gets nothing in the group (a button press: a word only they see); a command
  that belongs in a private chat (/history, /settings...) gets a pointer there.
- An edited message never starts anything: the link was handled when it was sent, and
  Telegram also sends edits nobody made (a first reaction, say). Ignored, and logged.
- Access (bans, ALLOWED_USERS; admins always pass) for every command, button, message and
  inline query, /language included, so no handler can forget to ask. A refused inline query
  is answered with nothing.
- Admin-only commands (the admin part of handlers/menu.py), the admin panel's buttons and
  someone else's history pages: anyone else gets what an unknown command or button gets.
- The rate limit on links (RATE_LIMIT_PER_MINUTE), every link of a message counted: what it
  lets through is handed to the links handler (`ctx.links`), which answers for them all.
- A button with empty data is answered as one no longer active: PTB would hand it to every
  button handler, whatever their patterns say.

The gate decides first and speaks second. Once it has refused an update, no handler sees it,
whatever happens to the refusal's reply (a 5xx, a timeout, a user who blocked the bot, flood
control): the reply has a short deadline of its own and its failure is only logged. An update
the gate could not decide on (the database failed, say) is refused too: it fails closed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.ext import Application, ApplicationHandlerStop, TypeHandler

from bot.access.rules import Verdict
from bot.handlers import errors
from bot.handlers.common import answer
from bot.handlers.context import BotContext
from bot.handlers.groups import GROUP_TYPES, NOT_HERE, PRIVATE_ONLY
from bot.handlers.menu import ADMIN_COMMANDS, GROUP_COMMANDS
from bot.handlers.message_links import IncomingLinks, command_links, is_command, links_of
from bot.handlers.refusals import access_text
from bot.i18n import N_

log = logging.getLogger(__name__)

GATE_GROUP = -1  # after the update counter (-2), before every handler (0)
# A refusal is a courtesy: it is not worth holding the update (or retrying) for long.
REFUSAL_REPLY_SECONDS = 5.0

IN_PRIVATE = N_("🔒 That works in a private chat with me: @{bot}")
ADMIN_ONLY = frozenset(name for name, _ in ADMIN_COMMANDS)
# What a group may ask of the bot (/start too: it says how to use it there).
IN_GROUPS = frozenset({"start", *(name for name, _ in GROUP_COMMANDS)})
# Commands whose links start jobs: the gate counts them against the rate limit.
LINK_COMMANDS = frozenset({"dl", "pdf"})

Reply = Callable[[], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class Refusal:
    """The gate's decision to stop an update, and what, if anything, to tell the user."""

    why: str
    reply: Reply | None = None


async def gate(update: Update, ctx: BotContext) -> None:
    """Stops (ApplicationHandlerStop) every update no handler should see; lets the rest by."""
    try:
        refusal = await _judge(update, ctx)
    except Exception:  # fail closed: an update the gate could not judge reaches no handler
        log.exception("gate_failed update=%d what=%s", update.update_id, _what(update))
        refusal = Refusal("gate_failed")
    if refusal is not None:
        await _say(refusal)  # never raises; a cancel propagates, which stops the update too
        raise ApplicationHandlerStop


async def _say(refusal: Refusal) -> None:
    """Send the refusal's reply within its deadline; a failure is logged, never raised."""
    if refusal.reply is None:
        return
    try:
        await asyncio.wait_for(refusal.reply(), REFUSAL_REPLY_SECONDS)
    except Exception as exc:  # noqa: BLE001 - the update is refused either way; say why once
        log.warning("refusal_unsent why=%s error=%r", refusal.why, exc)


async def _judge(update: Update, ctx: BotContext) -> Refusal | None:
    """None for an update the handlers may see; else why not, and the reply to give."""
    user = update.effective_user
    if update.edited_message is not None or update.edited_channel_post is not None:
        log.info("edit_ignored user=%s", user.id if user else None)
        return Refusal("edit")
    chat = update.effective_chat
    if chat is not None and chat.type in GROUP_TYPES:
        return await _in_group(update, ctx)
    if chat is not None and chat.type != ChatType.PRIVATE:
        return _elsewhere(update, ctx)  # a channel
    asked = update.message or update.callback_query or update.inline_query
    if user is None or asked is None:
        return None  # nothing a user asked for: no handler answers it anyway
    record, tr = await ctx.visitor(user)
    verdict = ctx.services.access.verdict(record)
    if verdict is not Verdict.ALLOWED:
        log.info("access_denied user=%d verdict=%s what=%s", user.id, verdict, _what(update))
        refusal = access_text(tr, verdict, user.id)  # one text, whatever was asked
        query, message, inline = update.callback_query, update.message, update.inline_query
        if query is not None:
            return Refusal(str(verdict), lambda: answer(query, refusal))
        if message is not None:
            return Refusal(str(verdict), lambda: message.reply_text(refusal))
        if inline is not None:  # nothing to offer: an empty answer
            return Refusal(str(verdict), lambda: inline.answer([], cache_time=0, is_personal=True))
        return Refusal(str(verdict))
    return _admitted(update, ctx, user.id)


async def _in_group(update: Update, ctx: BotContext) -> Refusal | None:
    """An update from a group: what of it the handlers may see (the module's docstring)."""
    user, message, query = update.effective_user, update.message, update.callback_query
    chat = update.effective_chat
    assert chat is not None  # noqa: S101 - the caller looked
    if update.my_chat_member is not None or (message and message.migrate_to_chat_id):
        return None  # the bot joined, left or moved: handlers/groups.py keeps it
    places = ctx.services.places
    group = await places.groups.get(chat.id)
    if not places.rules.allows(chat.id, group):
        return _elsewhere(update, ctx)
    if user is None or (message is None and query is None):
        return Refusal("group")
    command = message is not None and is_command(message)
    if message is not None and not _asks(
        message, ctx.bot.username, group is not None and group.autodl
    ):
        log.debug("group_update_ignored chat=%d", chat.id)
        return Refusal("group")
    record, tr = await ctx.visitor(user)
    verdict = ctx.services.access.verdict(record)
    if verdict is not Verdict.ALLOWED:  # quiet in the group; a button press is told alone
        log.info(
            "access_denied user=%d verdict=%s what=%s where=group", user.id, verdict, _what(update)
        )
        if query is not None:
            refusal = access_text(tr, verdict, user.id)
            return Refusal(str(verdict), lambda: answer(query, refusal))
        return Refusal(str(verdict))
    if command and message is not None and _what(update) not in IN_GROUPS:
        log.info("group_command_pointed user=%d what=%s", user.id, _what(update))
        text = tr(IN_PRIVATE, bot=ctx.bot.username)
        return Refusal("in_private", lambda: message.reply_text(text))
    return _admitted(update, ctx, user.id)


def _asks(message: Message, bot: str, autodl: bool) -> bool:
    """Whether a group's message is for the bot: a command addressed to it, or (where /autodl
    is on) links."""
    if is_command(message):
        return _addressed(message.text or "", bot)
    return autodl and bool(links_of(message))


def _admitted(update: Update, ctx: BotContext, user_id: int) -> Refusal | None:
    """For a user who may use the bot: what they may not do all the same."""
    query = update.callback_query
    if query is not None and not query.data and not query.game_short_name:
        # PTB hands a button with empty data to every button handler, whatever its pattern.
        return Refusal("empty_button", lambda: errors.unknown_callback(update, ctx))
    if _needs_admin(update, user_id) and not ctx.services.access.is_admin(user_id):
        # Answered as what does not exist for them: an unknown command or button.
        log.info("admin_refused user=%d what=%s", user_id, _what(update))
        if query is not None:
            return Refusal("admin_only", lambda: errors.unknown_callback(update, ctx))
        return Refusal("admin_only", lambda: errors.unsupported_message(update, ctx))
    message = update.message
    # A message's links, and those of /dl and /pdf (or of the message they reply to): each
    # starts a job.
    if message is not None and (urls := _links(message, _what(update))):
        limiter = ctx.services.limiter
        within = limiter.take(user_id, len(urls))
        if within < len(urls):
            log.info("rate_limited user=%d links=%d within=%d", user_id, len(urls), within)
        ctx.links = IncomingLinks(tuple(urls), within, limiter.retry_in(user_id))
    return None


def _links(message: Message, what: str) -> list[str]:
    if not is_command(message):
        return links_of(message)
    return command_links(message)[0] if what in LINK_COMMANDS else []


def _needs_admin(update: Update, user_id: int) -> bool:
    """An admin's command, the admin panel's buttons, someone else's history pages, or a
    document without a caption (a cookies file for the admin panel; a caption may hold links,
    which anyone may send)."""
    message = update.message
    if message is not None and message.document is not None and not message.caption:
        return True
    if update.callback_query is not None:
        data = update.callback_query.data or ""
        if data.startswith("adm:"):
            return True
        kind, _, rest = data.partition(":")
        owner = rest.split(":", 1)[0]
        return kind == "hist" and not (owner.isdecimal() and int(owner) == user_id)
    return _what(update) in ADMIN_ONLY


def _elsewhere(update: Update, ctx: BotContext) -> Refusal:
    """In a group it does not work in, or a channel: only what was addressed to the bot gets
    a pointer to a private chat."""
    user, message, chat = update.effective_user, update.message, update.effective_chat
    command = message is not None and _addressed(message.text or "", ctx.bot.username)
    if user is None or chat is None or not (command or update.callback_query is not None):
        log.debug("group_update_ignored chat=%s", chat.id if chat else None)
        return Refusal("group")
    log.info("group_update_refused user=%d chat=%d", user.id, chat.id)

    async def pointer() -> None:
        tr = await ctx.services.translator_of(user.id, user.language_code)
        enabled = ctx.services.places.rules.enabled and chat.type in GROUP_TYPES
        text = tr(NOT_HERE if enabled else PRIVATE_ONLY, bot=ctx.bot.username)
        if update.callback_query is not None:
            await answer(update.callback_query, text)
        elif message is not None:
            await message.reply_text(text)

    return Refusal("group", pointer)


def _addressed(text: str, bot: str) -> bool:
    """A command for this bot: "/start", or "/start@this_bot" but not "/start@other_bot"."""
    if not text.startswith("/"):
        return False
    _, at, name = text.split(maxsplit=1)[0].partition("@")
    return not at or name.lower() == bot.lower()


def _what(update: Update) -> str:
    """What was refused, for the log: the command's name, "button" or "message"."""
    if update.callback_query is not None:
        return "button"
    text = update.message.text if update.message is not None else None
    if text and text.startswith("/"):
        return text[1:].split(maxsplit=1)[0].split("@", 1)[0].lower()[:32]
    return "message"


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(TypeHandler(Update, gate), group=GATE_GROUP)
