"""Visual search over a folder (the workshop's use case): rank images by their best match to one reference box.

    predictor = Predictor.from_checkpoint("checkpoints/mobile-coco128/model.weights.h5")
    result = search(predictor, "ref.jpg", parse_xywh_box("40,60,120,80"), "photos/", top_k=12, out_dir="hits/")
    result.hits[0].path, result.hits[0].best_score, result.skipped

Writes `out_dir/results.json` (every readable image ranked, its instances with boxes, scores and mask RLEs; the
unreadable files with the reason) and `out_dir/contact_sheet.png` (the reference crop, then the top K hits with
their instances drawn). Images that cannot be read are logged, listed under "skipped", and the search goes on.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from model.evaluation.coco_metrics import encode_mask
from model.images import IMAGE_SUFFIXES

__all__ = ["RESULTS_FILE", "CONTACT_SHEET_FILE", "SearchHit", "SearchResult", "parse_xywh_box", "search"]

logger = logging.getLogger(__name__)

RESULTS_FILE = "results.json"
CONTACT_SHEET_FILE = "contact_sheet.png"
DEFAULT_TOP_K = 12
THUMBNAIL_SIDE = 256
"""Contact-sheet cells are at most this many pixels on a side."""
CONTACT_SHEET_COLUMNS = 4
CAPTION_HEIGHT = 18
MASK_ALPHA = 0.45
_MASK_COLOUR = np.array([255, 64, 25], dtype=np.float32)
_BOX_COLOUR = (255, 40, 20)


@dataclass(frozen=True)
class SearchHit:
    """One searched image.

    Attributes:
        path: the image file.
        best_score: highest instance score (0.0 when nothing matched).
        instances: JSON-safe dicts `{"box": [x1, y1, x2, y2] pixels, "score": float, "mask": COCO RLE}`, best first.
        height, width: image size in pixels.
    """

    path: Path
    best_score: float
    instances: list[dict] = field(default_factory=list)
    height: int = 0
    width: int = 0


@dataclass(frozen=True)
class SearchResult:
    """`hits`: every readable image, best first; `skipped`: `(path, reason)` of unreadable ones; the files written."""

    hits: list[SearchHit]
    skipped: list[tuple[Path, str]]
    results_json: Path
    contact_sheet: Path


def parse_xywh_box(text: str) -> np.ndarray:
    """Parse the CLI's `--ref-box x,y,w,h` (pixels) into `(4,)` float32 `x1, y1, x2, y2`.

    Raises:
        ValueError: not four numbers, or a non-positive width/height.
    """
    try:
        x, y, w, h = (float(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"--ref-box must be four numbers 'x,y,w,h' in pixels, got {text!r}") from None
    if not (w > 0 and h > 0):
        raise ValueError(f"--ref-box width and height must be positive, got w={w}, h={h}")
    return np.array([x, y, x + w, y + h], dtype=np.float32)


def search(
    predictor,
    ref_image: np.ndarray | str | Path,
    ref_box,
    images_dir: str | Path,
    top_k: int = DEFAULT_TOP_K,
    out_dir: str | Path = "search-results",
    *,
    score_threshold: float | None = None,
    max_instances: int | None = None,
    recursive: bool = False,
    progress: bool = True,
) -> SearchResult:
    """Rank the images of a folder by their best match to a reference box.

    Args:
        predictor: a `model.predictor.Predictor` (or anything with `encode_image`, `encode_references`, `find`).
        ref_image: `(H, W, 3)` uint8 RGB, or a path to the reference image.
        ref_box: `(4,)` `x1, y1, x2, y2` pixels in `ref_image`, or `(K, 4)` for K references (K-shot: their
            embeddings are averaged; see `parse_xywh_box` for the CLI's x,y,w,h).
        images_dir: folder searched (files with an image suffix; sub-folders too when `recursive`).
        top_k: hits drawn on the contact sheet.
        out_dir: where results.json and contact_sheet.png go (created).
        score_threshold, max_instances: passed to `Predictor.find` (None: the predictor's defaults).
        progress: show a tqdm bar.

    Returns:
        A `SearchResult`.

    Raises:
        ValueError: the reference is unreadable or the box is invalid (raised before any image is searched), or
            `images_dir` is not a folder.
    """
    from tqdm import tqdm

    from model.images import load_image

    images_dir = Path(images_dir)
    if not images_dir.is_dir():
        raise ValueError(f"--images {images_dir} is not a folder")
    if top_k < 1:
        raise ValueError(f"top_k must be >= 1, got {top_k}")
    reference_pixels = load_image(ref_image) if isinstance(ref_image, str | Path) else np.asarray(ref_image)
    boxes = np.asarray(ref_box, dtype=np.float32).reshape(-1, 4)
    reference = predictor.encode_references(reference_pixels, boxes)
    options = {
        k: v
        for k, v in (("score_threshold", score_threshold), ("max_instances", max_instances))
        if v is not None
    }

    pattern = "**/*" if recursive else "*"
    files = sorted(p for p in images_dir.glob(pattern) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    hits: list[SearchHit] = []
    skipped: list[tuple[Path, str]] = []
    bar = tqdm(files, desc="search", unit="image", disable=not progress)
    for path in bar:
        try:
            image = load_image(path)
        except (OSError, ValueError) as error:
            logger.warning("skipping %s: %s", path, error)
            skipped.append((path, str(error)))
            bar.set_postfix(skipped=len(skipped))
            continue
        instances = predictor.find(predictor.encode_image(image), reference, **options)
        records = [
            {
                "box": [float(v) for v in i.box],
                "score": float(i.score),
                "mask": encode_mask(np.asarray(i.mask, bool)),
            }
            for i in instances
        ]
        records.sort(key=lambda r: -r["score"])
        best = records[0]["score"] if records else 0.0
        hits.append(SearchHit(path, best, records, image.shape[0], image.shape[1]))
    bar.close()
    hits.sort(key=lambda h: (-h.best_score, str(h.path)))

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results_json = out_dir / RESULTS_FILE
    results_json.write_text(
        json.dumps(_report(predictor, ref_image, boxes, images_dir, hits, skipped, options), indent=1)
    )
    contact_sheet = write_contact_sheet(reference_pixels, boxes[0], hits[:top_k], out_dir / CONTACT_SHEET_FILE)
    return SearchResult(hits, skipped, results_json, contact_sheet)


def _report(predictor, ref_image, boxes, images_dir, hits, skipped, options) -> dict:
    return {
        "reference": {
            "image": str(ref_image) if isinstance(ref_image, str | Path) else "<array>",
            "box_xyxy": [float(v) for v in boxes[0]],
            "boxes_xyxy": [[float(v) for v in box] for box in boxes],
        },
        "predictor_version": getattr(predictor, "version", "unknown"),
        "find_options": options,
        "images_dir": str(images_dir),
        "ranked": [
            {
                "rank": rank,
                "path": str(h.path),
                "best_score": h.best_score,
                "size": [h.height, h.width],
                "instances": h.instances,
            }
            for rank, h in enumerate(hits, start=1)
        ],
        "skipped": [{"path": str(p), "error": reason} for p, reason in skipped],
        "contact_sheet": CONTACT_SHEET_FILE,
    }


def write_contact_sheet(reference: np.ndarray, box: np.ndarray, hits: list[SearchHit], out_png: Path) -> Path:
    """The reference crop, then each hit with its instances (mask tint and box), captioned `rank. name score`."""
    from PIL import Image, ImageDraw

    from model.images import load_image

    x1, y1, x2, y2 = (int(round(v)) for v in box)
    cells = [(_fit(reference[max(y1, 0) : max(y2, y1 + 1), max(x1, 0) : max(x2, x1 + 1)]), "reference")]
    for rank, hit in enumerate(hits, start=1):
        cells.append((_draw_hit(load_image(hit.path), hit), f"{rank}. {hit.path.name} {hit.best_score:.2f}"))
    rows = -(-len(cells) // CONTACT_SHEET_COLUMNS)
    cell_h = THUMBNAIL_SIDE + CAPTION_HEIGHT
    sheet = Image.new("RGB", (CONTACT_SHEET_COLUMNS * THUMBNAIL_SIDE, rows * cell_h), "white")
    draw = ImageDraw.Draw(sheet)
    for index, (thumbnail, caption) in enumerate(cells):
        left, top = (
            (index % CONTACT_SHEET_COLUMNS) * THUMBNAIL_SIDE,
            (index // CONTACT_SHEET_COLUMNS) * cell_h,
        )
        sheet.paste(thumbnail, (left + (THUMBNAIL_SIDE - thumbnail.width) // 2, top))
        draw.text((left + 4, top + THUMBNAIL_SIDE + 2), caption[:40], fill="black")
    sheet.save(out_png)
    return out_png


def _draw_hit(image: np.ndarray, hit: SearchHit):
    from PIL import ImageDraw

    from model.data.annotations import decode_rle_mask

    tinted = image.astype(np.float32)
    for instance in hit.instances:
        rle = dict(instance["mask"], counts=instance["mask"]["counts"].encode("ascii"))
        mask = decode_rle_mask(rle)
        tinted[mask] = (1 - MASK_ALPHA) * tinted[mask] + MASK_ALPHA * _MASK_COLOUR
    thumbnail = _fit(tinted.astype(np.uint8))
    scale = thumbnail.width / image.shape[1]
    draw = ImageDraw.Draw(thumbnail)
    for instance in hit.instances:
        draw.rectangle([v * scale for v in instance["box"]], outline=_BOX_COLOUR, width=2)
    return thumbnail


def _fit(pixels: np.ndarray):
    from PIL import Image

    thumbnail = Image.fromarray(pixels)
    thumbnail.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    return thumbnail
