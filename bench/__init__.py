"""Benchmarks, run on demand (`python -m bench`): interactive latency, throughput, memory, growth, training.

Never run in CI as timed tests; `tests/bench/` only checks that the helpers compute the right statistics and that
a `tiny` smoke run produces a complete report. Module map:

| module | what |
|---|---|
| `timing` | `Stats` (median, min-max), `measure`, `Deadline`, `Accumulator`, `ratio` |
| `plan` | `Plan.full()` / `Plan.smoke()`: presets, sizes, precisions, repeats, budget |
| `scenes` | synthetic images with N copies of an object |
| `models` | predictors (the shipped checkpoint, else seeded random; float32 or bfloat16) and their checkpoints |
| `service` | embedded Redis + gunicorn backend + `python -m worker` (explicit MODEL_PRECISION) |
| `model_latency` | direct in-process calls with a stage breakdown |
| `end_to_end` | interactive latency over HTTP, cold and warm, with the ratios |
| `throughput` | batch images per second with 1 and 2 workers |
| `memory` | RSS of processes, the memory section |
| `scaling` | cost against image size, instances and reference boxes; the plot |
| `training` | seconds per training step |
| `probe` | one measurement in a fresh process |
| `machine`, `report`, `runner` | machine description, JSON/Markdown, running a plan |
"""
