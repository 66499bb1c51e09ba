"""How long `/webhook` takes, with the queues idle and with many jobs waiting, on the real backend.

Label Studio sends webhooks synchronously with a 1 s timeout and no retry, so the handler must answer at once
whatever the workers are doing. This starts what `python -m stack` starts without a worker (an embedded Redis, the
gunicorn backend; `bench.service`), posts the same `ANNOTATION_CREATED` event (a task with three boxes, as Label
Studio 1.23 sends it: tests/fixtures/ls/) with the queues empty, then again with `--queued` interactive jobs waiting,
and reports medians, ranges and the busy / idle ratio of the medians. The first posts are warm-up (they create the
project's annotation store and bank files) and are not recorded.

    python -m bench.webhook_latency                  # 300 queued jobs, 50 posts each way; ~10 s
    python -m bench.webhook_latency --queued 3000 --repeats 100

Writes `<out>/webhook_latency.json` and `webhook_latency.md` (default out: bench/results/).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench.publish import RESULTS_DIR, publish_run
from bench.service import running_service
from bench.timing import Stats, measure, ratio

__all__ = ["markdown", "measure_webhook"]

EVENT_FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "ls" / "webhook_annotation_created.json"
"""A captured Label Studio 1.23 ANNOTATION_CREATED body (three boxes on one task)."""
DEFAULT_QUEUED = 300
DEFAULT_REPEATS = 50
WARMUP_POSTS = 3
LABEL_STUDIO_WEBHOOK_TIMEOUT_S = 1.0
"""Label Studio gives a webhook this long before it gives up (no retry)."""


def _post(service, event: dict) -> None:
    answer = service.request("POST", "/webhook", event)
    if answer.status_code != 200:
        raise SystemExit(f"/webhook answered HTTP {answer.status_code}: {answer.text[:300]}")


def measure_webhook(queued: int, repeats: int) -> dict:
    """Webhook wall times (seconds, client side, over HTTP on loopback) idle and with `queued` jobs waiting.

    Returns {"idle": Stats dict, "busy": Stats dict, "busy_over_idle": ratio of medians, "queued": count,
    "queue_after": jobs still queued (no worker runs, so it must equal `queued`)}.
    """
    from common.queues import QueueName, make_queue

    event = json.loads(EVENT_FIXTURE.read_text())
    with running_service("webhook-latency-", {}) as service:
        idle = measure(lambda _: _post(service, event), warmup=WARMUP_POSTS, repeats=repeats)
        queue = make_queue(QueueName.INTERACTIVE, service.connection)
        for index in range(queued):
            queue.enqueue_call("worker.jobs.interactive_job", args=({"n": index},))
        busy = measure(lambda _: _post(service, event), warmup=0, repeats=repeats)
        queue_after = queue.count
    return {"queued": queued, "queue_after": queue_after, "idle": idle.to_dict(5), "busy": busy.to_dict(5),
            "busy_over_idle": ratio(busy.median, idle.median),
            "label_studio_timeout_s": LABEL_STUDIO_WEBHOOK_TIMEOUT_S}


def markdown(report: dict) -> str:
    idle, busy = (Stats(r["median"], r["min"], r["max"], r["n"]) for r in (report["idle"], report["busy"]))
    share = ratio(busy.high, report["label_studio_timeout_s"])
    return ("| queue | /webhook ms, median (min-max) | posts |\n|---|---|---|\n"
            f"| empty | {idle.ms()} | {idle.count} |\n"
            f"| {report['queued']} interactive jobs waiting | {busy.ms()} | {busy.count} |\n\n"
            f"Busy / idle (medians): {report['busy_over_idle']:.2f}. The slowest busy post used "
            f"{100 * share:.1f}% of Label Studio's {report['label_studio_timeout_s']:g} s webhook timeout.\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.webhook_latency", description=__doc__.splitlines()[0])
    parser.add_argument("--queued", type=int, default=DEFAULT_QUEUED, help="interactive jobs waiting when busy")
    parser.add_argument("--repeats", type=int, default=DEFAULT_REPEATS, help="recorded posts each way")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    if args.queued < 1 or args.repeats < 1:
        raise SystemExit("--queued and --repeats must be at least 1")
    report = measure_webhook(args.queued, args.repeats)
    publish_run(report, markdown(report), args.out, "webhook_latency")
    return 0


if __name__ == "__main__":
    sys.exit(main())
