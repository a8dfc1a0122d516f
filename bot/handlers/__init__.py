"""Telegram in, Telegram out: parse, authorize, call a service, render a reply."""
