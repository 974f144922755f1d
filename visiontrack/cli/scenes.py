"""Generated scenes, the sample models, accuracy and the demo: scenes, model, eval, demo."""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from visiontrack.cli._common import Add, out
from visiontrack.settings import Settings

if TYPE_CHECKING:
    from processors.detection.training import TrainPlan
    from processors.tracking.reid.training import ReidTrainPlan


def scene_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)


def cmd_scenes_video(settings: Settings, args: argparse.Namespace) -> int:
    from producers.synthetic import SceneConfig, SceneGenerator, write_video

    config = SceneConfig(width=args.width, height=args.height, num_frames=args.frames)
    gt = write_video(SceneGenerator(args.seed, config), args.out)
    out(f"wrote {args.out} and its ground truth {gt}")
    return 0


Plan = TypeVar("Plan", "TrainPlan", "ReidTrainPlan")


def _plan_from_args(plan: Plan, args: argparse.Namespace, fields: tuple[str, ...]) -> Plan:
    """``plan`` with the options given on the command line; unset ones keep its defaults."""
    given = {name: value for name in fields if (value := getattr(args, name)) is not None}
    plan = replace(plan, **given)
    if args.scenes is not None or args.first_seed is not None:
        first = plan.train_seeds[0] if args.first_seed is None else args.first_seed
        count = len(plan.train_seeds) if args.scenes is None else args.scenes
        plan = replace(plan, train_seeds=tuple(range(first, first + count)))
    return plan


def cmd_model_train_sample(settings: Settings, args: argparse.Namespace) -> int:
    from processors.detection.training import SAMPLE_WEIGHTS, TrainPlan, train_sample_detector

    plan = _plan_from_args(TrainPlan(), args, ("epochs", "imgsz", "stride", "seed"))
    work_dir = args.work_dir or settings.data_dir / "training"
    result = train_sample_detector(plan, work_dir, args.out or SAMPLE_WEIGHTS)
    out(
        f"trained on {result.train_images} images in {result.duration_s / 60:.1f} min; "
        f"validation mAP50 {result.map50:.3f}, mAP50-95 {result.map50_95:.3f}"
    )
    out(f"weights: {result.weights} ({result.weights.stat().st_size / 1e6:.1f} MB)")
    return 0


def cmd_model_train_reid(settings: Settings, args: argparse.Namespace) -> int:
    from processors.tracking.reid.training import (
        SAMPLE_REID_WEIGHTS,
        ReidTrainPlan,
        train_sample_reid,
    )

    plan = _plan_from_args(ReidTrainPlan(), args, ("epochs", "seed"))
    result = train_sample_reid(plan, out=args.out or SAMPLE_REID_WEIGHTS)
    out(
        f"trained on {result.train_crops} crops of {result.identities} objects in "
        f"{result.duration_s / 60:.1f} min; validation rank-1 {result.val_rank1:.3f}"
    )
    out(f"weights: {result.weights} ({result.weights.stat().st_size / 1e6:.2f} MB)")
    return 0


def cmd_eval_tracking(settings: Settings, args: argparse.Namespace) -> int:
    import tempfile

    from visiontrack.evaluation.runner import EvalPlan, Mode, run_evaluation

    plan = EvalPlan(
        first_seed=args.seed,
        scenes=args.scenes,
        frames=args.frames,
        width=args.width,
        height=args.height,
        min_visibility=args.min_visibility,
    )
    mode: Mode = "direct" if args.direct else "pipeline"
    with tempfile.TemporaryDirectory(prefix="visiontrack-eval-") as tmp:
        report = run_evaluation(settings, plan, mode, Path(tmp).resolve()).to_dict()
    if args.json:
        out(json.dumps(report, indent=2))
        return 0
    out(f"{mode}: {report['scenes']} scenes, {report['frames']} frames, {report['fps']} fps")
    for key in ("HOTA", "MOTA", "IDF1", "ID_switches", "mAP50"):
        out(f"  {key:<12} {report[key]}")
    return 0


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from visiontrack.demo import DemoPlan, run_demo

    plan = DemoPlan(video=args.video, scene_seed=args.scene_seed, serve=not args.no_serve)
    return run_demo(settings, plan)


def cmd_model_export(settings: Settings, args: argparse.Namespace) -> int:
    from processors.detection.detector import ModelError, resolve_model_ref
    from processors.detection.export import DetectorBackend, Int8Calibration, export_detector
    from processors.detection.ultralytics_env import configure_ultralytics

    int8 = args.int8 or (settings.detector_int8 and args.format == "openvino")
    if int8 and args.format != "openvino":
        raise ModelError("--int8 needs --format openvino")
    calibration = Int8Calibration(args.int8_data or settings.detector_int8_data) if int8 else None
    configure_ultralytics(settings.data_dir / "ultralytics")
    ref = resolve_model_ref(args.model or settings.model)
    models = settings.data_dir / "models"
    imgsz = args.imgsz or settings.model_imgsz
    backend = DetectorBackend(args.format)
    path = export_detector(ref, backend, args.out or models, imgsz, int8=calibration)
    out(f"exported {ref} to {path}")
    run_with = f"VISIONTRACK_DETECTOR_BACKEND={args.format}"
    if int8:
        run_with += " VISIONTRACK_DETECTOR_INT8=true"
    if path.parent.resolve() == models.resolve() and not args.model:
        out(f"the worker runs it with {run_with}")
    else:
        out(f"run it with VISIONTRACK_MODEL={path} VISIONTRACK_DETECTOR_BACKEND={args.format}")
    return 0


def cmd_model_export_embedder(settings: Settings, args: argparse.Namespace) -> int:
    from processors.tracking.embedder import EmbedderBackend
    from processors.tracking.mobilenet_export import export_embedder

    path = export_embedder(EmbedderBackend(args.format), settings.data_dir / "models")
    out(f"exported the MobileNetV2 embedder to {path}")
    out(
        f"the worker runs it with VISIONTRACK_EMBEDDER=mobilenetv2 "
        f"VISIONTRACK_EMBEDDER_BACKEND={args.format}"
    )
    return 0


def cmd_model_quantize_reid(settings: Settings, args: argparse.Namespace) -> int:
    from processors.tracking.embedder import load_embedder, resolve_embedder_ref
    from processors.tracking.reid.int8 import int8_reid_path

    models = settings.data_dir / "models"
    load_embedder(settings.embedder, "openvino", settings.data_dir, int8=True)
    weights = resolve_embedder_ref(settings.embedder)
    assert weights is not None  # load_embedder refuses MobileNetV2 with int8
    out(f"the re-id network {weights} in INT8: {int8_reid_path(weights, models)}")
    out(
        "the worker runs it with VISIONTRACK_EMBEDDER_BACKEND=openvino "
        "VISIONTRACK_EMBEDDER_INT8=true"
    )
    return 0


def register(sub: Any, add: Add) -> None:
    demo = add("demo", cmd_demo, "run sample streams through the stack and keep serving")
    demo.add_argument("--video", type=Path, default=None, help="default: bikes.mp4")
    demo.add_argument("--scene-seed", type=int, default=7, help="seed of the live scene")
    demo.add_argument("--no-serve", action="store_true", help="stop after the summary")

    scenes = sub.add_parser("scenes", help="generated scenes").add_subparsers(
        dest="scenes", required=True
    )
    sv = add("video", cmd_scenes_video, "write a scene as a video with MOT ground truth", scenes)
    scene_arguments(sv)
    sv.add_argument("out", type=Path, help="video path (.mp4); gt goes beside it")

    model = sub.add_parser("model", help="detection and re-identification models").add_subparsers(
        dest="model", required=True
    )
    train = add("train-sample", cmd_model_train_sample, "train the offline sample detector", model)
    # Unset options keep TrainPlan's defaults, the plan in the bundled weights' card.
    train.add_argument("--scenes", type=int, help="training scenes (seeds)")
    train.add_argument("--first-seed", type=int)
    train.add_argument("--stride", type=int, help="keep every N-th frame")
    train.add_argument("--epochs", type=int)
    train.add_argument("--imgsz", type=int)
    train.add_argument("--seed", type=int, help="training seed")
    train.add_argument("--work-dir", type=Path, default=None)
    train.add_argument("--out", type=Path, default=None, help="default: the bundled weights")

    reid = add(
        "train-reid", cmd_model_train_reid, "train the offline re-identification network", model
    )
    # Unset options keep ReidTrainPlan's defaults, the plan in the bundled weights' card.
    reid.add_argument("--scenes", type=int, help="training scenes (seeds)")
    reid.add_argument("--first-seed", type=int)
    reid.add_argument("--epochs", type=int)
    reid.add_argument("--seed", type=int, help="training seed")
    reid.add_argument("--out", type=Path, default=None, help="default: the bundled weights")

    export = add(
        "export", cmd_model_export, "export the detector for ONNX Runtime or OpenVINO", model
    )
    export.add_argument("--format", choices=("onnx", "openvino"), required=True)
    export.add_argument("--model", help=".pt weights (default: VISIONTRACK_MODEL or the sample)")
    export.add_argument("--imgsz", type=int, help="input size (default: the trained size)")
    export.add_argument("--out", type=Path, default=None, help="default: <data dir>/models")
    export.add_argument(
        "--int8",
        action="store_true",
        help="openvino only: quantize to INT8 (default: VISIONTRACK_DETECTOR_INT8)",
    )
    export.add_argument(
        "--int8-data",
        type=Path,
        help="YOLO data.yaml whose val images calibrate INT8 (default: "
        "VISIONTRACK_DETECTOR_INT8_DATA; generated scenes for the sample detector)",
    )
    embedder = add(
        "export-embedder",
        cmd_model_export_embedder,
        "export the MobileNetV2 embedder for ONNX Runtime or OpenVINO into <data dir>/models",
        model,
    )
    embedder.add_argument("--format", choices=("onnx", "openvino"), required=True)
    add(
        "quantize-reid",
        cmd_model_quantize_reid,
        "quantize the re-id network (VISIONTRACK_EMBEDDER) to INT8 for OpenVINO into "
        "<data dir>/models",
        model,
    )

    evals = sub.add_parser("eval", help="accuracy").add_subparsers(dest="eval", required=True)
    ev = add("tracking", cmd_eval_tracking, "score detection and tracking on scenes", evals)
    ev.add_argument("--seed", type=int, default=0, help="first scene seed")
    ev.add_argument("--scenes", type=int, default=10)
    ev.add_argument("--frames", type=int, default=300, help="frames per scene")
    ev.add_argument("--width", type=int, default=640)
    ev.add_argument("--height", type=int, default=480)
    ev.add_argument(
        "--min-visibility",
        type=float,
        default=0.25,
        help="ground truth less visible than this is ignored",
    )
    ev.add_argument("--direct", action="store_true", help="in-process, without Kafka")
    ev.add_argument("--json", action="store_true")
