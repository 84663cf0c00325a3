"""One module per chapter (``chNN.py``), each holding the judges of its graded test cells
(see :mod:`grader.judge`). A judge's inputs are secret; its messages say what was expected,
in words, and never quote them."""

TWIN_MODULES = ("dlcourse", "d2l.torch")


def twins(*names: str, why: str = "") -> dict[str, str]:
    """The helper packages' versions of ``names`` as forbidden functions: an answer must be
    the student's own code, not a call to the course's or the book's copy."""
    out = {}
    for name in names:
        for module in TWIN_MODULES:
            out[f"{module}.{name}"] = why or (f"the answer calls {module.split('.')[0]}'s own {name}: "
                                              "write it yourself")
    return out


# Stands in for the Animator in a probe: keeps every add(x, y) as floats.
RECORDER = '''
class Recorder:
    """Stands in for the Animator: keeps every add(x, y) as floats."""
    def __init__(self):
        self.calls = []
    def add(self, x, y):
        ys = y if isinstance(y, (list, tuple)) else [y]
        self.calls.append((float(x), [float(v) for v in ys]))
'''
