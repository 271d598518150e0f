"""pix2pix (paper eq. 4): networks, optimizer specs, and one training step checked through a recording context."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from i2i.data.config import DataConfig
from i2i.errors import ConfigError
from i2i.methods import METHODS, Method, OptimizerSpec, StepOutput
from i2i.methods.base import set_requires_grad
from i2i.methods.pix2pix import Pix2Pix, Pix2PixConfig
from i2i.run_config import load_config

TINY_METHOD = {
    "generator": {"name": "unet_128", "num_downs": 5, "ngf": 4},
    "discriminator": {"ndf": 4, "n_layers": 2},
}


def build(seed: int = 0, data: dict | None = None, **method) -> Pix2Pix:
    """A pix2pix method with 4-filter networks, built from a full run config as the CLI does."""
    cfg = load_config(None, {"data": data or {}, "method": {**TINY_METHOD, **method}})
    torch.manual_seed(seed)
    return cfg.method.build(cfg.data)


def make_batch(seed: int = 1, batch_size: int = 2, in_ch: int = 3, out_ch: int = 3) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "a": torch.rand(batch_size, in_ch, 32, 32, generator=g) * 2 - 1,
        "b": torch.rand(batch_size, out_ch, 32, 32, generator=g) * 2 - 1,
    }


class RecordingContext:
    """A StepContext with real Adam optimizers that records each call, its loss, and the state around it."""

    def __init__(self, method: Pix2Pix) -> None:
        self.method = method
        self.optimizers = {
            name: torch.optim.Adam(spec.params, lr=spec.lr, betas=spec.betas)
            for name, spec in method.optimizer_specs().items()
        }
        self.calls: list[str] = []
        self.losses: dict[str, torch.Tensor] = {}
        self.loss_requires_grad: dict[str, bool] = {}
        self.gen_grads_after_disc: list[torch.Tensor | None] = []
        self.disc_after_disc_step: list[torch.Tensor] = []
        self.disc_grads_after_disc: list[torch.Tensor] = []

    def step(self, name: str, loss: torch.Tensor) -> None:
        self.calls.append(name)
        self.losses[name] = loss.detach().clone()
        self.loss_requires_grad[name] = loss.requires_grad
        opt = self.optimizers[name]
        opt.zero_grad()
        loss.backward()
        opt.step()
        if name == "disc":
            self.gen_grads_after_disc = [p.grad for p in self.method.gen.parameters()]
            self.disc_after_disc_step = [p.detach().clone() for p in self.method.disc.parameters()]
            self.disc_grads_after_disc = [p.grad.clone() for p in self.method.disc.parameters()]


def run_step(method: Pix2Pix, seed: int = 2) -> tuple[RecordingContext, StepOutput]:
    ctx = RecordingContext(method)
    method.train()
    torch.manual_seed(seed)  # dropout masks
    return ctx, method.training_step(make_batch(), ctx)


# -- construction ----------------------------------------------------------------------------------------------


def test_registered_and_default() -> None:
    """pix2pix is the registered default method and builds a Pix2Pix with the configured networks."""
    assert METHODS.get("pix2pix") is Pix2PixConfig
    method = build()
    assert isinstance(method, Pix2Pix) and isinstance(method, Method)
    assert method.gen.cfg.ngf == 4 and method.gen.cfg.num_downs == 5
    assert type(load_config(None, {}).method) is Pix2PixConfig


def test_networks() -> None:
    """networks() names the generator and the discriminator (the checkpoint keys)."""
    method = build()
    assert method.networks() == {"generator": method.gen, "discriminator": method.disc}


def test_optimizer_specs() -> None:
    """Two Adam specs, disc and gen, with the configured lr and betas and disjoint parameters covering all."""
    method = build(lr=1e-3, beta1=0.4, beta2=0.99)
    specs = method.optimizer_specs()
    assert set(specs) == {"disc", "gen"}
    for spec in specs.values():
        assert isinstance(spec, OptimizerSpec)
        assert spec.lr == 1e-3 and spec.betas == (0.4, 0.99)
    disc, gen = ({id(p) for p in specs[k].params} for k in ("disc", "gen"))
    assert disc and gen and not disc & gen
    assert disc | gen == {id(p) for p in method.parameters()}
    assert disc == {id(p) for p in method.disc.parameters()}
    assert len(specs["disc"].params) == len(disc) and len(specs["gen"].params) == len(gen)


def test_default_hyper_parameters() -> None:
    """The paper's defaults: lr 2e-4, betas (0.5, 0.999), λ = 100, vanilla GAN loss."""
    cfg = load_config(None, {}).method
    assert (cfg.lr, cfg.beta1, cfg.beta2, cfg.lambda_l1, cfg.gan_mode) == (2e-4, 0.5, 0.999, 100.0, "vanilla")


@pytest.mark.parametrize(("in_ch", "out_ch"), [(3, 3), (1, 3), (3, 1)])
def test_discriminator_is_conditional(in_ch: int, out_ch: int) -> None:
    """D sees the input and the output together: in + out channels; G maps in to out channels."""
    method = build(data={"input_channels": in_ch, "output_channels": out_ch})
    first_d = next(m for m in method.disc.modules() if isinstance(m, nn.Conv2d))
    assert first_d.in_channels == in_ch + out_ch
    assert method.gen.downs[0][0].in_channels == in_ch and method.gen.ups[0][1].out_channels == out_ch
    ctx = RecordingContext(method)
    out = method.training_step(make_batch(in_ch=in_ch, out_ch=out_ch), ctx)
    assert ctx.calls == ["disc", "gen"] and torch.isfinite(out.losses["g_l1"])


@pytest.mark.parametrize(("overrides", "field"), [({"lr": 0.0}, "lr"), ({"lambda_l1": -1.0}, "lambda_l1")])
def test_invalid_config(overrides: dict, field: str) -> None:
    """A non-positive lr or a negative λ is a ConfigError naming the key."""
    with pytest.raises(ConfigError, match=rf"method\.{field}:"):
        load_config(None, {"method": overrides})


# -- one training step -----------------------------------------------------------------------------------------


def test_training_step_order_and_losses() -> None:
    """One step calls disc then gen, and returns four finite, detached scalar losses."""
    ctx, out = run_step(build())
    assert ctx.calls == ["disc", "gen"]
    assert ctx.loss_requires_grad == {"disc": True, "gen": True}
    assert set(out.losses) == {"g_gan", "g_l1", "d_real", "d_fake"}
    for name, loss in out.losses.items():
        assert loss.shape == (), name
        assert not loss.requires_grad and loss.grad_fn is None, name
        assert torch.isfinite(loss), name
    # at init D outputs logits near 0, so each BCE term is near log 2
    for name in ("g_gan", "d_real", "d_fake"):
        assert 0.3 < out.losses[name].item() < 1.5, name
    assert 0 < out.losses["g_l1"].item() < 2


def test_training_step_updates_both_networks() -> None:
    """After a step every G and every D parameter has moved."""
    method = build()
    before = {name: p.detach().clone() for name, p in method.named_parameters()}
    run_step(method)
    unchanged = [name for name, p in method.named_parameters() if torch.equal(p, before[name])]
    assert unchanged == []
    assert any(n.startswith("gen.") for n in before) and any(n.startswith("disc.") for n in before)


def test_disc_step_leaves_generator_alone_and_gen_step_leaves_disc_alone() -> None:
    """D's loss sends no gradient into G (fake detached); G's pass leaves D's weights and gradients untouched."""
    method = build()
    ctx, _ = run_step(method)
    assert all(g is None for g in ctx.gen_grads_after_disc)
    params = list(method.disc.parameters())
    for p, weight, grad in zip(params, ctx.disc_after_disc_step, ctx.disc_grads_after_disc, strict=True):
        assert torch.equal(p, weight)
        assert torch.equal(p.grad, grad)  # D was frozen: G's backward added nothing to D's gradients


def test_discriminator_trainable_after_step() -> None:
    """D is frozen only inside the G pass: afterwards all its parameters require grad again."""
    method = build()
    set_requires_grad(method.disc, False)  # even if something left it frozen before
    run_step(method)
    assert all(p.requires_grad for p in method.disc.parameters())
    assert all(p.requires_grad for p in method.gen.parameters())


def test_disc_loss_is_half_the_sum() -> None:
    """The loss handed to the disc optimizer is 0.5 · (d_fake + d_real) (paper §3.3)."""
    ctx, out = run_step(build())
    expected = 0.5 * (out.losses["d_fake"] + out.losses["d_real"])
    torch.testing.assert_close(ctx.losses["disc"], expected, rtol=1e-6, atol=0)


def test_gen_loss_is_gan_plus_lambda_l1() -> None:
    """The loss handed to the gen optimizer is g_gan + λ · g_l1."""
    ctx, out = run_step(build(lambda_l1=7.5))
    expected = out.losses["g_gan"] + 7.5 * out.losses["g_l1"]
    torch.testing.assert_close(ctx.losses["gen"], expected, rtol=1e-6, atol=0)


class ProbingContext(RecordingContext):
    """Also records D's logits on (x, G(x)) right after D's update: what G's adversarial loss should see."""

    def __init__(self, method: Pix2Pix, batch: dict[str, torch.Tensor]) -> None:
        super().__init__(method)
        self.batch = batch
        self.fake_logits: torch.Tensor | None = None

    def step(self, name: str, loss: torch.Tensor) -> None:
        super().step(name, loss)
        if name == "disc":
            a = self.batch["a"]
            with torch.no_grad():
                self.fake_logits = self.method.disc(torch.cat([a, self.method.gen(a)], 1))


def test_generator_loss_is_non_saturating() -> None:
    """g_gan is −log σ(D(x, G(x))) under the just-updated D: G is trained towards 'real' (paper §3.3)."""
    method = build(generator={**TINY_METHOD["generator"], "dropout": 0.0}).train()
    batch = make_batch()
    ctx = ProbingContext(method, batch)
    out = method.training_step(batch, ctx)
    expected = torch.nn.functional.softplus(-ctx.fake_logits).mean()
    assert out.losses["g_gan"].item() == pytest.approx(expected.item(), rel=1e-5)
    assert out.losses["d_fake"].item() != pytest.approx(out.losses["g_gan"].item(), rel=1e-3)


def test_lambda_l1_adds_exactly_lambda_times_l1() -> None:
    """Same seed, λ = 0 vs 100: the gen losses differ by exactly 100 · g_l1 and the D side is identical."""
    ctx0, out0 = run_step(build(lambda_l1=0.0))
    ctx100, out100 = run_step(build(lambda_l1=100.0))
    for name in ("g_gan", "g_l1", "d_real", "d_fake"):
        torch.testing.assert_close(out0.losses[name], out100.losses[name], rtol=0, atol=0)
    assert out100.losses["g_l1"] > 0
    torch.testing.assert_close(
        ctx100.losses["gen"] - ctx0.losses["gen"], 100 * out100.losses["g_l1"], rtol=1e-5, atol=1e-6
    )
    torch.testing.assert_close(ctx0.losses["gen"], out0.losses["g_gan"], rtol=1e-6, atol=0)


def test_l1_loss_value() -> None:
    """g_l1 is the mean |y − G(x)| of the step's generator output."""
    method = build(generator={**TINY_METHOD["generator"], "dropout": 0.0})
    batch = make_batch()
    with torch.no_grad():
        fake = method.train().gen(batch["a"])
    _, out = run_step(method)
    assert out.losses["g_l1"].item() == pytest.approx((fake - batch["b"]).abs().mean().item(), rel=1e-6)


@pytest.mark.parametrize("mode", ["lsgan", "hinge"])
def test_other_gan_modes_train(mode: str) -> None:
    """lsgan and hinge modes run a step with finite losses."""
    ctx, out = run_step(build(gan_mode=mode))
    assert ctx.calls == ["disc", "gen"]
    assert all(torch.isfinite(v) for v in out.losses.values())


def test_generator_slot_is_the_generator_network() -> None:
    """The one translating generator: its network name, architecture and channels as the method builds it."""
    method = build()
    data = DataConfig(input_channels=1, output_channels=3)
    (slot,) = method.config.generator_slots(data)
    assert slot.network == "generator" and method.networks()[slot.network] is method.gen
    assert slot.config is method.config.generator and (slot.in_channels, slot.out_channels) == (1, 3)
    assert not slot.reverse
