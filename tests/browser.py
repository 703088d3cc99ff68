"""Headless Chromium driven by Selenium, and `emobench serve` started as a user starts it, for the page tests.
Skipped cleanly where Selenium, Chromium or its driver is missing (CI installs Debian's chromium and
chromium-driver)."""
from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
DRIVER = shutil.which("chromedriver")


def require_browser() -> None:
    pytest.importorskip("selenium", reason="the test extra's selenium is not installed")
    if not (CHROMIUM and DRIVER):
        pytest.skip("no Chromium and chromedriver here (apt-get install chromium chromium-driver)")


def start_browser(width: int = 1400, height: int = 1600):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     f"--window-size={width},{height}", "--lang=en-US"):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(DRIVER), options=options)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """`emobench --log-level debug <command...> --port P` in a process of its own, its output kept in a file (the
    tests read what it logged)."""

    def __init__(self, args: list[str], log: Path):
        self.port = free_port()
        self.log = log
        self.out = log.open("w")
        self.process = subprocess.Popen([sys.executable, "-m", "emobench.cli", "--log-level", "debug", *args,
                                         "--port", str(self.port)], stdout=self.out, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}/"
        for _ in range(300):
            if self.process.poll() is not None:
                raise RuntimeError(f"the server stopped: {log.read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the server did not start listening in 60 s")

    def stop(self) -> str:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.out.close()
        return self.log.read_text()


def wait_for(driver, condition, seconds: float = 30):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, seconds).until(condition)


def set_text(driver, element, text: str) -> None:
    """A long text pasted at once (typing 10,000 characters key by key takes minutes), as a paste fires `input`."""
    driver.execute_script("arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input'));",
                          element, text)
