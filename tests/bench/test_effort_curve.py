"""bench.effort_curve's table: one row per k, both modes, the gate's verdict."""

from bench.effort_curve import markdown


def test_markdown_has_one_row_per_k_with_both_modes():
    row = {"effort": 0.9, "errors_per_instance": 0.5, "recall": 0.75, "precision": None}
    report = {"measured": "2026-12-04T00:00:00Z", "checkpoint": "ck", "datasets": {"toy": [
        {"k": 0, "threshold": 0.5, "interactive": row},
        {"k": 2, "threshold": 0.95, "interactive": row, "bank": row, "steps": 80, "finetune_seconds": 100.0,
         "gate": False},
    ]}}
    lines = markdown(report).splitlines()
    assert "## toy" in lines
    rows = [line for line in lines if line.startswith("| 0 ") or line.startswith("| 2 ")]
    assert rows[0].startswith("| 0 | 0.5 | 0.90 | 0.50 | 75% | – | – |")
    assert rows[1].endswith("| 80 | 100.0 | refused |") and "| 0.50 | 75% | – | 80" in rows[1]
