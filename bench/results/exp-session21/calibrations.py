"""Session 21 part 3 (prereg.md): the combined held-out judgement (slice and shifted copies) each of session 20's
kept children is calibrated on, with the claims on, recomputed by `claims_children.rejudged` (no measuring), so
that another tie-break can be scored off it. Usage:

    PYTHONPATH=. python bench/results/exp-session21/calibrations.py OUTDIR ARM SET:SEED:K [SET:SEED:K ...]

Appends `{"arm", "set", "seed", "k", "threshold", "calibration"}` to bench/results/exp-session21/calibrations.jsonl.
"""
import json
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from claims_children import each_child, rejudged

ROWS = Path(__file__).parent / "calibrations.jsonl"


def main():
    out_dir, arm = sys.argv[1], sys.argv[2]
    for _, _, spec, name, seed, k, _, accepted, path in each_child(["-", out_dir, *sys.argv[3:]]):
        model, _, _, _, calibration, _ = rejudged(path, arm, seed, accepted)
        row = {"arm": arm, "set": name, "seed": seed, "k": k,
               "threshold": float(model.config.detection_min_confidence),
               "calibration": calibration and calibration.to_dict()}
        del model
        with open(ROWS, "a") as sink:
            sink.write(json.dumps(row) + "\n")
        logging.info("DONE %s %s: %s", arm, spec, row["threshold"])


if __name__ == "__main__":
    main()
