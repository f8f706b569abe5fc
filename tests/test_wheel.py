"""The built wheel installs into a fresh venv and runs the demo from there."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_installs_in_a_fresh_venv_and_runs_the_demo(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
    )
    wheel = next(dist.glob("agentorch-*.whl"))
    import agentorch

    assert wheel.name.startswith(f"agentorch-{agentorch.__version__}-")  # one version string
    with zipfile.ZipFile(wheel) as whl:
        assert "agentorch/py.typed" in whl.namelist()  # type checkers read the inline types
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    subprocess.run(
        [str(py), "-m", "pip", "install", "-q", str(wheel)], check=True, capture_output=True, timeout=900
    )
    # run from an empty directory so nothing from the checkout can be imported
    out = subprocess.run(
        [str(env_dir / "bin" / "agentorch"), "demo", "--plain", "--latency", "0"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "final status=completed" in out.stdout
    files = subprocess.run(
        [
            str(py),
            "-c",
            "import agentorch.prompts as p, agentorch.graphs.research as r;"
            "print(p.load('planner')[:20]); print(r.__file__)",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "You are the planner" in files and "site-packages/agentorch/graphs" in files
