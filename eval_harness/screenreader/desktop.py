"""A desktop a screen reader can run on: Xvfb, a D-Bus session, the AT-SPI bus, Orca with captured speech.

Kept free of pytest (the fixtures in conftest.py use it). DESIGN.md §5 has the
checked recipe this follows. Every process is started in its own process group
and killed as a group (Orca ignores SIGTERM when idle), and each start is
checked, so a failure names the piece that did not start.
"""
from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, with gi and pyatspi (not the venv's)
# What the Makefile's system-packages target installs for this layer (keep the two in step).
PACKAGES = "xvfb xdotool dbus-daemon dbus-bin at-spi2-core gir1.2-atspi-2.0 python3-pyatspi orca"
TOOLS = {"Xvfb": "xvfb", "xdotool": "xdotool", "dbus-daemon": "dbus-daemon", "dbus-send": "dbus-bin",
         "orca": "orca", "pgrep": "procps"}
AT_SPI_LAUNCHER = "/usr/libexec/at-spi-bus-launcher"


class DesktopError(RuntimeError):
    """A piece of the screen-reader desktop did not start; the message names it."""


def missing_pieces() -> list[str]:
    """What is not installed, as a message per piece (empty when all is there)."""
    missing = [f"{tool} (Debian package {pkg})" for tool, pkg in TOOLS.items() if not shutil.which(tool)]
    if not Path(AT_SPI_LAUNCHER).exists():
        missing.append(f"{AT_SPI_LAUNCHER} (Debian package at-spi2-core)")
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import pyatspi, gi; gi.require_version('Atspi', '2.0')"],
                           capture_output=True, text=True) if Path(SYSTEM_PYTHON).exists() else None
    if probe is None or probe.returncode != 0:
        missing.append("pyatspi for /usr/bin/python3 (Debian packages python3-pyatspi gir1.2-atspi-2.0)")
    return missing


def _kill_group(proc: subprocess.Popen | None, grace: float = 2.0) -> None:
    if proc is None or proc.poll() is not None and _group_gone(proc.pid):
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.time() + wait
        while time.time() < deadline:
            if proc.poll() is not None and _group_gone(proc.pid):
                return
            time.sleep(0.05)


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class Speech:
    """What Orca said, read from the capture file: `mark()` then `since()` / `wait_for()`."""

    def __init__(self, path: Path):
        self.path = path
        self._offset = 0

    def all(self) -> list[dict]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]

    def mark(self) -> int:
        self._offset = len(self.all())
        return self._offset

    def since(self, mark: int | None = None, kinds=("speak", "sayall")) -> list[str]:
        start = self._offset if mark is None else mark
        return [u["text"] for u in self.all()[start:] if u["kind"] in kinds]

    def wait_for(self, predicate, timeout: float, settle: float = 0.4, mark: int | None = None) -> list[str]:
        """Wait until predicate(utterances since mark) holds and no new speech came for `settle` s."""
        deadline = time.time() + timeout
        last, last_change = None, time.time()
        while time.time() < deadline:
            said = self.since(mark)
            if said != last:
                last, last_change = said, time.time()
            if predicate(said) and time.time() - last_change >= settle:
                return said
            time.sleep(0.05)
        return self.since(mark)


class Desktop:
    """Xvfb + D-Bus session + AT-SPI bus; `env` is what every client process needs."""

    def __init__(self, workdir: Path):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.procs: list[subprocess.Popen] = []
        self.env: dict[str, str] = {}

    def _spawn(self, args, **kw) -> subprocess.Popen:
        proc = subprocess.Popen(args, start_new_session=True, **kw)
        self.procs.append(proc)
        return proc

    def start(self) -> "Desktop":
        missing = missing_pieces()
        if missing:
            raise DesktopError("the screen-reader tests need: " + "; ".join(missing)
                               + f". Install them with `make system-packages` (apt-get install {PACKAGES}).")
        runtime = self.workdir / "runtime"
        runtime.mkdir(mode=0o700, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "DBUS_SESSION_BUS_ADDRESS",
                                                                "WAYLAND_DISPLAY", "NO_AT_BRIDGE")}
        env.update(XDG_RUNTIME_DIR=str(runtime), HOME=str(self.workdir / "home"), LANG="C.UTF-8",
                   GTK_A11Y="atspi")
        Path(env["HOME"]).mkdir(exist_ok=True)

        # Xvfb writes the display number and its newline separately (DESIGN.md §5).
        read_fd, write_fd = os.pipe()
        xlog = open(self.workdir / "xvfb.log", "wb")
        xvfb = self._spawn(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1280x1024x24", "-nolisten", "tcp",
                            "+extension", "XTEST"], pass_fds=(write_fd,), stdout=xlog, stderr=xlog)
        os.close(write_fd)
        number = b""
        deadline = time.time() + 15
        while not number.endswith(b"\n") and time.time() < deadline:
            ready, _, _ = select.select([read_fd], [], [], 0.2)
            if ready:
                chunk = os.read(read_fd, 64)
                if not chunk:
                    break
                number += chunk
            if xvfb.poll() is not None:
                break
        os.close(read_fd)
        if not number.strip().isdigit():
            raise DesktopError(f"Xvfb did not start (see {self.workdir / 'xvfb.log'})")
        env["DISPLAY"] = f":{number.decode().strip()}"

        dbus = self._spawn(["dbus-daemon", "--session", "--nofork", "--print-address=1"], env=env,
                           stdout=subprocess.PIPE, stderr=open(self.workdir / "dbus.log", "wb"), text=True)
        ready, _, _ = select.select([dbus.stdout], [], [], 15)
        address = dbus.stdout.readline().strip() if ready else ""
        if not address.startswith("unix:"):
            raise DesktopError(f"the D-Bus session bus did not start (see {self.workdir / 'dbus.log'})")
        env["DBUS_SESSION_BUS_ADDRESS"] = address

        self._spawn([AT_SPI_LAUNCHER, "--launch-immediately"], env=env,
                    stdout=open(self.workdir / "at-spi.log", "wb"), stderr=subprocess.STDOUT)
        self.env = env
        deadline = time.time() + 15
        while time.time() < deadline:
            probe = subprocess.run(["dbus-send", "--session", "--print-reply", "--dest=org.a11y.Bus", "/org/a11y/bus",
                                    "org.a11y.Bus.GetAddress"], capture_output=True, text=True, env=env, timeout=5)
            if probe.returncode == 0 and "unix:" in probe.stdout:
                return self
            time.sleep(0.2)
        raise DesktopError(f"the AT-SPI bus did not start (see {self.workdir / 'at-spi.log'})")

    def key(self, *keys: str, delay: float = 0.0) -> None:
        """Press keys through XTEST, where Orca hears them (DESIGN.md §5)."""
        for key in keys:
            subprocess.run(["xdotool", "key", key], env=self.env, check=True, timeout=10)
            if delay:
                time.sleep(delay)

    def type(self, text: str) -> None:
        """Type text through XTEST (Orca hears each key; in browse mode letters are its commands)."""
        subprocess.run(["xdotool", "type", "--delay", "1", text], env=self.env, check=True, timeout=30)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            _kill_group(proc)
        self.procs.clear()


CUSTOMIZATIONS = """# Written by eval_harness/screenreader/desktop.py: speech goes to a file, not a synthesiser.
import sys
sys.path.insert(0, {folder!r})
import orca.settings as settings
settings.speechServerFactory = "orca_capture"
settings.speechFactoryModules = ["orca_capture"]
settings.speechServerInfo = None
settings.enableSpeech = True
settings.enableSound = False
settings.enableKeyEcho = False
settings.enableEchoByWord = False
settings.enableEchoByCharacter = False
settings.enableBraille = False
settings.enableBrailleMonitor = False
settings.enableSpeechMonitor = False
settings.onlySpeakDisplayedText = False
settings.verbalizePunctuationStyle = settings.PUNCTUATION_STYLE_NONE
"""


class Orca:
    """Orca 43 with its own settings folder and a speech file; one at a time per user (DESIGN.md §5)."""

    def __init__(self, desktop: Desktop):
        self.desktop = desktop
        self.prefs = desktop.workdir / "orca-prefs"
        self.speech = Speech(desktop.workdir / "speech.jsonl")
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 20.0) -> "Orca":
        other = subprocess.run(["pgrep", "-u", str(os.getuid()), "-x", "orca"], capture_output=True, text=True)
        if other.stdout.strip():
            raise DesktopError(f"another Orca runs (pid {other.stdout.split()}): Orca 43 refuses to start beside it")
        self.prefs.mkdir(parents=True, exist_ok=True)
        (self.prefs / "orca-customizations.py").write_text(CUSTOMIZATIONS.format(folder=str(HERE)))
        env = dict(self.desktop.env, ALTLENS_SPEECH_FILE=str(self.speech.path))
        log = open(self.desktop.workdir / "orca.log", "wb")
        self.proc = self.desktop._spawn(["orca", "-u", str(self.prefs)], env=env, stdout=log, stderr=log)
        said = self.speech.wait_for(lambda s: bool(s), timeout, settle=0.5, mark=0)
        if self.proc.poll() is not None or not said:
            raise DesktopError(f"Orca did not start or said nothing in {timeout:.0f}s "
                               f"(see {self.desktop.workdir / 'orca.log'})")
        return self

    def stop(self) -> None:
        _kill_group(self.proc, grace=0.5)
