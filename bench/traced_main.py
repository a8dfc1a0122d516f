"""The daemon with tracemalloc on, for bench/memtrace.py: SIGUSR2 writes a snapshot.

Each SIGUSR2 writes `snapshot-N.pickle` into TRACE_DIR (N counting from 1) and a line
`tracemalloc_snapshot n=N traced_mb=...` to stderr. Frames are kept 12 deep.
"""

from __future__ import annotations

import os
import runpy
import signal
import sys
import tracemalloc
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parents[1]
FRAMES = 12


def main() -> None:
    folder = Path(os.environ["TRACE_DIR"])
    taken = [0]

    def snapshot(_signum: int, _frame: FrameType | None) -> None:
        taken[0] += 1
        tracemalloc.take_snapshot().dump(str(folder / f"snapshot-{taken[0]}.pickle"))
        traced = tracemalloc.get_traced_memory()[0] / 1024 / 1024
        print(f"tracemalloc_snapshot n={taken[0]} traced_mb={traced:.2f}", file=sys.stderr)

    tracemalloc.start(FRAMES)
    signal.signal(signal.SIGUSR2, snapshot)
    sys.path.insert(0, str(ROOT))
    sys.argv = [str(ROOT / "main.py"), *sys.argv[1:]]
    runpy.run_path(str(ROOT / "main.py"), run_name="__main__")


if __name__ == "__main__":
    main()
