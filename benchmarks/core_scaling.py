"""What the cores add to the worker's frame loop: one process on every core against one
one-thread process per core, side by side in one run.

    .venv/bin/python -m benchmarks.core_scaling [--seconds 20] [--rounds 2] [--json]

The pipeline benchmark's four streams against one compare one stream on one worker of every
core (torch's intra-op threads) with four streams spread over one one-thread worker per
core. Before the broker and the sink take their share, the most that spreading can gain is
what one-thread processes side by side do against one process of every core on the same
work. This measures it on the worker's frame processor (detector, embedder, DeepSORT, torch
backends, batches of ``VISIONTRACK_BATCH_MAX_FRAMES``) looping over a generated 640x480
scene, each process in a fresh interpreter as a worker is, in four layouts:

- one process of every core's threads;
- one process of one thread, for context;
- one one-thread process per core, all at once (timed together: each loads its models,
  then all start on a signal);
- one process of one lane per core: a thread each, with a processor of its own and torch
  on the thread that calls it (one intra-op thread), so the lanes run side by side in one
  interpreter as the processes do in several. What that gets beside the processes is what
  a worker could get from one stream by running batches on lanes instead of torch's
  threads (a stream's tracker would still take its batches in order).

It prints frames/s, the cores each layout kept busy, and the ratios; ``--rounds`` repeats the
layouts (alternating their order) and prints each ratio's median.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.host import this_host
from benchmarks.pipeline import Image, median_ratios

if TYPE_CHECKING:
    from processors.pipeline.frame_processor import FrameProcessor

# The ratio of the pipeline benchmark whose ceiling this one measures.
CEILING_OF = "four_streams_two_workers_vs_one"
_ROOT = Path(__file__).resolve().parents[1]  # where `-m benchmarks...` runs from
_GO = "go"
_READY = "ready"
_TORCH = {
    "VISIONTRACK_DETECTOR_BACKEND": "torch",
    "VISIONTRACK_DETECTOR_INT8": "false",
    "VISIONTRACK_EMBEDDER_BACKEND": "torch",
}


@dataclass(frozen=True, slots=True)
class Layout:
    """How the cores are used: ``processes`` at once, each of ``lanes`` threads running a
    processor of their own on ``threads`` torch threads each."""

    processes: int
    threads: int
    lanes: int = 1

    @property
    def name(self) -> str:
        processes = "process" if self.processes == 1 else "processes"
        threads = "thread" if self.threads == 1 else "threads"
        lanes = "" if self.lanes == 1 else f" x {self.lanes} lanes"
        return f"{self.processes} {processes}{lanes} x {self.threads} {threads}"


@dataclass(frozen=True, slots=True)
class LoopRun:
    """One process's timed loop."""

    frames: int
    seconds: float
    cpu_s: float


@dataclass(frozen=True, slots=True)
class LayoutRun:
    layout: Layout
    fps: float  # all its processes together
    cores: float  # CPU seconds of all its processes over the longest loop's seconds

    @classmethod
    def of(cls, layout: Layout, loops: list[LoopRun]) -> LayoutRun:
        if len(loops) != layout.processes:
            raise ValueError(f"{layout.name}: {len(loops)} loops reported")
        span = max(loop.seconds for loop in loops)
        return cls(
            layout,
            round(sum(loop.frames / loop.seconds for loop in loops), 2),
            round(sum(loop.cpu_s for loop in loops) / span, 2),
        )


def layouts(cores: int) -> list[Layout]:
    """One process of every core, one of one thread, one one-thread process per core, one
    process of a one-thread lane per core."""
    return [Layout(1, cores), Layout(1, 1), Layout(cores, 1), Layout(1, 1, lanes=cores)]


def scaling_ratios(runs: list[LayoutRun], cores: int) -> dict[str, float]:
    """The ratios of a round's layouts (keyed by what they compare)."""
    by_layout = {run.layout: run.fps for run in runs}
    every_core = by_layout[Layout(1, cores)]
    one_thread = by_layout[Layout(1, 1)]
    spread = by_layout[Layout(cores, 1)]
    lanes = by_layout[Layout(1, 1, lanes=cores)]
    return {
        # What the four-streams ratio can reach before the broker and the sink.
        "one_thread_processes_vs_one_process": round(spread / every_core, 2),
        # What torch's intra-op threads make of the cores, and what processes make of them.
        "one_process_threads_vs_one_thread": round(every_core / one_thread, 2),
        "one_thread_processes_vs_one_thread": round(spread / one_thread, 2),
        # What one process gets of the processes' share by lanes instead of torch's threads.
        "one_thread_lanes_vs_one_process": round(lanes / every_core, 2),
        "one_thread_lanes_vs_one_thread_processes": round(lanes / spread, 2),
    }


def _loop(seconds: float, frames: int, lanes: int, scratch: Path) -> LoopRun:
    """The child: ``lanes`` threads, each with the worker's processor of its own (loaded on
    the thread that runs it, one lane at a time), looping over the scene after a warm-up
    and the parent's go; their frames together."""
    from processors.worker import build_processor
    from producers.synthetic import SceneConfig, SceneGenerator
    from visiontrack.settings import Settings

    settings = Settings().model_copy(update={"data_dir": scratch})
    config = SceneConfig(width=640, height=480, num_frames=frames)
    images = [f.image for f in SceneGenerator(11, config).frames()]
    loading = threading.Lock()
    ready = threading.Barrier(lanes + 1)
    go = threading.Event()
    timed = False  # set before ``go``: False if the parent left before its go

    def lane(index: int) -> int:
        try:
            with loading:
                processor = build_processor(settings)
                processor.warm_up()
            ready.wait()
        except BaseException:
            ready.abort()  # the parent and the other lanes stop waiting
            raise
        go.wait()
        if not timed:
            return 0
        return _pass_scene(processor, images, settings.batch_max_frames, f"lane-{index}", seconds)

    with ThreadPoolExecutor(lanes, thread_name_prefix="lane") as pool:
        done = [pool.submit(lane, i) for i in range(lanes)]
        try:
            ready.wait()
        except threading.BrokenBarrierError:
            for future in done:
                future.result()  # raises the lane's error
            raise
        try:
            sys.stdout.write(_READY + "\n")
            sys.stdout.flush()
            if sys.stdin.readline().strip() != _GO:
                raise SystemExit("the parent left before the go")
            timed = True
            wall, cpu = time.perf_counter(), time.process_time()
        finally:
            go.set()  # the lanes go, or return at once if not ``timed``
        frames_done = sum(future.result() for future in done)
    return LoopRun(frames_done, time.perf_counter() - wall, time.process_time() - cpu)


def _pass_scene(
    processor: FrameProcessor, images: list[Image], batch: int, name: str, seconds: float
) -> int:
    """Batches of the scene through ``processor`` for ``seconds``; the frames it took."""
    from processors.pipeline.frame_processor import FrameInput

    done, lap = 0, 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        # Each pass over the scene is a stream of its own: its tracks start afresh.
        inputs = (FrameInput(image, f"{name}-{lap}", i, 0.0) for i, image in enumerate(images))
        while time.perf_counter() < deadline and (chunk := list(islice(inputs, batch))):
            processor.process_batch(chunk)
            done += len(chunk)
        lap += 1
    return done


def _wait_ready(child: subprocess.Popen[str], layout: Layout) -> None:
    """Read the child's output up to its "ready" (libraries may write lines before it)."""
    assert child.stdout is not None
    for line in child.stdout:
        if line.strip() == _READY:
            return
    raise RuntimeError(f"{layout.name}: a child exited {child.wait()} before it was ready")


def start_child(
    layout: Layout, seconds: float, frames: int, scratch: Path, stderr: int | None = None
) -> subprocess.Popen[str]:
    """One of the layout's processes, talking over its stdin and stdout (ready, go, result)."""
    env = os.environ | _TORCH | {"OMP_NUM_THREADS": str(layout.threads)}
    command = [sys.executable, "-m", "benchmarks.core_scaling", "--child"]
    command += ["--seconds", str(seconds), "--frames", str(frames), "--lanes", str(layout.lanes)]
    command += ["--scratch", str(scratch)]
    return subprocess.Popen(
        command,
        cwd=_ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )


def run_layout(
    layout: Layout,
    seconds: float,
    frames: int,
    scratch: Path,
    on_go: Callable[[], None] | None = None,
) -> LayoutRun:
    """Start the layout's processes, let them all load, then time their loops together;
    ``on_go`` is called once they are all told to go."""
    children = [start_child(layout, seconds, frames, scratch) for _ in range(layout.processes)]
    try:
        for child in children:
            _wait_ready(child, layout)
        for child in children:
            assert child.stdin is not None
            child.stdin.write(_GO + "\n")
            child.stdin.flush()
        if on_go is not None:
            on_go()
        loops = []
        for child in children:
            out, _ = child.communicate(timeout=seconds + 120)
            if child.returncode != 0:
                raise RuntimeError(f"{layout.name}: a child exited {child.returncode}")
            loops.append(LoopRun(**json.loads(out.strip().splitlines()[-1])))
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    return LayoutRun.of(layout, loops)


def run_round(
    cores: int, seconds: float, frames: int, scratch: Path, reverse: bool
) -> list[LayoutRun]:
    """The layouts timed one after another (in reverse order if ``reverse``), listed in
    :func:`layouts` order."""
    order = layouts(cores)[::-1] if reverse else layouts(cores)
    runs = [run_layout(layout, seconds, frames, scratch) for layout in order]
    return runs[::-1] if reverse else runs


def render(runs: list[LayoutRun], ratios: dict[str, float]) -> str:
    width = max(len(r.layout.name) for r in runs)
    lines = [f"{'layout':<{width}} {'frames/s':>9} {'cores':>6}"]
    lines += [f"{r.layout.name:<{width}} {r.fps:>9.1f} {r.cores:>6.2f}" for r in runs]
    return "\n".join(lines) + "\n" + _ratio_lines(ratios)


def _ratio_lines(ratios: dict[str, float]) -> str:
    return "".join(f"  {name:<40} {value:>5.2f}\n" for name, value in ratios.items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="each layout's timed loop")
    parser.add_argument("--frames", type=int, default=300, help="scene frames a pass")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--lanes", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--scratch", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        loop = _loop(args.seconds, args.frames, args.lanes, args.scratch)
        sys.stdout.write(json.dumps(asdict(loop)) + "\n")
        return 0
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    cores = os.cpu_count() or 1
    if cores < 2:
        parser.error("one core: there is nothing to spread over")
    rounds: list[list[LayoutRun]] = []
    if not args.json:
        sys.stdout.write(f"host: {this_host().describe()}\n")
    with tempfile.TemporaryDirectory(prefix="visiontrack-cores-") as scratch:
        for i in range(args.rounds):
            rounds.append(run_round(cores, args.seconds, args.frames, Path(scratch), i % 2 == 1))
            if not args.json:
                sys.stdout.write(
                    f"round {i + 1}:\n" + render(rounds[-1], scaling_ratios(rounds[-1], cores))
                )
                sys.stdout.flush()
    medians = median_ratios([scaling_ratios(r, cores) for r in rounds])
    if args.json:
        report = {
            "host": asdict(this_host()),
            "rounds": [[asdict(r) for r in runs] for runs in rounds],
            "median_ratios": medians,
            "bounds": CEILING_OF,
        }
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    elif args.rounds > 1:
        sys.stdout.write(f"median of {args.rounds} rounds:\n" + _ratio_lines(medians))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
