"""End-to-end: every notebook with widgets, run in JupyterLab in a real headless Chromium.

nbval executes notebooks without a front end, so it cannot see a widget that fails to
render, a plot that lands outside its widget, or a figure that never redraws. This test
starts JupyterLab from the course's own environment (on 127.0.0.1, with a token, in
temporary settings/workspace folders, on temporary copies of the notebooks), opens each
notebook in Debian's Chromium driven by Playwright, runs all cells, moves sliders with
the keyboard, and checks that the image inside the widget's output changed and that no
widget error or traceback appears. A screenshot of every notebook is
saved under test-output/browser/. JupyterLab and Chromium are stopped by process id.

What runs, and why not everything: the notebooks' results are nbval's job (every
notebook runs once, under nbval, in the Colab-like kernel; see tests/test_colab.py).
Here the question is whether the widgets render and answer in JupyterLab 4 with
ipywidgets 8. Chapter 00, the tour of every kind of widget the course uses (sliders,
live plots, progress bars), runs whole. Every other widget notebook runs from its
first cell down to its first cell that builds a slider and then to the first cell that shows it
(``interact``, ``interactive_output`` or ``display``; the copy the browser opens is cut
after that cell, the repository's notebook is untouched), and those sliders are moved.
So the browser never repeats a chapter's heavy training that comes after its first
explore widget, which keeps the test command inside its 15 minutes with chapters
00-13. The chapter's later widgets are the same widget kinds, executed by nbval.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SHOTS = ROOT / "test-output" / "browser"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
RUN_TIMEOUT_S = 600
# Self-checks are nbval's job; here: widgets that fail to render, and exceptions.
ERROR_PATTERNS = re.compile(r"Error displaying widget|Traceback \(most recent call last\)")
SLIDER = re.compile(r"\b(IntSlider|FloatSlider|FloatLogSlider|SelectionSlider|IntRangeSlider|FloatRangeSlider)\(")
SHOWN = re.compile(r"\b(interact|interactive|interactive_output|display)\(")  # where a built slider is shown
WHOLE = ("00_",)  # notebooks the browser runs whole


def browser_copy(notebook: Path, destination: Path) -> None:
    """Write the copy of ``notebook`` the browser opens: whole for chapter 00, else cut after its first shown slider."""
    nb = nbformat.read(notebook, as_version=4)
    if not notebook.stem.startswith(WHOLE):
        code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
        built = next((i for i in code if SLIDER.search(nb.cells[i].source)), None)
        shown = next((i for i in code if built is not None and i >= built and SHOWN.search(nb.cells[i].source)), None)
        if shown is not None:
            nb.cells = nb.cells[: shown + 1]
    nbformat.write(nb, destination)


def widget_notebooks() -> list[Path]:
    """Chapter 00 and every chapter whose source builds widgets."""
    found = []
    for py in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py")):
        if py.stem.startswith("00_") or "ipywidgets" in py.read_text():
            found.append(py.with_suffix(".ipynb"))
    return found


pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="Chromium is not installed (apt-get install -y chromium); .ci/run installs it",
    ),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _kill(pid: int) -> None:
    """Stop a process group by id: SIGTERM, then SIGKILL if it lingers."""
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
                if os.waitpid(pid, os.WNOHANG) != (0, 0):
                    return
            except (ProcessLookupError, ChildProcessError):
                return
            time.sleep(0.2)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 with a token, temporary settings and workspaces."""
    base = tmp_path_factory.mktemp("lab")
    root = base / "notebooks"
    root.mkdir()
    for nb in NOTEBOOKS.glob("*.ipynb"):
        browser_copy(nb, root / nb.name)  # the browser saves notebooks; never touch the repo's
    settings = base / "settings"
    for plugin, values in {
        "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
        "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    }.items():
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    token = secrets.token_hex(16)
    port = _free_port()
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(base / "config"), JUPYTER_RUNTIME_DIR=str(base / "runtime"))
    env.pop("BIGMODEL_TESTING", None)  # a person is watching: live plots redraw in place
    env.pop("MPLBACKEND", None)  # inline figures, as a learner gets them
    # The bundled news corpus, as a fresh clone has it: nbval already runs the news chapters
    # on real AG News, and here that would only add minutes of training.
    env.pop("BIGMODEL_AG_NEWS_DIR", None)
    log = (base / "lab.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={base / 'workspaces'}",
         *(["--allow-root"] if os.geteuid() == 0 else [])],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/lab?token={token}", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"JupyterLab did not start; its log:\n{(base / 'lab.log').read_text()[-3000:]}")
            time.sleep(0.5)
        yield url, token
    finally:
        _kill(server.pid)
        log.close()


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless, driven by Playwright (no browser download)."""
    import psutil
    from playwright.sync_api import sync_playwright

    before = {p.pid for p in psutil.Process().children(recursive=True)}
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
        )
        pids = [p.pid for p in psutil.Process().children(recursive=True)
                if p.pid not in before and "chrom" in p.name().lower()]
        try:
            yield chromium
        finally:
            chromium.close()
            for pid in pids:  # whatever survived the close
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def _shut_down_kernels(url: str, token: str) -> None:
    """Closing a tab leaves its kernel running: shut every kernel down through the REST API."""
    headers = {"Authorization": f"token {token}"}
    with urllib.request.urlopen(urllib.request.Request(f"{url}/api/kernels", headers=headers)) as answer:
        kernels = json.load(answer)
    for kernel in kernels:
        request = urllib.request.Request(f"{url}/api/kernels/{kernel['id']}", headers=headers, method="DELETE")
        urllib.request.urlopen(request).close()


def _wait_until_all_cells_ran(page, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        prompts = page.eval_on_selector_all(
            ".jp-Notebook .jp-CodeCell .jp-InputArea-prompt", "els => els.map(e => e.textContent.trim())"
        )
        if prompts and all(re.fullmatch(r"\[\d+\]:", text) for text in prompts):
            return
        if prompts and not any("*" in text for text in prompts):
            errors = page.locator(".jp-OutputArea-output", has_text="Traceback").count()
            if errors:  # Run All stops at an exception: no need to wait for the rest
                raise AssertionError(f"a cell raised an exception; Run All stopped at {prompts}")
        time.sleep(1.0)
    raise AssertionError(f"cells still running or never run after {timeout_s:.0f} s: {prompts}")


def _wait_for_idle_kernel(page, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if "| Idle" in page.inner_text("#jp-main-statusbar"):
            return
        time.sleep(0.5)
    raise AssertionError(f"the kernel was still busy after {timeout_s:.0f} s")


def _widget_images(page) -> list[dict]:
    """For every slider: its index and what the widget's output shows in the same cell: the
    image if there is one, else the output's text (a slider may redraw a line of figures)."""
    return page.evaluate(
        """() => [...document.querySelectorAll('.jp-Notebook .widget-slider')].map((slider, i) => {
              const output = slider.closest('.jp-OutputArea-output');
              const area = output ? output.querySelector('.widget-output, .jupyter-widgets-output-area') : null;
              const img = area ? area.querySelector('img') : null;
              const text = area ? area.innerText.trim() : '';
              return {index: i, src: img ? img.getAttribute('src') : (text || null)};
          })"""
    )


def _move_slider(page, index: int) -> None:
    handle = page.locator(".jp-Notebook .widget-slider").nth(index).locator(".noUi-handle").first
    handle.scroll_into_view_if_needed()
    handle.focus()
    before = handle.get_attribute("aria-valuenow")
    for _ in range(3):
        handle.press("ArrowRight")
    if handle.get_attribute("aria-valuenow") == before:  # it started at its maximum: move it down instead
        for _ in range(3):
            handle.press("ArrowLeft")


def _open_and_run_all(page, url: str, token: str, name: str) -> None:
    """Open notebook ``name`` in JupyterLab, clear its saved outputs, run all cells, wait for them."""
    page.goto(f"{url}/lab/tree/{name}?reset&token={token}", timeout=120_000)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
    time.sleep(2)  # Run All queues the cells until the kernel is ready
    # Saved outputs carry execution counts: clear them so only this run's counts show.
    page.get_by_role("menuitem", name="Edit", exact=True).click()
    page.get_by_role("menuitem", name="Clear Outputs of All Cells", exact=True).click()
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    _wait_until_all_cells_ran(page, RUN_TIMEOUT_S)


@pytest.mark.parametrize("notebook", widget_notebooks(), ids=lambda p: p.stem)
def test_widgets_render_and_redraw(lab, browser, notebook):
    url, token = lab
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        _open_and_run_all(page, url, token, notebook.name)
        page.wait_for_selector(".jp-Notebook .widget-slider .noUi-handle", timeout=60_000)

        sliders = [s for s in _widget_images(page) if s["src"]]
        assert sliders, f"{notebook.name}: no slider whose cell output shows an image or text inside a widget"
        for slider in sliders:
            _move_slider(page, slider["index"])
            deadline = time.monotonic() + 90  # a busy machine (two workers, other jobs) redraws slowly
            while time.monotonic() < deadline:
                now = _widget_images(page)[slider["index"]]["src"]
                if now and now != slider["src"]:
                    break
                time.sleep(0.5)
            else:
                pytest.fail(f"{notebook.name}: moving slider {slider['index']} did not redraw its plot")
            _wait_for_idle_kernel(page)

        text = page.inner_text(".jp-Notebook")
        problems = sorted({m.group(0) for m in ERROR_PATTERNS.finditer(text)})
        assert not problems, f"{notebook.name}: errors on the page: {problems}"
    finally:
        # On failure, show where: scroll the first error into view before the screenshot.
        for marker in ("Error displaying widget", "Traceback"):
            error = page.locator(".jp-OutputArea-output", has_text=marker).first
            if error.count():
                error.scroll_into_view_if_needed()
                break
        page.screenshot(path=str(SHOTS / f"{notebook.stem}.png"), full_page=False)
        page.close()
        _shut_down_kernels(url, token)


def test_glossary_search_typed_in_chinese(lab, browser):
    """Chapter 13's glossary search box answers a term typed in Chinese (and one in full-width Latin)."""
    url, token = lab
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        _open_and_run_all(page, url, token, "13_appendix.ipynb")
        box = page.locator(".jp-Notebook .widget-text input").first
        box.wait_for(timeout=60_000)
        box.scroll_into_view_if_needed()
        for typed, expected in (("知识蒸馏", "knowledge distillation"), ("ＤＲＯＰＯＵＴ", "随机失活")):
            box.fill("")
            box.press_sequentially(typed)  # one input event per character, as a person types
            page.locator(".jp-Notebook .widget-html", has_text=expected).first.wait_for(timeout=30_000)
        text = page.inner_text(".jp-Notebook")
        problems = sorted({m.group(0) for m in ERROR_PATTERNS.finditer(text)})
        assert not problems, f"13_appendix.ipynb: errors on the page: {problems}"
    finally:
        page.screenshot(path=str(SHOTS / "13_appendix_search.png"), full_page=False)
        page.close()
        _shut_down_kernels(url, token)
