"""Judge a model version on a project's held-out accepted images by the annotator's effort, and calibrate its
score threshold there.

Two modes of the measure (`model/evaluation`), each answered as the worker answers:
- **interactive**: for every (held-out image, label) with at least 2 instances, one reference box drawn on an
  instance, the rest suggested (`ServiceAnswerer`, the worker's interactive job); effort includes the reference;
  the training images' exemplars serve the answer as the project's exemplar bank does in the worker: with the
  model's `detection_label_claims` on the other labels claim their objects (`detection_drawn_bank`: the drawn
  label's own join the answer; `detection_label_vote`: the labels vote);
- **bank**: no box drawn, every label's accepted instances of the *training* images pre-annotate each held-out image
  (`BankAnswerer`, the worker's batch job); effort = errors per instance.

Each mode is one threshold sweep (one answer per trial). The version's **held-out effort** at a threshold is the
mean of the modes' efforts (the bank mode alone when no held-out image holds 2 instances of a label). The
calibrated threshold is `choose_threshold` over the modes (lowest mean effort, near ties broken by the recipe's
`tie_break`: the middle one by default, `TRAIN_TIE_BREAK`), where a near tie is one annotator action's worth on the
slice (`tie_for` its instances): a slice of one or two images cannot tell apart thresholds that differ by less.
The recipe's step 5 (`step_five_calibration`, since session 25) widens the ties to the slice's noise (`noise_tie`)
and prefers, among them, the thresholds where the slice's bank pays.
Nothing here imports TensorFlow: the predictor is passed in.
"""

from __future__ import annotations

from dataclasses import dataclass

from model.data.annotations import Dataset
from model.evaluation.calibration import SWEEP, Calibration, choose_threshold, noise_tie, tie_for

__all__ = ["BANK", "INTERACTIVE", "NOTHING_EFFORT", "HoldoutJudgement", "bank_effort_pays", "effort_text",
           "judge_on_holdout", "kept_if_cheaper", "step_five_calibration"]

INTERACTIVE, BANK = "interactive", "bank"
SEEDS = 1
"""References per (held-out image, label) in the interactive mode."""
NOTHING_EFFORT = 1.0
"""The bank mode's effort when it suggests nothing: every instance drawn by hand (no reference is drawn in that mode).
A bank whose held-out effort is not below it costs the annotator at least as much as no pre-annotation."""


def bank_effort_pays(effort: float) -> bool:
    """The recipe's step 6 test: a held-out bank effort (as the card rounds it, 4 decimals) below `NOTHING_EFFORT`."""
    return round(float(effort), 4) < NOTHING_EFFORT


@dataclass(frozen=True)
class HoldoutJudgement:
    """One version's sweeps on the held-out slice.

    Attributes:
        thresholds: the sweep, ascending.
        summaries: `{mode: [EffortSummary dict per threshold]}` (modes with at least one trial).
    """

    thresholds: tuple[float, ...]
    summaries: dict[str, list[dict]]

    def efforts(self) -> dict[str, tuple[float, ...]]:
        """`{mode: effort per threshold}`."""
        return {mode: tuple(float(s["effort"]) for s in rows) for mode, rows in self.summaries.items()}

    def instances(self) -> int:
        """The objects the slice holds (the most any mode counts: the bank mode counts every one)."""
        return max(int(rows[0]["instances"]) for rows in self.summaries.values())

    def combined(self, other: HoldoutJudgement | None) -> HoldoutJudgement:
        """This judgement and `other` (the same sweep, other trials) as one: per mode and threshold, the counts
        summed and the figures made again from them (`EffortSummary`; the mask IoUs and times are not kept). A mode
        judged by one of them only is kept as it is; `other` None returns this judgement.

        Raises:
            ValueError: the two sweeps differ.
        """
        from model.evaluation.effort import EffortSummary

        if other is None:
            return self
        if other.thresholds != self.thresholds:
            raise ValueError(f"cannot combine judgements over different sweeps: {self.thresholds} and "
                             f"{other.thresholds}")
        summaries = {}
        for mode in {**self.summaries, **other.summaries}:
            mine, theirs = self.summaries.get(mode), other.summaries.get(mode)
            if mine is None or theirs is None:
                summaries[mode] = mine or theirs
                continue
            summaries[mode] = [
                EffortSummary(**{name: a[name] + b[name] for name in EffortSummary.COUNTS},
                              deletions_by_kind=_summed(a["deletions_by_kind"], b["deletions_by_kind"])).to_dict()
                for a, b in zip(mine, theirs, strict=True)]
        return HoldoutJudgement(self.thresholds, summaries)

    def with_mode_of(self, other: HoldoutJudgement, mode: str) -> HoldoutJudgement:
        """This judgement with `mode`'s sweep taken from `other` (a judgement of that mode alone, same sweep): how a
        change that acts on one mode only is judged without answering the other mode again.

        Raises:
            ValueError: the two sweeps differ, or `other` did not judge `mode`.
        """
        if other.thresholds != self.thresholds or mode not in other.summaries:
            raise ValueError(f"cannot take mode {mode!r} from a judgement over {other.thresholds} with modes "
                             f"{sorted(other.summaries)}: judge it over this sweep {self.thresholds}")
        return HoldoutJudgement(self.thresholds, {**self.summaries, mode: other.summaries[mode]})

    def effort_at_calibration(self, tie_break: str = "highest") -> float:
        """The mean effort over the modes at this judgement's own calibrated threshold (`calibrate(tie_break)`): how
        the recipe compares two ways of answering on one slice."""
        return self.figures_at(self.calibrate(tie_break).threshold)["effort"]

    def calibrate(self, tie_break: str = "highest") -> Calibration:
        """The threshold of the lowest mean effort over the modes (`choose_threshold`), ties within one action's
        worth on the slice's objects (`tie_for` of `instances()`), the winner among them by `tie_break`."""
        return choose_threshold(self.thresholds, self.efforts(), tie=tie_for(self.instances()), tie_break=tie_break)

    def bank_pays(self) -> tuple[bool, ...] | None:
        """Per threshold, whether the bank pays there (`bank_effort_pays`, the recipe's step 6 test); None without bank
        trials."""
        rows = self.summaries.get(BANK)
        return None if rows is None else tuple(bank_effort_pays(row["effort"]) for row in rows)

    def figures_at(self, threshold: float) -> dict:
        """JSON-safe figures at `threshold` (a sweep value): `effort` (mean over modes), and per mode its effort,
        errors per instance, recall, precision and counts."""
        position = min(range(len(self.thresholds)), key=lambda i: abs(self.thresholds[i] - threshold))
        modes = {mode: rows[position] for mode, rows in self.summaries.items()}
        effort = sum(float(row["effort"]) for row in modes.values()) / len(modes)
        return {"threshold": self.thresholds[position], "effort": round(effort, 4),
                "modes": {mode: _compact(row) for mode, row in modes.items()}}


def step_five_calibration(judgement: HoldoutJudgement, copies: HoldoutJudgement | None, tie_break: str,
                          wide_ties: bool = True) -> Calibration:
    """The recipe's step 5: the version's threshold, chosen on the held-out slice's `judgement` and its shifted
    `copies` (None: the slice alone) by the lowest mean effort over the modes.

    With `wide_ties` (since session 25) the ties are the thresholds within the larger of one action
    (`tie_for` the objects judged, copies included) and the slice's noise (`noise_tie` of the lowest mean effort on
    the slice's own objects: the copies are the same objects again), and among them those where the slice's bank
    pays (`bank_pays`, step 6) are preferred; `tie_break` picks one. Without it, session 21's rule: one action,
    no preference.
    """
    pooled = judgement.combined(copies)
    if not wide_ties:
        return pooled.calibrate(tie_break)
    efforts = pooled.efforts()
    lowest = min(sum(values) / len(values) for values in zip(*efforts.values(), strict=True))
    tie = max(tie_for(pooled.instances()), noise_tie(lowest, judgement.instances()))
    return choose_threshold(pooled.thresholds, efforts, tie=tie, tie_break=tie_break, prefer=judgement.bank_pays())


def _summed(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    return {kind: a.get(kind, 0) + b.get(kind, 0) for kind in {**a, **b}}


def _compact(row: dict) -> dict:
    keep = ("effort", "errors_per_instance", "recall", "precision", "instances", "references", "deletions", "misses",
            "trials")
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items() if k in keep}


def judge_on_holdout(predictor, holdout: Dataset, train: Dataset, answer_settings, *,
                     extra_thresholds: tuple[float, ...] = (), skip_first: int = 0,
                     modes: tuple[str, ...] = (INTERACTIVE, BANK)) -> HoldoutJudgement | None:
    """Sweep the score threshold on the held-out images in both modes.

    Args:
        predictor: a `model.predictor.Predictor`.
        holdout: the held-out accepted images (judged); train: the other accepted images (the bank's exemplars).
        answer_settings: NMS, cap and decoding of the service (`common.settings.Settings`, duck-typed:
            `nms_threshold`, `max_instances`, `decode_factor`, `max_image_pixels`).
        extra_thresholds: added to `SWEEP` (e.g. the parent's own threshold, to read it at exactly that value).
        skip_first: the trials of the first `skip_first` images are left out (already judged;
            `HoldoutJudgement.combined` adds their judgement back). The trials are planned over every image first,
            so the others are the trials they would be in a judgement of all of `holdout`.
        modes: which modes are answered (`INTERACTIVE`, `BANK`); a mode left out is not in the judgement.

    Returns:
        The `HoldoutJudgement`, or None when the slice is empty or has no trial in either mode.
    """
    from model.answering import AnswerThresholds
    from model.evaluation.bank_answerer import BankAnswerer
    from model.evaluation.bank_effort import bank_from_dataset, plan_bank_trials, run_bank_effort
    from model.evaluation.effort_runner import plan_trials, run_effort
    from model.evaluation.service_answerer import ServiceAnswerer

    if not holdout.images:
        return None
    thresholds = tuple(sorted({*SWEEP, *(round(float(t), 4) for t in extra_thresholds)}))
    at = AnswerThresholds(thresholds[0], answer_settings.nms_threshold, answer_settings.max_instances)
    summaries: dict[str, list[dict]] = {}
    labels = [c for c in holdout.categories if holdout.images_with(holdout.category_id(c))]
    trials = [trial for trial in plan_trials(holdout, labels, SEEDS) if trial.image_index >= skip_first]
    bank = bank_from_dataset(train, [c for c in train.categories if c in holdout.categories])
    if trials and INTERACTIVE in modes:  # the training images' exemplars serve the answer, as the backend's bank would
        answerer = ServiceAnswerer(predictor, at, decode_factor=answer_settings.decode_factor,
                                   max_pixels=answer_settings.max_image_pixels,
                                   claims=bank if predictor.config.uses_project_exemplars else None)
        run = run_effort(holdout, trials, answerer, thresholds=thresholds, warm_up=False)
        summaries[INTERACTIVE] = [run.summary(i).to_dict() for i in range(len(thresholds))]
    if bank and BANK in modes:
        bank_trials = [trial for trial in plan_bank_trials(holdout, list(bank)) if trial.image_index >= skip_first]
        answerer = BankAnswerer(predictor, bank, at, decode_factor=answer_settings.decode_factor,
                                max_pixels=answer_settings.max_image_pixels)
        run = run_bank_effort(holdout, bank_trials, answerer, thresholds=thresholds)
        summaries[BANK] = [run.summary(i).to_dict() for i in range(len(thresholds))]
    summaries = {mode: rows for mode, rows in summaries.items() if rows[0].get("instances")}
    return HoldoutJudgement(thresholds, summaries) if summaries else None


def kept_if_cheaper(child, option: str, judgement: HoldoutJudgement, judge_again, tie_break: str = "highest",
                    keep_on_tie=None):
    """Judge `child` again with its config's boolean `option` on, and keep the option only where that judgement, at
    its own calibrated threshold (`effort_at_calibration`), costs strictly less than `judgement` at its own: how the
    recipe's steps decide a change of answer on one held-out slice (a tie keeps the answer as it was, unless
    `keep_on_tie` says otherwise: other evidence favours the option and the slice only has to not contradict it).

    Args:
        child: a `Predictor` whose `config` has `option` off; it is left on or off as decided.
        judgement: the child's judgement without the option; judge_again: `() -> HoldoutJudgement | None`, the
            child judged again (its config's option on).
        keep_on_tie: `() -> bool`, asked only on a tie (evidence that costs time to gather, e.g. step 3's witness);
            None: a tie keeps the answer as it was.

    Returns:
        `(kept, the judgement that stands, effort without, effort with the option or None when nothing was judged)`.
    """
    without = judgement.effort_at_calibration(tie_break)
    child.config = child.config.replace(**{option: True})
    again = judge_again()
    with_option = again.effort_at_calibration(tie_break) if again else None
    tie_kept = keep_on_tie is not None and with_option == without and keep_on_tie()
    if with_option is not None and (with_option < without or tie_kept):
        return True, again, without, with_option
    child.config = child.config.replace(**{option: False})
    return False, judgement, without, with_option


def effort_text(effort: float | None) -> str:
    """A held-out effort as the cards' reasons print it: 4 decimals, or "n/a" when nothing was judged."""
    return "n/a" if effort is None else f"{effort:.4f}"
