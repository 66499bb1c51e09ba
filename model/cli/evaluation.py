"""`python -m model evaluate|synth|calibrate|effort`: the paper's one-shot protocol, the synthetic development
set, threshold calibration and the effort measure (the simulated annotator). Each command's parser sits beside
it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from common.settings import MODEL_PRECISIONS
from model.cli.arguments import (
    add_data_args,
    add_model_args,
    dataset_and_split,
    parse_config_override,
    parse_thresholds,
    predictor_from_args,
)


def add_evaluate_parser(sub) -> None:
    p = sub.add_parser("evaluate", help="the paper's one-shot protocol: AP50 (boxes, masks), recall, precision")
    add_model_args(p)
    add_data_args(p)
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


def cmd_evaluate(args) -> int:
    from model.evaluation.figures import write_report_figures
    from model.evaluation.predictor_adapter import predictor_predict_fn
    from model.evaluation.protocol import evaluate

    dataset, split = dataset_and_split(args)
    classes = split.select(dataset.categories, args.classes)
    if args.baseline:
        from model.evaluation.baseline import ColourHistogramBaseline

        predict_fn, label = ColourHistogramBaseline(), "colour-histogram baseline"
    else:
        predictor = predictor_from_args(args)
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


def add_synth_parser(sub) -> None:
    p = sub.add_parser("synth", help="write a synthetic repeated-object set (COCO JSON + JPEGs), the development set "
                                     "of issue 17: sprites of the training classes only")
    p.add_argument("--data", required=True, help="where sprites and backgrounds come from (e.g. coco128-seg)")
    p.add_argument("--format", required=True, choices=["coco", "yolo-seg", "label-studio"])
    p.add_argument("--exclude-split", type=int, nargs="+", choices=[1, 2, 3, 4], default=[1, 2],
                   help="paper splits whose classes are never pasted and are filled out of backgrounds (default 1 2)")
    p.add_argument("--sprite-split", type=int, choices=[1, 2, 3, 4],
                   help="paste the held-out classes of this paper split instead of the training classes (filled "
                        "out of the backgrounds too): a set of real kinds no training saw, to choose on transfer; "
                        "use 2 (validation), never the test split 1; must not be in --exclude-split")
    p.add_argument("--generated-fraction", type=float,
                   help="chance that a kind is procedural rather than a cut-out (default 0.4; 0 = real kinds only)")
    p.add_argument("--count", type=int, default=100, help="scenes (default 100)")
    p.add_argument("--seed", type=int, default=1234, help="the set is a function of the data and this seed")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_synth)


def cmd_synth(args) -> int:
    from model.data.loading import load_dataset
    from model.data.scenes import SceneSettings, SceneSources, write_scene_set
    from model.data.splits import paper_split

    if args.sprite_split is not None and args.sprite_split in args.exclude_split:
        raise ValueError(f"--sprite-split {args.sprite_split} is also in --exclude-split {args.exclude_split}: its "
                         "classes cannot be pasted and never pasted; e.g. --sprite-split 2 --exclude-split 1")
    if args.generated_fraction is not None and not 0.0 <= args.generated_fraction <= 1.0:
        raise ValueError(f"--generated-fraction must be in [0, 1], got {args.generated_fraction}")
    dataset = load_dataset(args.data, args.format)
    held_out = frozenset().union(*(paper_split(k).held_out for k in args.exclude_split))
    if args.sprite_split is None:
        sprite_classes, filled = [c for c in dataset.categories if c not in held_out], ()
    else:
        sprite_classes = list(paper_split(args.sprite_split).held_out_classes(dataset.categories))
        filled = sprite_classes
    sources = SceneSources.from_dataset(dataset, sprite_classes, held_out, filled=filled)
    if not sources.cutouts and args.generated_fraction == 0.0:
        raise ValueError("no usable cut-out of the sprite classes in --data and --generated-fraction 0: nothing to "
                         "paste")
    settings = SceneSettings() if args.generated_fraction is None else SceneSettings(
        generated_fraction=args.generated_fraction)
    path = write_scene_set(args.out, sources, args.count, args.seed, settings)
    print(f"wrote {args.count} scenes: {path} (python -m model effort --data {path} --format coco --classes all)",
          file=sys.stderr)
    return 0


def add_calibrate_parser(sub) -> None:
    p = sub.add_parser("calibrate", help="choose a checkpoint's default score threshold by the effort measure on "
                                         "development sets; writes a copy that answers with it")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--on", nargs=3, action="append", required=True, metavar=("DATA", "FORMAT", "CLASSES"),
                   help="a development set (repeat): path, format, and 'all' or 'split-N' (held-out classes of the "
                        "paper's split N; never the test split)")
    p.add_argument("--set", type=parse_config_override, action="append", default=[], metavar="FIELD=VALUE",
                   help="inference settings to change with it, e.g. --set reference_dihedral=true")
    p.add_argument("--seeds", type=int, default=1, help="references per (image, class) (default 1)")
    p.add_argument("--version", help="the new version's name (default: VERSION-calibrated)")
    p.add_argument("--precision", choices=MODEL_PRECISIONS,
                   help="the precision the sweep answers in (default: the worker's MODEL_PRECISION, auto): the "
                        "threshold is chosen on the answers the service gives")
    p.add_argument("--out", required=True, help="NAME.weights.h5 to write (+ card)")
    p.set_defaults(func=cmd_calibrate)


def cmd_calibrate(args) -> int:
    from common.settings import Settings
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

    from worker.runtime import cpu_flags, has_gpu, resolve_precision  # the worker's own choice of precision

    settings = Settings.from_env()
    precision = resolve_precision(args.precision or settings.model_precision, cpu_flags(), has_gpu())
    calibration = calibrate_checkpoint(args.checkpoint, sets, args.out, config_changes=dict(args.set),
                                       version=args.version, settings=settings, precision=precision, on_set=on_set)
    print(json.dumps({"threshold": calibration.threshold,
                      "mean_effort": dict(zip(calibration.thresholds, calibration.mean_effort, strict=True))},
                     indent=1))
    print(f"wrote {args.out} (drawn-box threshold {calibration.threshold})", file=sys.stderr)
    return 0


def add_effort_parser(sub) -> None:
    p = sub.add_parser("effort", help="the simulated annotator: one reference box per (image, class), what is left "
                                      "to do (effort, errors per instance, recall, precision, mask IoU, time)")
    model_group = p.add_mutually_exclusive_group()
    model_group.add_argument("--checkpoint", help="our .weights.h5, run as the worker runs it")
    model_group.add_argument("--preset", help="the untrained network of this preset (ImageNet backbone; default "
                                              "mobile when neither --checkpoint nor --baseline is given)")
    model_group.add_argument("--baseline", choices=["template", "features"],
                             help="a training-free baseline instead of the model (no masks: mask IoU n/a)")
    p.add_argument("--precision", choices=MODEL_PRECISIONS,
                   help="the model's inference precision (default: the worker's MODEL_PRECISION, auto)")
    p.add_argument("--set", type=parse_config_override, action="append", default=[], metavar="FIELD=VALUE",
                   help="change one inference setting of the model (repeat), e.g. --set detection_size_tolerance=1.5")
    add_data_args(p)
    p.add_argument("--images-dir", help="coco / label-studio: the folder holding the images (default: see README)")
    p.add_argument("--classes", choices=["held-out", "all"], default="held-out",
                   help="held-out: the classes of --split / --held-out; all: every class of the dataset")
    p.add_argument("--seeds", type=int, default=1, help="references per (image, class): seed k picks one instance")
    p.add_argument("--threshold", type=parse_thresholds,
                   help="score threshold(s), comma-separated to sweep several in one run (default: the model at "
                        "the service's SCORE_THRESHOLD; template 0.6; features 0.93, relative to the reference)")
    p.add_argument("--limit", type=int, help="only the first N images that have trials")
    p.add_argument("--bank", metavar="ACCEPTED_DATA",
                   help="batch pre-annotation instead: no box drawn, each label's accepted instances in this data (the "
                        "exemplar bank, K-shot) answer every judged image; effort = errors per instance")
    p.add_argument("--claims", metavar="ACCEPTED_DATA",
                   help="a box drawn, with the project's accepted exemplars in this data (as the service's "
                        "exemplar bank sends them): the other labels claim their objects (a suggestion another "
                        "label finds with a higher score is dropped; the model's detection_label_claims) and the "
                        "drawn label's own join its answer (the model's detection_drawn_bank), or the labels vote "
                        "(detection_label_vote); needs one of them")
    p.add_argument("--bank-format", choices=["coco", "yolo-seg", "label-studio"],
                   help="format of --bank and --claims (default: --format)")
    p.add_argument("--json", help="write the figures and every trial here")
    p.add_argument("--overlays", help="write one PNG per trial here: reference blue, right green, wrong red, "
                                      "missed yellow (at the first threshold)")
    p.set_defaults(func=cmd_effort)


def _effort_answerer(args, bank=None, claims=None):
    """`(answerer, thresholds, about)`: the baseline of `--baseline`, or the model loaded and run as the worker runs
    it (its interactive job, with `claims` the other labels' exemplars, or with `bank` its batch job), answering at
    the lowest of the thresholds (`--threshold`, else the baseline's default or the service's SCORE_THRESHOLD)."""
    if args.baseline:
        if args.bank or args.claims:
            raise ValueError("--bank and --claims measure the model's use of accepted data: drop --baseline")
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
    if service_threshold is None:  # a drawn box's (its verifier's, when it has one) or the bank's
        service_threshold = (predictor.config.detection_min_confidence if args.bank
                             else predictor.config.drawn_box_threshold)
    thresholds = args.threshold or [service_threshold]
    if args.bank:  # batch pre-annotation: the accepted data's exemplar bank answers, no box drawn
        from model.evaluation.bank_answerer import BankAnswerer

        answerer = BankAnswerer.from_settings(predictor, bank, settings, score_threshold=min(thresholds))
    else:
        if claims is not None and not predictor.config.uses_project_exemplars:
            raise ValueError("--claims needs a model whose detection_label_claims, detection_drawn_bank or "
                             "detection_label_vote is on: add --set detection_label_claims=true (or drop --claims)")
        answerer = ServiceAnswerer.from_settings(predictor, settings, score_threshold=min(thresholds), claims=claims)
    service = {"score_threshold": service_threshold, "nms_threshold": settings.nms_threshold,
               "max_instances": settings.max_instances, "decode_factor": settings.decode_factor,
               "precision": predictor.precision}
    about = {"answerer": answerer.version, "checkpoint": args.checkpoint, "service_settings": service,
             "config_changes": dict(args.set)}
    if claims is not None:
        about["claims"] = {label: len(exemplars) for label, exemplars in claims.items()}
    return answerer, thresholds, about


def cmd_effort(args) -> int:
    import datetime

    from model.data.annotations import Dataset
    from model.evaluation.effort_report import OverlayWriter, format_table, progress_line, report_dict
    from model.evaluation.effort_runner import plan_trials, run_effort

    dataset, split = dataset_and_split(args)
    classes = split.select(dataset.categories, args.classes)
    if not classes:
        raise ValueError(f"--classes {args.classes} selects no class of this dataset; give --split N or --held-out "
                         "NAME ... for held-out classes, or use --classes all")
    bank = claims = None
    if args.bank and args.claims:
        raise ValueError("--bank answers with no box drawn, --claims with one: give one of them")
    if args.claims:
        from model.data.loading import load_dataset
        from model.evaluation.bank_effort import bank_from_dataset

        claims = bank_from_dataset(load_dataset(args.claims, args.bank_format or args.format))
        if not claims:
            raise ValueError(f"{args.claims} holds no accepted instance: --claims needs annotated data")
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
    answerer, thresholds, about = _effort_answerer(args, bank, claims)
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
