"""Talking to the Bot API: what is safe to retry and for how long, polling health, the chat."""
