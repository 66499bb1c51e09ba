"""MODEL_PRECISION: auto picks bfloat16 only where the CPU computes it natively; bad values are refused."""

from __future__ import annotations

import pytest

from common.exceptions import SettingsError
from common.settings import Settings
from worker.runtime import cpu_flags, resolve_precision


def test_auto_needs_bf16_cpu_features():
    assert resolve_precision("auto", frozenset({"avx2", "amx_bf16"})) == "bfloat16"
    assert resolve_precision("auto", frozenset({"avx512f", "avx512_bf16"})) == "bfloat16"
    assert resolve_precision("auto", frozenset({"avx2", "avx512f"})) == "float32"
    assert resolve_precision("float32", frozenset({"amx_bf16"})) == "float32"
    assert resolve_precision("bfloat16", frozenset()) == "bfloat16"
    assert resolve_precision("auto", frozenset({"amx_bf16"}), gpu=True) == "float32"  # unmeasured on GPUs


def test_cpu_flags_reads_the_first_flags_line(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse2 amx_bf16\n\nprocessor\t: 1\nflags\t\t: fpu\n")
    assert cpu_flags(info) == frozenset({"fpu", "sse2", "amx_bf16"})
    assert cpu_flags(tmp_path / "missing") == frozenset()


def test_model_precision_setting():
    assert Settings.from_env({}).model_precision == "auto"
    assert Settings.from_env({"MODEL_PRECISION": "auto"}).model_precision == "auto"
    with pytest.raises(SettingsError, match="MODEL_PRECISION"):
        Settings.from_env({"MODEL_PRECISION": "fp8"})
