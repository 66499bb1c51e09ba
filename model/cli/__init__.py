"""The command line: `python -m model {predict,inspect,convert,train,finetune,average,evaluate,search,synth,calibrate,
effort} ...`.

Each command parses its arguments here and calls one library function; no logic lives in this file.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from model.cli import evaluation, inference, training

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m model", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    # Each command's flags live beside its code; this is the order `python -m model --help` lists them in.
    for add_parser in (
        inference.add_predict_parser, inference.add_inspect_parser, inference.add_convert_parser,
        training.add_train_parser, training.add_finetune_parser, training.add_average_parser,
        evaluation.add_evaluate_parser, inference.add_search_parser,
        evaluation.add_synth_parser, evaluation.add_calibrate_parser, evaluation.add_effort_parser,
    ):
        add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "paper_schedule", False):
        args.optimizer, args.heads_steps, args.layers = "sgd", 1000, "all"
        args.learning_rate = 0.02 * args.batch_size / 12
    np.set_printoptions(precision=3, suppress=True)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
