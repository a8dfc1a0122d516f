"""Every child process the bot starts under a memory ceiling (CHILD_MEMORY_MB): ffmpeg and
ffprobe by their data segment (an rlimit), V8 programs by resident memory (guard.py)."""
