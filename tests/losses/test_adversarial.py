"""Adversarial losses on discriminator logits: known values, any logit shape, float32 results."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from i2i.losses import GANLoss


def value(loss: torch.Tensor) -> float:
    return loss.item()


@pytest.mark.parametrize("real", [True, False])
def test_vanilla_zero_logits_is_log2(real: bool) -> None:
    """BCE of logit 0 (probability ½) is log 2, for real and for fake targets."""
    assert value(GANLoss("vanilla")(torch.zeros(2, 1, 30, 30), real)) == pytest.approx(math.log(2), abs=1e-6)


def test_vanilla_matches_the_formula() -> None:
    """vanilla is −log σ(x) towards real and −log(1 − σ(x)) towards fake, averaged over every patch."""
    torch.manual_seed(0)
    x = torch.randn(3, 1, 30, 30) * 3
    loss = GANLoss("vanilla")
    assert value(loss(x, True)) == pytest.approx(F.softplus(-x).mean().item(), rel=1e-5)
    assert value(loss(x, False)) == pytest.approx(F.softplus(x).mean().item(), rel=1e-5)
    assert value(loss(x, True, for_discriminator=False)) == pytest.approx(value(loss(x, True)), rel=1e-6)


def test_vanilla_confident_logits() -> None:
    """A confidently right discriminator has a loss near 0, a confidently wrong one a large loss."""
    loss = GANLoss("vanilla")
    high = torch.full((1, 1, 4, 4), 20.0)
    assert value(loss(high, True)) < 1e-8
    assert value(loss(high, False)) == pytest.approx(20.0, rel=1e-6)


def test_lsgan_values() -> None:
    """lsgan is the mean squared distance to 1 (real) or 0 (fake)."""
    loss = GANLoss("lsgan")
    ones = torch.ones(2, 1, 30, 30)
    assert value(loss(ones, True)) == 0.0
    assert value(loss(ones, False)) == pytest.approx(1.0)
    assert value(loss(torch.zeros(2, 1, 30, 30), True)) == pytest.approx(1.0)
    x = torch.tensor([0.0, 1.0, 2.0, 3.0]).view(1, 1, 2, 2)
    assert value(loss(x, True)) == pytest.approx((1 + 0 + 1 + 4) / 4)
    assert value(loss(x, False)) == pytest.approx((0 + 1 + 4 + 9) / 4)


def test_hinge_discriminator_values() -> None:
    """Hinge D loss: mean max(0, 1 − x) for real, mean max(0, 1 + x) for fake."""
    loss = GANLoss("hinge")
    assert value(loss(torch.full((1, 1, 30, 30), 2.0), True)) == 0.0
    assert value(loss(torch.zeros(1, 1, 30, 30), True)) == pytest.approx(1.0)
    assert value(loss(torch.full((1, 1, 30, 30), -2.0), False)) == 0.0
    assert value(loss(torch.zeros(1, 1, 30, 30), False)) == pytest.approx(1.0)
    x = torch.tensor([-1.0, 0.5, 3.0]).view(1, 1, 1, 3)
    assert value(loss(x, True)) == pytest.approx((2.0 + 0.5 + 0.0) / 3)
    assert value(loss(x, False)) == pytest.approx((0.0 + 1.5 + 4.0) / 3)


def test_hinge_generator_is_negative_mean() -> None:
    """Hinge G loss is −mean(logits), whatever the target flag."""
    torch.manual_seed(0)
    x = torch.randn(4, 1, 30, 30)
    loss = GANLoss("hinge")
    assert value(loss(x, True, for_discriminator=False)) == pytest.approx(-x.mean().item(), abs=1e-6)
    assert value(loss(x, False, for_discriminator=False)) == pytest.approx(-x.mean().item(), abs=1e-6)


@pytest.mark.parametrize("mode", ["vanilla", "lsgan", "hinge"])
@pytest.mark.parametrize("shape", [(1,), (4, 1, 30, 30), (2, 1, 7, 5), (3, 10)])
def test_any_shape_gives_a_float32_scalar(mode: str, shape: tuple[int, ...]) -> None:
    """Every mode reduces any logit shape to a float32 scalar that back-propagates."""
    x = torch.randn(*shape, requires_grad=True)
    for real in (True, False):
        for for_d in (True, False):
            loss = GANLoss(mode)(x, real, for_discriminator=for_d)
            assert loss.shape == () and loss.dtype == torch.float32 and torch.isfinite(loss)
    loss.backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


@pytest.mark.parametrize("mode", ["vanilla", "lsgan", "hinge"])
def test_bfloat16_logits_give_float32(mode: str) -> None:
    """bfloat16 logits (autocast) give a float32 loss equal to the float32 loss of the same values."""
    x16 = (torch.randn(2, 1, 30, 30) * 2).to(torch.bfloat16)
    loss = GANLoss(mode)
    got = loss(x16, True)
    assert got.dtype == torch.float32 and got.shape == ()
    assert got.item() == pytest.approx(loss(x16.float(), True).item(), rel=1e-6)


def test_unknown_mode_raises() -> None:
    """An unknown mode name is refused at construction."""
    with pytest.raises(ValueError, match="unknown GAN mode 'wgan'"):
        GANLoss("wgan")  # type: ignore[arg-type]
