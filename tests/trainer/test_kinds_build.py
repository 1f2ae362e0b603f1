"""`python -m trainer.kinds`: fits on the kind pictures and writes kinds.json beside a model; without real-web
data to choose thresholds on, it names no kind (a kind is said only where dev shows it right)."""
import random

import pytest

from backend.kinds import KINDS, KindRecogniser
from corpus import kinds
from trainer import kinds as trainer_kinds


def test_build_writes_a_recogniser_that_names_nothing_without_real_web_data(tmp_path):
    figures = trainer_kinds.build(tmp_path, None, seed=0, per_kind=4, progress=lambda _: None)
    assert figures["examples"] == {kind: 4 for kind in KINDS} and figures["train_accuracy"] > 0.5
    recogniser = KindRecogniser.load(tmp_path)
    assert recogniser.say_at == {} and recogniser.kinds == KINDS
    photo = kinds.photos(random.Random(5), 1)[0].image
    kind, probability = recogniser.recognise(photo)
    assert kind == "" and 0 < probability <= 1


def test_the_command_refuses_a_folder_that_is_not_there(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit:
        trainer_kinds.main(["--out", str(tmp_path / "absent")])
    assert exit.value.code == 2
    assert "is not a model directory" in capsys.readouterr().err
    assert not (tmp_path / "absent").exists()
