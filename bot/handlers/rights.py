"""Who may act on a job, and on a group's settings: the one place that decides it.

- A job (its Cancel button, its format buttons): the member who sent the link; an admin of
  the bot (ADMIN_IDS); in a group, that group's admins.
- A group's /autodl: that group's admins (and the bot's).

A group's admins are whom Telegram names so (getChatMember: the owner or an administrator,
or an anonymous admin posting as the group), asked when it matters and remembered a minute.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from telegram import Bot, Message
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError

from bot.model.job import Job

log = logging.getLogger(__name__)

ADMIN_STATUSES = frozenset({ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR})
REMEMBERED_S = 60.0  # a demoted admin keeps their rights at most this long
KEPT = 4096  # answers remembered before the oldest half is forgotten


class ChatAdmins:
    """Whether a user is an admin of a group, by getChatMember, remembered REMEMBERED_S."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._known: dict[tuple[int, int], tuple[float, bool]] = {}

    async def is_admin(self, bot: Bot, chat_id: int, user_id: int) -> bool:
        """Telegram's word; False (not remembered) when Telegram could not be asked."""
        now = self._clock()
        known = self._known.get((chat_id, user_id))
        if known is not None and now - known[0] < REMEMBERED_S:
            return known[1]
        try:
            member = await bot.get_chat_member(chat_id, user_id)
        except TelegramError as exc:
            log.warning("chat_member_unknown chat=%d user=%d error=%r", chat_id, user_id, exc)
            return False
        admin = member.status in ADMIN_STATUSES
        if len(self._known) >= KEPT:
            for key in list(self._known)[: KEPT // 2]:
                del self._known[key]
        self._known[(chat_id, user_id)] = (now, admin)
        return admin


def speaks_for_group(message: Message) -> bool:
    """An anonymous admin: the message is sent as the group itself."""
    chat = message.sender_chat
    return chat is not None and chat.id == message.chat_id


async def is_group_admin(
    admins: ChatAdmins, bot: Bot, chat_id: int, user_id: int, *, bot_admin: bool
) -> bool:
    """May change the group's settings: its admins, and the bot's."""
    return bot_admin or await admins.is_admin(bot, chat_id, user_id)


async def may_stop(
    admins: ChatAdmins, bot: Bot, job: Job, user_id: int, *, bot_admin: bool
) -> bool:
    """May stop the job: whoever sent its link, an admin of the bot, or of the job's group."""
    if job.user_id == user_id or bot_admin:
        return True
    return job.chat_id < 0 and await admins.is_admin(bot, job.chat_id, user_id)
