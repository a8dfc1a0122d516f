"""Fetchers: bring media from a URL to a folder. They know nothing of Telegram."""
