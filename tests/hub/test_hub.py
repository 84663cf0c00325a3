"""The class cycle on a real hub, in a real browser (Debian's chromium via Playwright).

The instructor releases chapter 1 with `python -m grader` (as their local account,
with the environment the hub gives their server's terminal). Two students log in on
the hub's login page, fetch the chapter from the Assignments tab, type solutions
into the notebook editor (one answers every exercise, the other three of six), run
Validate and Submit. The instructor collects from the exchange, autogrades in
parallel in the sandbox, writes feedback and releases it; each student fetches it
and reads their own scores, no other student's and no hidden test. The exported CSV
has both totals. Then, from each student's kernel, the other student's submission and
feedback in the exchange, and their home, answer "Permission denied".

The tests run in order and share the hub and one browser page per student.
Screenshots go to test-artifacts/hub/; with DLCOURSE_UPDATE_DOCS=1 the README's
(docs/img/hub-*.png) too.
"""
from __future__ import annotations

import csv
import html
import json
import re
from pathlib import Path

import nbformat
import pytest

from classroom import hidden_lines_all
from course_notebooks import ROOT, answers, solution
from test_jupyterlab import JS_KERNEL_IDLE, PANEL, cell_index, menu, new_page, screenshot, type_into

CHAPTER = "01-linear-regression"
VALIDATE_TIMEOUT = 420_000  # ms: nbgrader validate runs the whole notebook in the student's server
LOGIN_TIMEOUT = 300_000     # ms: the hub starts the student's server on the first login
PARTIAL = ["ex1-synthetic-data", "ex3-linreg", "ex4-squared-loss"]  # what the second student answers
ARTIFACTS = ROOT / "test-artifacts" / "hub"

# A student's code in a kernel of their own server: start a kernel, run, return what it printed.
JS_RUN_IN_A_NEW_KERNEL = """async (code) => {
  const kernel = await window.jupyterapp.serviceManager.kernels.startNew({name: 'python3'});
  try {
    let out = '';
    const future = kernel.requestExecute({code, store_history: false});
    future.onIOPub = (msg) => {
      if (msg.header.msg_type === 'stream') out += msg.content.text;
      if (msg.header.msg_type === 'error') out += msg.content.ename + ': ' + msg.content.evalue;
    };
    await future.done;
    return out;
  } finally {
    await kernel.shutdown();
  }
}"""

# Tries each (label, "list" | "read", path) of `checks` (JSON); prints {label: "allowed" | exception name}.
TRY_ACCESS = """
import json, os
def attempt(kind, path):
    try:
        os.listdir(path) if kind == "list" else open(path, "rb").read(1)
        return "allowed"
    except Exception as e:
        return type(e).__name__
print(json.dumps({label: attempt(kind, path) for label, kind, path in json.loads(checks)}))
"""


def points(chapter: str) -> dict[str, float]:
    """{exercise grade id: its points}, from the test cells' nbgrader metadata."""
    out = {}
    for c in solution(chapter).cells:
        meta = c.metadata.get("nbgrader", {})
        if meta.get("grade") and meta["grade_id"].endswith("-tests"):
            out[meta["grade_id"].removesuffix("-tests")] = float(meta["points"])
    return out


@pytest.fixture(scope="module")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def plan(hub) -> dict[str, list[str]]:
    """{student: the exercises they answer}: the first all of them, the second three."""
    full, partial = hub.students
    return {full: list(points(CHAPTER)), partial: PARTIAL}


@pytest.fixture(scope="module")
def expected(plan) -> dict[str, float]:
    """Each student's total, from the points of the exercises they answer."""
    pts = points(CHAPTER)
    return {student: sum(pts[e] for e in answered) for student, answered in plan.items()}


def log_in(browser, hub, name: str, console: list[str]):
    """A browser context of its own, logged in as ``name`` on the hub's login page and
    waiting in JupyterLab; returns (context, page)."""
    context, page = new_page(browser, console)
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", name)
    page.fill("#password_input", hub.passwords[name])
    page.click("#login_submit")
    page.wait_for_url(re.compile(rf".*/user/{re.escape(name)}/lab.*"), timeout=LOGIN_TIMEOUT)
    page.locator(".jp-DirListing").first.wait_for(timeout=LOGIN_TIMEOUT)
    return context, page


@pytest.fixture(scope="module")
def pages(hub, browser, artifacts):
    """One logged-in browser page per student."""
    opened, console = {}, {}
    for student in hub.students:
        console[student] = []
        opened[student] = log_in(browser, hub, student, console[student])
        opened[student][1].wait_for_function("() => !!(window.jupyterapp && window.jupyterapp.shell)")
    yield {s: p for s, (_, p) in opened.items()}
    for student, (context, _) in opened.items():
        (artifacts / f"console-{student}.log").write_text("\n".join(console[student]) + "\n")
        context.close()


def assignments_tab(page):
    """Open (or bring forward) nbgrader's Assignments tab; returns its panel."""
    menu(page, "Nbgrader", "Assignment List")
    panel = page.locator("#nbgrader-assignment-list")
    panel.wait_for(state="visible")
    panel.locator("#refresh_assignments_list").click()
    return panel


def open_fetched_notebook(page, panel) -> None:
    panel.locator("#fetched_assignments_list a.assignment-notebooks-link", has_text=CHAPTER).click()
    panel.locator("#fetched_assignments_list .nested_list_item a", has_text=CHAPTER).click()
    page.wait_for_function(f"""() => {{
        const p = {PANEL};
        return p && p.context && p.context.isReady && p.content.widgets.length > 0
            && p.context.path.endsWith({f'{CHAPTER}.ipynb'!r});
    }}""", timeout=120_000)
    page.wait_for_function(JS_KERNEL_IDLE, timeout=120_000)


def run_as_student(page, checks: list[tuple[str, str, str]]) -> dict[str, str]:
    out = page.evaluate(JS_RUN_IN_A_NEW_KERNEL, f"checks = {json.dumps(checks)!r}\n{TRY_ACCESS}")
    return json.loads(out.strip().splitlines()[-1])


def submission(hub, student: str) -> Path:
    inbound = Path(hub.settings.exchange) / hub.settings.course_id / "inbound"
    found = sorted(inbound.glob(f"{student}+{CHAPTER}+*"))
    assert len(found) == 1, f"{student}: {found}"
    return found[0]


def feedback_page(hub, student: str) -> Path:
    """The student's page in the exchange, named as nbgrader names it (from their secret)."""
    from nbgrader.utils import notebook_hash

    secret = (submission(hub, student) / "submission_secret.txt").read_text()
    return (Path(hub.settings.exchange) / hub.settings.course_id / "feedback"
            / f"{notebook_hash(secret=secret, notebook_id=CHAPTER)}.html")


# ---------------------------------------------------------------------------- the cycle

def test_the_instructor_releases_chapter_1(hub):
    built = hub.grader("build", CHAPTER)       # records the chapter in the instructor's gradebook
    released = hub.grader("release", CHAPTER)
    assert "released" in released.stdout, released.stdout
    outbound = Path(hub.settings.exchange) / hub.settings.course_id / "outbound" / CHAPTER
    nb = outbound / f"{CHAPTER}.ipynb"
    assert nb.is_file(), built.stdout
    assert nb.read_bytes() == (Path(hub.settings.instructor_course) / "notebooks" / CHAPTER / nb.name).read_bytes()


@pytest.mark.parametrize("who", [0, 1], ids=["complete", "partial"])
def test_a_student_fetches_fills_in_validates_and_submits(hub, pages, plan, who, artifacts):
    student = hub.students[who]
    page = pages[student]
    panel = assignments_tab(page)
    panel.locator("#released_assignments_list .list_item", has_text=CHAPTER).locator(
        "button", has_text="Fetch").click()
    panel.locator("#fetched_assignments_list .list_item", has_text=CHAPTER).first.wait_for()
    open_fetched_notebook(page, panel)

    solved = answers(CHAPTER)
    for grade_id in plan[student]:
        type_into(page, cell_index(page, "grade_id", grade_id), solved[grade_id])
    page.keyboard.press("Control+s")
    page.wait_for_function(f"() => !{PANEL}.context.model.dirty", timeout=30_000)
    saved = nbformat.read(hub.home(student) / CHAPTER / f"{CHAPTER}.ipynb", as_version=4)
    typed = {c.metadata["nbgrader"]["grade_id"]: c.source for c in saved.cells
             if c.metadata.get("nbgrader", {}).get("solution")}
    assert all(typed[g] == solved[g] for g in plan[student]), "the saved notebook lacks typed answers"

    page.locator(".jp-NotebookPanel-toolbar .validate-button").click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator(".jp-Dialog-header", has_text="Validat").wait_for(timeout=VALIDATE_TIMEOUT)
    verdict = dialog.locator(".jp-Dialog-body").inner_text()
    screenshot(page, artifacts, f"validate-{'complete' if who == 0 else 'partial'}",
               element=dialog.locator(".jp-Dialog-content"))
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    if who == 0:
        assert "Success! Your notebook passes all the tests." in verdict, verdict
    else:
        assert "Success!" not in verdict and "failed" in verdict.lower(), verdict

    panel = assignments_tab(page)
    panel.locator("#fetched_assignments_list .list_item", has_text=CHAPTER).locator(
        "button", has_text="Submit").first.click()
    panel.locator("#submitted_assignments_list .list_item", has_text=CHAPTER).first.wait_for(timeout=120_000)
    assert (submission(hub, student) / f"{CHAPTER}.ipynb").is_file()
    screenshot(page, artifacts, f"submitted-{'complete' if who == 0 else 'partial'}")


def test_the_instructor_collects_autogrades_and_releases_feedback(hub, expected):
    collected = hub.grader("collect", CHAPTER, "--exchange")
    graded = hub.grader("autograde", CHAPTER, "-j", "2", "-q")
    written = hub.grader("feedback", CHAPTER)
    assert f"{len(hub.students)} feedback page(s)" in written.stdout, (collected.stdout, graded.stdout,
                                                                      written.stdout)
    hub.grader("release", CHAPTER, "--feedback")
    for student in hub.students:
        page = feedback_page(hub, student)
        assert page.is_file(), f"no feedback released for {student}"
        assert student in page.read_text()


@pytest.mark.parametrize("who", [0, 1], ids=["complete", "partial"])
def test_a_student_fetches_their_own_feedback(hub, pages, expected, who, artifacts):
    student, other = hub.students[who], hub.students[1 - who]
    page = pages[student]
    panel = assignments_tab(page)
    item = panel.locator("#submitted_assignments_list .list_item", has_text=CHAPTER).first
    item.locator("button", has_text="Fetch Feedback").click()
    view = item.get_by_text("(view feedback)")
    view.wait_for(timeout=60_000)
    screenshot(page, artifacts, "hub-assignments" if who == 0 else "assignments-partial", docs=who == 0)
    view.click()
    listing = page.locator(".jp-DirListing-item", has_text=f"{CHAPTER}.html")
    listing.wait_for(timeout=60_000)
    listing.dblclick()
    viewer = page.frame_locator(".jp-HTMLViewer iframe")
    viewer.locator("h1").wait_for(timeout=60_000)
    text = viewer.locator("body").inner_text()

    total = expected[student]
    max_total = sum(points(CHAPTER).values())
    assert student in text and other not in text, text[:500]
    assert re.search(rf"\b{total:g} / {max_total:g}\b", text), f"{student} should read {total:g} / {max_total:g}:\n{text}"
    secrets = {line for line in hidden_lines_all() if len(line) >= 20}
    secrets |= {"### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"}
    shown = html.unescape(text)
    assert not [line for line in secrets if line in shown], "a hidden test shows on the feedback page"
    screenshot(page, artifacts, "hub-feedback" if who == 1 else "feedback-complete", docs=who == 1,
               element=page.locator(".jp-HTMLViewer").last)


def test_the_exported_csv_has_both_students_with_their_totals(hub, expected):
    dest = hub.home(hub.instructor) / "grades.csv"
    hub.grader("export", "--to", str(dest))
    rows = {r["student_id"]: r for r in csv.DictReader(dest.open())}
    assert set(hub.students) <= set(rows), rows
    for student in hub.students:
        assert float(rows[student][CHAPTER]) == expected[student], rows[student]
        assert float(rows[student]["total"]) == expected[student], rows[student]
    assert expected[hub.students[0]] == sum(points(CHAPTER).values()) > expected[hub.students[1]] > 0


# ---------------------------------------------------------------------------- isolation

@pytest.mark.parametrize("who", [0, 1], ids=["complete", "partial"])
def test_a_student_cannot_read_another_students_work_or_feedback(hub, pages, who):
    student, other = hub.students[who], hub.students[1 - who]
    course = Path(hub.settings.exchange) / hub.settings.course_id
    theirs, mine = submission(hub, other), submission(hub, student)
    fetched = sorted((hub.home(other) / CHAPTER / "feedback").rglob("*.html"))
    assert fetched, f"{other} has no fetched feedback"
    forbidden = [
        ("list the exchange's inbound", "list", course / "inbound"),
        ("list the exchange's feedback", "list", course / "feedback"),
        ("list the other's submission", "list", theirs),
        ("read the other's submitted notebook", "read", theirs / f"{CHAPTER}.ipynb"),
        ("read the other's submission secret", "read", theirs / "submission_secret.txt"),
        ("read the other's feedback in the exchange", "read", feedback_page(hub, other)),
        ("list the other's home", "list", hub.home(other)),
        ("read the other's fetched feedback", "read", fetched[0]),
    ]
    allowed = [
        ("read the released chapter", "read", course / "outbound" / CHAPTER / f"{CHAPTER}.ipynb"),
        ("read my submitted notebook", "read", mine / f"{CHAPTER}.ipynb"),
        ("read my feedback in the exchange", "read", feedback_page(hub, student)),
    ]
    got = run_as_student(pages[student], [(label, kind, str(path)) for label, kind, path in forbidden + allowed])
    assert {label: got[label] for label, _, _ in forbidden} == {label: "PermissionError" for label, _, _ in forbidden}
    assert {label: got[label] for label, _, _ in allowed} == {label: "allowed" for label, _, _ in allowed}


def test_the_instructor_logs_in_to_their_course_folder_and_the_formgrader(hub, browser, artifacts):
    """The instructor's Lab opens in their course folder. JupyterHub (since 4.1) forbids
    framing users' pages, so nbgrader's formgrader opens in a browser tab of its own, as
    nbgrader documents; it shows the chapter released, with both submissions, from the
    gradebook the grader wrote."""
    console: list[str] = []
    context, page = log_in(browser, hub, hub.instructor, console)
    try:
        listing = page.locator(".jp-DirListing-content").inner_text()
        assert "solutions" in listing and "notebooks" in listing, listing
        page.goto(f"{hub.url}/user/{hub.instructor}/formgrader")
        row = page.locator("tr", has=page.locator("td.name", has_text=CHAPTER))
        row.wait_for(timeout=120_000)
        assert "released" in row.locator("td.status").inner_text()
        assert row.locator("td.num-submissions").inner_text().strip() == str(len(hub.students))
        screenshot(page, artifacts, "formgrader")
    finally:
        (artifacts / "console-instructor.log").write_text("\n".join(console) + "\n")
        context.close()


def test_no_server_error_in_the_hub_log(hub):
    errors = [line for line in hub.log.read_text(errors="replace").splitlines()
              if re.match(r"\[E ", line) or "Traceback" in line]
    assert not errors, "errors in the hub's log:\n" + "\n".join(errors[:20])
