"""The environment: pip and conda name the same pins, d2l loads without its stale pins."""
from __future__ import annotations

import importlib
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def canonical(name: str) -> str:
    """A distribution's name as pip compares it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lines):
    out = {}
    for line in lines:
        line = line.split("#", 1)[0].strip().lstrip("- ").strip()
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        if m:
            out[canonical(m.group(1))] = m.group(2)
    return out


def test_pip_and_conda_name_the_same_packages_and_versions():
    pip = pins((ROOT / "requirements.txt").read_text().splitlines())
    env = (ROOT / "environment.yml").read_text()
    conda = pins(env.split("- pip:", 1)[1].splitlines())
    assert pip and pip == conda
    assert "python=3.11" in env


def test_installed_versions_are_the_pinned_ones():
    from importlib.metadata import version
    pip = pins((ROOT / "requirements.txt").read_text().splitlines())
    wrong = {name: (want, version(name)) for name, want in pip.items() if version(name) != want}
    assert not wrong, f"installed versions differ from requirements.txt: {wrong}"


def test_every_installed_distribution_is_the_locked_one():
    """constraints.txt locks the whole environment (indirect dependencies, pip and setuptools
    too); requirements.txt's pins and d2l's agree with it, and what is installed is exactly it."""
    from importlib.metadata import distributions
    lock = pins((ROOT / "constraints.txt").read_text().splitlines())
    assert len(lock) > 100, "constraints.txt locks almost nothing"
    for source in ("requirements.txt", "requirements-d2l.txt"):
        for name, want in pins((ROOT / source).read_text().splitlines()).items():
            assert lock.get(name) == want, f"{source} pins {name}=={want}, constraints.txt " \
                f"says {lock.get(name)}: run `make lock`"
    # the environment's own site-packages only: once setuptools is imported, the copies it
    # vendors (setuptools/_vendor) are on sys.path too, and they are not installed packages
    site = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    installed = {canonical(d.metadata["Name"]): d.version for d in distributions(path=site)}
    installed.pop("dlcourse")  # the course itself, installed from this checkout
    extra = {n: v for n, v in installed.items() if lock.get(n) != v}
    missing = {n: v for n, v in lock.items() if n not in installed}
    assert not extra and not missing, (f"installed but not locked (or at another version): {extra}; "
                                       f"locked but not installed: {missing}. Run `make lock` "
                                       "after changing requirements.txt, or rebuild .venv")


def test_d2l_is_installed_without_its_pins_and_loads():
    d2l_pin = pins((ROOT / "requirements-d2l.txt").read_text().splitlines())
    assert d2l_pin == {"d2l": "1.0.3"}
    proc = subprocess.run([sys.executable, "-c", "from d2l import torch as d2l; "
                           "print(all(hasattr(d2l, n) for n in ('Animator', 'Timer', 'Accumulator', "
                           "'synthetic_data', 'linreg', 'squared_loss', 'sgd', 'load_array', 'try_gpu')))"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "True"


def test_what_d2l_imports_at_load_time_is_declared():
    """d2l.torch imports these at module load; each must be pinned in requirements.txt."""
    pip = pins((ROOT / "requirements.txt").read_text().splitlines())
    for module, package in [("numpy", "numpy"), ("pandas", "pandas"), ("scipy", "scipy"),
                            ("requests", "requests"), ("matplotlib_inline", "matplotlib-inline"),
                            ("torchvision", "torchvision"), ("PIL", "pillow"),
                            ("matplotlib", "matplotlib"), ("IPython", "ipykernel")]:
        importlib.import_module(module)
        assert package in pip, f"{package} (imported by d2l as {module}) is not declared"


def test_the_helpers_public_surface_fits_on_a_screen():
    import dlcourse
    assert len(dlcourse.__all__) <= 30
    for name in dlcourse.__all__:
        assert getattr(dlcourse, name).__doc__, f"dlcourse.{name} has no docstring"
