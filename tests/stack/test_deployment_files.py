"""docker-compose.yml and the Dockerfiles, checked by reading them (Docker cannot run on the test machines)."""

from __future__ import annotations

import ast
import re

import yaml

from common.settings import Settings
from stack.services import REPO_ROOT

COMPOSE = REPO_ROOT / "docker-compose.yml"
SETTING_NAMES = {name for name, _, _ in Settings.documentation()}
LABEL_STUDIO_NAMES = {"ML_BLOCK_LOCAL_IP", "SSRF_PROTECTION_ENABLED", "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN",
                      "LOCAL_FILES_SERVING_ENABLED", "LOCAL_FILES_DOCUMENT_ROOT", "ML_TIMEOUT_HEALTH",
                      "ML_TIMEOUT_SETUP", "LABEL_STUDIO_USERNAME", "LABEL_STUDIO_PASSWORD"}
# Import name -> distribution pinned in docker/requirements-backend.txt.
BACKEND_DISTRIBUTIONS = {"flask": "flask", "werkzeug": "flask", "redis": "redis", "rq": "rq", "numpy": "numpy",
                         "cv2": "opencv-python-headless", "pycocotools": "pycocotools", "PIL": "pillow",
                         "label_studio_sdk": "label-studio-sdk", "requests": "requests", "gunicorn": "gunicorn",
                         "orjson": "orjson"}


def _compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def test_compose_has_the_four_services_wired_together():
    services = _compose()["services"]
    assert set(services) == {"redis", "backend", "worker", "label-studio"}
    assert services["label-studio"]["profiles"] == ["label-studio"]
    for name in ("backend", "worker"):
        assert services[name]["environment"]["REDIS_URL"] == "redis://redis:6379/0"
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"
        assert (REPO_ROOT / services[name]["build"]["dockerfile"]).exists()
        assert "container_name" not in services[name]  # `--scale worker=N` needs generated names
    assert services["backend"]["ports"] == ["${BACKEND_PORT:-9090}:9090"]
    (device,) = services["worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]


def test_every_compose_variable_is_a_known_setting_and_is_commented():
    services = _compose()["services"]
    for name in ("backend", "worker"):
        unknown = set(services[name]["environment"]) - SETTING_NAMES
        assert not unknown, f"{name}: {unknown} are not settings in common/settings.py"
    assert set(services["label-studio"]["environment"]) <= LABEL_STUDIO_NAMES
    lines = COMPOSE.read_text().splitlines()
    in_environment = False
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped in ("environment:", "x-assist-env: &assist-env"):
            in_environment = True
            continue
        if in_environment and re.match(r"^[A-Z][A-Z0-9_]*:", stripped):
            above = index - 1
            while re.match(r"^[A-Z][A-Z0-9_]*:", lines[above].strip()):
                above -= 1  # variables of one group share the comment above the group
            assert lines[above].strip().startswith("#"), f"docker-compose.yml:{index + 1} {stripped} has no comment"
        elif in_environment and stripped and not stripped.startswith(("#", "<<:")):
            in_environment = False


def test_cpu_override_resets_the_gpu_reservation():
    class ComposeLoader(yaml.SafeLoader):
        pass

    ComposeLoader.add_constructor("!reset", lambda loader, node: {"!reset": loader.construct_mapping(node)})
    override = yaml.load((REPO_ROOT / "docker" / "compose.cpu.yml").read_text(), Loader=ComposeLoader)
    assert override["services"]["worker"]["deploy"] == {"!reset": {}}


def test_backend_image_has_no_tensorflow_and_covers_every_backend_import():
    pins = dict(line.split("==") for line in (REPO_ROOT / "docker" / "requirements-backend.txt").read_text()
                .splitlines() if "==" in line and not line.startswith("#"))
    assert not {"tensorflow", "tensorflow-cpu", "keras"} & set(pins)
    main_pins = dict(line.split("==") for line in (REPO_ROOT / "requirements.txt").read_text().splitlines()
                     if "==" in line and not line.startswith("#"))
    assert {k: v for k, v in pins.items() if k in main_pins} == {k: main_pins[k] for k in pins if k in main_pins}
    imported = set()
    for folder in ("backend", "common"):
        for path in (REPO_ROOT / folder).glob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    imported |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    imported.add(node.module.split(".")[0])
    third_party = {name for name in imported if name not in {"backend", "common"} and not _is_stdlib(name)}
    assert third_party <= set(BACKEND_DISTRIBUTIONS), third_party - set(BACKEND_DISTRIBUTIONS)
    assert {BACKEND_DISTRIBUTIONS[name] for name in third_party} <= set(pins)
    dockerfile = (REPO_ROOT / "docker" / "backend.Dockerfile").read_text()
    assert "backend.wsgi:create_app_from_env()" in dockerfile and "model/" not in dockerfile


def test_worker_image_installs_gpu_tensorflow_and_the_model():
    dockerfile = (REPO_ROOT / "docker" / "worker.Dockerfile").read_text()
    assert 'TF_PACKAGE="tensorflow[and-cuda]==2.21.0"' in dockerfile
    assert "tensorflow-cpu==2.21.0" in (REPO_ROOT / "requirements.txt").read_text()  # what the sed replaces
    for folder in ("common", "model", "worker"):
        assert f"COPY {folder}/ /app/{folder}/" in dockerfile
    assert "COPY backend/" not in dockerfile  # the worker never imports the HTTP service (tests/common)
    assert "cp -r /context/checkpoints/. /app/checkpoints/" in dockerfile  # optional: weights are not in git
    for name in ("worker", "backend"):
        ignore = (REPO_ROOT / "docker" / f"{name}.Dockerfile.dockerignore").read_text().splitlines()
        assert ignore[1] == "*"  # the context is an allow-list: no .venv, var/ or data in the build context
        copied = re.findall(r"^COPY (\S+) ", (REPO_ROOT / "docker" / f"{name}.Dockerfile").read_text(), re.M)
        assert all(f"!{path}" in ignore for path in copied), (name, copied)
    assert 'CMD ["python", "-m", "worker"]' in dockerfile


def _is_stdlib(name: str) -> bool:
    import sys

    return name in sys.stdlib_module_names or name == "__future__"


def test_docs_document_every_setting_and_the_readme_the_commands():
    configuration = (REPO_ROOT / "docs" / "configuration.md").read_text()
    missing = [name for name in SETTING_NAMES if f"| `{name}` |" not in configuration]
    assert not missing, f"docs/configuration.md lacks {missing}"
    readme = (REPO_ROOT / "README.md").read_text()
    assert "(docs/configuration.md)" in readme
    for command in ("make run", "make test", "python -m worker", "docker compose up --build", 'smart="true"',
                    "backend.wsgi:create_app_from_env()"):
        assert command in readme


def test_compose_file_passes_docker_compose_config_when_a_compose_binary_exists():
    import shutil
    import subprocess

    import pytest

    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose is not installed (apt-get install docker-compose); YAML checks above still ran")
    run = subprocess.run([binary, "-f", str(COMPOSE), "--profile", "label-studio", "config", "--services"],
                         cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert sorted(run.stdout.split()) == ["backend", "label-studio", "redis", "worker"]
