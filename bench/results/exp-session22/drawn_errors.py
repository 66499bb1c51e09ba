"""Session 22 part 0 (diagnostic, decides nothing): where a child's box-drawn errors come from on its judged
images. For each threshold asked: misses in trials whose answer was empty (the reference gate withdrew it, or
nothing scored), misses in answered trials, deletions by kind; and how many of the drawn answer's misses the
label's own bank (the accepted images' exemplars, pooled, as batch pre-annotation) finds on the same image at the
same threshold. Usage:

    PYTHONPATH=. python bench/results/exp-session22/drawn_errors.py CHILD SET:SEED:K CLAIMS_SEED THRESHOLD [...]

CLAIMS_SEED: the model's `detection_claims_seed` for this run (0: the claims as the child's card has them).
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "finetune-session14"))
from children import args_for

from bench.effort_curve import load_split


def main():
    from common.settings import Settings
    from model.box_ops import iou_matrix_np
    from model.evaluation.bank_answerer import BankAnswerer
    from model.evaluation.bank_effort import bank_from_dataset
    from model.evaluation.effort_runner import plan_trials, query_image, run_effort
    from model.evaluation.service_answerer import ServiceAnswerer
    from worker.runtime import load_predictor

    child, spec, claims_seed = sys.argv[1], sys.argv[2], float(sys.argv[3])
    thresholds = [float(t) for t in sys.argv[4:]]
    name, seed, k = spec.split(":")
    split = load_split(name, args_for(int(seed)), 10)
    judged, accepted = split.judged, split.accepted(int(k))
    settings = Settings.from_env().replace(checkpoint=child, model_preset=None)
    predictor = load_predictor(settings)
    predictor.config = predictor.config.replace(detection_bank_answers=True, detection_claims_seed=claims_seed)
    assert predictor.config.detection_label_claims, "a child with the claims on"
    labels = [c for c in judged.categories if judged.images_with(judged.category_id(c))]
    bank = bank_from_dataset(accepted, labels)
    trials = plan_trials(judged, labels, 1)
    low = min(thresholds)
    drawn = ServiceAnswerer.from_settings(predictor, settings, low, claims=bank)
    banker = BankAnswerer.from_settings(predictor, bank, settings, low)
    run = run_effort(judged, trials, drawn, thresholds=thresholds)
    bank_answers = {}
    for i, t in enumerate(thresholds):
        empty_miss = answered_miss = bank_finds = 0
        kinds = {}
        for result in run.results:
            c = result.counts[i]
            if c.suggestions == 0:
                empty_miss += c.misses
            else:
                answered_miss += c.misses
            for kind, n in c.deletions_by_kind().items():
                kinds[kind] = kinds.get(kind, 0) + n
            if c.misses:
                trial = result.trial
                if trial.image_index not in bank_answers:
                    bank_answers[trial.image_index] = banker(query_image(judged, trial.image_index))
                answer = bank_answers[trial.image_index]
                mine = [j for j in range(len(answer)) if answer.labels[j] == trial.category and answer.scores[j] >= t]
                if mine:
                    image = judged.images[trial.image_index]
                    gt = image.boxes(image.instances_of(trial.category_id))[list(c.missed)]
                    iou = iou_matrix_np(gt[:, [1, 0, 3, 2]], answer.boxes[mine][:, [1, 0, 3, 2]])
                    bank_finds += int((iou.max(axis=1) >= 0.5).sum())
        s = run.summary(i)
        print(f"{name} s{seed} claims seed {claims_seed} at {t:.2f}: errors {s.errors_per_instance:.3f} instances {s.instances} "
              f"right {s.right} misses {s.misses} (empty answers {empty_miss}, answered {answered_miss}; "
              f"the bank finds {bank_finds} of them) deletions {s.deletions} {kinds}", flush=True)


if __name__ == "__main__":
    main()
