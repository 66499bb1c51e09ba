"""Pre-registrations 3 and 4: session 13's kept v7 children answer their judged images with a box drawn, as they
are and with inference settings changed (default: the reference gate off). Usage:

    PYTHONPATH=. python bench/results/exp-session15/gate_children.py CHILDREN_DIR OUT.jsonl [KEY=VALUE,...] SET:SEED:K ...
"""

import json
import sys
import tempfile
from pathlib import Path

from bench.effort_curve import load_split, measure

sys.path.insert(0, str(Path(__file__).parents[1] / "finetune-session14"))
from children import args_for  # session 14's split arguments, the curve's


def main():
    children, out, specs = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
    changes = {"detection_reference_gate": 0.0}
    if "=" in specs[0]:
        changes = {key: float(value) for key, value in (pair.split("=") for pair in specs.pop(0).split(","))}
    for spec in specs:
        name, seed, k = spec.split(":")
        split = load_split(name, args_for(int(seed)), 10)
        weights = children / f"{name}-s{seed}-k{k}.weights.h5"
        row = {"set": name, "seed": int(seed), "k": int(k), "changes": changes}
        for changed in (False, True):
            path = _with_changes(weights, changes) if changed else weights
            got = measure(path, split.judged, None)
            row["changed" if changed else "as_is"] = {
                "threshold": got["threshold"], "errors": got["interactive"]["errors_per_instance"],
                "recall": got["interactive"]["recall"], "sweep": got["sweep"]["interactive"]}
        with open(out, "a") as sink:
            sink.write(json.dumps(row) + "\n")
        print(spec, row["as_is"]["errors"], min(row["as_is"]["sweep"]), row["changed"]["errors"],
              min(row["changed"]["sweep"]), flush=True)


def _with_changes(weights: Path, changes: dict) -> Path:
    from model.checkpoint import load_checkpoint, save_checkpoint

    model, card = load_checkpoint(weights)
    model.config = model.config.replace(**changes)
    path = Path(tempfile.mkdtemp()) / weights.name
    save_checkpoint(model, path, card)
    return path


if __name__ == "__main__":
    main()
