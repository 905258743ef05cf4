"""`pip install .` ships templates, workflows and etc, and the app runs from the installed
package, away from the source tree."""
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

CHECK = r"""
import os, sys
import registry
from registry import paths
assert "site-packages" in registry.__file__, registry.__file__
for name in ("templates", "workflows", "etc"):
    assert str(paths.shipped(name)).startswith(os.path.dirname(registry.__file__)), name
assert (paths.shipped("templates") / "layout.pt").is_file()
assert (paths.shipped("etc") / "development.ini").is_file()
from webtest import TestApp
app = registry.main({}, **{"registry.data_dir": sys.argv[1],
                           "registry.session_secret": "packaging-test-secret"})
page = TestApp(app).get("/@@login")
assert "Нэвтрэх" in page.text, page.text[:500]
assert TestApp(app).get("/static/registry.css").status_int == 200
print("installed app OK")
"""


@pytest.mark.slow
def test_wheel_installs_and_serves_from_site_packages(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                    "-q", "-w", str(wheels), str(ROOT)], check=True, cwd=tmp_path)
    wheel = next(wheels.glob("registry-*.whl"))
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                    "--no-deps", str(wheel)], check=True)
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    result = subprocess.run([str(python), "-c", CHECK, str(workdir / "var")], cwd=workdir,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "installed app OK" in result.stdout
    # The console script works from the installed package with its packaged ini.
    registry = env_dir / "bin" / "registry"
    init = subprocess.run([str(registry), "init"], cwd=workdir, capture_output=True, text=True)
    assert init.returncode == 0, init.stderr
    assert (workdir / "var" / "Data.fs").exists()
