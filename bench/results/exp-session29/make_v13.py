"""Session 29: the default `mobile-coco128-v13`, v12 (v7's weights with a verifier) with `detection_label_claims`
off (session 28 part 6, arm PC0, adopted). The weights are v12's, unchanged; only the card changes. Usage:

    PYTHONPATH=. python bench/results/exp-session29/make_v13.py card    # runs/s29/v13/: v12's weights, v13's card
    PYTHONPATH=. python bench/results/exp-session29/make_v13.py table   # fill the effort table from runs/s29/v13-*.json
    PYTHONPATH=. python bench/results/exp-session29/make_v13.py ship    # copy the card into checkpoints/

`table` reads the re-measured issue-17 sets (`python -m model effort` as runs/s27/service-eval12.sh, on v13): the
model rows become v13's, the previous-default rows v12's model rows.
"""
import json
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
ROOT = HERE.parents[2]
SHIPPED = ROOT / "checkpoints" / "mobile-coco128"
STAGE = ROOT / "runs" / "s29" / "v13" / "mobile-coco128"
VERSION = "mobile-coco128-v13"
V12_COMMIT = "d160a4a"
"""The last commit whose default card is v12's (the weights file is the same before and after)."""
MEASURED = {"coco128-split1-held-out": "v13-split1.json", "droplets": "v13-droplets.json",
            "synthetic": "v13-synthetic.json"}
LABEL = f"{VERSION} (default, its verifier's 0.6, no label claims)"
PC0 = {  # session 28 part 6: v12 with each deciding seed's k = 5 bank, box drawn, errors per instance
    "value": False,
    "why": "with a project's exemplars the other labels no longer claim a drawn box's suggestions: measured better "
           "without them (groups below)",
    "rule": "bench/results/exp-session28/prereg.md part 6: adopted (48 deciding: 0.3177 -> 0.1886; 0.010 asked, no "
            "group worse)",
    "script": "bench/results/exp-session28/parent_claims.py",
    "measure": "errors per instance with a box drawn on the learning curve's judged images, the project's bank the "
               "seed's k = 5 accepted images (the parent serving a project before its first version, or where the "
               "gate keeps it)",
    "groups": {"sessions (16 seeds)": {"claims_on": 0.2169, "claims_off": 0.0693},
               "sessions-packed (16)": {"claims_on": 0.2326, "claims_off": 0.1352},
               "coco128 person + chair, synthetic (8)": {"claims_on": 0.6355, "claims_off": 0.4804},
               "sessions-cut (8)": {"claims_on": 0.3715, "claims_off": 0.2423},
               "deciding (48)": {"claims_on": 0.3177, "claims_off": 0.1886}},
}
NOTES = ("v12 (v7's weights with a verifier for drawn boxes) with detection_label_claims off: with a project's "
         "exemplars, the other labels no longer claim a drawn box's suggestions (session 28 part 6: on the 48 "
         "deciding projects' k = 5 banks, 0.318 -> 0.189 errors per instance with a box drawn). Without a bank "
         "(issue 17's sets) and on one-label projects (droplets) nothing changes: the effort table is v12's, "
         "re-measured. docs/model-quality.md, session 29.")


def card_stage():
    STAGE.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SHIPPED.with_suffix(".weights.h5"), STAGE.with_suffix(".weights.h5"))
    card = json.loads(subprocess.run(["git", "show", f"{V12_COMMIT}:checkpoints/mobile-coco128.card.json"],
                                     cwd=ROOT, check=True, capture_output=True, text=True).stdout)
    assert card["version"] == "mobile-coco128-v12", card["version"]
    card.update(version=VERSION, parent="mobile-coco128-v12", created="2026-12-07T22:40:00Z", notes=NOTES)
    card["config"]["detection_label_claims"] = False
    card["training"]["label_claims"] = PC0
    card["training"]["same_weights_as"] = "mobile-coco128-v12"  # only the card changes: ties on issue 17's sets
    STAGE.with_suffix(".card.json").write_text(json.dumps(card, indent=1) + "\n")
    print("wrote", STAGE.with_suffix(".card.json"))


def table_stage():
    path = STAGE.with_suffix(".card.json")
    card = json.loads(path.read_text())
    for name, file in MEASURED.items():
        rows = card["metrics"]["effort"][name]["rows"]
        measured = json.loads((ROOT / "runs" / "s29" / file).read_text())
        assert measured["answerer"] == VERSION, measured["answerer"]
        got = next(r for r in measured["rows"] if r["threshold"] == rows["model"]["threshold"])
        previous = dict(rows["model"], label="previous default mobile-coco128-v12 (its verifier's 0.6)")
        rows["previous-default"] = previous
        rows["model"] = dict({k: got[k] for k in previous if k in got}, label=LABEL,
                             threshold=rows["model"]["threshold"], source=f"runs/s29/{file}")
        print(name, "v13", got["effort"], got["errors_per_instance"], "v12", previous["effort"],
              previous["errors_per_instance"])
    path.write_text(json.dumps(card, indent=1) + "\n")


def ship_stage():
    shutil.copyfile(STAGE.with_suffix(".card.json"), SHIPPED.with_suffix(".card.json"))
    print("shipped", VERSION)


if __name__ == "__main__":
    {"card": card_stage, "table": table_stage, "ship": ship_stage}[sys.argv[1]]()
