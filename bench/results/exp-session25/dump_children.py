"""Session 25: dump kept children's whole answers at 0.3 (both modes, as the worker gives them) with the frame
skip OFF, so that the frame-convention decision and any threshold rule can be scored offline from one dump.
Children must already exist in OUTDIR (made by session 24's fresh_children.py). Usage:

    PYTHONPATH=. python bench/results/exp-session25/dump_children.py PARENT OUTDIR SET:SEED:K [...]

Writes OUTDIR/<set>-s<seed>-k<k>.noskip.dump.jsonl.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "finetune-session14"))
sys.path.insert(0, str(Path(__file__).parents[1] / "exp-session24"))
from child_errors import dump
from children import each_child


def main():
    for _parent, out, _spec, name, seed, k, split, accepted, path in each_child(sys.argv[1:]):
        if not path.exists():
            raise SystemExit(f"{path} is missing: make the child first (exp-session24/fresh_children.py)")
        with open(out / f"{name}-s{seed}-k{k}.noskip.dump.jsonl", "w") as sink:
            dump(path, split.judged, accepted, sink, overrides={"detection_skip_border": False})


if __name__ == "__main__":
    main()
