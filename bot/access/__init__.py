"""Who may use the bot, decided once per update (handlers/gate.py): bans, the allowlist, the rate limit."""
