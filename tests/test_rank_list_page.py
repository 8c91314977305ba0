"""The rank-list page (`amd-reid rank-list`, `RankList.html`) in headless Chromium: it renders without a network or a
folder of images beside it, every image decodes, and each wrong item above the true match says what made it nearer.
A screenshot goes to the test's temporary folder, and to $AMD_REID_RANKLIST_SCREENSHOT when that variable is set.

Needs /usr/bin/chromium (apt-get install chromium) and the python `playwright` package; skipped, with the reason,
when either is missing."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the environment
    sync_playwright = None


@pytest.fixture(scope="module")
def page_file(tiny_run, tmp_path_factory) -> tuple[Path, object]:
    from amd_reid.cli import main
    from amd_reid import Explainer
    out = tmp_path_factory.mktemp("rank_list") / "rank_list"
    ex = Explainer(tiny_run["ckpt"])
    gallery = ex.gallery(tiny_run["data"] / "bounding_box_test")
    queries = sorted((tiny_run["data"] / "query").glob("*.jpg"))   # one with a wrong image above its match, if any
    query = next((q for q in queries if ex.rank_list(q, gallery, k=6).nearer(0)), queries[0])
    code = main(["rank-list", str(query), str(tiny_run["data"] / "bounding_box_test"), "--ckpt", str(tiny_run["ckpt"]),
                 "-k", "6", "--out", str(out)])
    assert code == 0
    rl = ex.rank_list(query, gallery, k=6)
    return out.with_suffix(".html"), rl


def test_page_is_self_contained(page_file):
    html, rl = page_file
    text = html.read_text()
    assert "src=\"http" not in text and "<script" not in text
    assert text.count("data:image/png;base64,") == 1 + rl.k * 4         # query, and each item with its 3 masks
    assert html.with_suffix(".png").stat().st_size > 0


@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} not found (apt-get install -y chromium)")
@pytest.mark.skipif(sync_playwright is None, reason="python package playwright is not installed")
def test_page_in_chromium(page_file, tmp_path):
    html, rl = page_file
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.route("**/*", lambda route: route.abort() if not route.request.url.startswith(("file:", "data:"))
                       else route.continue_())                       # nothing may come from the network
            page.goto(html.resolve().as_uri())
            page.wait_for_load_state("load")
            rows = page.locator("tr.item")
            assert rows.count() == rl.k
            broken = page.evaluate("Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).length")
            assert broken == 0
            assert page.evaluate("document.images.length") == 1 + rl.k * 4
            text = page.inner_text("body")
            assert "rank 1" in text and rl.summary() in text
            for i in range(min(rl.match_rank or 0, rl.k)):            # each wrong item above the match says why
                if rl.nearer(i):
                    assert "nearer to the query than the true match" in rows.nth(i).inner_text()
            shot = tmp_path / "rank_list_page.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
            if os.environ.get("AMD_REID_RANKLIST_SCREENSHOT"):
                shutil.copy(shot, os.environ["AMD_REID_RANKLIST_SCREENSHOT"])
        finally:
            browser.close()
