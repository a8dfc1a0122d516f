"""tgfetch: a self-hosted Telegram download bot."""

__version__ = "0.1.0"
