"""Sphinx extension used by the book build (named in ``_config.yml``).

* Serves MathJax 3 from the built book (``_static/mathjax``) instead of a CDN, so
  equations render offline, in CI and in the browser test.  The files come from the
  ``django-static-mathjax`` wheel (MathJax 3.2.2, Apache-2.0; it has no dependencies),
  which keeps the build to "Python and pip only".
* Drops duplicated inline scripts from each page (sphinx-thebe's configuration
  script is registered twice under Jupyter Book 1, which makes the browser log
  "Identifier 'THEBE_JS_URL' has already been declared").
* Removes the ``solution-end`` marker that sphinx-exercise leaves behind when the
  student edition hides solutions.
* Launch buttons (the rocket icon) only where the notebook runs there: on
  chapters, with Colab opening the chapter's plain-Markdown copy in ``colab/``
  (``python -m learning_dynamics.book.colab``); none on other pages, and none in
  the student edition (``hide_solutions``), whose buttons would open the full
  notebooks of the repository.
* The download button of a chapter serves the chapter as a plain notebook with the
  build's outputs (the Colab conversion: no MyST markup, solutions collapsed),
  written to ``_static/notebooks/`` at the end of the build, instead of the raw
  MyST source without outputs.
* Silences progress bars in the kernels that execute the chapters (a bar in a
  built page would be a dead widget), and the kernels' own start-up log (ipykernel
  warns "Kernel is running over TCP without encryption" once per chapter: the
  kernels of a build listen on loopback only). Python warnings raised by chapter
  code are cell outputs and are not affected.
* Shows equation numbers, not label names, in executed outputs: a "(dl-half-time)"
  printed by a chapter's code (a "What we verified" row, a docstring reference)
  reads "(2.4)" in the page, as the book numbers it.
* Removes ``_build/html`` when the build fails, so no stale book is left behind.
* Adds ``static/learning-dynamics.css``: code boxes that fit 88 columns, visible
  scrollbars on display equations that are wider than a phone, figures that keep
  a readable size on a phone (measured by ``tests/test_browser.py``).
* Reports progress per chapter: "chapter i/n <name>: reading (executes unless
  cached)" before, and the seconds it took after, so a long execution is visible.
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from .cache import setup_cache

MATHJAX_ENTRY = "mathjax/tex-mml-chtml.js"


def mathjax_source() -> Path:
    """Directory holding MathJax's ``es5`` bundle inside the installed wheel."""
    import mathjax  # provided by django-static-mathjax

    return Path(mathjax.__file__).resolve().parent / "static" / "mathjax" / "es5"


def _use_local_mathjax(app, config) -> None:
    config.mathjax_path = MATHJAX_ENTRY


def _copy_mathjax(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    if not (target / "tex-mml-chtml.js").exists():
        shutil.copytree(mathjax_source(), target, dirs_exist_ok=True)


def _dedupe_scripts(app, pagename, templatename, context, doctree) -> None:
    seen, unique = set(), []
    for js in context.get("script_files", []):
        # None and "" both mean "inline"
        filename = str(getattr(js, "filename", js) or "")
        attributes = getattr(js, "attributes", {}).items()
        key = (filename, tuple(sorted((k, str(v)) for k, v in attributes)))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    context["script_files"] = unique


def _drop_hidden_solution_gates(app, doctree) -> None:
    """With ``hide_solutions`` sphinx-exercise drops ``solution-start``, not the end."""
    if not getattr(app.config, "hide_solutions", False):
        return
    from sphinx_exercise.nodes import solution_end_node

    for node in list(doctree.findall(solution_end_node)):
        node.parent.remove(node)


LAUNCH_PAGES = "chapters/"
COLAB_DIR = "colab"


def _launch_buttons(app, pagename, templatename, context, doctree) -> None:
    buttons = context.get("header_buttons") or []
    for group in [b for b in buttons if b.get("label") == "launch-buttons"]:
        student = getattr(app.config, "hide_solutions", False)
        if student or not pagename.startswith(LAUNCH_PAGES):
            buttons.remove(group)
            continue
        suffix = f"/{pagename}.ipynb"
        for button in group.get("buttons", []):
            url = button.get("url", "")
            if "colab.research.google.com" in url and url.endswith(suffix):
                name = pagename.rsplit("/", 1)[-1]
                button["url"] = f"{url[: -len(suffix)]}/{COLAB_DIR}/{name}.ipynb"


DOWNLOAD_DIR = "_static/notebooks"


def _download_buttons(app, pagename, templatename, context, doctree) -> None:
    """A chapter's download menu: the plain notebook with outputs, and print."""
    if not pagename.startswith(LAUNCH_PAGES):
        return
    for group in context.get("header_buttons") or []:
        if group.get("label") != "download-buttons":
            continue
        name = pagename.rsplit("/", 1)[-1]
        notebook = {
            "type": "link", "text": ".ipynb", "icon": "fas fa-code",
            "url": context["pathto"](f"{DOWNLOAD_DIR}/{name}.ipynb", 1),
            "tooltip": "Download the notebook (plain Markdown, with outputs)",
            "label": "download-notebook-button"}
        others = [b for b in group.get("buttons", [])
                  if b.get("label") not in ("download-notebook-button",
                                            "download-source-button")]
        group["buttons"] = [notebook, *others]


def _executed_notebook(app, docname: str) -> dict | None:
    """The notebook as MyST-NB executed it (``_build/jupyter_execute``)."""
    import json

    path = Path(app.outdir).parent / "jupyter_execute" / f"{docname}.ipynb"
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def _number_outputs(nb: dict, numbers: dict[str, str]) -> None:
    """Equation numbers instead of label names in a notebook's text outputs."""
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            if "text" in output:
                text = "".join(output["text"])
                output["text"] = number_labels(text, numbers)
            for mime in ("text/plain", "text/html", "text/markdown"):
                if mime in output.get("data", {}):
                    text = "".join(output["data"][mime])
                    output["data"][mime] = number_labels(text, numbers)


def _write_downloads(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    import json

    from .colab import book_index, colab_notebook

    root = Path(app.srcdir)
    docnames = sorted(d for d in app.env.found_docs if d.startswith(LAUNCH_PAGES)
                      and (root / f"{d}.ipynb").exists())
    if not docnames:
        return
    index, target = book_index(root), Path(app.outdir) / DOWNLOAD_DIR
    target.mkdir(parents=True, exist_ok=True)
    for docname in docnames:
        executed = _executed_notebook(app, docname)
        if executed is None:
            raise RuntimeError(f"no executed notebook for {docname}: the download "
                               "button would have nothing to serve")
        nb = colab_notebook(root, docname, index, executed=executed)
        _number_outputs(nb, equation_numbers(app))
        path = target / f"{docname.rsplit('/', 1)[-1]}.ipynb"
        path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n",
                        encoding="utf-8")


_KERNEL_CONFIG = "c.IPKernelApp.log_level = 'ERROR'  # written by the book extension\n"


def _quiet_kernels(app) -> None:
    """Kernels of this build read an IPython profile that logs only errors."""
    if "IPYTHONDIR" in os.environ:  # the user's choice wins
        return
    folder = Path(app.outdir).parent / ".ipython"
    profile = folder / "profile_default"
    profile.mkdir(parents=True, exist_ok=True)
    (profile / "ipython_kernel_config.py").write_text(_KERNEL_CONFIG)
    os.environ["IPYTHONDIR"] = str(folder)


_STARTED: dict[str, float] = {}


def _chapters(app) -> list[str]:
    return sorted(d for d in app.env.found_docs if d.startswith(LAUNCH_PAGES))


def _reading(app, docname, source) -> None:
    if docname.startswith(LAUNCH_PAGES):
        from sphinx.util import logging

        chapters = _chapters(app)
        number = chapters.index(docname) + 1 if docname in chapters else "?"
        logging.getLogger(__name__).info(
            f"chapter {number}/{len(chapters)} {docname}: reading "
            "(executes unless its outputs are cached)")
        _STARTED[docname] = time.monotonic()


def _read(app, doctree) -> None:
    docname = app.env.docname
    if docname in _STARTED:
        from sphinx.util import logging

        seconds = time.monotonic() - _STARTED.pop(docname)
        logging.getLogger(__name__).info(f"{docname}: done in {seconds:.0f} s")


def equation_numbers(app) -> dict[str, str]:
    """``{label: "2.4"}`` for every numbered display equation of the book."""
    numbers = {}
    for figures in getattr(app.env, "toc_fignumbers", {}).values():
        for node_id, number in figures.get("displaymath", {}).items():
            if node_id.startswith("equation-"):
                label = node_id[len("equation-"):]
                numbers[label] = ".".join(str(n) for n in number)
    return numbers


def number_labels(text: str, numbers: dict[str, str]) -> str:
    """Replace each ``(label)`` of a numbered equation in ``text`` by ``(2.4)``.

    Sphinx keeps labels in lower case (``ts-ode-Q`` becomes ``ts-ode-q``), so the
    match ignores case.
    """
    import re

    if not numbers:
        return text
    numbers = {k.lower(): v for k, v in numbers.items()}
    pattern = re.compile(r"\((" + "|".join(map(re.escape, numbers)) + r")\)",
                         flags=re.IGNORECASE)
    return pattern.sub(lambda m: f"({numbers[m.group(1).lower()]})", text)


def _numbered_outputs(app, pagename, templatename, context, doctree) -> None:
    if pagename.startswith(LAUNCH_PAGES) and context.get("body"):
        context["body"] = number_labels(context["body"], equation_numbers(app))


STATIC = Path(__file__).resolve().parent / "static"
CSS_FILE = "learning-dynamics.css"


def _add_static(app, config) -> None:
    config.html_static_path = [*config.html_static_path, str(STATIC)]


def _drop_failed_html(app, exception) -> None:
    """A failed build leaves no book behind.

    Without this, the previous build's pages stay in ``_build/html`` after a build
    that fails (an assert, or a warning under ``-W --keep-going``), and a reader who
    opens ``index.html`` reads stale chapters as if they were current.  The HTML
    builder rewrites every page whose output file is missing, so the next build
    writes the whole book again (the execution cache is elsewhere and is kept).
    """
    failed = exception is not None or bool(app._warncount and app.keep_going)
    if failed and app.builder.format == "html" and Path(app.outdir).is_dir():
        shutil.rmtree(app.outdir, ignore_errors=True)
        print(f"build failed: removed {app.outdir} so that no stale book is left "
              "behind", flush=True)


def setup(app):  # noqa: D103 - Sphinx entry point
    os.environ.setdefault("LEARNING_DYNAMICS_PROGRESS", "0")
    app.connect("config-inited", _add_static)
    app.add_css_file(CSS_FILE)
    app.connect("builder-inited", _quiet_kernels)
    app.connect("source-read", _reading)
    app.connect("doctree-read", _read)
    mathjax_source()  # fail early, with an ImportError naming the package if missing
    setup_cache(app)  # execution cache keyed on package source and versions
    app.connect("config-inited", _use_local_mathjax)
    app.connect("build-finished", _copy_mathjax)
    app.connect("html-page-context", _dedupe_scripts)
    app.connect("html-page-context", _launch_buttons, priority=600)  # after the theme's
    app.connect("html-page-context", _download_buttons, priority=600)
    app.connect("html-page-context", _numbered_outputs)
    app.connect("build-finished", _write_downloads)
    app.connect("build-finished", _drop_failed_html, priority=900)  # last
    app.connect("doctree-read", _drop_hidden_solution_gates)
    return {"version": "0.2", "parallel_read_safe": True, "parallel_write_safe": True}
