"""The annotator's flow in the real Label Studio UI, driven by Playwright on Debian's Chromium.

Runs under `.venv-ls/bin/python` (Playwright lives there, not in the project's venv); the pytest side
(`test_e2e_browser.py`) starts it as a subprocess and checks what Label Studio stored through the API.

    .venv-ls/bin/python tests/e2e/browser_flow.py '<json spec>'

The spec names the Label Studio URL, login, project, task, the reference box (image pixels) and its label, and
where to write screenshots. The last line printed is a JSON report: timings, the interactive answer Label Studio
gave the frontend, the suggestion count the UI showed, and the status of the submit request.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 900}
PAGE_TIMEOUT_MS = 60_000
AUTO_ANNOTATION_TOGGLE = "input[data-testid=bottombar-auto-annotation-toggle]"
SMART_TOOL_GROUP = ".lsf-tool_smart"
SMART_RECTANGLE = ".lsf-tool_smart[aria-label=rectangle-tool]"
LABEL_BUTTON = ".lsf-label"
SUGGESTION_COUNT = ".lsf-auto-accept__info"
ACCEPT_SUGGESTIONS = "[data-testid=bottombar-accept-suggestions-button]"
SUBMIT = "button[aria-label='Submit current annotation']"
TASK_IMAGE = "img[src^='blob:']"
DRAG_STEPS = 12


def log(message: str) -> None:
    print(f"[browser] {message}", file=sys.stderr, flush=True)


def login(page: Page, url: str, user: str, password: str) -> None:
    page.goto(f"{url}/user/login/")
    page.fill("input[name=email]", user)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/(projects|)/?$"), timeout=PAGE_TIMEOUT_MS)


def draw_rectangle(page: Page, box: list[float], natural_size: list[int]) -> None:
    """Drag the mouse over `box` (x1, y1, x2, y2 in image pixels) on the displayed image."""
    shown = page.locator(TASK_IMAGE).bounding_box()
    if shown is None:
        raise RuntimeError("the task image is not displayed")
    scale_x, scale_y = shown["width"] / natural_size[0], shown["height"] / natural_size[1]
    x1, y1 = shown["x"] + box[0] * scale_x, shown["y"] + box[1] * scale_y
    x2, y2 = shown["x"] + box[2] * scale_x, shown["y"] + box[3] * scale_y
    page.mouse.move(x1, y1)
    page.mouse.down()
    page.mouse.move((x1 + x2) / 2, (y1 + y2) / 2, steps=DRAG_STEPS)
    page.mouse.move(x2, y2, steps=DRAG_STEPS)
    page.mouse.up()


def run(spec: dict) -> dict:
    out = Path(spec["screenshots"])
    out.mkdir(parents=True, exist_ok=True)
    prefix = spec.get("name", "browser")
    timings: dict[str, float] = {}
    report: dict = {"timings": timings}
    started = time.monotonic()

    def mark(step: str) -> None:
        timings[step] = round(time.monotonic() - started, 2)
        log(f"{step} at {timings[step]} s")

    with tempfile.TemporaryDirectory(prefix="e2e-chromium-") as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport=VIEWPORT,
        )
        page = context.new_page()
        page.set_default_timeout(PAGE_TIMEOUT_MS)
        console_errors: list[str] = []
        page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
        try:
            login(page, spec["url"], spec["user"], spec["password"])
            mark("logged_in")
            page.goto(f"{spec['url']}/projects/{spec['project']}/data?task={spec['task']}")
            page.locator(TASK_IMAGE).wait_for(state="visible")
            page.wait_for_function(
                "sel => { const i = document.querySelector(sel); return i && i.complete && i.naturalWidth > 0; }",
                arg=TASK_IMAGE,
            )
            mark("task_open")
            page.screenshot(path=out / f"{prefix}-1-task.png")

            if not page.locator(AUTO_ANNOTATION_TOGGLE).is_checked():
                page.get_by_text("Auto-Annotation", exact=True).click()
            page.locator(SMART_TOOL_GROUP).first.wait_for(state="visible")
            page.locator(SMART_TOOL_GROUP).first.click()
            if page.locator(SMART_RECTANGLE).count():
                page.locator(SMART_RECTANGLE).first.click()
            page.locator(LABEL_BUTTON, has_text=spec["label"]).first.click()
            mark("smart_tool_ready")

            with page.expect_response(
                lambda r: "/interactive-annotating" in r.url and r.request.method == "POST",
                timeout=spec.get("suggestion_timeout_ms", 120_000),
            ) as answer:
                draw_rectangle(page, spec["box"], spec["natural_size"])
            report["interactive_request"] = answer.value.request.post_data_json
            report["interactive_response"] = answer.value.json()
            mark("interactive_answered")
            counter = page.locator(SUGGESTION_COUNT)
            counter.wait_for(state="visible")
            report["suggestions_shown"] = counter.inner_text().strip()
            page.screenshot(path=out / f"{prefix}-2-suggestions.png")
            mark("suggestions_shown")

            page.locator(ACCEPT_SUGGESTIONS).click()
            counter.wait_for(state="hidden")
            mark("accepted")
            page.screenshot(path=out / f"{prefix}-3-accepted.png")

            with page.expect_response(
                lambda r: re.search(r"/api/tasks/\d+/annotations", r.url) is not None
                and r.request.method == "POST"
            ) as submitted:
                page.locator(SUBMIT).click()
            report["submit_status"] = submitted.value.status
            report["annotation"] = submitted.value.json()
            mark("submitted")
            page.wait_for_timeout(500)
            page.screenshot(path=out / f"{prefix}-4-submitted.png")
        except Exception as exc:
            page.screenshot(path=out / f"{prefix}-failure.png")
            report["error"] = f"{type(exc).__name__}: {exc}"
        finally:
            report["console_errors"] = console_errors[-20:]
            context.close()
    return report


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    report = run(json.loads(sys.argv[1]))
    print(json.dumps(report))
    return 1 if "error" in report else 0


if __name__ == "__main__":
    sys.exit(main())
