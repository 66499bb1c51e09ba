"""BatchNormalization folding (model/folding.py), before / after, side by side on the same weights.

For each preset, query size and precision, two predictors hold the same weights (the shipped checkpoint's, else
the seeded preset's): one computes with the model's own backbone, the other with the folded copy. Their stages
are timed alternately (`encode_image`, `encode_references`, `find` with 30 forced instances), so machine load
hits both alike; the table gives medians and after / before ratios, and how far the outputs moved.

    python -m bench.batch_norm_folding                     # mobile and paper-large @512, float32 and bfloat16
    python -m bench.batch_norm_folding --presets mobile --sizes 512 1024 --json out.json

About a minute per row on 2 cores (paper-large the most).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from bench.publish import add_output_arguments, publish
from bench.timing import measure

__all__ = ["compare", "render_markdown", "run"]

STAGES = ("encode_image", "encode_references", "find")
FORCED_INSTANCES = 30
REFERENCE_BOX = (0.3, 0.3, 0.6, 0.6)
"""The reference box as fractions of the image: `x1, y1, x2, y2`."""


def _image(size: int, seed: int) -> np.ndarray:
    """A 4:3 image of smooth random blobs (the model sees structure, not noise), uint8 RGB."""
    import cv2

    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (12, 16, 3), dtype=np.uint8)
    return cv2.resize(small, (size, size * 3 // 4), interpolation=cv2.INTER_CUBIC)


def compare(preset: str, size: int, precision: str, repeats: int = 7, seed: int = 0) -> dict:
    """Stage times without and with folding, and the largest change of the outputs, for one configuration."""
    from bench.models import build_predictor
    from model.predictor import Predictor

    folded = build_predictor(preset, {"image_size": size}, seed, precision)
    plain = Predictor(folded.model, version=folded.version, card=folded.card)
    image = _image(size, seed)
    height, width = image.shape[:2]
    box = [[REFERENCE_BOX[0] * width, REFERENCE_BOX[1] * height, REFERENCE_BOX[2] * width, REFERENCE_BOX[3] * height]]
    row: dict = {"preset": preset, "size": size, "precision": precision}
    outputs = {}
    for name, predictor in (("before", plain), ("after", folded)):
        query = predictor.encode_image(image)
        reference = predictor.encode_references(image, box)
        found = predictor.find(query, reference, score_threshold=0.0, max_instances=FORCED_INSTANCES)
        outputs[name] = (np.asarray(query.pyramid[0], np.float32), reference.vector, found)
    for stage in STAGES:
        for _ in range(2):  # alternate, so load hits both alike
            for name, predictor in (("before", plain), ("after", folded)):
                query = predictor.encode_image(image)
                reference = predictor.encode_references(image, box)
                call = {"encode_image": lambda p=predictor: p.encode_image(image),
                        "encode_references": lambda p=predictor: p.encode_references(image, box),
                        "find": lambda p=predictor, q=query, r=reference: p.find(
                            q, r, score_threshold=0.0, max_instances=FORCED_INSTANCES)}[stage]
                stats = measure(lambda _, c=call: c(), warmup=1, repeats=repeats)
                best = row.setdefault(stage, {}).get(name)
                if best is None or stats.median < best["median"]:
                    row[stage][name] = stats.to_dict(5)
        row[stage]["ratio"] = round(row[stage]["after"]["median"] / row[stage]["before"]["median"], 3)
    (p2_before, ref_before, found_before), (p2_after, ref_after, found_after) = outputs["before"], outputs["after"]
    row["max_change"] = {
        "p2_relative": float(np.abs(p2_after - p2_before).max() / max(np.abs(p2_before).max(), 1e-9)),
        "reference_relative": float(np.abs(ref_after - ref_before).max() / max(np.abs(ref_before).max(), 1e-9)),
        "top_score": float(abs(found_after[0].score - found_before[0].score)) if found_before and found_after
        else None,
    }
    return row


def render_markdown(rows: list[dict]) -> str:
    lines = ["| preset @ query, precision | " + " | ".join(f"{s} before / after (ms)" for s in STAGES)
             + " | image + reference + find, after / before | largest change of P2 / reference / top score |",
             "|---|" + "---|" * (len(STAGES) + 2)]
    for row in rows:
        cells = [f"{row[s]['before']['median'] * 1e3:.1f} / {row[s]['after']['median'] * 1e3:.1f} "
                 f"(**{row[s]['ratio']:.2f}**)" for s in STAGES]
        total_before = sum(row[s]["before"]["median"] for s in STAGES)
        total_after = sum(row[s]["after"]["median"] for s in STAGES)
        change = row["max_change"]
        top = "n/a" if change["top_score"] is None else f"{change['top_score']:.1e}"
        lines.append(f"| {row['preset']}@{row['size']} {row['precision']} | " + " | ".join(cells)
                     + f" | {total_after / total_before:.2f} | {change['p2_relative']:.1e} / "
                     f"{change['reference_relative']:.1e} / {top} |")
    return "\n".join(lines) + "\n"


def run(presets, sizes, precisions, repeats: int) -> list[dict]:
    rows = []
    for preset in presets:
        for size in sizes:
            for precision in precisions:
                rows.append(compare(preset, size, precision, repeats))
                print(render_markdown(rows[-1:]).splitlines()[-1], flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["mobile", "paper-large"])
    parser.add_argument("--sizes", nargs="+", type=int, default=[512])
    parser.add_argument("--precisions", nargs="+", default=["float32", "bfloat16"])
    parser.add_argument("--repeats", type=int, default=7)
    args = add_output_arguments(parser).parse_args(argv)
    rows = run(args.presets, args.sizes, args.precisions, args.repeats)
    publish(rows, render_markdown(rows), args.json, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
