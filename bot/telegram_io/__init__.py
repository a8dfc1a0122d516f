"""Talking to the Bot API: requests that retry what Telegram asks to retry, polling health."""
