"""Fakes for the tests: a Bot API server, a media server and ffmpeg-made media files."""
