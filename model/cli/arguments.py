"""Argument types and flags shared by several commands of `python -m model`: boxes, FIELD=VALUE changes,
score thresholds, the model flags (`--checkpoint/--preset/--precision`) and the data flags (`--data/--format/
--split/--held-out`)."""

from __future__ import annotations

import argparse
import json


def parse_box(text: str) -> list[float]:
    """`x,y,w,h` (Label Studio's and COCO's convention) -> `[x1, y1, x2, y2]`."""
    try:
        x, y, w, h = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected x,y,w,h (four numbers), got {text!r}") from None
    return [x, y, x + w, y + h]


def parse_config_override(text: str) -> tuple[str, object]:
    """`FIELD=VALUE` -> (field, value); VALUE is read as JSON when it parses (numbers, lists), else as a string."""
    field, sep, raw = text.partition("=")
    if not sep or not field:
        raise argparse.ArgumentTypeError(f"expected FIELD=VALUE, got {text!r}")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return field.strip(), value


def parse_thresholds(text: str) -> list[float]:
    """`T[,T...]` -> score thresholds in [0, 1], e.g. `0.5,0.6,0.7` (a sweep scored from one answer each)."""
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected thresholds like 0.5 or 0.5,0.6,0.7, got {text!r}") from None
    if not values or not all(0.0 <= v <= 1.0 for v in values):
        raise argparse.ArgumentTypeError(f"thresholds must be numbers in [0, 1], got {text!r}")
    return values


def add_model_args(p: argparse.ArgumentParser) -> None:
    """`--checkpoint` or `--preset`, and `--precision`: the model `predictor_from_args` loads."""
    group = p.add_mutually_exclusive_group()
    group.add_argument("--checkpoint", help="our .weights.h5 (its .card.json beside it names the preset)")
    group.add_argument("--preset", default="mobile", help="untrained preset when no checkpoint (default: mobile)")
    p.add_argument("--precision", choices=["float32", "bfloat16"], default="float32",
                   help="inference precision (bfloat16: faster on CPUs with AMX/AVX512_BF16 and on GPUs)")


def predictor_from_args(args):
    """The `Predictor` of `add_model_args`' flags: `--checkpoint` when given, else `--preset`."""
    from model.predictor import Predictor

    if args.checkpoint:
        return Predictor.from_checkpoint(args.checkpoint, precision=args.precision)
    return Predictor.from_preset(args.preset, precision=args.precision)


def add_data_args(p: argparse.ArgumentParser) -> None:
    """`--data/--format` and the held-out classes (`--split` or `--held-out`): read by `dataset_and_split`."""
    p.add_argument("--data", required=True, help="COCO JSON, YOLO-seg folder or Label Studio JSON export")
    p.add_argument("--format", required=True, choices=["coco", "yolo-seg", "label-studio"])
    p.add_argument("--split", type=int, nargs="+", choices=[1, 2, 3, 4],
                   help="the paper's COCO class split held out; several: their union (train: --split 1 2 keeps the "
                        "split-2 classes out too, as validation classes)")
    p.add_argument("--held-out", nargs="*", help="explicit held-out class names (instead of --split)")


def dataset_and_split(args):
    """The dataset of `--data/--format` and the class split of `--split` or `--held-out` (checked against it)."""
    from model.data.loading import load_dataset
    from model.data.splits import ClassSplit, paper_split

    dataset = load_dataset(args.data, args.format, images_dir=getattr(args, "images_dir", None))
    if args.split:
        parts = [paper_split(k) for k in args.split]  # several: their union (e.g. test + validation classes)
        held_out = frozenset().union(*(part.held_out for part in parts))
        split = ClassSplit(held_out, name="+".join(part.name for part in parts))
    else:
        split = ClassSplit.from_names(args.held_out or [])
    split.check_against(dataset.categories)
    return dataset, split
