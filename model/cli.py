"""The command line: `python -m model {predict,inspect,convert,train,finetune,evaluate,search,synth,calibrate,effort}
...`.

Each command parses its arguments here and calls one library function; no logic lives in this file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def _box(text: str) -> list[float]:
    """`x,y,w,h` (Label Studio's and COCO's convention) -> `[x1, y1, x2, y2]`."""
    try:
        x, y, w, h = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected x,y,w,h (four numbers), got {text!r}") from None
    return [x, y, x + w, y + h]


def _config_override(text: str) -> tuple[str, object]:
    """`FIELD=VALUE` -> (field, value); VALUE is read as JSON when it parses (numbers, lists), else as a string."""
    field, sep, raw = text.partition("=")
    if not sep or not field:
        raise argparse.ArgumentTypeError(f"expected FIELD=VALUE, got {text!r}")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return field.strip(), value


def _predictor(args):
    from model.predictor import Predictor

    if args.checkpoint:
        return Predictor.from_checkpoint(args.checkpoint, precision=args.precision)
    return Predictor.from_preset(args.preset, precision=args.precision)


def cmd_predict(args) -> int:
    from PIL import Image

    from model.images import load_image
    from model.overlay import draw_instances

    predictor = _predictor(args)
    image = load_image(args.image)
    ref_image = load_image(args.ref_image) if args.ref_image else image
    query = predictor.encode_image(image)
    reference = predictor.encode_references(ref_image, args.ref_box)
    instances = predictor.find(
        query, reference, score_threshold=args.score_threshold, max_instances=args.max_instances
    )
    payload = {
        "model_version": predictor.version,
        "image": str(args.image),
        "image_size": {"width": image.shape[1], "height": image.shape[0]},
        "instances": [
            {"box_xyxy": [round(float(v), 2) for v in inst.box], "score": round(inst.score, 4),
             "mask_area": int(inst.mask.sum())}
            for inst in instances
        ],
    }
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(payload, indent=2))
    else:
        print(json.dumps(payload, indent=2))
    if args.overlay:
        refs = args.ref_box if not args.ref_image else []
        Path(args.overlay).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(draw_instances(image, instances, refs)).save(args.overlay)
    print(f"{len(instances)} instances", file=sys.stderr)
    return 0


def cmd_inspect(args) -> int:
    from model.paper_weights import inspect_checkpoint

    report = inspect_checkpoint(args.checkpoint, args.preset)
    print(json.dumps(report, indent=2))
    complete = not (report["missing"] or report["unexpected"] or report["mismatched"])
    return 0 if complete else 1


def cmd_convert(args) -> int:
    from model.paper_weights import convert_paper_checkpoint

    path = convert_paper_checkpoint(args.checkpoint, args.out, preset=args.preset)
    print(f"wrote {path} (and its model card)", file=sys.stderr)
    return 0


def cmd_train(args) -> int:
    from model.builder import build_model
    from model.checkpoint import ModelCard, load_checkpoint
    from model.data.augment import Augmentation
    from model.data.episodes import EpisodeSampler
    from model.presets import get_preset
    from model.training.trainer import Trainer, TrainSettings

    dataset, split = _dataset_and_split(args)
    classes = split.train_classes(dataset.categories)
    early_stopping = _early_stopping(args, dataset, split)  # checked before the (slow) model build
    parent = None
    start_step = 0
    if args.init:
        model, parent_card = load_checkpoint(args.init)
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
        scenes = SceneSampler(sources, seed=args.seed)
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
                  "same_image_probability": args.same_image, "synthetic_fraction": args.synthetic},
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


def cmd_finetune(args) -> int:
    from common.settings import Settings
    from model.checkpoint import read_card
    from model.data.loading import load_dataset
    from model.training.finetune import FineTuneSettings, finetune

    dataset = load_dataset(args.data, args.format, images_dir=args.images_dir)
    given = {"max_steps": args.steps, "learning_rate": args.learning_rate, "layers": args.layers,
             "holdout_fraction": args.holdout_fraction,
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
                      "score_threshold": result.card.training["score_threshold"], "holdout": result.metrics,
                      "gate": {"would_activate": allowed, "reason": reason}}, indent=1))
    print(f"wrote {result.weights_path} (and its model card)", file=sys.stderr)
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


def cmd_evaluate(args) -> int:
    from model.evaluation.figures import write_report_figures
    from model.evaluation.predictor_adapter import predictor_predict_fn
    from model.evaluation.protocol import evaluate

    dataset, split = _dataset_and_split(args)
    classes = split.select(dataset.categories, args.classes)
    if args.baseline:
        from model.evaluation.baseline import ColourHistogramBaseline

        predict_fn, label = ColourHistogramBaseline(), "colour-histogram baseline"
    else:
        predictor = _predictor(args)
        predict_fn = predictor_predict_fn(predictor, score_threshold=args.score_threshold)
        label = predictor.version
    report = evaluate(predict_fn, dataset, classes, runs=args.runs, seed=args.seed, shots=args.shots,
                      max_images=args.max_images,
                      allow_same_image_reference=not args.other_image_references)
    report["model"] = label
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    if args.figure:
        write_report_figures(report, dataset, args.figure, label=label)
    summary = {k: report[k] for k in ("box_ap50", "mask_ap50", "recall", "precision")}
    print(json.dumps(summary, indent=2))
    return 0


def cmd_search(args) -> int:
    from model.images import load_image
    from model.search import search

    predictor = _predictor(args)
    search(predictor, load_image(args.ref_image), args.ref_box, args.images, top_k=args.top, out_dir=args.out)
    return 0


def _thresholds(text: str) -> list[float]:
    """`T[,T...]` -> score thresholds in [0, 1], e.g. `0.5,0.6,0.7` (a sweep scored from one answer each)."""
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected thresholds like 0.5 or 0.5,0.6,0.7, got {text!r}") from None
    if not values or not all(0.0 <= v <= 1.0 for v in values):
        raise argparse.ArgumentTypeError(f"thresholds must be numbers in [0, 1], got {text!r}")
    return values


def _effort_answerer(args, bank=None):
    """`(answerer, thresholds, about)`: the baseline of `--baseline`, or the model loaded and run as the worker runs
    it (its interactive job, or with `bank` its batch job), answering at the lowest of the thresholds (`--threshold`,
    else the baseline's default or the service's SCORE_THRESHOLD)."""
    if args.baseline:
        if args.bank:
            raise ValueError("--bank measures the model's batch pre-annotation: drop --baseline")
        if args.precision or args.set:
            raise ValueError("--precision and --set are the model's: the baselines run without a model")
        if args.baseline == "template":
            from model.evaluation.template_baseline import DEFAULT_TEMPLATE_THRESHOLD, TemplateBaseline

            thresholds = args.threshold or [DEFAULT_TEMPLATE_THRESHOLD]
            answerer = TemplateBaseline(min(thresholds))
        else:
            from model.evaluation.feature_probe import DEFAULT_PROBE_THRESHOLD, FeatureProbe

            thresholds = args.threshold or [DEFAULT_PROBE_THRESHOLD]
            answerer = FeatureProbe(min(thresholds))
        return answerer, thresholds, {"answerer": answerer.version, "baseline": args.baseline}
    from common.settings import Settings
    from model.evaluation.service_answerer import ServiceAnswerer
    from worker.runtime import load_predictor  # the worker's own loading: precision, seed, threads

    settings = Settings.from_env().replace(checkpoint=args.checkpoint,
                                           model_preset=None if args.checkpoint else (args.preset or "mobile"))
    if args.precision:
        settings = settings.replace(model_precision=args.precision)
    if not args.checkpoint and settings.model_seed is None:
        settings = settings.replace(model_seed=0)  # untrained heads: the same random ones every run
    predictor = load_predictor(settings, **dict(args.set))
    # The service's SCORE_THRESHOLD, or when unset the model's calibrated one, as the worker answers.
    service_threshold = settings.score_threshold
    if service_threshold is None:
        service_threshold = predictor.config.detection_min_confidence
    thresholds = args.threshold or [service_threshold]
    if args.bank:  # batch pre-annotation: the accepted data's exemplar bank answers, no box drawn
        from model.evaluation.bank_answerer import BankAnswerer

        answerer = BankAnswerer.from_settings(predictor, bank, settings, score_threshold=min(thresholds))
    else:
        answerer = ServiceAnswerer.from_settings(predictor, settings, score_threshold=min(thresholds))
    service = {"score_threshold": service_threshold, "nms_threshold": settings.nms_threshold,
               "max_instances": settings.max_instances, "decode_factor": settings.decode_factor,
               "precision": predictor.precision}
    about = {"answerer": answerer.version, "checkpoint": args.checkpoint, "service_settings": service,
             "config_changes": dict(args.set)}
    return answerer, thresholds, about


def cmd_effort(args) -> int:
    import datetime

    from model.data.annotations import Dataset
    from model.evaluation.effort_report import OverlayWriter, format_table, progress_line, report_dict
    from model.evaluation.effort_runner import plan_trials, run_effort

    dataset, split = _dataset_and_split(args)
    classes = split.select(dataset.categories, args.classes)
    if not classes:
        raise ValueError(f"--classes {args.classes} selects no class of this dataset; give --split N or --held-out "
                         "NAME ... for held-out classes, or use --classes all")
    bank = None
    if args.bank:
        from model.data.loading import load_dataset
        from model.evaluation.bank_effort import bank_from_dataset, plan_bank_trials

        if args.overlays:
            raise ValueError("--overlays draws the reference of each trial: the bank mode has none; drop one")
        accepted = load_dataset(args.bank, args.bank_format or args.format)
        bank = bank_from_dataset(accepted, [c for c in accepted.categories if c in set(classes)])
        if not bank:
            raise ValueError(f"the bank {args.bank} holds no instance of the classes {list(classes)}: give accepted "
                             "data with those labels (--classes all takes every class of --data)")
        judged = Dataset(dataset.categories, dataset.images[: args.limit], dataset.name)
        dataset, trials = judged, plan_bank_trials(judged, list(bank))
    else:
        trials = plan_trials(dataset, classes, args.seeds, limit=args.limit)
    if not trials:
        raise ValueError(f"no image holds 2 or more instances of one of the classes {list(classes)}: nothing to "
                         "measure")
    first = dataset.images[trials[0].image_index].source
    if isinstance(first, Path) and not first.exists():
        raise ValueError(f"image {first} does not exist: give the folder holding the images with --images-dir")
    answerer, thresholds, about = _effort_answerer(args, bank)
    overlays = OverlayWriter(args.overlays, thresholds[0]) if args.overlays else None
    done = []

    def on_trial(result, image, answer, gt_boxes, gt_masks):
        done.append(result)
        print(progress_line(result, len(done), len(trials)), file=sys.stderr, flush=True)
        if overlays:
            overlays(result, image, answer, gt_boxes, gt_masks)

    if bank is not None:
        from model.evaluation.bank_effort import run_bank_effort

        run = run_bank_effort(dataset, trials, answerer, thresholds=thresholds, on_trial=on_trial)
    else:
        run = run_effort(dataset, trials, answerer, thresholds=thresholds, on_trial=on_trial)
    images = len({t.image_index for t in trials})
    what = (f"(image, label) of the bank {args.bank}, no reference drawn" if bank is not None
            else f"(image, class) x {args.seeds} seeds")
    title = (f"effort of {about['answerer']} on {args.data}: {images} images, {len(trials)} trials "
             f"({what}), classes {args.classes}")
    print(format_table(run, title))
    if args.json:
        arguments = {k: v for k, v in vars(args).items() if k != "func"}
        about = {"arguments": arguments, "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
                 **about,
                 "data": str(args.data), "format": args.format, "split": split.name, "classes": list(classes),
                 "class_selection": args.classes, "seeds": args.seeds, "limit": args.limit, "images": images}
        out = Path(args.json)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report_dict(run, about), indent=1))
    return 0


def _add_model_args(p: argparse.ArgumentParser) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument("--checkpoint", help="our .weights.h5 (its .card.json beside it names the preset)")
    group.add_argument("--preset", default="mobile", help="untrained preset when no checkpoint (default: mobile)")
    p.add_argument("--precision", choices=["float32", "bfloat16"], default="float32",
                   help="inference precision (bfloat16: faster on CPUs with AMX/AVX512_BF16 and on GPUs)")


def _dataset_and_split(args):
    """The dataset of `--data/--format` and the class split of `--split` or `--held-out` (checked against it)."""
    from model.data.loading import load_dataset
    from model.data.splits import ClassSplit, paper_split

    dataset = load_dataset(args.data, args.format, images_dir=getattr(args, "images_dir", None))
    if args.split:
        parts = [paper_split(k) for k in args.split]  # several: their union (e.g. test + validation classes)
        held_out = frozenset().union(*(part.held_out for part in parts))
        split = ClassSplit(held_out, name="+".join(part.name for part in parts))
    else:
        split = ClassSplit.from_names(args.held_out or [])
    split.check_against(dataset.categories)
    return dataset, split


def _add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="COCO JSON, YOLO-seg folder or Label Studio JSON export")
    p.add_argument("--format", required=True, choices=["coco", "yolo-seg", "label-studio"])
    p.add_argument("--split", type=int, nargs="+", choices=[1, 2, 3, 4],
                   help="the paper's COCO class split held out; several: their union (train: --split 1 2 keeps the "
                        "split-2 classes out too, as validation classes)")
    p.add_argument("--held-out", nargs="*", help="explicit held-out class names (instead of --split)")


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


def cmd_synth(args) -> int:
    from model.data.loading import load_dataset
    from model.data.scenes import SceneSources, write_scene_set
    from model.data.splits import paper_split

    dataset = load_dataset(args.data, args.format)
    held_out = frozenset().union(*(paper_split(k).held_out for k in args.exclude_split))
    sprite_classes = [c for c in dataset.categories if c not in held_out]
    sources = SceneSources.from_dataset(dataset, sprite_classes, held_out)
    path = write_scene_set(args.out, sources, args.count, args.seed)
    print(f"wrote {args.count} scenes: {path} (python -m model effort --data {path} --format coco --classes all)",
          file=sys.stderr)
    return 0


def cmd_calibrate(args) -> int:
    from model.data.loading import load_dataset
    from model.data.splits import paper_split
    from model.evaluation.calibration import DevelopmentSet, calibrate_checkpoint

    sets = []
    for path, data_format, selection in args.on:
        dataset = load_dataset(path, data_format)
        if selection == "all":
            classes = tuple(dataset.categories)
        elif selection.startswith("split-") and selection[6:].isdigit():
            classes = paper_split(int(selection[6:])).held_out_classes(dataset.categories)
        else:
            raise ValueError(f"--on {path} {data_format} {selection}: classes must be 'all' or 'split-N' (the "
                             "held-out classes of the paper's split N)")
        sets.append(DevelopmentSet(f"{Path(path).name}:{selection}", dataset, tuple(classes), args.seeds))

    def on_set(name, run):
        best = min(range(len(run.thresholds)), key=lambda i: run.summary(i).effort)
        print(f"{name}: best effort {run.summary(best).effort:.3f} at {run.thresholds[best]}", file=sys.stderr)

    calibration = calibrate_checkpoint(args.checkpoint, sets, args.out, config_changes=dict(args.set),
                                       version=args.version, on_set=on_set)
    print(json.dumps({"threshold": calibration.threshold,
                      "mean_effort": dict(zip(calibration.thresholds, calibration.mean_effort, strict=True))},
                     indent=1))
    print(f"wrote {args.out} (detection_min_confidence {calibration.threshold})", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m model", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("predict", help="find every instance like the reference box; JSON and an overlay PNG")
    _add_model_args(p)
    p.add_argument("--image", required=True)
    p.add_argument("--ref-box", required=True, type=_box, action="append", help="x,y,w,h pixels (repeat: K-shot)")
    p.add_argument("--ref-image", help="image of the reference box (default: --image)")
    p.add_argument("--score-threshold", type=float)
    p.add_argument("--max-instances", type=int)
    p.add_argument("--json", help="write the instances here (default: stdout)")
    p.add_argument("--overlay", help="write a PNG with masks and boxes")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("inspect", help="how a paper .h5 checkpoint maps onto a preset (exit 1 if incomplete)")
    p.add_argument("checkpoint")
    p.add_argument("--preset", choices=["paper-large", "paper-small"], help="default: detected from the file")
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("convert", help="convert a paper .h5 once into our .weights.h5 + card (loads natively)")
    p.add_argument("checkpoint")
    p.add_argument("--out", required=True, help="NAME.weights.h5 to write")
    p.add_argument("--preset", choices=["paper-large", "paper-small"], help="default: detected from the file")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("train", help="train on one-shot episodes; writes OUT/model.weights.h5 + card")
    _add_data_args(p)
    p.add_argument("--preset", default="mobile")
    p.add_argument("--init", help="start from this checkpoint (ours)")
    p.add_argument("--set", type=_config_override, action="append", default=[], metavar="FIELD=VALUE",
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
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--time-budget-minutes", type=float, default=0)
    p.add_argument("--seed", type=int, default=0)
    _add_validation_args(p)
    p.set_defaults(func=cmd_train)

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
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_finetune)

    p = sub.add_parser("evaluate", help="the paper's one-shot protocol: AP50 (boxes, masks), recall, precision")
    _add_model_args(p)
    _add_data_args(p)
    p.add_argument("--classes", choices=["held-out", "train", "all"], default="held-out")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--shots", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-images", type=int)
    p.add_argument("--score-threshold", type=float, default=0.7)
    p.add_argument("--baseline", action="store_true", help="evaluate the colour-histogram baseline instead")
    p.add_argument("--other-image-references", action="store_true",
                   help="draw references from other images only (the paper allows the query image itself)")
    p.add_argument("--json", required=True)
    p.add_argument("--figure", help="PNG with examples and the precision/recall plot")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("search", help="rank a folder of images by their best match to a reference")
    _add_model_args(p)
    p.add_argument("--ref-image", required=True)
    p.add_argument("--ref-box", required=True, type=_box, action="append", help="x,y,w,h (repeat: K-shot)")
    p.add_argument("--images", required=True)
    p.add_argument("--top", type=int, default=10)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("synth", help="write a synthetic repeated-object set (COCO JSON + JPEGs), the development set "
                                     "of issue 17: sprites of the training classes only")
    p.add_argument("--data", required=True, help="where sprites and backgrounds come from (e.g. coco128-seg)")
    p.add_argument("--format", required=True, choices=["coco", "yolo-seg", "label-studio"])
    p.add_argument("--exclude-split", type=int, nargs="+", choices=[1, 2, 3, 4], default=[1, 2],
                   help="paper splits whose classes are never pasted and are filled out of backgrounds (default 1 2)")
    p.add_argument("--count", type=int, default=100, help="scenes (default 100)")
    p.add_argument("--seed", type=int, default=1234, help="the set is a function of the data and this seed")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_synth)

    p = sub.add_parser("calibrate", help="choose a checkpoint's default score threshold by the effort measure on "
                                         "development sets; writes a copy that answers with it")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--on", nargs=3, action="append", required=True, metavar=("DATA", "FORMAT", "CLASSES"),
                   help="a development set (repeat): path, format, and 'all' or 'split-N' (held-out classes of the "
                        "paper's split N; never the test split)")
    p.add_argument("--set", type=_config_override, action="append", default=[], metavar="FIELD=VALUE",
                   help="inference settings to change with it, e.g. --set reference_dihedral=true")
    p.add_argument("--seeds", type=int, default=1, help="references per (image, class) (default 1)")
    p.add_argument("--version", help="the new version's name (default: VERSION-calibrated)")
    p.add_argument("--out", required=True, help="NAME.weights.h5 to write (+ card)")
    p.set_defaults(func=cmd_calibrate)

    p = sub.add_parser("effort", help="the simulated annotator: one reference box per (image, class), what is left "
                                      "to do (effort, errors per instance, recall, precision, mask IoU, time)")
    model_group = p.add_mutually_exclusive_group()
    model_group.add_argument("--checkpoint", help="our .weights.h5, run as the worker runs it")
    model_group.add_argument("--preset", help="the untrained network of this preset (ImageNet backbone; default "
                                              "mobile when neither --checkpoint nor --baseline is given)")
    model_group.add_argument("--baseline", choices=["template", "features"],
                             help="a training-free baseline instead of the model (no masks: mask IoU n/a)")
    p.add_argument("--precision", choices=["auto", "float32", "bfloat16"],
                   help="the model's inference precision (default: the worker's MODEL_PRECISION, auto)")
    p.add_argument("--set", type=_config_override, action="append", default=[], metavar="FIELD=VALUE",
                   help="change one inference setting of the model (repeat), e.g. --set detection_size_tolerance=1.5")
    _add_data_args(p)
    p.add_argument("--images-dir", help="coco / label-studio: the folder holding the images (default: see README)")
    p.add_argument("--classes", choices=["held-out", "all"], default="held-out",
                   help="held-out: the classes of --split / --held-out; all: every class of the dataset")
    p.add_argument("--seeds", type=int, default=1, help="references per (image, class): seed k picks one instance")
    p.add_argument("--threshold", type=_thresholds,
                   help="score threshold(s), comma-separated to sweep several in one run (default: the model at "
                        "the service's SCORE_THRESHOLD; template 0.6; features 0.93, relative to the reference)")
    p.add_argument("--limit", type=int, help="only the first N images that have trials")
    p.add_argument("--bank", metavar="ACCEPTED_DATA",
                   help="batch pre-annotation instead: no box drawn, each label's accepted instances in this data (the "
                        "exemplar bank, K-shot) answer every judged image; effort = errors per instance")
    p.add_argument("--bank-format", choices=["coco", "yolo-seg", "label-studio"],
                   help="format of --bank (default: --format)")
    p.add_argument("--json", help="write the figures and every trial here")
    p.add_argument("--overlays", help="write one PNG per trial here: reference blue, right green, wrong red, "
                                      "missed yellow (at the first threshold)")
    p.set_defaults(func=cmd_effort)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "paper_schedule", False):
        args.optimizer, args.heads_steps, args.layers = "sgd", 1000, "all"
        args.learning_rate = 0.02 * args.batch_size / 12
    np.set_printoptions(precision=3, suppress=True)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
