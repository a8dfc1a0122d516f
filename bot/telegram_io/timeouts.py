"""How long to wait for Telegram's answer: a file send waits longer the larger the file.

A send whose answer does not come in time cannot be repeated (it may have been performed,
see failures.py), so its wait is sized to make that rare: Telegram answers only once it has
stored the whole file, which takes longer for a larger one.
"""

from __future__ import annotations

DEFAULT_ANSWER_TIMEOUT_S = 20.0
# An upload's answer waits at least this many ordinary answer timeouts...
UPLOAD_BASE_FACTOR = 3
# ...plus the time to store the file at this pace, slower than Telegram ever stores one.
UPLOAD_STORE_BYTES_PER_S = 256 * 1024


def upload_read_timeout(size: int, answer_timeout: float = DEFAULT_ANSWER_TIMEOUT_S) -> float:
    """Seconds to wait for the answer to a file send of `size` bytes (50 MB: 260 s)."""
    return answer_timeout * UPLOAD_BASE_FACTOR + max(0, size) / UPLOAD_STORE_BYTES_PER_S
