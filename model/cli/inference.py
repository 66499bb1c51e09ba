"""`python -m model predict|inspect|convert|search`: a model run on images, and the paper's `.h5` checkpoints
inspected and converted. Each command's parser sits beside it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from model.cli.arguments import add_model_args, parse_box, predictor_from_args


def add_predict_parser(sub) -> None:
    p = sub.add_parser("predict", help="find every instance like the reference box; JSON and an overlay PNG")
    add_model_args(p)
    p.add_argument("--image", required=True)
    p.add_argument("--ref-box", required=True, type=parse_box, action="append", help="x,y,w,h pixels (repeat: K-shot)")
    p.add_argument("--ref-image", help="image of the reference box (default: --image)")
    p.add_argument("--score-threshold", type=float)
    p.add_argument("--max-instances", type=int)
    p.add_argument("--json", help="write the instances here (default: stdout)")
    p.add_argument("--overlay", help="write a PNG with masks and boxes")
    p.set_defaults(func=cmd_predict)


def cmd_predict(args) -> int:
    from PIL import Image

    from model.images import load_image
    from model.overlay import draw_instances

    predictor = predictor_from_args(args)
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


def add_inspect_parser(sub) -> None:
    p = sub.add_parser("inspect", help="how a paper .h5 checkpoint maps onto a preset (exit 1 if incomplete)")
    p.add_argument("checkpoint")
    p.add_argument("--preset", choices=["paper-large", "paper-small"], help="default: detected from the file")
    p.set_defaults(func=cmd_inspect)


def cmd_inspect(args) -> int:
    from model.paper_weights import inspect_checkpoint

    report = inspect_checkpoint(args.checkpoint, args.preset)
    print(json.dumps(report, indent=2))
    complete = not (report["missing"] or report["unexpected"] or report["mismatched"])
    return 0 if complete else 1


def add_convert_parser(sub) -> None:
    p = sub.add_parser("convert", help="convert a paper .h5 once into our .weights.h5 + card (loads natively)")
    p.add_argument("checkpoint")
    p.add_argument("--out", required=True, help="NAME.weights.h5 to write")
    p.add_argument("--preset", choices=["paper-large", "paper-small"], help="default: detected from the file")
    p.set_defaults(func=cmd_convert)


def cmd_convert(args) -> int:
    from model.paper_weights import convert_paper_checkpoint

    path = convert_paper_checkpoint(args.checkpoint, args.out, preset=args.preset)
    print(f"wrote {path} (and its model card)", file=sys.stderr)
    return 0


def add_search_parser(sub) -> None:
    p = sub.add_parser("search", help="rank a folder of images by their best match to a reference")
    add_model_args(p)
    p.add_argument("--ref-image", required=True)
    p.add_argument("--ref-box", required=True, type=parse_box, action="append", help="x,y,w,h (repeat: K-shot)")
    p.add_argument("--images", required=True)
    p.add_argument("--top", type=int, default=10)
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_search)


def cmd_search(args) -> int:
    from model.images import load_image
    from model.search import search

    predictor = predictor_from_args(args)
    search(predictor, load_image(args.ref_image), args.ref_box, args.images, top_k=args.top, out_dir=args.out)
    return 0
