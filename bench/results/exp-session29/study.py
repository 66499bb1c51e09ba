"""What session 29's study scripts share: one child per `SET:SEED:K` argument with the curve's split, the rows
appended to a JSON-lines file, a checkpoint saved again with one config change."""
import json
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent / "finetune-session14"))
from children import args_for  # session 14: the curve's split per seed


def each_spec(specs: list[str]):
    """Per `SET:SEED:K`: `(name, seed, k, the curve's split, its k accepted images, seconds since it started)`
    (the last a function). Logging goes to stderr with times."""
    from bench.effort_curve import load_split

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for spec in specs:
        started = time.monotonic()
        name, seed, k = spec.split(":")
        seed, k = int(seed), int(k)
        split = load_split(name, args_for(seed), 10)
        yield name, seed, k, split, split.accepted(k), lambda started=started: round(time.monotonic() - started, 1)


def append(path: Path, row: dict) -> None:
    with open(path, "a") as sink:
        sink.write(json.dumps(row) + "\n")


def saved_with(source: Path, out: Path, **changes) -> Path:
    """The checkpoint at `source` saved again at `out` with its config `changes`."""
    from model.checkpoint import load_checkpoint, save_checkpoint

    model, card = load_checkpoint(source, **changes)
    return save_checkpoint(model, out, card)
