"""Run the synchronous sweep from asyncio: in a thread for small jobs, in worker processes for big ones.

Both stream one ``HostSweep`` per host as soon as every port of that host is settled.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cybervault.scanner.sweep import HostSweep, SweepCounter, sweep

# Below this many (host, port) pairs a second process costs more to start than it saves.
PROCESS_SPLIT_THRESHOLD = 20_000


class SweepWorkerError(RuntimeError):
    """A sweep worker process ended without completing its share."""


@dataclass
class SweepJob:
    hosts: list[tuple[str, list[int]]]
    timeout: float
    window: int
    retries: int

    @property
    def size(self) -> int:
        return sum(len(p) for _, p in self.hosts)


def worker_count(job: SweepJob) -> int:
    cores = os.cpu_count() or 1
    if cores < 2 or job.size < PROCESS_SPLIT_THRESHOLD:
        return 1
    return min(cores, 8)


async def stream_sweep(
    job: SweepJob, cancel: asyncio.Event, progress: Callable[[int], None]
) -> AsyncIterator[HostSweep]:
    """Yield each host's sweep result as it completes; ``progress`` gets the ports done so far."""
    workers = worker_count(job)
    if workers == 1:
        async for hs in _thread_sweep(job, cancel, progress):
            yield hs
    else:
        async for hs in _process_sweep(job, workers, cancel, progress):
            yield hs


async def _thread_sweep(
    job: SweepJob, cancel: asyncio.Event, progress: Callable[[int], None]
) -> AsyncIterator[HostSweep]:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[HostSweep | None] = asyncio.Queue()
    stop = threading.Event()
    counter = SweepCounter()

    def post(item: HostSweep | None) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the loop closed under a cancelled scan: nobody is listening
            stop.set()

    def on_host_done(hs: HostSweep) -> None:
        post(hs)

    failure: list[BaseException] = []

    def run() -> None:
        try:
            sweep(
                job.hosts,
                timeout=job.timeout,
                window=job.window,
                retries=job.retries,
                cancel=stop,
                counter=counter,
                on_host_done=on_host_done,
            )
        except Exception as exc:  # surfaced to the consumer below, never swallowed
            failure.append(exc)
        finally:
            post(None)

    thread = threading.Thread(target=run, name="cybervault-sweep", daemon=True)
    thread.start()
    watcher = asyncio.ensure_future(_relay_cancel(cancel, stop))
    try:
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), 0.1)
            except TimeoutError:
                progress(counter.done)
                continue
            progress(counter.done)
            if item is None:
                if failure:
                    raise SweepWorkerError(f"sweep failed: {failure[0]!r}") from failure[0]
                break
            yield item
    finally:
        stop.set()  # also when the consumer stops early
        watcher.cancel()


async def _relay_cancel(cancel: asyncio.Event, stop: threading.Event) -> None:
    await cancel.wait()
    stop.set()


def _ranges(ports: Sequence[int]) -> list[list[int]]:
    """Compress a port list into [start, stop, step] runs for the worker job."""
    out: list[list[int]] = []
    for p in ports:
        if out and out[-1][1] == p:
            out[-1][1] = p + 1
        else:
            out.append([p, p + 1, 1])
    return out


def _split(job: SweepJob, n: int) -> tuple[list[list[tuple[str, list[int]]]], dict[str, int]]:
    """Split by hosts when there are enough, else split each host's ports into n blocks."""
    if len(job.hosts) >= n:
        size = -(-len(job.hosts) // n)
        parts = [job.hosts[i * size : (i + 1) * size] for i in range(n)]
        return [p for p in parts if p], {h: 1 for h, _ in job.hosts}
    parts_: list[list[tuple[str, list[int]]]] = [[] for _ in range(n)]
    expected: dict[str, int] = {}
    for host, ports in job.hosts:
        size = -(-len(ports) // n)
        blocks = [ports[i * size : (i + 1) * size] for i in range(n)]
        blocks = [b for b in blocks if b] or [[]]
        expected[host] = len(blocks)
        for i, block in enumerate(blocks):
            parts_[i].append((host, block))
    return [p for p in parts_ if p], expected


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[2])  # the directory holding the cybervault package
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


async def _process_sweep(
    job: SweepJob, n: int, cancel: asyncio.Event, progress: Callable[[int], None]
) -> AsyncIterator[HostSweep]:
    parts, expected = _split(job, n)
    window = max(64, job.window // len(parts))
    procs: list[asyncio.subprocess.Process] = []
    queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
    done_by_worker = [0] * len(parts)
    finished = [False] * len(parts)
    merged: dict[str, HostSweep] = {}
    seen: dict[str, int] = {}
    readers: list[asyncio.Task[None]] = []
    cancelled = asyncio.ensure_future(cancel.wait())

    async def read(i: int, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        async for raw in proc.stdout:
            await queue.put((i, raw.decode()))
        await queue.put((i, "X"))

    try:
        for i, part in enumerate(parts):
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-S", "-m", "cybervault.scanner.worker",
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=_child_env(),
                limit=1 << 24,  # one host's line lists all its open ports
            )  # fmt: skip
            payload = {
                "hosts": [(h, _ranges(p)) for h, p in part],
                "timeout": job.timeout,
                "window": window,
                "retries": job.retries,
            }
            assert proc.stdin is not None
            proc.stdin.write(json.dumps(payload).encode())
            await proc.stdin.drain()
            proc.stdin.close()
            procs.append(proc)
            readers.append(asyncio.ensure_future(read(i, proc)))
        live = len(procs)
        while live:
            getter = asyncio.ensure_future(queue.get())
            await asyncio.wait({getter, cancelled}, return_when=asyncio.FIRST_COMPLETED)
            if cancelled.done():
                getter.cancel()
                break
            i, line = getter.result()
            kind, _, rest = line.strip().partition(" ")
            if kind == "P":
                done_by_worker[i] = int(rest)
                progress(sum(done_by_worker))
            elif kind == "H":
                data = json.loads(rest)
                hs = merged.setdefault(data["host"], HostSweep(data["host"]))
                hs.open_ports.extend(data["open_ports"])
                hs.responded = hs.responded or data["responded"]
                hs.self_connects += data["self_connects"]
                seen[hs.host] = seen.get(hs.host, 0) + 1
                if seen[hs.host] == expected[hs.host]:
                    hs.open_ports.sort()
                    yield hs
            elif kind == "E":
                finished[i] = True
            elif kind == "X":
                live -= 1
                if not finished[i]:
                    # A worker that dies mid-sweep (OOM killer, signal) must not pass for a clean,
                    # empty result: the caller marks the scan failed with this reason.
                    code = await procs[i].wait()
                    raise SweepWorkerError(f"sweep worker {i} exited with status {code} before finishing")
    finally:
        cancelled.cancel()
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
        for proc in procs:
            await proc.wait()
        for r in readers:
            r.cancel()
