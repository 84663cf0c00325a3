# nbgrader looks for its configuration here, at the course root; the
# configuration itself lives in grader/nbgrader_config.py.
from pathlib import Path

load_subconfig(str(Path(__file__).resolve().parent / "grader" / "nbgrader_config.py"))  # noqa: F821
