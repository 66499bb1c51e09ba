"""Session 21 prototype: a drawn box's answer with the project's OTHER labels claiming their objects.

For a child and its curve split, each judged trial (one box drawn, label A) is answered as the service does
(`find_for_drawn_boxes`), and, on the same encoded image, every other label of the accepted images is answered from
its pooled exemplars (`find_instances`, no size prior). `one_label_per_object` over all of them keeps A's suggestions
that no other label claims with a higher score. Counted at every threshold of the sweep, next to the plain answer.

    PYTHONPATH=. python bench/results/exp-session21/claims.py CHILD SET:SEED:K [--respect-bank]
"""
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1] / "finetune-session14"))
from children import args_for

from bench.effort_curve import load_split


class Claimed:
    """The service's drawn-box answer, then the other labels claim their objects (`current_label`: the trial's)."""

    def __init__(self, base, references, judged, claims: bool):
        self.base, self.references, self.judged, self.claims = base, references, judged, claims

    def __call__(self, image, reference_box):
        from model.answering import (
            find_for_drawn_boxes,
            find_instances,
            one_label_per_object,
            pooled_reference,
            scale_boxes,
        )
        from model.evaluation.effort import Suggestions
        from model.evaluation.service_answerer import resized_mask

        b = self.base
        decoded, query = b._decoded_and_encoded(image)
        expected, actual = image.pixels.shape[:2], decoded.shape[:2]
        boxes = scale_boxes(reference_box, expected, actual)
        reference = b.predictor.encode_references(decoded, boxes)
        instances = find_for_drawn_boxes(b.predictor, decoded, query, reference, b.thresholds, boxes)
        label = self.current_label
        if self.claims and instances:
            found = {label: instances}
            for other, refs in self.references.items():
                if other != label:
                    found[other] = find_instances(b.predictor, query, pooled_reference(refs), b.thresholds)
            instances = one_label_per_object(found, b.thresholds.nms_threshold)[label]
        if not instances:
            return Suggestions.empty()
        found_boxes = scale_boxes(np.stack([i.box for i in instances]), actual, expected)
        masks = [resized_mask(np.asarray(i.mask, bool), expected) for i in instances]
        return Suggestions(found_boxes, np.array([i.score for i in instances]), masks)


def main():
    from common.settings import Settings
    from model.evaluation.bank_effort import bank_from_dataset
    from model.evaluation.calibration import SWEEP
    from model.evaluation.effort_runner import (
        EffortRun,
        LazyMasks,
        TrialResult,
        counts_at,
        plan_trials,
        query_image,
    )
    from model.evaluation.service_answerer import ServiceAnswerer
    from worker.runtime import load_predictor

    child, spec = sys.argv[1], sys.argv[2]
    name, seed, k = spec.split(":")
    split = load_split(name, args_for(int(seed)), 10)
    judged, accepted = split.judged, split.accepted(int(k))
    settings = Settings.from_env().replace(checkpoint=child, model_preset=None)
    predictor = load_predictor(settings)
    labels = [c for c in judged.categories if judged.images_with(judged.category_id(c))]
    bank = bank_from_dataset(accepted, [c for c in accepted.categories if c in labels])
    references = {label: [predictor.encode_references(e.image, e.boxes) for e in ex] for label, ex in bank.items()}
    base = ServiceAnswerer.from_settings(predictor, settings, min(SWEEP))
    trials = plan_trials(judged, labels, 1)
    rows = {}
    for claims in (False, True):
        answerer = Claimed(base, references, judged, claims)
        results = []
        for trial in trials:
            image = judged.images[trial.image_index]
            query = query_image(judged, trial.image_index)
            instances = image.instances_of(trial.category_id)
            gt = image.boxes(instances)
            others = [a for a in image.instances if a.category_id != trial.category_id and not a.iscrowd]
            answerer.current_label = trial.category
            answer = answerer(query, gt[trial.reference_index].copy())
            counts = counts_at(SWEEP, trial.category, gt, trial.reference_index, answer,
                               gt_masks=LazyMasks(image, instances), other_boxes=image.boxes(others), seconds=0.0)
            results.append(TrialResult(trial, counts, 0.0))
        run = EffortRun(SWEEP, tuple(results))
        rows["claims" if claims else "plain"] = [round(run.summary(i).errors_per_instance, 4)
                                                 for i in range(len(SWEEP))]
    threshold = float(predictor.config.detection_min_confidence)
    out = {"child": child, "spec": spec, "threshold": threshold, "bank_answers":
           bool(predictor.config.detection_bank_answers), "thresholds": list(SWEEP), **rows}
    print(json.dumps(out))
    with open(Path(__file__).parent / "claims.jsonl", "a") as f:
        f.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
