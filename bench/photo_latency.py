"""Interactive latency on phone photos (4032x3024 JPEG), with reduced JPEG decoding on and off, end to end.

The main benchmark's images have the query size; annotators' photos are often 12 megapixels. Then decoding the
JPEG, resizing it for the model, pasting masks and building the answer at full size cost more than the model.
`DECODE_FACTOR` (docs/configuration.md) decodes such a JPEG at a built-in reduced scale; this runs
the real service (embedded Redis, gunicorn backend, one `python -m worker`) on the shipped `mobile` checkpoint
with the factor 0 (full size) and 2 (the default) one after the other, on the same photos and boxes.

Each round: a cold request (a photo the worker has not seen) then a warm one (same photo, another box), with
score threshold 0 and `--instances` instances forced, the brush + polygon + box label config of the main
benchmark. Rounds alternate between the two settings by restarting the worker, so load hits both alike.

    python -m bench.photo_latency                          # 3 rounds per setting, bfloat16
    python -m bench.photo_latency --rounds 5 --precision float32 --json out.json --markdown out.md
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.publish import add_output_arguments, publish
from bench.scenes import encode_jpeg, make_scene
from bench.service import forced_instances, running_service
from bench.timing import Stats
from worker.runtime import DEFAULT_CHECKPOINT

__all__ = ["measure", "render_markdown"]

PHOTO = (3024, 4032)
"""(height, width) of a 12-megapixel phone photo."""
COPIES = 12
FACTORS = (0, 2)


def _photo(seed: int):
    return make_scene(PHOTO[0], PHOTO[1], COPIES, seed)


def measure(rounds: int = 3, precision: str = "bfloat16", instances: int = 30,
            checkpoint: Path = DEFAULT_CHECKPOINT) -> dict:
    """Cold and warm end-to-end seconds per factor, and the worker's own stage timings (medians)."""
    samples: dict = {factor: {"cold": [], "warm": [], "fetch_decode": [], "regions": []} for factor in FACTORS}
    with running_service("siamese-photo-", forced_instances(instances)) as service:
        urls = []
        for index in range(rounds * len(FACTORS) + 1):
            scene = _photo(index)
            urls.append((service.add_file(f"photo{index}.jpg", encode_jpeg(scene.image)), scene.boxes))
        warm_up_url, warm_up_boxes = urls.pop()
        task = 0
        for round_index in range(rounds):
            for factor in FACTORS:
                service.start_workers(checkpoint, 1, precision, {"DECODE_FACTOR": str(factor)})
                task += 1
                service.interactive(task, warm_up_url, PHOTO, warm_up_boxes[0])  # the first call traces
                url, boxes = urls[round_index * len(FACTORS) + FACTORS.index(factor)]
                for kind, box in (("cold", boxes[0]), ("warm", boxes[1])):
                    task += 1
                    seconds, answer, _ = service.interactive(task, url, PHOTO, box)
                    samples[factor][kind].append(seconds)
                    if kind == "cold":
                        timings = answer["jobs"][0]["timings"]
                        samples[factor]["fetch_decode"].append(timings["fetch_decode_s"])
                regions = len(answer["results"][0]["result"])
                samples[factor]["regions"].append(regions)
        service.stop_workers()
    result = {"photo": list(PHOTO), "precision": precision, "instances": instances, "rounds": rounds,
              "checkpoint": str(checkpoint.name), "factors": {}}
    for factor in FACTORS:
        entry = {kind: Stats.of(samples[factor][kind]).to_dict(4) for kind in ("cold", "warm", "fetch_decode")}
        entry["regions"] = samples[factor]["regions"]
        result["factors"][str(factor)] = entry
    full, reduced = result["factors"]["0"], result["factors"]["2"]
    result["ratios"] = {kind: round(reduced[kind]["median"] / full[kind]["median"], 3) for kind in ("cold", "warm")}
    return result


def render_markdown(result: dict) -> str:
    height, width = result["photo"]
    lines = [f"{width}x{height} JPEG, `{result['checkpoint']}` in {result['precision']}, {result['instances']} "
             f"instances forced, {result['rounds']} rounds; end to end, ms, median (min-max).", "",
             "| DECODE_FACTOR | cold | warm | fetch + decode in the worker (cold) | regions per answer |",
             "|---|---|---|---|---|"]
    for factor, entry in result["factors"].items():
        cells = [Stats(entry[k]["median"], entry[k]["min"], entry[k]["max"], entry[k]["n"]).ms()
                 for k in ("cold", "warm", "fetch_decode")]
        label = "0 (full size)" if factor == "0" else f"{factor} (decoded at >= {factor}x the query size)"
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {entry['regions']} |")
    ratios = result["ratios"]
    lines += ["", f"Reduced / full: cold **{ratios['cold']:.2f}**, warm **{ratios['warm']:.2f}**."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--precision", default="bfloat16", choices=["float32", "bfloat16"])
    parser.add_argument("--instances", type=int, default=30)
    args = add_output_arguments(parser).parse_args(argv)
    result = measure(args.rounds, args.precision, args.instances)
    publish(result, render_markdown(result), args.json, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
