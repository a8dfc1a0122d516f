"""The queue spike's harness (docs/SCALING.md): `python3 run.py ENGINE [EXPERIMENT...]`.

Each experiment starts its own redis-server on a free 127.0.0.1 port, worker processes (each in
its own session, so `kill -9` of the group is a machine dying) and one long-lived front process
that takes JSON commands on stdin. Times come from the jobs' own event log (common.py). Engines
run from the venvs that setup_venvs.sh makes (SPIKE_VENVS, default /tmp/queue-spike).
Results are printed and merged into $SPIKE_RESULTS/ENGINE.json (default
/tmp/queue-spike/results).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

HERE = Path(__file__).resolve().parent
VENVS = Path(os.environ.get("SPIKE_VENVS", "/tmp/queue-spike"))  # noqa: S108 - throwaway venvs
RESULTS = Path(os.environ.get("SPIKE_RESULTS", str(VENVS / "results")))

Event = dict[str, object]
Result = dict[str, object]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def redis_cmd(port: int, *args: str) -> bytes:
    """One raw RESP command (the harness needs no Redis client of its own)."""
    payload = f"*{len(args)}\r\n" + "".join(f"${len(a)}\r\n{a}\r\n" for a in args)
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(payload.encode())
        return s.recv(256)


class Redis:
    """A redis-server of the harness's own; `persist` keeps its data across stop/start (AOF)."""

    def __init__(self, *, persist: bool = False) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="spike-redis-")
        self.persist = persist
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        args += ["--dir", self.dir, "--daemonize", "no", "--appendonly"]
        args += ["yes", "--appendfsync", "always"] if self.persist else ["no"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis_cmd(self.port, "PING").startswith(b"+PONG"):
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("redis-server did not answer PING")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


class Engine:
    """The worker and front processes of one engine adapter (eng_ENGINE.py)."""

    def __init__(self, name: str, redis: Redis, log: Path) -> None:
        self.name = name
        self.py = str(VENVS / f"v_{name}" / "bin" / "python")
        self.env = {
            **os.environ,
            "SPIKE_URL": f"redis://127.0.0.1:{redis.port}/0",
            "SPIKE_PORT": str(redis.port),
            "SPIKE_LOG": str(log),
        }
        self.log = log
        self.workers: dict[str, subprocess.Popen[bytes]] = {}
        self.front: subprocess.Popen[str] | None = None

    def _stderr(self, who: str) -> IO[str]:
        return self.log.with_suffix(f".{who}.err").open("w")

    def start_worker(self, wid: str, slots: int) -> None:
        with self._stderr(wid) as err:
            self.workers[wid] = subprocess.Popen(
                [self.py, f"eng_{self.name}.py", "worker", wid, str(slots)],
                cwd=HERE,
                env=self.env,
                start_new_session=True,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )

    def kill9(self, wid: str) -> None:
        # It may have exited by itself: some engines exit when Redis goes away.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.workers.pop(wid).pid, signal.SIGKILL)

    def term(self, wid: str) -> None:
        self.workers[wid].send_signal(signal.SIGTERM)

    def start_front(self) -> None:
        with self._stderr("front") as err:
            self.front = subprocess.Popen(
                [self.py, f"eng_{self.name}.py", "front"],
                cwd=HERE,
                env=self.env,
                text=True,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                start_new_session=True,
            )

    def send(self, timeout: float = 30, **cmd: object) -> str:
        """One command to the front; its answer (`ok`, `error`) or `timeout`."""
        assert self.front is not None
        assert self.front.stdin is not None
        assert self.front.stdout is not None
        self.front.stdin.write(json.dumps(cmd) + "\n")
        self.front.stdin.flush()
        ready, _, _ = select.select([self.front.stdout], [], [], timeout)
        return self.front.stdout.readline().strip() if ready else "timeout"

    def cpu_seconds(self, wid: str) -> float:
        stat = Path(f"/proc/{self.workers[wid].pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_kb(self, wid: str) -> int:
        status = Path(f"/proc/{self.workers[wid].pid}/status").read_text().splitlines()
        return int(next(line for line in status if line.startswith("VmRSS")).split()[1])

    def alive(self, wid: str) -> bool:
        return self.workers[wid].poll() is None

    def close(self) -> None:
        for wid in list(self.workers):
            self.kill9(wid)
        if self.front is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.front.pid, signal.SIGKILL)


class Log:
    """The event file every job and the front append to."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def events(self) -> list[Event]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line]

    def wait_for(self, timeout: float, pred: Callable[[Event], bool]) -> Event | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for ev in self.events():
                if pred(ev):
                    return ev
            time.sleep(0.02)
        return None

    def wait(self, timeout: float, **match: object) -> Event | None:
        return self.wait_for(timeout, lambda ev: all(ev.get(k) == v for k, v in match.items()))


def t_of(ev: Event) -> float:
    t = ev["t"]
    assert isinstance(t, float)
    return t


class Rig:
    """Redis, the engine's processes and the log of one experiment; closed on exit."""

    def __init__(self, engine: str, *, persist: bool = False) -> None:
        self.redis = Redis(persist=persist)
        self.redis.start()
        self.log = Log(Path(tempfile.mkdtemp(prefix=f"spike-{engine}-")) / "events.jsonl")
        self.eng = Engine(engine, self.redis, self.log.path)

    def __enter__(self) -> Rig:
        return self

    def __exit__(self, *exc: object) -> None:
        self.eng.close()
        self.redis.stop()


def exp_abort(engine: str, rounds: int = 5, *, blip: bool = False) -> Result:
    """Abort of a running job: from the front's abort call to the job's CancelledError.

    With `blip`, Redis first drops every pub/sub connection (CLIENT KILL TYPE pubsub)."""
    with Rig(engine) as rig:
        rig.eng.start_worker("A", 2)
        rig.eng.start_front()
        time.sleep(2)
        latencies: list[float | str] = []
        for i in range(rounds):
            key = f"ab{i}"
            rig.eng.send(op="enqueue", key=key, secs=60)
            if rig.log.wait(30, ev="start", job=key) is None:
                return {"error": f"{key} never started", "latencies_s": latencies}
            time.sleep(1.5)
            if blip:
                redis_cmd(rig.redis.port, "CLIENT", "KILL", "TYPE", "pubsub")
            rig.eng.send(op="abort", key=key)
            sent = rig.log.wait(5, ev="abort_sent", job=key)
            got = rig.log.wait(15, ev="cancelled", job=key)
            latencies.append(round(t_of(got) - t_of(sent), 3) if got and sent else "lost")
        return {"latencies_s": latencies}


def exp_abort_blip(engine: str) -> Result:
    return exp_abort(engine, rounds=3, blip=True)


def exp_handover(engine: str, *, graceful: bool = False, timeout: float = 400) -> Result:
    """`kill -9` (or SIGTERM) of the worker running a job: until it starts on the other one."""
    with Rig(engine) as rig:
        rig.eng.start_worker("A", 1)
        rig.eng.start_worker("B", 1)
        rig.eng.start_front()
        time.sleep(2)
        rig.eng.send(op="enqueue", key="ho", secs=600)
        first = rig.log.wait(30, ev="start", job="ho")
        if first is None:
            return {"error": "never started"}
        time.sleep(3)  # let it run a while, like a real download
        stopped_at = time.time()
        holder = str(first["worker"])
        if graceful:
            rig.eng.term(holder)
        else:
            rig.eng.kill9(holder)
        second = rig.log.wait_for(
            timeout,
            lambda e: e.get("ev") == "start" and e.get("job") == "ho" and e["worker"] != holder,
        )
        result: Result = {"handover_s": round(t_of(second) - stopped_at, 2) if second else None}
        if graceful:
            cancelled = rig.log.wait(1, ev="cancelled", job="ho", worker=holder)
            result["first_cancelled"] = cancelled is not None
            result["first_alive"] = rig.eng.alive(holder)
        return result


def exp_graceful(engine: str) -> Result:
    return exp_handover(engine, graceful=True, timeout=120)


def exp_prefetch(engine: str) -> Result:
    """Worker A (2 slots) busy, 4 jobs queued: does worker B, started later, get 2 of them?"""
    with Rig(engine) as rig:
        rig.eng.start_worker("A", 2)
        rig.eng.start_front()
        time.sleep(2)
        t0 = time.time()
        for i in range(4):
            rig.eng.send(op="enqueue", key=f"p{i}", secs=8)
        rig.log.wait(20, ev="start", job="p1")
        rig.eng.start_worker("B", 2)
        for i in range(4):
            rig.log.wait(40, ev="done", job=f"p{i}")
        starts = [e for e in rig.log.events() if e.get("ev") == "start"]
        return {
            "starts": {str(e["job"]): (e["worker"], round(t_of(e) - t0, 1)) for e in starts},
            "duplicates": len(starts) - len({e["job"] for e in starts}),
        }


def exp_outage(engine: str, down_s: float = 10) -> Result:
    """Redis (AOF) stopped 10 s and started again, idle worker: worker CPU, recovery."""
    with Rig(engine, persist=True) as rig:
        eng, log = rig.eng, rig.log
        eng.start_worker("A", 1)
        eng.start_front()
        time.sleep(2)
        eng.send(op="enqueue", key="o1", secs=1)
        out: Result = {"before": log.wait(30, ev="done", job="o1") is not None}
        cpu0 = eng.cpu_seconds("A")
        rig.redis.stop()
        down_at = time.monotonic()
        out["enqueue_while_down"] = eng.send(op="enqueue", key="o_down", secs=1, timeout=down_s)
        out["enqueue_while_down_s"] = round(time.monotonic() - down_at, 2)
        time.sleep(max(0.0, down_s - (time.monotonic() - down_at)))
        out["worker_alive"] = eng.alive("A")
        out["worker_cpu_s"] = round(eng.cpu_seconds("A") - cpu0, 2) if eng.alive("A") else None
        rig.redis.start()
        up_at = time.time()
        reply = eng.send(op="enqueue", key="o2", secs=1, timeout=60)
        out["enqueue_after"] = reply
        started = log.wait(90, ev="start", job="o2")
        out["next_job_started_after_s"] = round(t_of(started) - up_at, 2) if started else None
        out["front_errors"] = [e["error"] for e in log.events() if e.get("ev") == "front_error"]
        return out


def exp_outage_running(engine: str, down_s: float = 10) -> Result:
    """Redis (AOF) down 10 s while a 30 s job runs: finished once, or run again?"""
    with Rig(engine, persist=True) as rig:
        rig.eng.start_worker("A", 1)
        rig.eng.start_worker("B", 1)
        rig.eng.start_front()
        time.sleep(2)
        rig.eng.send(op="enqueue", key="r1", secs=30)
        if rig.log.wait(30, ev="start", job="r1") is None:
            return {"error": "never started"}
        time.sleep(3)
        rig.redis.stop()
        time.sleep(down_s)
        rig.redis.start()
        rig.log.wait(120, ev="done", job="r1")
        time.sleep(5)
        evs = [e for e in rig.log.events() if e.get("job") == "r1" and e["ev"] != "enqueued"]
        return {"events": [(e["ev"], e.get("worker")) for e in evs]}


def exp_longjob(engine: str, secs: float = 90) -> Result:
    """A healthy job longer than the redelivery window: does a second worker start it too?

    A short job is enqueued every 10 s: some brokers reclaim only when they read new ones."""
    with Rig(engine) as rig:
        rig.eng.start_worker("A", 2)
        rig.eng.start_worker("B", 2)
        rig.eng.start_front()
        time.sleep(2)
        rig.eng.send(op="enqueue", key="long", secs=secs)
        first = rig.log.wait(30, ev="start", job="long")
        if first is None:
            return {"error": "never started"}
        deadline = time.monotonic() + secs + 5
        n = 0
        while time.monotonic() < deadline:
            rig.eng.send(op="enqueue", key=f"nudge{n}", secs=0.5)
            n += 1
            time.sleep(10)
        evs = [e for e in rig.log.events() if e.get("job") == "long"]
        t0 = t_of(first)
        starts = [(e["worker"], round(t_of(e) - t0, 1)) for e in evs if e["ev"] == "start"]
        return {"starts": starts, "dones": [e["worker"] for e in evs if e["ev"] == "done"]}


def exp_rss(engine: str) -> Result:
    """Idle RSS of one worker with 4 slots (and of its children), 6 s after start."""
    with Rig(engine) as rig:
        rig.eng.start_worker("A", 4)
        time.sleep(6)
        pid = rig.eng.workers["A"].pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        child_kb = 0
        for child in children:
            status = Path(f"/proc/{child}/status").read_text().splitlines()
            child_kb += int(next(x for x in status if x.startswith("VmRSS")).split()[1])
        return {"rss_kb": rig.eng.rss_kb("A"), "children": len(children), "children_kb": child_kb}


EXPERIMENTS: dict[str, Callable[[str], Result]] = {
    "abort": exp_abort,
    "abort_blip": exp_abort_blip,
    "handover": exp_handover,
    "graceful": exp_graceful,
    "prefetch": exp_prefetch,
    "outage": exp_outage,
    "outage_running": exp_outage_running,
    "longjob": exp_longjob,
    "rss": exp_rss,
}


def main(engine: str, names: list[str]) -> None:
    results: dict[str, Result] = {}
    for name in names:
        started = time.monotonic()
        try:
            result = EXPERIMENTS[name](engine)
        except Exception as exc:  # noqa: BLE001 - one failed experiment must not hide the rest
            result = {"error": repr(exc)}
        result["took_s"] = round(time.monotonic() - started, 1)
        results[name] = result
        sys.stdout.write(f"{engine} {name} {json.dumps(result)}\n")
        sys.stdout.flush()
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{engine}.json"
    merged = json.loads(path.read_text()) if path.exists() else {}
    merged.update(results)
    path.write_text(json.dumps(merged, indent=1))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:] or [n for n in EXPERIMENTS if n != "longjob"])
