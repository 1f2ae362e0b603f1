"""TrainConfig: the paper's defaults, validation, device/bf16 resolution, round trips."""
from __future__ import annotations

import json

import pytest
import torch

from trainer.config import TrainConfig
from trainer.losses import FacetWeights


def test_defaults_are_the_papers():
    cfg = TrainConfig()
    assert cfg.objective == "mcm_dpo" and cfg.beta == 0.1 and cfg.norm is None
    assert cfg.loss_weights == FacetWeights() and cfg.loss_weights.norm == pytest.approx(2.8)
    assert (cfg.corruption, cfg.diffusion_step, cfg.diffusion_steps, cfg.partners) == ("diffusion", 700, 1000, "any")
    assert cfg.learning_rate == 5e-7 and cfg.epochs == 2
    assert cfg.freeze_vision_encoder is False and cfg.lora is False


def test_dpo_objective_uses_the_response_facet_only():
    assert TrainConfig(objective="dpo").loss_weights.enabled() == ["response"]


@pytest.mark.parametrize("bad", [
    dict(objective="ppo"), dict(corruption="blur"), dict(partners="nearest"), dict(diffusion_step=0), dict(diffusion_step=1001),
    dict(beta=0), dict(norm=-1.0), dict(label_smoothing=0.5), dict(learning_rate=0), dict(batch_size=0),
    dict(grad_accumulation=0), dict(bf16="yes"), dict(facet_weights={"r1": -1.0}),
])
def test_invalid_values_are_refused(bad):
    with pytest.raises(ValueError):
        TrainConfig(**bad)


def test_round_trip_through_json():
    cfg = TrainConfig(facet_weights=FacetWeights().only("image"), seed=3, resume="ckpt/step-10")
    again = TrainConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg and again.facet_weights.enabled() == ["image"]
    with pytest.raises(ValueError, match="lerning_rate"):
        TrainConfig.from_dict({"lerning_rate": 1e-5})


def test_device_and_bf16_are_chosen_automatically(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    cfg = TrainConfig()
    assert cfg.resolved_device() == torch.device("cpu") and cfg.use_bf16() is False
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert cfg.resolved_device() == torch.device("cuda") and cfg.use_bf16() is True
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert cfg.use_bf16() is False
    assert TrainConfig(device="cpu").resolved_device() == torch.device("cpu")
    assert TrainConfig(bf16=True).use_bf16(torch.device("cpu")) is True
