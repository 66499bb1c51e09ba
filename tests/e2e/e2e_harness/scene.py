"""A synthetic repeated-object scene for the browser test: one scene of the model's synthetic development set
(`python -m model synth`, issue 17), written by the project's own command so that the test, the development set
and the README's screenshot show the same picture.

The set is a function of coco128-seg and the seed: scene N of a 4-scene set is scene N of the 100-scene set that
`docs/model-quality.md` measures. Its instances keep their kind's name (`tv`, `carrot`, `shape-123`) as label.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .coco import CocoImage, Instance

DEVELOPMENT_SET_SEED = 1234  # python -m model synth's default: the development set of docs/model-quality.md
SYNTH_TIMEOUT_S = 600
SCENE_INDEX = 3  # scene 0003 of the development set: 16 monitors (a training class's cut-outs) on a park background
SCENE_LABEL = "tv"


class SceneError(RuntimeError):
    pass


def synthetic_scene(coco128_dir: Path, out_dir: Path, index: int, seed: int = DEVELOPMENT_SET_SEED) -> CocoImage:
    """Scene `index` (0-based) of the synthetic development set drawn from `coco128_dir`, written under `out_dir`.

    Returns its image path, size and every labelled instance (boxes `x1, y1, x2, y2` pixels, label = kind name).
    """
    run = subprocess.run(
        [sys.executable, "-m", "model", "synth", "--data", str(coco128_dir), "--format", "yolo-seg",
         "--count", str(index + 1), "--seed", str(seed), "--out", str(out_dir)],
        capture_output=True, text=True, timeout=SYNTH_TIMEOUT_S, cwd=Path(__file__).resolve().parents[3],
    )
    if run.returncode != 0:
        raise SceneError(f"python -m model synth failed ({run.returncode}): {run.stderr[-2000:]}")
    coco = json.loads((out_dir / "annotations.json").read_text())
    image = next(im for im in coco["images"] if im["id"] == index + 1)
    names = {c["id"]: c["name"].rsplit("@", 1)[0] for c in coco["categories"]}
    instances = tuple(
        Instance(names[a["category_id"]], (a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2],
                                           a["bbox"][1] + a["bbox"][3]))
        for a in coco["annotations"] if a["image_id"] == image["id"]
    )
    return CocoImage(out_dir / image["file_name"], image["width"], image["height"], instances)
