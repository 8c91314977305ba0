"""The explanation browser (amd_reid.widgets) in a real JupyterLab, driven by headless Chromium.

Starts JupyterLab from this environment on a free local port with throw-away config / data /
runtime folders, opens a small demo notebook (toy Market folder, untrained ResNet-18 target and
interpreter), runs it, and checks that moving the query slider with the keyboard changes the
rank-list image, the rank table and the pair view, and that clicking a gallery button changes the
contribution chart. A screenshot of the browser is written to the test's temporary folder, and
also to $AMD_REID_BROWSER_SCREENSHOT when that variable is set (e.g. docs/images/browser_screenshot.png).

Needs /usr/bin/chromium (apt-get install chromium) and the python `playwright` package; it never
downloads a browser. Skipped, with the reason, when either is missing.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
JUPYTER = Path(sys.executable).parent / "jupyter"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout, sync_playwright
except ImportError:  # pragma: no cover - depends on the environment
    sync_playwright = PlaywrightTimeout = None

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} not found (apt-get install -y chromium)"),
    pytest.mark.skipif(sync_playwright is None, reason="python package playwright is not installed"),
    pytest.mark.skipif(not JUPYTER.exists(), reason=f"{JUPYTER} not found (jupyterlab is a dev requirement)"),
]

DEMO = '''\
import warnings
import torch
from pathlib import Path
from PIL import Image, ImageFilter
from amd_reid.datasets import Market1501, make_toy_market
from amd_reid.heads import build_reid_model
from amd_reid.interpreter import AMDInterpreter
from amd_reid.widgets import ExplanationBrowser

warnings.filterwarnings("ignore", message="The given NumPy array is not writable")  # amd_reid.data, harmless here
torch.manual_seed(0)
torch.set_num_threads(1)
root = make_toy_market(Path("toy"), n_train=2, n_test=5, images_per_id=3, size=(64, 32), seed=0)
for f in root.rglob("*.jpg"):  # blurred noise: easier on the eye in the screenshot, and smaller
    Image.open(f).filter(ImageFilter.GaussianBlur(2)).save(f, quality=90)
toy = Market1501(root)
T = build_reid_model(18, num_classes=2).eval()
I = AMDInterpreter(T, len(toy.attribute_names)).eval()
browser = ExplanationBrowser(toy, T, I, k=5, size=(64, 32), progress=False)
browser'''


def write_demo(path: Path) -> None:
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "id": "demo", "metadata": {}, "outputs": [],
                     "source": DEMO}],
          "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
                       "language_info": {"name": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb, indent=1))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(url: str, method: str = "GET", timeout: float = 5.0):
    req = urllib.request.Request(url, method=method)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        body = r.read()
        return r.status, (json.loads(body) if body else None)


def wait_for_server(base: str, proc: subprocess.Popen, log: Path, timeout: float = 90.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if http(f"{base}/api/status")[0] == 200:
                return
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"jupyter lab did not answer on {base} within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def stop_server(base: str, proc: subprocess.Popen) -> None:
    "Shut the kernels down through the API, then stop the server by its PID (kill after a timeout)."
    try:
        for k in http(f"{base}/api/kernels")[1] or []:
            http(f"{base}/api/kernels/{k['id']}", method="DELETE", timeout=15)
    except Exception:
        pass
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
    try:  # anything the server started in its own session (a kernel left behind), by process group id
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


@pytest.fixture()
def lab(tmp_path):
    "A JupyterLab server on 127.0.0.1 serving a folder with the demo notebook: yields (base url, folder)."
    root = tmp_path / "root"
    root.mkdir()
    write_demo(root / "demo.ipynb")
    env = dict(os.environ)
    for var in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        (tmp_path / var.lower()).mkdir()
        env[var] = str(tmp_path / var.lower())
    env.update(PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    # no "get official Jupyter news?" toast over the page (and no request for the news)
    (tmp_path / "jupyter_config_dir" / "labconfig").mkdir()
    (tmp_path / "jupyter_config_dir" / "labconfig" / "page_config.json").write_text(
        json.dumps({"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    port = free_port()
    log = tmp_path / "jupyter.log"
    cmd = [str(JUPYTER), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}", "--port-retries=0",
           "--IdentityProvider.token=", "--ServerApp.disable_check_xsrf=True", "--LabApp.extension_manager=readonly",
           f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")                                  # CI containers run as root
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=root, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_server(base, proc, log)
        yield base, root, log
    finally:
        stop_server(base, proc)


# what the browser shows: the rank list and pair images, the rank table and the contribution chart
VIEW_STATE_JS = """() => ({rank: document.querySelector('img.amd-rank-image').src,
                          pair: document.querySelector('img.amd-pair-masks').src,
                          table: document.querySelector('.amd-rank-table').innerText,
                          chart: document.querySelector('.amd-chart').innerText})"""


def wait_until_changed(page, before: dict, keys: list[str], event: str) -> dict:
    "Wait until each view in `keys` differs from `before` (each arrives in its own message); the new state."
    try:
        page.wait_for_function(f"([b, keys]) => {{ const s = ({VIEW_STATE_JS})(); "
                               "return keys.every(k => s[k] !== b[k]); }", arg=[before, keys], timeout=30_000)
    except PlaywrightTimeout:                    # other failures (a crashed page) keep their own message
        now = page.evaluate(VIEW_STATE_JS)
        raise AssertionError(f"{[k for k in keys if now[k] == before[k]]} did not change when {event}")
    return page.evaluate(VIEW_STATE_JS)


def test_browser_in_jupyterlab(lab, tmp_path):
    base, root, log = lab
    t0 = time.monotonic()
    console = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 2400})
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
            page.goto(f"{base}/lab/tree/demo.ipynb", wait_until="domcontentloaded", timeout=60_000)
            # the app is up and the notebook's kernel is ready, then run every cell
            page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget "
                                   "&& window.jupyterapp.shell.currentWidget.sessionContext", timeout=60_000)
            page.evaluate("""async () => {
                const nb = window.jupyterapp.shell.currentWidget;
                await nb.context.ready;
                await nb.sessionContext.ready;
                await window.jupyterapp.commands.execute('notebook:run-all-cells');
            }""")
            rank_img, pair_img = page.locator("img.amd-rank-image"), page.locator("img.amd-pair-masks")
            table, info, chart = page.locator(".amd-rank-table"), page.locator(".amd-info"), page.locator(".amd-chart")
            try:
                rank_img.wait_for(state="visible", timeout=120_000)
                page.wait_for_function("() => document.querySelector('img.amd-rank-image').naturalWidth > 0")
            except Exception:
                page.screenshot(path=str(tmp_path / "failed.png"))
                raise AssertionError("the browser widget did not render; console:\n" + "\n".join(console[-30:]) +
                                     "\nserver log:\n" + log.read_text()[-3000:])
            assert "query 0" in info.inner_text()
            before = dict(rank=rank_img.get_attribute("src"), pair=pair_img.get_attribute("src"),
                          table=table.inner_text(), chart=chart.inner_text())
            assert before["table"].count("\n") >= 5, before["table"]      # header + k = 5 rows

            # move the query slider one step with the keyboard on its handle
            handle = page.locator(".amd-query .noUi-handle")
            handle.focus()
            page.keyboard.press("ArrowRight")
            page.wait_for_function("() => document.querySelector('.amd-info').innerText.includes('query 1 ')",
                                   timeout=30_000)
            after = wait_until_changed(page, before, ["rank", "pair", "table", "chart"], "the query slider moved")

            # pick the third gallery item: the chart and the pair masks change, the table highlight moves
            page.locator(".amd-gallery-pick button").nth(2).click()
            wait_until_changed(page, after, ["chart", "pair", "rank"], "a gallery item was picked")
            # the picked item is underlined in the strip and highlighted in the table (style only: same text)
            assert page.locator(".amd-rank-table tr[data-rank='3']").get_attribute("style").find("background") >= 0
            assert "gallery" in chart.inner_text()

            shot = tmp_path / "browser_screenshot.png"
            page.locator(".amd-browser").screenshot(path=str(shot))
            page.screenshot(path=str(tmp_path / "jupyterlab.png"))
            assert shot.stat().st_size > 10_000
            if os.environ.get("AMD_REID_BROWSER_SCREENSHOT"):
                dest = Path(os.environ["AMD_REID_BROWSER_SCREENSHOT"])
                dest.parent.mkdir(parents=True, exist_ok=True)
                from PIL import Image                                  # a palette PNG keeps figures/ small
                Image.open(shot).convert("RGB").quantize(256).save(dest, optimize=True)
        finally:
            browser.close()
    print(f"browser test: {time.monotonic() - t0:.1f} s in the browser; screenshot {tmp_path / 'browser_screenshot.png'}")
