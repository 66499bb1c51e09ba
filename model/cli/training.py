"""`python -m model train|finetune`: training on one-shot episodes (with early stopping on validation classes),
and the Train button's fine-tuning recipe. Each command's parser sits beside it."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from model.cli.arguments import add_data_args, dataset_and_split, parse_config_override
from model.evaluation.calibration import TIE_BREAKS
from model.training.drawn_bank import DRAWN_BANK_RULES


def add_train_parser(sub) -> None:
    p = sub.add_parser("train", help="train on one-shot episodes; writes OUT/model.weights.h5 + card")
    add_data_args(p)
    p.add_argument("--preset", default="mobile")
    p.add_argument("--init", help="start from this checkpoint (ours)")
    p.add_argument("--set", type=parse_config_override, action="append", default=[], metavar="FIELD=VALUE",
                   help="change one field of the preset (repeat), e.g. --set matching_inputs=distance_product")
    p.add_argument("--resume", action="store_true", help="continue the step count of --init")
    p.add_argument("--out", required=True)
    p.add_argument("--version", help="model version written in the card (default: PRESET-OUTNAME)")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--layers", choices=["heads", "all"], default="all")
    p.add_argument("--heads-steps", type=int, default=0, help="first steps heads-only (the paper: 1000)")
    p.add_argument("--optimizer", choices=["sgd", "adam"], default="adam")
    p.add_argument("--learning-rate", type=float, default=1e-4)
    p.add_argument("--paper-schedule", action="store_true",
                   help="the paper's: SGD 0.02*batch/12, 1000 heads steps, all layers (overrides those flags)")
    p.add_argument("--augment", action="store_true", help="flip, scale and colour jitter (off in the paper)")
    p.add_argument("--checkpoint-every", type=int, default=0)
    p.add_argument("--snapshot-every", type=int, default=0, metavar="N",
                   help="also keep OUT/snapshots/step-N.weights.h5 every N steps (choose a step afterwards)")
    p.add_argument("--same-image", type=float, default=0.0, metavar="P",
                   help="chance that a real episode's reference comes from the query image itself (the product's "
                        "case: one box, find the others); 0 = the paper's draw")
    p.add_argument("--synthetic", type=float, default=0.0, metavar="FRACTION",
                   help="share of episodes from synthetic repeated-object scenes (model/data/scenes.py): training "
                        "classes' cut-outs and procedural objects pasted 2-100 times on backgrounds with the "
                        "held-out classes filled out")
    p.add_argument("--scene", type=parse_config_override, action="append", default=[], metavar="FIELD=VALUE",
                   help="change one field of the synthetic scenes' SceneSettings (repeat), e.g. --scene "
                        "photo_texture_fraction=0.5")
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--time-budget-minutes", type=float, default=0)
    p.add_argument("--seed", type=int, default=0)
    _add_validation_args(p)
    p.set_defaults(func=cmd_train)


def _add_validation_args(p: argparse.ArgumentParser) -> None:
    from model.evaluation.predictor_adapter import PAPER_SCORE_THRESHOLD
    from model.training.early_stopping import DEFAULT_VALIDATION_IMAGES, DEFAULT_VALIDATION_RUNS

    g = p.add_argument_group("early stopping", "score the weights on validation classes (held out from training, "
                             "not the test classes) every N steps; the checkpoint keeps the best step's weights")
    g.add_argument("--validate-every", type=int, default=0, metavar="N", help="steps between validations (0 = off)")
    which = g.add_mutually_exclusive_group()
    which.add_argument("--validation-split", type=int, choices=[1, 2, 3, 4], metavar="S",
                       help="validate on this paper split's classes; must also be given to --split (--split 1 2 "
                            "--validation-split 2: split 1 = test, split 2 = validation)")
    which.add_argument("--validation-classes", nargs="+", metavar="NAME",
                       help="validate on these class names; each must be in --held-out (or a --split)")
    g.add_argument("--validation-images", type=int, default=DEFAULT_VALIDATION_IMAGES, metavar="M",
                   help=f"query images per validation, the dataset's first M (default {DEFAULT_VALIDATION_IMAGES})")
    g.add_argument("--validation-runs", type=int, default=DEFAULT_VALIDATION_RUNS,
                   help=f"runs with fresh references per validation (default {DEFAULT_VALIDATION_RUNS})")
    g.add_argument("--validation-seed", type=int, default=0, help="references' seed, the same every validation")
    g.add_argument("--validation-score-threshold", type=float, default=PAPER_SCORE_THRESHOLD,
                   help=f"as python -m model evaluate's --score-threshold (default {PAPER_SCORE_THRESHOLD})")
    g.add_argument("--patience", type=int, default=0, metavar="K",
                   help="stop after K validations without improvement (0 = train all --steps)")


def cmd_train(args) -> int:
    from model.builder import build_model
    from model.checkpoint import ModelCard, load_checkpoint
    from model.data.augment import Augmentation
    from model.data.episodes import EpisodeSampler
    from model.presets import get_preset
    from model.training.trainer import Trainer, TrainSettings

    dataset, split = dataset_and_split(args)
    classes = split.train_classes(dataset.categories)
    early_stopping = _early_stopping(args, dataset, split)  # checked before the (slow) model build
    from model.data.scenes import SceneSettings

    scene_settings = SceneSettings.with_changes(args.scene)  # an unknown field fails here, before the build too
    parent = None
    start_step = 0
    if args.init:
        from model.verifier import WITHOUT_VERIFIER

        # A verifier is fitted on one network's scores: training the weights further leaves it behind.
        model, parent_card = load_checkpoint(args.init, **WITHOUT_VERIFIER)
        parent = parent_card.version
        if args.resume:
            start_step = int(parent_card.training.get("steps", 0))
    else:
        model = build_model(get_preset(args.preset, **dict(args.set)))
    augmentation = Augmentation() if args.augment else None
    sampler = EpisodeSampler(dataset, classes, augmentation=augmentation, same_image_probability=args.same_image,
                             seed=args.seed)
    episodes = iter(sampler)
    if args.synthetic:
        from model.data.episodes import interleave
        from model.data.scenes import SceneSampler, SceneSources

        # Scenes paste the training classes only, on backgrounds with every held-out class filled out.
        sources = SceneSources.from_dataset(dataset, classes, split.held_out)
        scenes = SceneSampler(sources, scene_settings, seed=args.seed)
        episodes = interleave([(1.0 - args.synthetic, episodes), (args.synthetic, iter(scenes))], seed=args.seed)
    settings = TrainSettings(
        steps=args.steps, batch_size=args.batch_size, layers=args.layers, heads_steps=args.heads_steps,
        optimizer=args.optimizer, learning_rate=args.learning_rate, checkpoint_every=args.checkpoint_every,
        snapshot_every=args.snapshot_every,
        log_every=args.log_every, time_budget_s=args.time_budget_minutes * 60, seed=args.seed,
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    version = args.version or f"{model.config.name}-{out.name}"
    held_out = split.held_out_classes(dataset.categories)
    card = ModelCard(
        version=version, preset=model.config.name, config={}, parent=parent,
        training={"data": str(args.data), "format": args.format, "split": split.name,
                  "held_out_classes": sorted(held_out),
                  "train_classes": list(classes), "images": len(dataset), "augmentation": bool(args.augment),
                  "same_image_probability": args.same_image, "synthetic_fraction": args.synthetic,
                  "scene_settings": dict(args.scene)},
    )
    if early_stopping:  # held out = validation (chose the step) + test (untouched by any choice)
        card.training["validation_classes"] = list(early_stopping.classes)
        card.training["test_classes"] = sorted(c for c in held_out if c not in early_stopping.classes)
    from tqdm import tqdm

    bar = tqdm(total=settings.steps, initial=start_step, unit="step", dynamic_ncols=True)

    def on_step(log):
        bar.n = log.step
        bar.set_postfix({k: f"{v:.3f}" for k, v in {"loss": log.total, **log.losses}.items()})
        bar.refresh()
        with open(out / "train_log.jsonl", "a") as fh:
            fh.write(json.dumps({"step": log.step, "total": log.total, **log.losses, "seconds": log.seconds}) + "\n")

    def on_validation(point):
        precision = "n/a" if point.precision is None else f"{point.precision:.3f}"
        bar.write(f"step {point.step}: validation box AP50 {point.box_ap50:.4f}, recall {point.recall:.3f}, "
                  f"precision {precision} ({point.seconds:.0f} s)")
        with open(out / "train_log.jsonl", "a") as fh:
            fh.write(json.dumps({"step": point.step, "validation": {"box_ap50": point.box_ap50, "recall": point.recall,
                                                                    "precision": point.precision}}) + "\n")

    if early_stopping:
        early_stopping.on_validation = on_validation
    trainer = Trainer(model, episodes, settings, on_step=on_step, early_stopping=early_stopping)
    trainer.run(out / "model.weights.h5", card, start_step=start_step)
    bar.close()
    if early_stopping and early_stopping.best:
        print(f"kept step {early_stopping.best.step} (validation box AP50 {early_stopping.best.box_ap50:.4f})",
              file=sys.stderr)
    print(f"wrote {out / 'model.weights.h5'}", file=sys.stderr)
    return 0


def _early_stopping(args, dataset, split):
    """The `EarlyStopping` of the train options `--validate-every` etc. (None when off); ValueError when they
    contradict each other or the held-out classes."""
    from model.training.early_stopping import EarlyStopping, ValidationSettings, select_validation_classes

    chosen = args.validation_split is not None or args.validation_classes is not None
    if not args.validate_every:
        if chosen or args.patience:
            raise ValueError("validation classes or --patience given but --validate-every is 0: validation would "
                             "never run; add --validate-every N (steps)")
        return None
    if not chosen:
        raise ValueError("--validate-every needs validation classes: --validation-split S (a split also given to "
                         "--split, e.g. --split 1 2 --validation-split 2) or --validation-classes NAME ...")
    if args.validation_split is not None and args.validation_split not in (args.split or ()):
        raise ValueError(f"--validation-split {args.validation_split} is not held out from training: give it to "
                         f"--split as well (e.g. --split 1 {args.validation_split} --validation-split "
                         f"{args.validation_split}), so its classes are never trained on")
    classes = select_validation_classes(dataset.categories, split.held_out, split=args.validation_split,
                                        names=args.validation_classes)
    settings = ValidationSettings(
        every=args.validate_every, max_images=args.validation_images, runs=args.validation_runs,
        seed=args.validation_seed, score_threshold=args.validation_score_threshold, patience=args.patience,
    )
    source = f"coco-split-{args.validation_split}" if args.validation_split is not None else "explicit"
    return EarlyStopping(dataset, classes, settings, source=source)


def add_finetune_parser(sub) -> None:
    p = sub.add_parser("finetune", help="the Train button's recipe on accepted data: copy-paste and same/cross-image "
                                        "episodes, judged and threshold-calibrated by the effort measure on a held-out "
                                        "slice; writes OUT/model.weights.h5 + card")
    p.add_argument("--init", required=True, help="the parent checkpoint (ours, .weights.h5)")
    p.add_argument("--data", required=True, help="the accepted annotations: COCO JSON, YOLO-seg folder or Label "
                                                  "Studio JSON export")
    p.add_argument("--format", required=True, choices=["coco", "yolo-seg", "label-studio"])
    p.add_argument("--images-dir", help="coco / label-studio: the folder holding the images")
    p.add_argument("--out", required=True, help="folder for model.weights.h5 and its card")
    p.add_argument("--version", help="the new version's name (default: PARENT-OUTNAME)")
    p.add_argument("--time-budget-minutes", type=float,
                   help="training time (default: the recipe's, FineTuneSettings in model/training/finetune.py)")
    p.add_argument("--steps", type=int, help="at most this many steps (default: the recipe's)")
    p.add_argument("--learning-rate", type=float, help="Adam's (default: the recipe's)")
    p.add_argument("--layers", choices=["heads", "all"], help="default: the recipe's (heads)")
    p.add_argument("--holdout-fraction", type=float,
                   help="share of the images judged instead of trained on, at least 1 from 2 images on (default: "
                        "the recipe's)")
    p.add_argument("--parent-share", type=float,
                   help="after training, move the weights this share (0-1) of the way back to the parent's "
                        "(default: the recipe's)")
    p.add_argument("--average-tail", type=float,
                   help="the child is the mean of its weights over this last share (0-0.95) of the run "
                        "(default: the recipe's)")
    p.add_argument("--runs", type=int,
                   help="independent training runs (1-8) sharing the steps and time budget, the child their weights' "
                        "mean (default: the recipe's)")
    p.add_argument("--shifted-calibration", action=argparse.BooleanOptionalAction, default=None,
                   help="choose the threshold on the held-out images and their shifted copies (dimmer, softer focus) "
                        "or, with --no-shifted-calibration, on the held-out images alone (default: the recipe's)")
    p.add_argument("--tie-break", choices=TIE_BREAKS,
                   help="which of the thresholds the held-out images cannot tell apart becomes the score threshold: "
                        "the middle one or the highest (default: the recipe's)")
    p.add_argument("--acquisition-shift", action=argparse.BooleanOptionalAction, default=None,
                   help="train on episodes whose images take random changes of light, contrast and focus, or, with "
                        "--no-acquisition-shift, on the accepted images' look as it is (default: the recipe's)")
    p.add_argument("--refit", action=argparse.BooleanOptionalAction, default=None,
                   help="after judging and calibrating, train the child again from the parent on every image, "
                        "held-out ones included, keeping its threshold and decisions (default: the recipe's)")
    p.add_argument("--drawn-bank", choices=DRAWN_BANK_RULES,
                   help="whether the drawn label's own exemplars join a drawn box's answer: never (off), where the "
                        "held-out images say it costs less, or where the version's bank answers (default: the "
                        "recipe's)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_finetune)


def cmd_finetune(args) -> int:
    from common.settings import Settings
    from model.checkpoint import read_card
    from model.data.loading import load_dataset
    from model.training.finetune import FineTuneSettings, finetune

    dataset = load_dataset(args.data, args.format, images_dir=args.images_dir)
    given = {"max_steps": args.steps, "learning_rate": args.learning_rate, "layers": args.layers,
             "holdout_fraction": args.holdout_fraction, "parent_share": args.parent_share,
             "average_tail": args.average_tail, "runs": args.runs,
             "shifted_calibration": args.shifted_calibration, "tie_break": args.tie_break,
             "acquisition_shift": args.acquisition_shift,
             "refit": args.refit, "drawn_bank": args.drawn_bank,
             "time_budget_s": None if args.time_budget_minutes is None else args.time_budget_minutes * 60}
    settings = FineTuneSettings(seed=args.seed, **{k: v for k, v in given.items() if v is not None})
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    version = args.version or f"{read_card(args.init).version}-{out.name}"

    def on_step(log):
        print(f"step {log.step}: loss {log.total:.3f} ({log.seconds:.0f} s)", file=sys.stderr, flush=True)

    # The same function and settings source as the worker's training job (worker/training.py).
    result = finetune(args.init, dataset, out / "model.weights.h5", version, settings, on_progress=on_step,
                      answer_settings=Settings.from_env())
    allowed, reason = result.effort_gate()
    print(json.dumps({"version": version, "steps": result.steps, "seconds": round(result.seconds, 1),
                      "train_images": result.train_images, "holdout_images": result.holdout_images,
                      "holdout_split": result.card.training["holdout_split"],
                      "score_threshold": result.card.training["score_threshold"], "holdout": result.metrics,
                      "bank_answers": result.card.training["bank_answers"],
                      "frame_convention": result.card.training["frame_convention"],
                      "refit": result.card.training["refit"],
                      "drawn_bank": result.card.training["drawn_bank"],
                      "verifier": result.card.training["verifier"],
                      "label_claims": result.card.training["label_claims"],
                      "gate": {"would_activate": allowed, "reason": reason}}, indent=1))
    print(f"wrote {result.weights_path} (and its model card)", file=sys.stderr)
    return 0


def add_average_parser(sub) -> None:
    p = sub.add_parser("average", help="one checkpoint from several snapshots of one training run: the uniform mean "
                                       "of their weights (calibrate it afterwards)")
    p.add_argument("--checkpoints", nargs="+", required=True, metavar="CK",
                   help="our .weights.h5 snapshots of one run (same configuration), at least two")
    p.add_argument("--out", required=True, help="the averaged .weights.h5 (its card beside it)")
    p.add_argument("--version", required=True, help="model version written in the card")
    p.set_defaults(func=cmd_average)


def cmd_average(args) -> int:
    from model.training.averaging import average_checkpoints

    out = average_checkpoints(args.checkpoints, args.out, args.version)
    print(f"wrote {out} (the mean of {len(args.checkpoints)} checkpoints); choose its threshold with python -m "
          f"model calibrate --checkpoint {out} ...")
    return 0
