"""The bot in groups: being added and removed (who added it decides, under GROUPS=allowed,
whether it works there: persisted), a group becoming a supergroup (its id changes), /autodl for
a group's admins, and what /help says in a group."""

from __future__ import annotations

import html
import logging

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError
from telegram.ext import Application, ChatMemberHandler, CommandHandler, MessageHandler, filters

from bot.handlers.context import BotContext
from bot.handlers.rights import is_group_admin, speaks_for_group
from bot.i18n import N_, Translator

log = logging.getLogger(__name__)

GROUP_TYPES = frozenset({ChatType.GROUP, ChatType.SUPERGROUP})
PRESENT = frozenset(
    {
        ChatMemberStatus.OWNER,
        ChatMemberStatus.ADMINISTRATOR,
        ChatMemberStatus.MEMBER,
        ChatMemberStatus.RESTRICTED,
    }
)
# What the bot says where it may not work; the gate says the same to a command addressed to it.
PRIVATE_ONLY = N_("🔒 I only work in private chats. Send me your link directly: @{bot}")
NOT_HERE = N_(
    "🔒 I'm not switched on in this group: only an admin of this bot can add me to a group."
    " Send me your link in a private chat: @{bot}"
)
HELLO = N_(
    "👋 Hi! Send /dl and a link, or reply /dl to a message with a link, and I'll fetch the file"
    " here. /help says more."
)
AUTODL_ON = N_("✅ From now on I fetch every link posted in this group, without /dl.")
AUTODL_BLIND = N_(
    "⚠️ I see links posted here only if I'm an admin of this group, or if my privacy mode is"
    " off (@BotFather → /setprivacy). Until then, use /dl."
)
AUTODL_OFF = N_("✅ Links posted here are fetched only when someone sends /dl.")
AUTODL_STATE = N_(
    "/autodl on: I fetch every link posted in this group. /autodl off: only on /dl.\nNow: {state}."
)
AUTODL_ADMINS = N_("🔒 Only this group's admins can change that.")
AUTODL_PRIVATE = N_("/autodl is for groups: add me to one, and its admins can switch it on there.")


def group_help(tr: Translator, bot: str) -> str:
    lines = [
        tr("<b>How to use me in this group</b>"),
        tr("• /dl and a link fetches it here; or reply /dl to a message that has a link."),
        tr("• Each file answers the message with its link, in the same topic."),
        tr(
            "• /cancel stops your downloads. The Cancel button under a download works for"
            " whoever sent the link and for the group's admins."
        ),
        tr("• Group admins: /autodl on fetches every link posted here, without /dl."),
        tr(
            "• /settings, /history and the rest: in a private chat with me, @{bot}.",
            bot=html.escape(bot),
        ),
    ]
    return "\n".join(lines)


async def membership(update: Update, ctx: BotContext) -> None:
    """The bot joined or left a group: who added it is kept (an admin's group is served)."""
    change = update.my_chat_member
    if change is None or change.chat.type not in GROUP_TYPES:
        return
    chat, by = change.chat, change.from_user
    was = change.old_chat_member.status in PRESENT
    now = change.new_chat_member.status in PRESENT
    places = ctx.services.places
    if was == now:
        return
    if not now:
        await places.groups.removed(chat.id)
        log.info("group_left chat=%d by=%d", chat.id, by.id)
        return
    await places.groups.added(chat.id, by.id)
    allowed = places.rules.allows(chat.id, await places.groups.get(chat.id))
    log.info("group_added chat=%d by=%d allowed=%s", chat.id, by.id, allowed)
    tr = await ctx.services.translator_of(by.id, by.language_code)
    if allowed:
        text = tr(HELLO)
    else:
        text = tr(NOT_HERE if places.rules.enabled else PRIVATE_ONLY, bot=ctx.bot.username)
    try:
        await ctx.bot.send_message(chat.id, text)
    except TelegramError as exc:  # no right to post there: nothing else to say
        log.info("group_hello_unsent chat=%d error=%r", chat.id, exc)


async def migrated(update: Update, ctx: BotContext) -> None:
    """A group became a supergroup (switching topics on does that): its id changed."""
    message = update.effective_message
    if message is None or message.migrate_to_chat_id is None:
        return
    await ctx.services.places.groups.migrated(message.chat_id, message.migrate_to_chat_id)
    log.info("group_migrated chat=%d to=%d", message.chat_id, message.migrate_to_chat_id)


async def autodl_command(update: Update, ctx: BotContext) -> None:
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    if message is None or user is None or chat is None:
        return
    _, tr = await ctx.visitor(user)
    if chat.type not in GROUP_TYPES:
        await message.reply_text(tr(AUTODL_PRIVATE))
        return
    places, args = ctx.services.places, [a.lower() for a in ctx.args or []]
    if args not in (["on"], ["off"]):
        record = await places.groups.get(chat.id)
        state = tr("on") if record is not None and record.autodl else tr("off")
        await message.reply_text(tr(AUTODL_STATE, state=state))
        return
    admin = speaks_for_group(message) or await is_group_admin(
        places.chat_admins,
        ctx.bot,
        chat.id,
        user.id,
        bot_admin=ctx.services.access.is_admin(user.id),
    )
    if not admin:
        log.info("autodl_refused chat=%d user=%d", chat.id, user.id)
        await message.reply_text(tr(AUTODL_ADMINS))
        return
    on = args == ["on"]
    await places.groups.set_autodl(chat.id, on)
    log.info("autodl_set chat=%d user=%d on=%s", chat.id, user.id, on)
    if not on:
        await message.reply_text(tr(AUTODL_OFF))
        return
    sees = ctx.bot.can_read_all_group_messages or await places.chat_admins.is_admin(
        ctx.bot, chat.id, ctx.bot.id
    )
    text = tr(AUTODL_ON) if sees else f"{tr(AUTODL_ON)}\n{tr(AUTODL_BLIND)}"
    await message.reply_text(text)


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(ChatMemberHandler(membership, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, migrated))
    app.add_handler(CommandHandler("autodl", autodl_command))
