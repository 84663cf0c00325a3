"""Inert stored copies: a graded notebook that shows text, and runs nothing, in a browser.

nbgrader's formgrader shows ``var/autograded/<student>/<assignment>/<assignment>.ipynb``
to the instructor through nbconvert's HTML exporter, which puts a student's HTML and
JavaScript outputs, the raw HTML of their markdown and any widget state into the page
as they are: the student's script runs in the instructor's browser. :func:`make_inert`
rewrites a graded notebook, before it is stored, so that the page only shows text:

- outputs: ``text/plain`` and PNG or JPEG images whose data is plain base64 stay;
  every other representation (HTML, JavaScript, SVG, markdown, LaTeX, JSON, widget
  views, Bokeh, Plotly, ...) is added to the output's ``text/plain``, which the page
  escapes. Output metadata (an ``isolated`` iframe, image sizes, alt text) is dropped;
- markdown cells (and ``text/markdown`` turned text) stay as they are when nbconvert's
  own markdown parser finds no raw HTML in them and links only to the web, mail or
  attachments; otherwise every ``<`` that could open a tag is escaped, and when that is
  not enough (a ``javascript:`` link) the cell's text is shown as a code block.
  MathJax commands that make links or load code (``\\href``, ``\\unicode``, ...) become
  plain names. Attachments keep PNG, JPEG and GIF images only;
- raw cells: their source is escaped;
- metadata: a cell keeps nbgrader's (type-checked), nbclient's run times and simple
  tags; the notebook keeps its kernel and language. Everything else (``jupyter``,
  widget state, titles) is dropped.

Grades are not affected: merge applies it after nbgrader has read the scores.
"""
from __future__ import annotations

import functools
import html
import json
import re

import nbformat

SAFE_IMAGES = ("image/png", "image/jpeg")
SAFE_ATTACHMENTS = ("image/png", "image/jpeg", "image/gif")
SAFE_SCHEMES = ("http", "https", "mailto", "attachment")
TEXT_LIMIT = 20_000        # characters of one representation kept as text
MARKDOWN_LIMIT = 100_000   # characters of a markdown cell parsed; a longer one is shown as text
PIECES_LIMIT = 50          # pieces of raw HTML escaped one by one; past that, every tag is

_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*")
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_URL_NOISE = re.compile(r"[\x00-\x20\x7f]")
_DATA_IMAGE = re.compile(r"data:image/(png|jpeg|gif);base64,", re.IGNORECASE)
_MATHJAX_ACTIVE = re.compile(r"\\(href|url|unicode|class|cssId|style|require|html|data|mmlToken)"
                             r"(?![A-Za-z])")
_SIMPLE = re.compile(r"[A-Za-z0-9_\-.]{1,200}")
_NBGRADER_TYPES = {"grade": bool, "solution": bool, "locked": bool, "task": bool,
                   "grade_id": str, "points": (int, float), "schema_version": int,
                   "checksum": str, "cell_type": str}
_KERNEL_KEYS = {"kernelspec": ("name", "display_name", "language"),
                "language_info": ("name", "version", "mimetype", "file_extension",
                                  "pygments_lexer", "nbconvert_exporter")}


def make_inert(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Rewrite ``nb`` in place (and return it) so that no renderer of it runs student content."""
    nb.metadata = _kernel_metadata(nb.get("metadata", {}))
    for cell in nb.cells:
        cell.metadata = _cell_metadata(cell.get("metadata", {}))
        if cell.cell_type == "code":
            cell.outputs = [o for o in map(_inert_output, cell.get("outputs", [])) if o is not None]
        elif cell.cell_type == "markdown":
            cell.source = inert_markdown(cell.source)
            if "attachments" in cell:
                cell.attachments = _attachments(cell.attachments)
                if not cell.attachments:
                    del cell["attachments"]
        elif cell.cell_type == "raw":
            cell.source = html.escape(cell.source, quote=False)
            cell.pop("attachments", None)
    return nb


# --- markdown --------------------------------------------------------------------

def inert_markdown(source: str) -> str:
    """Markdown that nbconvert renders without raw HTML or links to active URLs.

    Unchanged when it already renders so (the course's own text, LaTeX included); else
    with the ``<`` of each piece of raw HTML escaped (``&lt;`` shows as ``<``), then with
    every ``<`` that could open a tag escaped; and as a code block when links remain (or
    the cell is over :data:`MARKDOWN_LIMIT` characters).
    """
    source = _MATHJAX_ACTIVE.sub(r"\\mathrm{\1}", source)
    raw, urls = _scan(source) if len(source) <= MARKDOWN_LIMIT else ([], ["(too long)"])
    if not raw and not urls:
        return source
    if not urls:
        pieces = {p.strip() for p in raw if p.strip()}
        targeted = source
        for piece in pieces if len(pieces) <= PIECES_LIMIT else ():
            targeted = targeted.replace(piece, _TAG_START.sub("&lt;", piece))
        for candidate in (targeted, _TAG_START.sub("&lt;", source)):
            if _scan(candidate) == ([], []):
                return candidate
    fence = "`" * max(3, 1 + max((len(m) for m in re.findall(r"`+", source)), default=0))
    return f"{fence}text\n{source}\n{fence}\n"


def markdown_problems(source: str) -> list[str]:
    """What nbconvert's markdown parser would put into a page from ``source`` that could
    run: raw HTML, and URLs outside :data:`SAFE_SCHEMES` (or ``data:`` other than images)."""
    raw, urls = _scan(source)
    return [f"raw HTML {r[:60]!r}" for r in raw] + [f"URL {u[:60]!r}" for u in urls]


def _scan(source: str) -> tuple[list[str], list[str]]:
    """(raw HTML pieces, unsafe URLs) of ``source``, as nbconvert's own parser finds them."""
    parse, found = _parser()
    found["raw"], found["urls"] = [], []
    try:
        parse(source)
    except Exception as e:  # noqa: BLE001  (whatever the parser chokes on is shown as text)
        found["urls"].append(f"(markdown the parser fails on: {type(e).__name__})")
    return found["raw"], found["urls"]


@functools.lru_cache(maxsize=1)
def _parser():
    """nbconvert's markdown parser (MarkdownWithMath), with a renderer that records raw
    HTML and unsafe URLs in the dict returned with it instead of writing them out."""
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    found: dict[str, list[str]] = {"raw": [], "urls": []}

    class Recorder(IPythonRenderer):
        def block_html(self, html: str) -> str:
            found["raw"].append(html)
            return ""

        def inline_html(self, html: str) -> str:
            found["raw"].append(html)
            return ""

        def sanitize_url(self, url: str) -> str:
            if not url_is_safe(url):
                found["urls"].append(url)
            return url

        def _embed_image_or_attachment(self, src: str) -> str:
            return src  # checked as a URL; the page embeds attachments itself

    return MarkdownWithMath(renderer=Recorder(escape=False)).render, found


def url_is_safe(url: str) -> bool:
    """A relative URL, or one to the web, mail, an attachment or an image held as data."""
    plain = _URL_NOISE.sub("", html.unescape(url))
    if _DATA_IMAGE.match(plain):
        return bool(_BASE64.fullmatch(plain[plain.index(",") + 1:]))
    scheme = _SCHEME.match(plain)  # browsers read a scheme the same way, once noise is gone
    return scheme is None or scheme.group(1).lower() in SAFE_SCHEMES


def _attachments(attachments) -> dict:
    kept = {}
    for name, bundle in (attachments or {}).items():
        if not isinstance(bundle, dict):
            continue
        images = {m: d for m, d in bundle.items()
                  if m in SAFE_ATTACHMENTS and isinstance(d, str) and _BASE64.fullmatch(d)}
        if images and isinstance(name, str):
            kept[name] = images
    return kept


# --- outputs ---------------------------------------------------------------------

def _inert_output(output) -> nbformat.NotebookNode | None:
    kind = output.get("output_type") if isinstance(output, dict) else None
    if kind == "stream":
        return nbformat.v4.new_output("stream", name=_stream_name(output.get("name")),
                                      text=_text(output.get("text", "")))
    if kind == "error":
        return nbformat.v4.new_output("error", ename=_text(output.get("ename", "")),
                                      evalue=_text(output.get("evalue", "")),
                                      traceback=[_text(t) for t in output.get("traceback", [])])
    if kind in ("execute_result", "display_data"):
        data = _inert_data(output.get("data", {}))
        if kind == "execute_result":
            count = output.get("execution_count")
            return nbformat.v4.new_output(kind, data=data,
                                          execution_count=count if isinstance(count, int) else None)
        return nbformat.v4.new_output(kind, data=data)
    return None


def _inert_data(data) -> dict:
    """``text/plain`` and safe images kept; every other representation turned into text."""
    data = data if isinstance(data, dict) else {}
    kept = {m: d for m, d in data.items()
            if m in SAFE_IMAGES and isinstance(d, str) and _BASE64.fullmatch(d)}
    parts = [_text(data["text/plain"])] if "text/plain" in data else []
    for mime in sorted(m for m in data if m not in kept and m != "text/plain"):
        parts.append(f"[{_text(mime)[:100]} output, kept as text]\n{_text(data[mime])}")
    kept["text/plain"] = "\n".join(parts)
    return kept


def _text(value) -> str:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        value = "".join(value)
    if not isinstance(value, str):
        value = json.dumps(value, indent=1, default=str)
    return value if len(value) <= TEXT_LIMIT else value[:TEXT_LIMIT] + "\n[... cut]"


def _stream_name(name) -> str:
    return name if name in ("stdout", "stderr") else "stdout"


# --- metadata --------------------------------------------------------------------

def _cell_metadata(meta) -> dict:
    meta = meta if isinstance(meta, dict) else {}
    kept = {}
    grader = meta.get("nbgrader")
    if isinstance(grader, dict):
        checked = {k: v for k, v in grader.items()
                   if k in _NBGRADER_TYPES and isinstance(v, _NBGRADER_TYPES[k])
                   and (not isinstance(v, str) or _SIMPLE.fullmatch(v))}
        if "grade_id" in checked or not grader.get("grade_id"):
            kept["nbgrader"] = checked
    timing = meta.get("execution")
    if isinstance(timing, dict):
        kept["execution"] = {k: v for k, v in timing.items()
                             if isinstance(k, str) and isinstance(v, str) and len(v) < 64}
    tags = meta.get("tags")
    if isinstance(tags, list):
        kept["tags"] = [t for t in tags if isinstance(t, str) and _SIMPLE.fullmatch(t)]
    return kept


def _kernel_metadata(meta) -> dict:
    meta = meta if isinstance(meta, dict) else {}
    kept = {}
    for key, fields in _KERNEL_KEYS.items():
        value = meta.get(key)
        if isinstance(value, dict):
            kept[key] = {f: value[f] for f in fields if isinstance(value.get(f), str)}
    return kept
