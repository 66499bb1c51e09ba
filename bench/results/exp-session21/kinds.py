"""Session 21 diagnostic: for a child, the box-drawn errors on its judged images split by kind at each threshold
(deletions by kind, misses). Usage: PYTHONPATH=. python bench/results/exp-session21/kinds.py CHILD SET:SEED
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "finetune-session14"))
from children import args_for

from bench.effort_curve import load_split


def main():
    from common.settings import Settings
    from model.evaluation.calibration import SWEEP
    from model.evaluation.effort_runner import plan_trials, run_effort
    from model.evaluation.service_answerer import ServiceAnswerer
    from worker.runtime import load_predictor

    child, spec = sys.argv[1], sys.argv[2]
    name, seed = spec.split(":")
    split = load_split(name, args_for(int(seed)), 10)
    judged = split.judged
    settings = Settings.from_env().replace(checkpoint=child, model_preset=None)
    predictor = load_predictor(settings)
    labels = [c for c in judged.categories if judged.images_with(judged.category_id(c))]
    trials = plan_trials(judged, labels, 1)
    run = run_effort(judged, trials, ServiceAnswerer.from_settings(predictor, settings, min(SWEEP)), thresholds=SWEEP)
    for i, t in enumerate(SWEEP):
        s = run.summary(i)
        print(f"{t:.2f} err {s.errors_per_instance:.3f} inst {s.instances} right {s.right} miss {s.misses} "
              f"del {s.deletions} {s.deletions_by_kind}")


if __name__ == "__main__":
    main()
