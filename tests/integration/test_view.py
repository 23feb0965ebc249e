"""The live view in a real browser: `channelsim view` served, loaded in headless Chromium, driven.

Needs the `view` extra and Debian's chromium (`.ci/run` installs both and sets
CHANNELSIM_REQUIRE_VIEW=1, so in CI a missing piece fails instead of skipping). The screenshot it
takes is the one the README and docs show.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOT = ROOT / "docs" / "figures" / "live-view.png"
# Chromium on a machine with no outside network: no background connections, no sandbox as root.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]

missing = [name for name in ("solara", "playwright") if importlib.util.find_spec(name) is None]
if not Path(CHROMIUM).exists():
    missing.append("chromium")
if missing:
    if os.environ.get("CHANNELSIM_REQUIRE_VIEW"):
        raise RuntimeError(f"the live-view test needs {', '.join(missing)}: pip install -e '.[view]' and "
                           "apt-get install chromium")
    pytest.skip(f"needs {', '.join(missing)}", allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`channelsim view` of the resting neuron, channels and pumps as agents, recorded every 5 ms."""
    port, save = _free_port(), tmp_path_factory.mktemp("view") / "session.toml"
    command = [sys.executable, "-m", "channelsim.cli", "view", "experiments/neuron_rest.toml", "--port", str(port),
               "--save", str(save), "--set", 'run.record_every="5 ms"']
    for kind in ("k_leak", "na_leak", "cl_leak"):
        command += ["--set", f"channels.{kind}.tracking=agent"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://localhost:{port}/"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"channelsim view did not serve {url}:\n{process.communicate()[0]}")
            time.sleep(0.5)
    yield url, save
    process.terminate()
    try:
        process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()


def _now(page) -> tuple[float, float]:
    """Read the simulated time (ms) and membrane potential (mV) off the page."""
    text = page.get_by_text(re.compile(r"t = .* ms, V = .* mV")).inner_text()
    t, v = re.search(r"t = ([-\d.]+) ms, V = ([-\d.]+) mV", text).groups()
    return float(t), float(v)


def _pause(page) -> tuple[float, float]:
    """Press pause, wait for the step in flight to land (the readout stops changing), read the readout."""
    page.get_by_role("button", name="❚❚").click()
    last = None
    while (now := _now(page)) != last:
        last = now
        time.sleep(1.0)
    return now


def test_the_page_renders_runs_and_answers_the_controls(server):
    url, save = server
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url, timeout=120_000)
        readout = page.get_by_text(re.compile(r"t = .* ms, V = .* mV"))
        expect(readout).to_be_visible(timeout=120_000)
        images = page.locator("img")
        expect(images).to_have_count(2, timeout=60_000)  # the membrane and the trace, as PNGs
        for i in range(2):
            assert images.nth(i).evaluate("img => img.naturalWidth") > 300
        t0, v0 = _now(page)
        assert t0 == 0.0 and v0 == pytest.approx(-70.0, abs=1.0)

        page.get_by_role("button", name="▶").click()
        page.wait_for_function("() => /t = [1-9][\\d.]* ms/.test(document.body.innerText)", timeout=60_000)
        t1, v1 = _pause(page)
        assert t1 > t0 and v1 == pytest.approx(-70.0, abs=3.0)  # played, and still at rest

        page.get_by_label("outside K+ (mM)").fill("40")
        page.get_by_label("outside K+ (mM)").press("Enter")
        page.get_by_role("button", name="set outside K+").click()
        expect(page.get_by_text(re.compile("outside K\\+ set to 40"))).to_be_visible(timeout=30_000)
        page.get_by_role("button", name="Step").click()
        deadline = time.monotonic() + 60
        while _now(page)[0] == t1 and time.monotonic() < deadline:
            time.sleep(0.5)
        page.get_by_role("button", name="▶").click()
        time.sleep(3)
        t2, v2 = _pause(page)
        # 40 mM K+ outside: E_K = -55 mV and the GHK potential about -45 mV, 25 mV above rest
        assert t2 > t1 and v2 > v1 + 10.0
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT))

        page.get_by_role("button", name="save session as config").click()
        expect(page.get_by_text(re.compile("saved the session"))).to_be_visible(timeout=30_000)
        browser.close()
    session = tomllib.loads(save.read_text())
    step = session["protocol"][-1]
    assert (step["action"], step["ion"], step["concentration"]) == ("set_outside", "K", "40.0 mM")
