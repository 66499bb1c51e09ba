"""Session 22 (report): what each option of this session adds to a drawn box's answer. The shipped checkpoint
(claims on, as its card has them) answers one box drawn on each of the first N judged synthetic images (warm: the
image encoded once before, as the worker's feature cache keeps it) with one other label claiming, then with the
drawn label's own bank joining (`detection_drawn_bank`), the claims seeded (`detection_claims_seed` 0.5) and the
labels' vote (`detection_label_vote`). Median and mean seconds per answer, on this machine's 2 cores.

    PYTHONPATH=. python bench/results/exp-session22/options_time.py [N]
"""
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "finetune-session14"))
sys.path.insert(0, str(Path(__file__).parents[1] / "exp-session21"))
from children import args_for
from claims_time import warm_boxes  # session 21's warm drawn boxes

from bench.effort_curve import load_split

ARMS = {"claims (today)": {}, "U": {"detection_drawn_bank": True}, "SC": {"detection_claims_seed": 0.5},
        "V": {"detection_label_vote": True}}


def main():
    from common.settings import Settings
    from model.answering import AnswerThresholds, find_for_drawn_boxes
    from model.evaluation.bank_effort import bank_from_dataset
    from worker.runtime import load_predictor

    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    settings = Settings.from_env().replace(checkpoint="checkpoints/mobile-coco128.weights.h5", model_preset=None)
    predictor = load_predictor(settings)
    shipped = predictor.config
    split = load_split("synthetic", args_for(0), 10)
    bank = bank_from_dataset(split.accepted(5))
    encoded = {label: [predictor.encode_references(e.image, e.boxes) for e in exemplars]
               for label, exemplars in bank.items()}
    drawn_label, other_label = list(encoded)[:2]
    thresholds = AnswerThresholds(None, settings.nms_threshold, settings.max_instances)
    images = [image for image in split.judged.images if image.instances][:count]
    times: dict[str, list[float]] = {arm: [] for arm in ARMS}
    for pixels, box, query, reference in warm_boxes(predictor, images, thresholds):
        for arm, changes in ARMS.items():
            predictor.config = shipped.replace(**changes)
            started = time.perf_counter()
            find_for_drawn_boxes(predictor, pixels, query, reference, thresholds, box,
                                 others={other_label: encoded[other_label]}, own=encoded[drawn_label])
            times[arm].append(time.perf_counter() - started)
        predictor.config = shipped
    row = {"answers": len(images), **{arm: {"median_s": round(statistics.median(v), 4),
                                            "mean_s": round(statistics.mean(v), 4)} for arm, v in times.items()}}
    print(json.dumps(row))
    with open(Path(__file__).parent / "options_time.jsonl", "a") as sink:
        sink.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
