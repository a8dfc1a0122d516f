"""Who may use the bot, decided once per update by handlers/gate.py: bans, the allowlist,
admin-only commands, the rate limit."""
