"""Session 21 (report): what the label claims add to a drawn box's answer. The shipped checkpoint with
`detection_label_claims` on answers one box drawn on each of the first N judged synthetic images (warm: the image
encoded once before, as the worker's feature cache keeps it), with 0, 1 and 3 other labels claiming (the accepted
images' exemplars, pooled per label). Median and mean seconds per answer, on this machine's 2 cores.

    PYTHONPATH=. python bench/results/exp-session21/claims_time.py CHECKPOINT [N]
"""
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "finetune-session14"))
from children import args_for

from bench.effort_curve import load_split


def warm_boxes(predictor, images, thresholds):
    """For each image, one box drawn on its first instance, the image and the box's reference encoded and answered
    once untimed (as the worker's feature cache keeps a warm image): yields `(pixels, box, query, reference)`."""
    from model.answering import find_for_drawn_boxes

    for image in images:
        pixels = image.load_image()
        box = image.boxes(image.instances[:1]).astype("float32")
        query = predictor.encode_image(pixels)
        reference = predictor.encode_references(pixels, box)
        find_for_drawn_boxes(predictor, pixels, query, reference, thresholds, box)  # warm-up of this image
        yield pixels, box, query, reference


def main():
    from common.settings import Settings
    from model.answering import AnswerThresholds, find_for_drawn_boxes
    from model.evaluation.bank_effort import bank_from_dataset
    from worker.runtime import load_predictor

    checkpoint, count = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 20
    settings = Settings.from_env().replace(checkpoint=checkpoint, model_preset=None)
    predictor = load_predictor(settings, detection_label_claims=True)
    split = load_split("synthetic", args_for(0), 10)
    bank = bank_from_dataset(split.accepted(5))
    pooled = [predictor.encode_references(e.image, e.boxes) for exemplars in bank.values() for e in exemplars]
    thresholds = AnswerThresholds(None, settings.nms_threshold, settings.max_instances)
    images = [image for image in split.judged.images if image.instances][:count]
    times: dict[int, list[float]] = {0: [], 1: [], 3: []}
    for pixels, box, query, reference in warm_boxes(predictor, images, thresholds):
        for labels in times:
            others = {f"other-{n}": pooled for n in range(labels)}
            started = time.perf_counter()
            find_for_drawn_boxes(predictor, pixels, query, reference, thresholds, box, others=others)
            times[labels].append(time.perf_counter() - started)
    row = {"checkpoint": checkpoint, "answers": len(images),
           **{f"{n}_other_labels": {"median_s": round(statistics.median(v), 4), "mean_s": round(statistics.mean(v), 4)}
              for n, v in times.items()}}
    print(json.dumps(row))
    with open(Path(__file__).parent / "claims_time.jsonl", "a") as sink:
        sink.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
