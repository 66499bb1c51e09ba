"""`python -m bench`: run the benchmarks and write `bench/results/latest.json`, `latest.md` and `growth.png`.

    python -m bench                          # the full plan (about 20 minutes on 2 cores, bounded)
    python -m bench --plan smoke --out DIR   # tiny preset, one repeat (what CI runs)
    python -m bench --only interactive,throughput --repeats 3 --budget-minutes 10
    python -m bench --only interactive --presets mobile --sizes 512 --repeats 2
    python -m bench --only interactive --presets mobile --sizes 512 --precisions bfloat16

Every run binds only 127.0.0.1, starts and stops its own Redis, backend and workers, and stops by itself.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from bench.publish import RESULTS_DIR


def _parse(argv: list[str] | None) -> argparse.Namespace:
    from bench.runner import FAMILIES

    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--plan", choices=("full", "smoke"), default="full")
    parser.add_argument("--only", default=",".join(FAMILIES), help=f"comma-separated families of {FAMILIES}")
    parser.add_argument("--presets", default=None, help="comma-separated presets for interactive latency")
    parser.add_argument("--sizes", default=None, help="comma-separated query sizes for interactive latency")
    parser.add_argument("--precisions", default=None,
                        help="comma-separated precisions for interactive latency (float32, bfloat16)")
    parser.add_argument("--service-precision", default=None, choices=("float32", "bfloat16", "auto"),
                        help="precision of the throughput workers and the growth sweeps (default auto: what the "
                             "worker picks on this machine)")
    parser.add_argument("--repeats", type=int, default=None, help="recorded calls per measurement")
    parser.add_argument("--budget-minutes", type=float, default=None, help="wall-time budget of the whole run")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="output directory (default bench/results)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from bench.plan import Plan
    from bench.report import render_markdown, write_results
    from bench.runner import run

    args = _parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    plan = Plan.full() if args.plan == "full" else Plan.smoke()
    if args.repeats is not None:
        plan = plan.replace(repeats=args.repeats, growth_repeats=min(plan.growth_repeats, args.repeats))
    if args.presets:
        plan = plan.replace(presets=tuple(p.strip() for p in args.presets.split(",") if p.strip()))
    if args.sizes:
        plan = plan.replace(query_sizes=tuple(int(s) for s in args.sizes.split(",") if s.strip()))
    if args.precisions:
        plan = plan.replace(precisions=tuple(p.strip() for p in args.precisions.split(",") if p.strip()))
    if args.service_precision:
        plan = plan.replace(service_precision=args.service_precision)
    if args.budget_minutes is not None:
        plan = plan.replace(budget_s=args.budget_minutes * 60.0)
    families = tuple(name.strip() for name in args.only.split(",") if name.strip())
    results = run(plan, args.out, families)
    json_path, md_path = write_results(results, args.out)
    print(render_markdown(results))
    print(f"\nwrote {json_path} and {md_path}", file=sys.stderr)
    failed = [name for name in families if isinstance(results.get(name), dict) and "error" in results[name]]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
