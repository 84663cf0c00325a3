"""The course in JupyterLab, in a real browser (Debian's chromium, driven by Playwright).

A student opens chapter 1 (the other exercises already answered), runs all cells
and meets the unanswered exercise; types its solution and sees the visible test
pass; runs everything again and watches the live training plot update in place;
saves and validates with nbgrader's button. Then an explorer (chapters 5-7):
moving a slider retrains and redraws. Screenshots and the browser console log
go to test-artifacts/browser/; with DLCOURSE_UPDATE_DOCS=1 the screenshots used
by the README are also written, compressed, to docs/img/.

The tests in this file run in order and share one browser page.
"""
from __future__ import annotations

import io
import os
import re

import nbformat
import pytest

from course_notebooks import ROOT, answers, explorer_notebook, fill_in

CHAPTER = "01-linear-regression"
TYPED = "ex1-synthetic-data"          # the exercise the test types in
RUN_TIMEOUT = 240_000                 # ms: Run All on 2 loaded cores
VALIDATE_TIMEOUT = 300_000            # ms: nbgrader validate runs the whole notebook again
EXPLORER_CHAPTERS = ["05-model-selection", "06-weight-decay", "07-dropout"]

# A stand-in for Colab's badge image (the test runs offline).
BADGE_SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="117" height="20">'
             '<rect width="117" height="20" rx="3" fill="#555"/><rect x="20" width="97" height="20" rx="3" '
             'fill="#f9ab00"/><text x="68" y="14" font-family="Verdana" font-size="11" fill="#fff" '
             'text-anchor="middle">Open in Colab</text><circle cx="10" cy="10" r="5" fill="#f9ab00"/></svg>')

# ---------------------------------------------------------------------------- page helpers

PANEL = "window.jupyterapp.shell.currentWidget"

JS_CELL_INDEX = f"""([key, value]) => {PANEL}.content.widgets.findIndex(c =>
    key === 'grade_id' ? (c.model.getMetadata('nbgrader') || {{}}).grade_id === value
  : key === 'tag' ? (c.model.getMetadata('tags') || []).includes(value)
  : c.model.sharedModel.getSource().includes(value))"""

JS_CELL = f"""(i) => {{
  const c = {PANEL}.content.widgets[i];
  return {{count: c.model.executionCount ?? null, outputs: c.model.outputs ? c.model.outputs.toJSON() : [],
          source: c.model.sharedModel.getSource()}};
}}"""

JS_KERNEL_IDLE = f"""() => {{
  const p = {PANEL};
  const k = p && p.sessionContext && p.sessionContext.session && p.sessionContext.session.kernel;
  return !!k && k.status === 'idle' && !p.content.widgets.some(c =>
      c.model.type === 'code' && (c.node.querySelector('.jp-InputPrompt') || {{}}).textContent === '[*]:');
}}"""

# Every <img> src seen in each cell's outputs, over time: the Animator's in-place updates.
JS_WATCH_IMAGES = f"""() => {{
  const nb = {PANEL}.content;
  window.__srcs = {{}};
  const record = () => nb.widgets.forEach((c, i) => c.node.querySelectorAll('.jp-OutputArea-output img')
      .forEach(img => {{ (window.__srcs[i] = window.__srcs[i] || new Set()).add(img.src); }}));
  window.__watch = new MutationObserver(record);
  window.__watch.observe(nb.node, {{subtree: true, childList: true, attributes: true, attributeFilter: ['src']}});
}}"""


def cell_index(page, key: str, value: str) -> int:
    i = page.evaluate(JS_CELL_INDEX, [key, value])
    assert i >= 0, f"no cell with {key} {value!r} in the open notebook"
    return i


def cell(page, i: int) -> dict:
    return page.evaluate(JS_CELL, i)


def text_of(outputs: list[dict]) -> str:
    parts = []
    for o in outputs:
        if o["output_type"] == "stream":
            parts.append(o["text"] if isinstance(o["text"], str) else "".join(o["text"]))
        elif o["output_type"] == "error":
            parts.append(f"{o['ename']}: {o['evalue']}")
        else:
            plain = o.get("data", {}).get("text/plain", "")
            parts.append(plain if isinstance(plain, str) else "".join(plain))
    return "\n".join(parts)


def errors(outputs: list[dict]) -> list[dict]:
    return [o for o in outputs if o["output_type"] == "error"]


def open_notebook(page, lab, path: str) -> None:
    page.goto(lab.url(path) + "&reset")
    page.wait_for_function(f"""() => {{
        const p = window.jupyterapp && {PANEL};
        return p && p.content && p.content.widgets && p.content.widgets.length > 0 && p.context
            && p.context.isReady && p.context.path.endsWith({path.rsplit('/', 1)[-1]!r});
    }}""", timeout=120_000)
    page.wait_for_function(JS_KERNEL_IDLE, timeout=120_000)


def type_into(page, i: int, code: str) -> None:
    """Click into cell ``i``'s editor, select all and type ``code``, as a person would."""
    editor = page.evaluate_handle(f"(i) => {PANEL}.content.widgets[i].node.querySelector('.cm-content')",
                                  i).as_element()
    editor.scroll_into_view_if_needed()
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(code)
    page.wait_for_function(f"([i, s]) => {PANEL}.content.widgets[i].model.sharedModel.getSource() === s",
                           arg=[i, code], timeout=10_000)


def menu(page, top: str, item: str) -> None:
    """Click a menu bar item, then one of its entries, as a person would."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{top}$")).click()
    page.locator(".lm-Menu-item:not(.lm-mod-disabled) .lm-Menu-itemLabel",
                 has_text=re.compile(f"^{item}$")).first.click()


def run_all(page) -> None:
    menu(page, "Run", "Run All Cells")


def wait_idle(page, timeout: int = RUN_TIMEOUT) -> None:
    page.wait_for_function(JS_KERNEL_IDLE, timeout=timeout)


def screenshot(page, artifacts, name: str, element=None, clip=None, docs: bool = False) -> None:
    """Save a screenshot as a test artifact; with DLCOURSE_UPDATE_DOCS=1 those the README
    shows (``docs``) are also written, small (128 colours), to docs/img/."""
    png = element.screenshot() if element is not None else page.screenshot(clip=clip)
    (artifacts / f"{name}.png").write_bytes(png)
    if docs and os.environ.get("DLCOURSE_UPDATE_DOCS") == "1":
        from PIL import Image
        img = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
        target = ROOT / "docs" / "img" / f"{name}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        img.save(target, optimize=True)
        assert target.stat().st_size < 200_000, f"{target.name} is too large for the README"


def new_page(browser, console: list[str]):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(60_000)

    def offline(route):
        url = route.request.url
        if url.startswith("https://colab.research.google.com/assets/colab-badge.svg"):
            route.fulfill(status=200, content_type="image/svg+xml", body=BADGE_SVG)
        elif url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")):
            route.continue_()
        else:
            route.abort()
    page.route("**/*", offline)
    page.on("console", lambda m: console.append(f"console.{m.type}: {m.text} @ {m.location.get('url', '')}"))
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    return context, page


# ---------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def console() -> list[str]:
    return []


@pytest.fixture(scope="module")
def page(lab, browser, console, artifacts):
    """Chapter 1 as a student who answered every exercise but one, open in JupyterLab."""
    path = lab.root / "notebooks" / CHAPTER / f"{CHAPTER}.ipynb"
    nb = fill_in(nbformat.read(path, as_version=4), CHAPTER, skip={TYPED})
    nbformat.write(nb, path)
    context, page = new_page(browser, console)
    open_notebook(page, lab, f"notebooks/{CHAPTER}/{CHAPTER}.ipynb")
    yield page
    (artifacts / "console.log").write_text("\n".join(console) + "\n")
    context.close()


# ---------------------------------------------------------------------------- chapter 1

def test_run_all_stops_at_the_unanswered_exercise(page, artifacts):
    first_code = cell(page, cell_index(page, "tag", "setup"))
    assert first_code["source"].startswith("# Course setup (added by the build)")
    run_all(page)
    tests = cell_index(page, "grade_id", f"{TYPED}-tests")
    page.wait_for_function(f"""(i) => {PANEL}.content.widgets[i].model.outputs.toJSON()
        .some(o => o.output_type === 'error')""", arg=tests, timeout=RUN_TIMEOUT)
    wait_idle(page)
    setup = cell(page, cell_index(page, "tag", "setup"))
    assert re.search(r"Training on cpu|Training on cuda", text_of(setup["outputs"])), setup["outputs"]
    assert "Installing" not in text_of(setup["outputs"]), "the course environment needs no pip install"
    err = errors(cell(page, tests)["outputs"])
    assert err and err[0]["ename"] == "NotImplementedError", err
    page.locator(".jp-Notebook .jp-Cell").nth(0).scroll_into_view_if_needed()
    screenshot(page, artifacts, "jupyterlab-notebook-top", docs=True)


def test_typing_a_solution_makes_its_visible_test_pass(page, artifacts):
    solution_cell = cell_index(page, "grade_id", TYPED)
    tests = cell_index(page, "grade_id", f"{TYPED}-tests")
    before = cell(page, tests)["count"]
    type_into(page, solution_cell, answers(CHAPTER)[TYPED])
    page.keyboard.press("Shift+Enter")     # run the solution cell, select the test cell
    page.keyboard.press("Shift+Enter")     # run the test cell
    page.wait_for_function(f"([i, n]) => (({PANEL}.content.widgets[i].model.executionCount) || 0) > n",
                           arg=[tests, before or 0], timeout=RUN_TIMEOUT)
    wait_idle(page)
    result = cell(page, tests)
    assert not errors(result["outputs"]), f"the visible test failed: {text_of(result['outputs'])}"
    screenshot(page, artifacts, "jupyterlab-exercise",
               element=page.evaluate_handle(f"(i) => {PANEL}.content.widgets[i].node", solution_cell).as_element())


def test_run_all_shows_the_live_plot_updating_in_place(page, artifacts):
    page.evaluate(JS_WATCH_IMAGES)
    selfcheck = cell_index(page, "tag", "selfcheck")
    run_all(page)
    page.wait_for_function(f"""(i) => {PANEL}.content.widgets[i].model.outputs.toJSON()
        .some(o => JSON.stringify(o).includes('Self-check'))""", arg=selfcheck, timeout=RUN_TIMEOUT)
    wait_idle(page)
    failed = {}
    n = page.evaluate(f"() => {PANEL}.content.widgets.length")
    for i in range(n):
        c = cell(page, i)
        if errors(c["outputs"]):
            failed[i] = text_of(c["outputs"])[-300:]
    assert not failed, f"cells failed after Run All: {failed}"

    report = text_of(cell(page, selfcheck)["outputs"])
    assert re.search(r"(\d+) of \1 exercises pass", report), report
    assert "AssertionError" not in report and "Traceback" not in report

    seen = page.evaluate("() => Object.fromEntries(Object.entries(window.__srcs).map(([i, s]) => [i, s.size]))")
    page.evaluate("() => window.__watch.disconnect()")
    training = [i for i in range(n) if "dlcourse.Animator(" in cell(page, i)["source"]]
    assert training, "chapter 1 has no training cell with an Animator"
    for i in training:
        images = page.evaluate(f"(i) => {PANEL}.content.widgets[i].node"
                               ".querySelectorAll('.jp-OutputArea-output img').length", i)
        assert images == 1, f"cell {i}: {images} images; the Animator should keep one display"
        assert seen.get(str(i), 0) >= 2, \
            f"cell {i}: the plot was drawn {seen.get(str(i), 0)} time(s); it should update in place"
    plot = page.evaluate_handle(f"(i) => {PANEL}.content.widgets[i].node", training[0]).as_element()
    plot.scroll_into_view_if_needed()
    page.evaluate(f"(i) => {PANEL}.content.widgets[i].node.scrollIntoView({{block: 'start'}})", training[0] - 1)
    screenshot(page, artifacts, "jupyterlab-animator")
    # the README's picture: the training cell's code and its plot
    box = plot.bounding_box()
    img = page.evaluate_handle(f"(i) => {PANEL}.content.widgets[i].node"
                               ".querySelector('.jp-OutputArea-output img')", training[0]).as_element().bounding_box()
    screenshot(page, artifacts, "jupyterlab-live-plot", docs=True, clip={
        "x": box["x"], "y": box["y"], "width": box["width"], "height": img["y"] + img["height"] + 2 - box["y"]})
    screenshot(page, artifacts, "jupyterlab-selfcheck", docs=True,
               element=page.evaluate_handle(f"(i) => {PANEL}.content.widgets[i].node", selfcheck).as_element())


def test_nbgrader_validate_button_validates_the_notebook(page, artifacts):
    button = page.locator(".jp-NotebookPanel-toolbar .validate-button")
    assert button.count() == 1, "nbgrader's Validate button is missing from the notebook toolbar"
    button.click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator(".jp-Dialog-header", has_text="Validat").wait_for(timeout=VALIDATE_TIMEOUT)
    body = dialog.locator(".jp-Dialog-body").inner_text()
    screenshot(page, artifacts, "jupyterlab-validate", docs=True, element=dialog.locator(".jp-Dialog-content"))
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    assert "Success! Your notebook passes all the tests." in body, body


def test_nbgrader_assignment_list_opens(page):
    menu(page, "Nbgrader", "Assignment List")
    panel = page.locator("#nbgrader-assignment-list")
    panel.wait_for(state="visible")
    panel.get_by_text("Released assignments").first.wait_for()
    text = panel.inner_text()
    assert "error" not in text.lower(), text


def test_no_extension_error_in_the_browser_console_or_the_server_log(page, console, lab):
    errors = [m for m in console if m.startswith(("console.error", "pageerror"))]
    # requests to other hosts are aborted on purpose (the test runs offline): not ours
    ours = [m for m in errors if not re.search(r"@ (?:https?|wss?)://(?!127\.0\.0\.1)", m)]
    assert not ours, "errors in the browser console:\n" + "\n".join(ours[:20])
    server = [l for l in lab.log.read_text(errors="replace").splitlines()
              if re.match(r"\[E ", l) or "Traceback" in l]
    assert not server, "errors in the JupyterLab log:\n" + "\n".join(server[:20])


# ---------------------------------------------------------------------------- an explorer

def test_moving_an_explorer_slider_redraws_the_plot(lab, browser, artifacts, console):
    chapter = next((c for c in EXPLORER_CHAPTERS if (ROOT / "solutions" / c / f"{c}.ipynb").is_file()
                    and explorer_notebook(c) is not None), None)
    if chapter is None:
        pytest.skip("no chapter 5-7 with an explorer yet")
    path = f"explore-{chapter}.ipynb"
    nbformat.write(explorer_notebook(chapter), lab.root / path)
    context, page = new_page(browser, console)
    try:
        open_notebook(page, lab, path)
        run_all(page)
        widget = page.locator(".dlcourse-explorer")
        image = widget.locator("img").first
        image.wait_for(timeout=RUN_TIMEOUT)
        wait_idle(page)
        page.wait_for_function("(el) => el.src && el.complete", arg=image.element_handle())
        before = image.get_attribute("src")
        handle = widget.locator(".noUi-handle").first
        handle.scroll_into_view_if_needed()
        handle.focus()
        page.keyboard.press("ArrowRight")
        page.wait_for_function("([el, src]) => el.src !== src", arg=[image.element_handle(), before],
                               timeout=RUN_TIMEOUT)
        wait_idle(page)
        assert widget.locator("img").count() == 1
        screenshot(page, artifacts, "jupyterlab-explorer", docs=True, element=widget.first)
        assert not [m for m in console if m.startswith("pageerror")], console
    finally:
        context.close()
