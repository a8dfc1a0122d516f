"""The bot's command lists, per scope and language, as setMyCommands leaves them."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.fakes.errors import ApiError

_COMMAND = re.compile(r"[a-z0-9_]{1,32}")


def _key(params: dict[str, Any]) -> tuple[str, str]:
    scope = params.get("scope") or {"type": "default"}
    language = params.get("language_code") or ""
    return json.dumps(scope, sort_keys=True), str(language)


class CommandStore:
    """Implements setMyCommands, getMyCommands and deleteMyCommands."""

    def __init__(self) -> None:
        self._lists: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def set(self, params: dict[str, Any]) -> bool:
        """setMyCommands: validate like Telegram, then store."""
        commands = params.get("commands", [])
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        for item in commands:
            if not isinstance(item, dict) or not _COMMAND.fullmatch(str(item.get("command"))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            description = item.get("description")
            if not isinstance(description, str) or not description.strip():
                raise ApiError(400, "Bad Request: command description must be non-empty")
        clean = [{"command": c["command"], "description": c["description"]} for c in commands]
        if clean:
            self._lists[_key(params)] = clean
        else:
            self._lists.pop(_key(params), None)
        return True

    def get(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """getMyCommands: the list set for exactly this scope and language."""
        return [dict(c) for c in self._lists.get(_key(params), [])]

    def delete(self, params: dict[str, Any]) -> bool:
        """deleteMyCommands."""
        self._lists.pop(_key(params), None)
        return True
