"""Session 25 (prereg.md, part 2): where a threshold rule turns on a bank that the child's row measured off, measure
that bank: the kept child with its bank on, answering at the rule's threshold, on the curve's judged images
(`bench.effort_curve.measure`). Usage:

    PYTHONPATH=. python bench/results/exp-session25/bank_at.py OUTDIR ARM THRESHOLD SET:SEED:K [...]

Adds `"ARM:STEM:THRESHOLD": bank errors per instance` to bank_measured.json beside this script.
"""
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "exp-session20"))
from runs_children import each_child

MEASURED = Path(__file__).parent / "bank_measured.json"


def main():
    from bench.effort_curve import measure
    from model.checkpoint import load_checkpoint, save_checkpoint

    out_dir, arm, threshold = sys.argv[1], sys.argv[2], float(sys.argv[3])
    for _, _out, _spec, _name, _seed, _k, split, accepted, path in each_child(["-", out_dir, *sys.argv[4:]]):
        stem = path.name.removesuffix(".weights.h5")
        model, card = load_checkpoint(path if arm == "CL" else path.with_name(f"{stem}.s25-{arm}.weights.h5"))
        model.config = model.config.replace(detection_bank_answers=True, detection_min_confidence=threshold)
        with tempfile.TemporaryDirectory() as tmp:
            saved = save_checkpoint(model, Path(tmp) / "child.weights.h5", card)
            figures = measure(saved, split.judged, accepted)
        measured = json.loads(MEASURED.read_text()) if MEASURED.exists() else {}
        measured[f"{arm}:{stem}:{threshold:g}"] = figures["bank"]["errors_per_instance"]
        MEASURED.write_text(json.dumps(measured, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
