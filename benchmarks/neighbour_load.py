"""How a busy neighbour slows the worker's frame loop: each way of using the cores timed with
and without neighbour processes that take the CPU in short bursts, side by side in one run.

    .venv/bin/python -m benchmarks.neighbour_load [--seconds 15] [--rounds 3] [--json]
        [--neighbours 2] [--busy-ms 1] [--period-ms 10] [--memory-kb 0]

In the pipeline the worker's models share the cores with the broker, the sink and the
worker's own event loop and decode: about 0.2 cores together, in bursts of a millisecond or
so. A pipeline frame so costs the models' CPU plus theirs. If, besides, torch's threads
stalled at each barrier whenever a neighbour took one of their cores, one process of every
core's threads would lose more than the share of the machine the neighbours took, and
one-thread lanes or processes, with no barrier between them, would lose less: the worker
would then do better beside the broker and the sink on lanes than on torch's threads.

This measures it on the layouts of :mod:`benchmarks.core_scaling` (the worker's frame
processor in fresh processes looping over a generated scene): one process of every core's
threads, one process of a one-thread lane per core, one one-thread process per core. Each
is timed alone and beside ``--neighbours`` processes each busy ``--busy-ms`` in every
``--period-ms`` (spinning, or with ``--memory-kb`` copying a buffer of that size, as
decoding a frame or copying a record does, which evicts the models' data from the caches
too), whose CPU is read over the timed loop. For each layout it prints frames/s
both ways and the *amplification*: the share of its frames/s lost over the share of the
machine's cores the neighbours took. 1.0 is a fair share; above 1 the neighbours cost the
layout more than the CPU they took.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NoReturn

import numpy as np

from benchmarks.core_scaling import Layout, LayoutRun, layouts, run_layout
from benchmarks.cpu_usage import process_cpu_s
from benchmarks.host import this_host
from benchmarks.pipeline import median_ratios

_ROOT = Path(__file__).resolve().parents[1]  # where `-m benchmarks...` runs from


@dataclass(frozen=True, slots=True)
class Burst:
    """A neighbour's load: busy ``busy_ms`` in every ``period_ms``, spinning on a few
    bytes or, with ``memory_kb``, copying a buffer of that size over and over (as decoding
    a frame or copying a record does), which also evicts others' data from the caches."""

    busy_ms: float
    period_ms: float
    memory_kb: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.busy_ms < self.period_ms:
            raise ValueError(
                f"busy {self.busy_ms} ms in every {self.period_ms} ms: "
                "a neighbour must be busy for part of its period"
            )
        if self.memory_kb < 0:
            raise ValueError(f"a neighbour's buffer cannot be {self.memory_kb} KB")

    @property
    def duty(self) -> float:
        """The share of a core it asks for."""
        return self.busy_ms / self.period_ms


def compared_layouts(cores: int) -> dict[str, Layout]:
    """The layouts compared, by the key their ratios carry: core_scaling's, less its one
    process of one thread (which leaves a core idle for the neighbours)."""
    every_core, _, spread, lanes = layouts(cores)
    return {"threads": every_core, "lanes": lanes, "processes": spread}


@dataclass(frozen=True, slots=True)
class Pair:
    """A layout timed alone and beside the neighbours, back to back."""

    key: str
    alone: LayoutRun
    beside: LayoutRun
    neighbour_cores: float  # the neighbours' CPU over the loaded loop, in cores

    def kept(self) -> float:
        """The share of its frames/s the layout kept beside the neighbours."""
        return self.beside.fps / self.alone.fps

    def amplification(self, cores: int) -> float:
        """The share of frames/s lost over the share of the cores the neighbours took."""
        taken = self.neighbour_cores / cores
        if taken <= 0:
            raise ValueError(f"{self.key}: the neighbours took no CPU")
        return (1 - self.kept()) / taken


def pair_ratios(pairs: list[Pair], cores: int) -> dict[str, float]:
    ratios: dict[str, float] = {}
    for pair in pairs:
        ratios[f"kept_beside_neighbours_{pair.key}"] = round(pair.kept(), 2)
        ratios[f"amplification_{pair.key}"] = round(pair.amplification(cores), 2)
    return ratios


def busy_in_bursts(burst: Burst) -> NoReturn:
    """The neighbour's loop: busy ``busy_ms`` (spinning, or copying its buffer), sleep the
    rest of the period, until killed."""
    busy_s, idle_s = burst.busy_ms / 1000, (burst.period_ms - burst.busy_ms) / 1000
    source = np.ones(burst.memory_kb * 1024, dtype=np.uint8)
    target = np.empty_like(source)
    while True:
        until = time.perf_counter() + busy_s
        while time.perf_counter() < until:
            if burst.memory_kb:
                np.copyto(target, source)
        time.sleep(idle_s)


@contextmanager
def neighbours(count: int, burst: Burst) -> Iterator[list[int]]:
    """``count`` neighbour processes running while inside; yields their process ids."""
    command = [sys.executable, "-m", "benchmarks.neighbour_load", "--neighbour"]
    command += ["--busy-ms", str(burst.busy_ms), "--period-ms", str(burst.period_ms)]
    command += ["--memory-kb", str(burst.memory_kb)]
    started = [subprocess.Popen(command, cwd=_ROOT) for _ in range(count)]
    try:
        yield [p.pid for p in started]
    finally:
        for process in started:
            process.kill()
            process.wait()


def time_beside(
    layout: Layout, seconds: float, frames: int, scratch: Path, *, count: int, burst: Burst
) -> tuple[LayoutRun, float]:
    """The layout timed beside the neighbours, and the cores they took while it ran."""
    with neighbours(count, burst) as pids:
        marks: list[tuple[float, float]] = []

        def mark() -> None:
            marks.append((time.perf_counter(), sum(process_cpu_s(pid) for pid in pids)))

        run = run_layout(layout, seconds, frames, scratch, on_go=mark)
        mark()
    (t0, cpu0), (t1, cpu1) = marks
    return run, (cpu1 - cpu0) / (t1 - t0)


def run_round(
    cores: int,
    seconds: float,
    frames: int,
    scratch: Path,
    *,
    count: int,
    burst: Burst,
    reverse: bool,
) -> list[Pair]:
    """Each layout alone and beside the neighbours, back to back (both orders reversed if
    ``reverse``), listed in :func:`compared_layouts` order."""
    order = list(compared_layouts(cores).items())
    pairs = []
    for key, layout in order[::-1] if reverse else order:
        if reverse:
            beside, taken = time_beside(layout, seconds, frames, scratch, count=count, burst=burst)
            alone = run_layout(layout, seconds, frames, scratch)
        else:
            alone = run_layout(layout, seconds, frames, scratch)
            beside, taken = time_beside(layout, seconds, frames, scratch, count=count, burst=burst)
        pairs.append(Pair(key, alone, beside, round(taken, 3)))
    return pairs[::-1] if reverse else pairs


def render(pairs: list[Pair], cores: int) -> str:
    lines = [f"{'layout':<32} {'alone':>7} {'beside':>7} {'taken':>6} {'kept':>6} {'ampl.':>6}"]
    lines += [
        f"{p.alone.layout.name:<32} {p.alone.fps:>7.1f} {p.beside.fps:>7.1f} "
        f"{p.neighbour_cores:>6.2f} {p.kept():>6.3f} {p.amplification(cores):>6.2f}"
        for p in pairs
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="each timed loop")
    parser.add_argument("--frames", type=int, default=300, help="scene frames a pass")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--neighbours", type=int, default=2)
    parser.add_argument("--busy-ms", type=float, default=1.0)
    parser.add_argument("--period-ms", type=float, default=10.0)
    parser.add_argument(
        "--memory-kb",
        type=int,
        default=0,
        help="each neighbour copies a buffer of this size while busy (0: it only spins)",
    )
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--neighbour", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        burst = Burst(args.busy_ms, args.period_ms, args.memory_kb)
    except ValueError as exc:
        parser.error(str(exc))
    if args.neighbour:
        busy_in_bursts(burst)
    if args.rounds < 1 or args.neighbours < 1:
        parser.error("--rounds and --neighbours must be at least 1")
    cores = os.cpu_count() or 1
    if cores < 2:
        parser.error("one core: there are no layouts to compare")
    if not args.json:
        sys.stdout.write(
            f"host: {this_host().describe()}\n{args.neighbours} neighbours, each busy "
            f"{burst.busy_ms:g} ms in every {burst.period_ms:g} ms ({burst.duty:.2f} of a core)"
            + (f", copying {burst.memory_kb} KB" if burst.memory_kb else ", spinning")
            + "\n"
        )
    rounds: list[list[Pair]] = []
    with tempfile.TemporaryDirectory(prefix="visiontrack-neighbours-") as scratch:
        for i in range(args.rounds):
            pairs = run_round(
                cores,
                args.seconds,
                args.frames,
                Path(scratch),
                count=args.neighbours,
                burst=burst,
                reverse=i % 2 == 1,
            )
            rounds.append(pairs)
            if not args.json:
                sys.stdout.write(f"round {i + 1}:\n" + render(pairs, cores))
                sys.stdout.flush()
    medians = median_ratios([pair_ratios(pairs, cores) for pairs in rounds])
    if args.json:
        report = {
            "host": asdict(this_host()),
            "burst": asdict(burst),
            "neighbours": args.neighbours,
            "rounds": [[asdict(p) for p in pairs] for pairs in rounds],
            "median_ratios": medians,
        }
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    else:
        sys.stdout.write(f"median of {args.rounds} rounds:\n")
        sys.stdout.write("".join(f"  {k:<40} {v:>5.2f}\n" for k, v in medians.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
