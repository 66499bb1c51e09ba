"""Benchmarks, run on demand: `python -m bench` (the full run) and `python -m bench.<name>` (one question each).

Never run in CI as timed tests; `tests/bench/` only checks that the helpers compute the right statistics and that
a `tiny` smoke run produces a complete report. Results and what they mean: docs/benchmarks.md. Module map:

| module | what |
|---|---|
| **the full run** (`python -m bench`, `runner` runs the families of a `plan`) | |
| `end_to_end` | interactive latency over HTTP, cold and warm, beside the direct call, with the ratios |
| `model_latency` | the direct in-process call with a stage breakdown (`DirectPipeline`) |
| `throughput` | batch images per second with 1 and 2 workers (`BatchRounds`) |
| `memory` | RSS of processes, the memory section |
| `scaling` | cost against image size, instances and reference boxes; the plot |
| `training` | seconds per training step |
| **stand-alone benchmarks** (`python -m bench.<name> --help`) | |
| `answer_building` | building an answer outside the model: COCO RLE, regions, JSON (no model) |
| `batch_norm_folding` | the predictor with and without BatchNormalization folded |
| `photo_latency` | 12-megapixel photos end to end, `DECODE_FACTOR` on and off |
| `worker_threads` | `WORKER_THREADS`: throughput and latency, default vs pinned |
| `train_button` | Label Studio's Train button to a new active version, on the real service |
| `webhook_latency` | `/webhook` with the queues empty and with hundreds of jobs waiting (Label Studio allows 1 s) |
| `learning_curve` | what k accepted images teach the model (fine-tune and evaluate) |
| `effort_curve` | the same in the annotator's effort: the recipe, one box drawn and the bank alone |
| **shared steps** | |
| `service` | start the stack (embedded Redis + gunicorn backend + `python -m worker`) and send requests |
| `timing` | time it: `Stats` (median, min-max), `measure`, `Deadline`, `Accumulator`, `ratio` |
| `publish` | publish it: print the table, `--json` / `--markdown`, the generated block of docs/benchmarks.md |
| `report` | the full run's Markdown and target verdicts (`latest.md`) |
| `plan`, `scenes`, `models`, `probe`, `machine` | what a run measures, synthetic images, benchmark models, one measurement in a fresh process, the machine |
"""
