"""grader.inert: stored graded notebooks show the student's text and run none of their code,
checked on the notebook and in Chromium on the page nbgrader's formgrader would serve."""
from __future__ import annotations

import copy
import html
import json
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_output, new_raw_cell

from fixtures import submissions as subs
from grader.inert import make_inert, markdown_problems

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
PLAIN_OUTPUT = "the loss after 3 epochs is 0.0421"
PLAIN_MARKDOWN = r"My answer: the learning rate was too high; $\eta < 0.1$ and $a<b$ work, see `x<y`."


def mark(name: str, where: str = "window") -> str:
    """JavaScript that records ``name`` in ``window.__pwned`` (of ``where``) if it ever runs."""
    return f"({where}.__pwned={where}.__pwned||[]).push('{name}')"


def _html_output(body: str, **extra) -> nbformat.NotebookNode:
    return new_output("display_data", data={"text/html": body, "text/plain": "<HTML object>"},
                      **extra)


# Student content that runs script when rendered as stored. Names of the forms that fire on
# the formgrader's page without grader.inert (the test checks they do, so it can fail).
FIRES = {"html-script", "html-svg-script", "html-img-onerror", "html-svg-onload",
         "html-iframe-srcdoc", "js-display", "js-result", "markdown-output",
         "md-script", "md-script-inline", "md-img-onerror", "md-svg-onload", "md-iframe-srcdoc",
         "md-link", "md-link-entity", "md-autolink"}


def hostile_cells() -> list:
    srcdoc = html.escape(f"<script>{mark('{0}', 'parent')}</script>")
    code = new_code_cell("show_off()", execution_count=3, outputs=[
        new_output("stream", name="stdout", text=PLAIN_OUTPUT + "\n"),
        _html_output(f"<script>{mark('html-script')}</script>"),
        _html_output(f"<svg><script>{mark('html-svg-script')}</script></svg>"),
        _html_output(f'<img src="missing.png" onerror="{mark("html-img-onerror")}">'),
        _html_output(f'<svg onload="{mark("html-svg-onload")}"></svg>'),
        _html_output(f'<iframe srcdoc="{srcdoc.format("html-iframe-srcdoc")}"></iframe>'),
        _html_output(f"<script>{mark('html-isolated')}</script>", metadata={"text/html": {"isolated": True}}),
        new_output("display_data", data={"application/javascript": mark("js-display")}),
        new_output("display_data", data={"image/svg+xml": f'<svg onload="{mark("svg-output")}"/>'}),
        new_output("display_data", data={"text/markdown": f"<script>{mark('markdown-output')}</script>"}),
        new_output("display_data", data={
            "application/vnd.jupyter.widget-view+json": {"model_id": "x", "version_major": 2},
            "application/vnd.bokehjs_exec.v0+json": "", "text/plain": "widget"}),
        new_output("execute_result", execution_count=3,
                   data={"application/javascript": mark("js-result"), "text/plain": "tensor([1., 2.])"}),
    ])
    code.metadata["jupyter"] = {"source_hidden": True, "outputs_hidden": True}
    return [
        code,
        new_markdown_cell(PLAIN_MARKDOWN),
        new_markdown_cell(f"<script>{mark('md-script')}</script>"),
        new_markdown_cell(f"Some text <script>{mark('md-script-inline')}</script> more."),
        new_markdown_cell(f'<img src="missing.png" onerror="{mark("md-img-onerror")}">'),
        new_markdown_cell(f'A picture <svg onload="{mark("md-svg-onload")}"></svg>'),
        new_markdown_cell(f'<iframe srcdoc="{srcdoc.format("md-iframe-srcdoc")}"></iframe>'),
        new_markdown_cell(f"[click me](javascript:{mark('md-link')})"),
        new_markdown_cell(f"[click me too](&#106;avascript:{mark('md-link-entity')})"),
        new_markdown_cell(f"<javascript:{mark('md-autolink')}>"),
        new_markdown_cell(r"$\href{javascript:alert(1)}{a link in MathJax}$"),
        new_raw_cell(f"<script>{mark('raw-script')}</script>"),
    ]


def hostile_notebook() -> nbformat.NotebookNode:
    """The correct chapter-1 notebook (nbgrader cells and all) with hostile cells appended."""
    nb = nbformat.reads(json.dumps(subs.correct_notebook()), as_version=4)
    nb.cells.extend(hostile_cells())
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "version_major": 2, "version_minor": 0, "state": {}}}
    nb.metadata["title"] = "</title><script>alert(1)</script>"
    return nb


# --- on the notebook -----------------------------------------------------------------

def test_the_course_notebooks_are_unchanged_but_for_metadata():
    from grader.course import ROOT

    paths = sorted((ROOT / "solutions").glob("*/*.ipynb"))
    assert len(paths) >= 8
    for chapter in paths:
        nb = nbformat.read(chapter, as_version=4)
        before = copy.deepcopy(nb)
        make_inert(nb)
        nbformat.validate(nb)
        assert [c.source for c in nb.cells] == [c.source for c in before.cells], chapter
        assert [c.metadata.get("nbgrader") for c in nb.cells] == \
            [c.metadata.get("nbgrader") for c in before.cells], chapter
        assert nb.metadata.kernelspec == before.metadata.kernelspec


def test_active_outputs_become_text_and_plain_ones_stay():
    nb = make_inert(hostile_notebook())
    nbformat.validate(nb)
    code = next(c for c in nb.cells if c.cell_type == "code" and c.source == "show_off()")
    assert code.outputs[0].text == PLAIN_OUTPUT + "\n"
    for out in code.outputs[1:]:
        assert set(out.data) == {"text/plain"}, out.data.keys()
        assert out.metadata == {}
    text = "\n".join(o.data["text/plain"] for o in code.outputs[1:])
    for name in ("html-script", "js-display", "svg-output", "markdown-output", "js-result"):
        assert mark(name) in text, name  # shown to the instructor, as text
    assert "tensor([1., 2.])" in text and "[text/html output, kept as text]" in text
    assert code.metadata == {}  # metadata.jupyter (hidden source/outputs) is gone
    assert set(nb.metadata) == {"kernelspec", "language_info"}


def test_images_stay_only_when_they_are_plain_base64():
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg=="
    broken = 'AAAA" onerror="alert(1)'
    nb = nbformat.v4.new_notebook(cells=[new_code_cell("plot()", outputs=[
        new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"},
                   metadata={"image/png": {"width": "1 onload=alert(1)"}}),
        new_output("display_data", data={"image/png": broken}),
    ])])
    kept, turned = make_inert(nb).cells[0].outputs
    assert kept.data == {"image/png": png, "text/plain": "<Figure>"} and kept.metadata == {}
    assert set(turned.data) == {"text/plain"} and broken in turned.data["text/plain"]


@pytest.mark.parametrize("source", [
    PLAIN_MARKDOWN,
    "# A title\n\n- a list with **bold**, [a link](https://d2l.ai) and ![a figure](attachment:f.png)\n\n"
    "$$\\sum_i x_i < 1$$",
])
def test_markdown_without_active_content_is_kept_as_it_is(source):
    nb = nbformat.v4.new_notebook(cells=[new_markdown_cell(source)])
    assert make_inert(nb).cells[0].source == source


@pytest.mark.parametrize("source, keeps", [
    ("<script>alert(1)</script>", "alert(1)"),
    ("$a<b$ and <b>bold</b> and <style>x{}</style>", "$a<b$ and &lt;b>bold&lt;/b>"),
    ('<object data="x.swf"></object><embed src="x.swf">', "x.swf"),
    ("[go](javascript:alert(1))", "[go](javascript:alert(1))"),
    ("[go](data:text/html;base64,PHNjcmlwdD4=)", "PHNjcmlwdD4="),
    ("[go](vbscript:msgbox)", "vbscript"),
    ("[go][1]\n\n[1]: JaVaScRiPt:alert(1)", "alert(1)"),
    ('<a href="javascript:alert(1)">go</a> <!-- a comment -->', "go"),
])
def test_markdown_with_active_content_is_escaped_and_keeps_its_text(source, keeps):
    assert markdown_problems(source)
    out = make_inert(nbformat.v4.new_notebook(cells=[new_markdown_cell(source)])).cells[0].source
    assert not markdown_problems(out), out
    assert keeps in out, out


def test_a_very_long_markdown_cell_is_shown_as_text_without_parsing():
    long = "a" * 200_000 + "<script>alert(1)</script>"
    out = make_inert(nbformat.v4.new_notebook(cells=[new_markdown_cell(long)])).cells[0].source
    assert out.startswith("```text\n") and long in out


def test_mathjax_commands_that_link_or_load_code_lose_their_power():
    out = make_inert(nbformat.v4.new_notebook(cells=[new_markdown_cell(
        r"$\href{javascript:alert(1)}{x} + \unicode{x} \\href$")])).cells[0].source
    assert "\\href" not in out.replace("\\\\", "") and "\\unicode" not in out
    assert r"\mathrm{href}" in out


def test_attachments_keep_raster_images_only():
    cell = new_markdown_cell("![a](attachment:a.png) ![b](attachment:b.svg)", attachments={
        "a.png": {"image/png": "iVBORw0KGgo="},
        "b.svg": {"image/svg+xml": "<svg onload=alert(1)>"},
        "c.html": {"text/html": "<script>alert(1)</script>"},
    })
    cell = make_inert(nbformat.v4.new_notebook(cells=[cell])).cells[0]
    assert cell.attachments == {"a.png": {"image/png": "iVBORw0KGgo="}}


def test_metadata_is_kept_only_where_it_is_safe_and_needed():
    cell = new_code_cell("x = 1", metadata={
        "nbgrader": {"grade": True, "grade_id": "ex1", "points": 1, "solution": False,
                     "extra": "<script>"},
        "execution": {"iopub.execute_input": "2024-01-01T00:00:00Z"},
        "tags": ["ok-tag", '"><script>'], "jupyter": {"source_hidden": True}, "widgets": {"x": 1}})
    bad_id = new_code_cell("y = 1", metadata={"nbgrader": {"grade": True, "grade_id": "<b>"}})
    nb = make_inert(nbformat.v4.new_notebook(cells=[cell, bad_id]))
    assert nb.cells[0].metadata == {
        "nbgrader": {"grade": True, "grade_id": "ex1", "points": 1, "solution": False},
        "execution": {"iopub.execute_input": "2024-01-01T00:00:00Z"}, "tags": ["ok-tag"]}
    assert nb.cells[1].metadata == {}


# --- in Chromium, on the formgrader's page -----------------------------------------

def formgrader_page(nb: nbformat.NotebookNode, folder: Path) -> Path:
    """The HTML page nbgrader's formgrader serves for ``nb``: its HTMLExporter with the
    ``formgrade`` template, as ``SubmissionHandler`` renders a file of var/autograded/."""
    from nbconvert.exporters import HTMLExporter
    from nbgrader.server_extensions.formgrader import handlers
    from traitlets.config import Config

    config = Config()
    config.HTMLExporter.template_name = "formgrade"
    config.HTMLExporter.extra_template_basedirs = [handlers.template_path]
    path = folder / "submission.ipynb"
    nbformat.write(nb, path)
    resources = {"assignment_id": subs.ASSIGNMENT, "notebook_id": subs.ASSIGNMENT,
                 "submission_id": "1", "index": 0, "total": 1, "base_url": "", "student": "mallory",
                 "last_name": "M", "first_name": "Mallory", "notebook_path": "/submission.ipynb"}
    page, _ = HTMLExporter(config=config).from_filename(str(path), resources=resources)
    out = folder / "formgrade.html"
    out.write_text(page)
    return out


@pytest.fixture(scope="module")
def chromium():
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is not installed: apt-get install chromium (the CI script does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def open_page(browser, page_file: Path) -> dict:
    """Load the page, click every ``javascript:`` link in it, and say what ran."""
    page = browser.new_page()
    # The formgrader's page loads jQuery from the server; a JavaScript output starts with $().
    page.add_init_script("window.$ = window.jQuery = () => ({})")
    try:
        page.goto(page_file.as_uri(), wait_until="load", timeout=120_000)
        page.wait_for_timeout(500)
        links = page.evaluate("""() => {
            const links = [...document.querySelectorAll('#notebook-container a')]
                .filter(a => a.protocol === 'javascript:');
            links.forEach(a => a.click());
            return links.length;
        }""")
        page.wait_for_timeout(200)
        return {"fired": set(page.evaluate("window.__pwned || []")), "js_links": links,
                "text": page.inner_text("#notebook-container"),
                "handlers": page.evaluate("""() => [...document.querySelectorAll(
                    '#notebook-container *')].flatMap(e => [...e.attributes]
                    .filter(a => a.name.startsWith('on')).map(a => a.name))""")}
    finally:
        page.close()


def test_the_formgrader_page_runs_no_student_script(chromium, tmp_path):
    raw_dir, inert_dir = tmp_path / "raw", tmp_path / "inert"
    raw_dir.mkdir(), inert_dir.mkdir()
    raw = open_page(chromium, formgrader_page(hostile_notebook(), raw_dir))
    # Without grader.inert the page runs them: the payloads work, so the check below can fail.
    assert raw["fired"] == FIRES, (sorted(FIRES - raw["fired"]), sorted(raw["fired"] - FIRES))

    inert_page = formgrader_page(make_inert(hostile_notebook()), inert_dir)
    seen = open_page(chromium, inert_page)
    assert seen["fired"] == set() and seen["js_links"] == 0 and seen["handlers"] == [], seen["fired"]
    source = inert_page.read_text()
    assert "widget-state+json" not in source and "isolated-iframe" not in source
    # The student's own text is all there; the hostile HTML shows as text.
    for text in (PLAIN_OUTPUT, "tensor([1., 2.])", "the learning rate was too high",
                 "[text/html output, kept as text]", f"<script>{mark('html-script')}</script>",
                 "[click me](javascript:", "Some text <script>"):
        assert text in seen["text"], text
