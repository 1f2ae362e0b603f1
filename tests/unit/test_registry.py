"""Publishing is atomic, broken models are refused, and swaps never fail a request."""
import shutil
import threading

import pytest

from backend.modelinput import PageContext
from backend.registry import UNPUBLISHED, ModelRefused, ModelRegistry, NoModelError, smoke_images


def test_publish_numbers_versions_and_points_current(tiny_onnx, tmp_path):
    registry = ModelRegistry(tmp_path / "models")
    assert registry.publish(tiny_onnx) == "v0001"
    assert registry.publish(tiny_onnx) == "v0002"
    assert registry.current_version_name() == "v0002"
    assert registry.current().version == "v0002"
    assert not [p for p in (tmp_path / "models").iterdir() if p.name.startswith(".staging")]


def test_broken_model_is_refused_at_publish_and_leaves_current(tiny_onnx, tmp_path):
    registry = ModelRegistry(tmp_path / "models")
    registry.publish(tiny_onnx)
    broken = tmp_path / "broken"
    shutil.copytree(tiny_onnx, broken)
    (broken / "decoder_with_past_model.onnx").write_bytes(b"not an onnx file")
    with pytest.raises(ModelRefused):
        registry.publish(broken)
    assert registry.versions() == ["v0001"]
    assert registry.current_version_name() == "v0001"
    assert not [p for p in (tmp_path / "models").iterdir() if p.name.startswith(".staging")]


def test_corrupted_version_made_current_by_hand_is_refused_while_old_serves(tiny_onnx, tmp_path):
    root = tmp_path / "models"
    registry = ModelRegistry(root)
    registry.publish(tiny_onnx)
    registry.current()
    shutil.copytree(tiny_onnx, root / "v0002")
    (root / "v0002" / "encoder_model.onnx").write_bytes(b"\x00" * 10)
    registry.set_current("v0002")
    assert registry.poll() is False
    assert registry.current().version == "v0001"
    assert registry.poll() is False  # remembered as refused, not reloaded every poll


def test_swap_while_requests_are_in_flight(tiny_onnx, tmp_path):
    root = tmp_path / "models"
    publisher = ModelRegistry(root)
    publisher.publish(tiny_onnx)
    server = ModelRegistry(root)
    server.current()
    errors, versions_seen = [], set()
    stop = threading.Event()

    def client():
        while not stop.is_set():
            try:
                engine = server.current()
                answer = engine.describe(smoke_images()[:1], [PageContext()], [""])
                assert len(answer) == 1
                versions_seen.add(engine.version)
            except Exception as exc:  # any failure is a dropped request
                errors.append(exc)

    threads = [threading.Thread(target=client) for _ in range(3)]
    for t in threads:
        t.start()
    publisher.publish(tiny_onnx)
    server.poll()
    after_swap = server.current().version
    stop.set()
    for t in threads:
        t.join()
    assert errors == []
    assert after_swap == "v0002"
    assert "v0001" in versions_seen


def test_second_publisher_is_refused_while_first_holds_the_lock(tmp_path):
    a, b = ModelRegistry(tmp_path / "m"), ModelRegistry(tmp_path / "m")
    with a.publish_lock():
        with pytest.raises(BlockingIOError):
            with b.publish_lock(blocking=False):
                pass


def test_what_a_killed_publisher_left_is_no_version_and_is_cleared_by_the_next_publish(tiny_onnx, tmp_path):
    root = tmp_path / "models"
    registry = ModelRegistry(root)
    registry.publish(tiny_onnx)
    (root / ".staging-0123").mkdir()  # killed while copying
    (root / ".staging-0123" / "encoder_model.onnx").write_bytes(b"\x00" * 10)
    shutil.copytree(tiny_onnx, root / "v0002")  # killed between the rename and the CURRENT swap
    (root / "v0002" / UNPUBLISHED).touch()
    assert registry.versions() == ["v0001"]
    with pytest.raises(NoModelError):
        registry.set_current("v0002")
    assert registry.publish(tiny_onnx) == "v0002"
    assert registry.versions() == ["v0001", "v0002"] and registry.current_version_name() == "v0002"
    assert not (root / "v0002" / UNPUBLISHED).exists()
    assert not list(root.glob(".staging-*"))


def test_version_made_current_before_its_marker_was_dropped_stays_a_version_after_rollback(tiny_onnx, tmp_path):
    root = tmp_path / "models"
    registry = ModelRegistry(root)
    registry.publish(tiny_onnx)
    registry.publish(tiny_onnx)
    (root / "v0002" / UNPUBLISHED).touch()  # killed between the CURRENT swap and dropping the marker
    assert registry.versions() == ["v0001", "v0002"]
    registry.set_current("v0001")
    assert registry.versions() == ["v0001", "v0002"]
    assert registry.publish(tiny_onnx) == "v0003" and (root / "v0002").is_dir()
