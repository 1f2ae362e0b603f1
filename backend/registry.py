"""Versioned model directories, atomic publishing and hot swapping.

Layout of a registry root::

    root/
      v0001/ v0002/ ...      one exported model each (never modified once published)
      CURRENT                the served version's name, replaced atomically
      .publish.lock          held while publishing, so two publishers cannot collide

Publishing copies into a hidden temporary directory, checks that the model
loads and answers smoke inputs, renames it into place and only then rewrites
``CURRENT``: a publisher killed at any point leaves the served model as it was.
The renamed directory carries an ``.unpublished`` marker until ``CURRENT`` names
it, so the ``CURRENT`` swap is the one moment a version appears: a publisher
killed between the rename and the swap leaves a directory that is not listed as
a version, and the next publish removes it (with any stale staging directory).
Each backend process polls ``CURRENT``; a new version is loaded and smoke-tested
beside the old one and swapped in by one reference assignment, so requests in
flight finish on the engine they started with. A version that fails is refused
(and remembered, so it is not retried every poll); the old one keeps serving.
"""
from __future__ import annotations

import fcntl
import logging
import os
import re
import shutil
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

from backend.engine import AltTextEngine, EngineSettings
from backend.modelinput import PageContext

log = logging.getLogger(__name__)

VERSION_PATTERN = re.compile(r"^v(\d{4,})$")
UNPUBLISHED = ".unpublished"  # inside a version directory that CURRENT has not named yet
SMOKE_CONTEXTS = [
    PageContext(control_role="link", control_href="/cart", only_content=True),
    PageContext(caption="Quarterly sales", heading="Report", page_title="Example"),
]


class NoModelError(RuntimeError):
    """The registry holds no usable model."""


class ModelRefused(RuntimeError):
    """A model directory failed to load or to answer the smoke inputs."""


def smoke_images() -> list[Image.Image]:
    """Deterministic images every model must answer before it may serve."""
    rng = np.random.default_rng(0)
    noise = Image.fromarray(rng.integers(0, 255, (40, 56, 3), dtype=np.uint8))
    return [noise, Image.new("RGB", (24, 24), (250, 250, 250))]


def load_checked(model_dir: Path, version: str, providers=None, settings=EngineSettings()) -> AltTextEngine:
    """Load an engine and make it answer the smoke inputs, or raise :class:`ModelRefused`."""
    try:
        engine = AltTextEngine(model_dir, version=version, providers=providers, settings=settings)
        answers = engine.describe(smoke_images(), SMOKE_CONTEXTS, ["", ""])
    except Exception as exc:
        raise ModelRefused(f"{model_dir}: {exc}") from exc
    if len(answers) != len(SMOKE_CONTEXTS):
        raise ModelRefused(f"{model_dir}: answered {len(answers)} of {len(SMOKE_CONTEXTS)} smoke inputs")
    return engine


class ModelRegistry:
    """The served model of one backend process, and the versions it may swap to."""

    def __init__(self, root: str | Path, providers: list[str] | None = None, settings: EngineSettings = EngineSettings()):
        self.root = Path(root)
        self.providers = providers
        self.settings = settings
        self._engine: AltTextEngine | None = None
        self._refused: set[str] = set()
        self._lock = threading.Lock()
        self._watcher: threading.Thread | None = None
        self._stop = threading.Event()

    # -- reading -------------------------------------------------------------
    def current_version_name(self) -> str | None:
        try:
            name = (self.root / "CURRENT").read_text().strip()
        except FileNotFoundError:
            return None
        return name if VERSION_PATTERN.match(name) else None

    def versions(self) -> list[str]:
        """Published versions: ``vNNNN`` directories, less those a killed publisher left unpublished."""
        if not self.root.is_dir():
            return []
        current = self.current_version_name()
        return sorted(p.name for p in self.root.iterdir() if VERSION_PATTERN.match(p.name) and p.is_dir()
                      and (p.name == current or not (p / UNPUBLISHED).exists()))

    def current(self) -> AltTextEngine:
        """The engine to use for one request (take it once per request)."""
        engine = self._engine
        if engine is None:
            self.poll()
            engine = self._engine
        if engine is None:
            raise NoModelError(f"no usable model in {self.root}")
        return engine

    def poll(self) -> bool:
        """Swap in the published version if it changed; True when a swap happened."""
        name = self.current_version_name()
        with self._lock:
            if name is None or name in self._refused:
                return False
            if self._engine is not None and self._engine.version == name:
                return False
            try:
                engine = load_checked(self.root / name, name, self.providers, self.settings)
            except ModelRefused as exc:
                self._refused.add(name)
                log.error("refused model %s, keeping %s: %s", name,
                          self._engine.version if self._engine else "none", exc)
                return False
            previous = self._engine.version if self._engine else None
            self._engine = engine
            log.info("serving model %s (was %s) on %s", name, previous, engine.provider)
            return True

    def start_watching(self, interval_s: float = 2.0) -> None:
        if self._watcher is not None:
            return

        def watch() -> None:
            while not self._stop.wait(interval_s):
                try:
                    self.poll()
                except Exception:  # the watcher must outlive any one bad poll
                    log.exception("model poll failed")

        self._watcher = threading.Thread(target=watch, name="model-watcher", daemon=True)
        self._watcher.start()

    def stop_watching(self) -> None:
        self._stop.set()

    # -- publishing ----------------------------------------------------------
    @contextmanager
    def publish_lock(self, blocking: bool = True):
        """An exclusive lock across processes; raises BlockingIOError when busy and not blocking."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".publish.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def publish(self, source_dir: str | Path, before_swap: Callable[[], None] | None = None) -> str:
        """Check ``source_dir``, copy it in as the next version and make it current.

        ``before_swap`` is called once the version is in place, just before ``CURRENT``
        is rewritten (trainer/retrain.py's fault-injection point for tests).
        """
        with self.publish_lock():
            return self._publish_locked(Path(source_dir), before_swap)

    def _publish_locked(self, source: Path, before_swap: Callable[[], None] | None) -> str:
        self._remove_leftovers()
        staging = self.root / f".staging-{uuid.uuid4().hex}"
        shutil.copytree(source, staging)
        try:
            numbers = [int(VERSION_PATTERN.match(v).group(1)) for v in self.versions()]
            version = f"v{(max(numbers, default=0) + 1):04d}"
            load_checked(staging, version, ["CPUExecutionProvider"], self.settings)
            (staging / UNPUBLISHED).touch()
            _fsync_tree(staging)
            os.rename(staging, self.root / version)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        if before_swap is not None:
            before_swap()
        self._write_current(version)
        (self.root / version / UNPUBLISHED).unlink()
        return version

    def _remove_leftovers(self) -> None:
        """What a killed publisher left (only called under the publish lock, so none is in use)."""
        self._settle_current()
        for path in self.root.iterdir():
            if path.name.startswith(".staging-"):
                shutil.rmtree(path, ignore_errors=True)
            elif VERSION_PATTERN.match(path.name) and (path / UNPUBLISHED).exists():
                shutil.rmtree(path)

    def _settle_current(self) -> None:
        """Drop the marker a publisher killed just after its swap left on the current version."""
        current = self.current_version_name()
        if current is not None:
            (self.root / current / UNPUBLISHED).unlink(missing_ok=True)

    def set_current(self, version: str) -> None:
        """Point CURRENT at ``version`` atomically (also used to roll back)."""
        if version not in self.versions():
            raise NoModelError(f"unknown version {version}")
        self._settle_current()  # a rollback must not turn the version it leaves into a leftover
        self._write_current(version)

    def _write_current(self, version: str) -> None:
        tmp = self.root / f".CURRENT-{uuid.uuid4().hex}"
        tmp.write_text(version + "\n")
        os.replace(tmp, self.root / "CURRENT")


def _fsync_tree(path: Path) -> None:
    for file in path.rglob("*"):
        if file.is_file():
            with open(file, "rb") as handle:
                os.fsync(handle.fileno())
