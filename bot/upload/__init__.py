"""Deliverers: put a finished file into a chat. They know nothing of yt-dlp."""
