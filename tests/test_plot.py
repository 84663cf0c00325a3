"""The Animator: keeps its points, updates one display in place, one figure when headless."""
from __future__ import annotations

import nbformat
from jupyter_client.manager import start_new_kernel
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

import dlcourse

ANIMATE = """
import dlcourse
anim = dlcourse.Animator(xlabel="epoch", legend=["a", "b"], min_interval=0)
for i in range(12):
    anim.add(i, (i * 0.1, 1 - i * 0.05))
"""


def test_keeps_points_outside_a_kernel():
    anim = dlcourse.Animator(legend=["loss", "acc"])
    for i in range(5):
        anim.add(i + 1, (1 / (i + 1), i / 5))
    assert anim.X == [[1, 2, 3, 4, 5]] * 2
    assert anim.Y[0][-1] == 0.2 and anim.Y[1][0] == 0.0
    assert anim.png().startswith(b"\x89PNG")


def test_none_values_are_skipped():
    anim = dlcourse.Animator()
    anim.add(1, (0.5, None))
    anim.add(2, (0.4, 0.9))
    assert anim.X == [[1.0, 2.0], [2.0]]


def run_cell_messages(code: str) -> list[dict]:
    """Execute code in a real kernel and return the iopub messages it produced."""
    km, kc = start_new_kernel()
    try:
        msgs = []
        kc.execute(code)
        while True:
            msg = kc.get_iopub_msg(timeout=60)
            msgs.append(msg)
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
        return msgs
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_updates_in_place_without_clearing():
    msgs = run_cell_messages(ANIMATE)
    kinds = [m["msg_type"] for m in msgs]
    assert "error" not in kinds, [m["content"] for m in msgs if m["msg_type"] == "error"]
    displays = [m for m in msgs if m["msg_type"] == "display_data"]
    updates = [m for m in msgs if m["msg_type"] == "update_display_data"]
    assert len(displays) == 1, "one figure is displayed"
    assert len(updates) == 11, "every later point updates that same display"
    display_id = displays[0]["content"]["transient"]["display_id"]
    assert {u["content"]["transient"]["display_id"] for u in updates} == {display_id}
    assert "clear_output" not in kinds, "clearing the output makes the plot flicker"
    assert "image/png" in displays[0]["content"]["data"]


def test_headless_execution_leaves_one_final_figure():
    nb = new_notebook(cells=[new_code_cell(ANIMATE.replace("min_interval=0", "min_interval=10")),
                             new_code_cell("print(len(anim.X[0]))")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    NotebookClient(nb, timeout=120).execute()
    outputs = nb.cells[0].outputs
    assert len(outputs) == 1 and outputs[0].output_type == "display_data", outputs
    assert nb.cells[1].outputs[0].text.strip() == "12"
    # Throttled to one draw at the start, the final state is still drawn when the cell ends:
    # the stored image is the final figure, not the first one.
    final = dlcourse.Animator(xlabel="epoch", legend=["a", "b"])
    for i in range(12):
        final.add(i, (i * 0.1, 1 - i * 0.05))
    import base64
    stored = base64.b64decode(outputs[0].data["image/png"])
    assert stored == final.png()
