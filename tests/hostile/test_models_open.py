"""Crafted model files (tests/hostile/models.py) opened through the library: ``open_model`` with every generator
built, and ``Translator.from_pretrained``. Each is refused with one line naming the path and what is wrong, never a
traceback, torch's advice to disable ``weights_only``, an allocation of what the file claims, or a hang."""

from __future__ import annotations

import resource
from pathlib import Path

import pytest
import torch
from hostile.models import (
    CASES,
    EXPECTED,
    TORCH_ADVICE,
    checkpoint_cases,
    direction,
    expected,
    fifos_under,
    release_cases,
    tiny_network,
    unblocking,
)

from i2i.artifact.open import open_model
from i2i.errors import CheckpointError
from i2i.inference.translator import Translator
from i2i.models import weights as weights_module
from i2i.models.weights import first_nonfinite, load_weights

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile_models")


@pytest.fixture(scope="module")
def corpus(root: Path) -> dict[str, Path]:
    return {**release_cases(root / "releases"), **checkpoint_cases(root / "checkpoints")}


def check_message(message: str, case: str, path: Path) -> None:
    assert "\n" not in message, message
    assert str(path) in message, message
    assert expected(case) in message, message
    assert not any(word in message for word in TORCH_ADVICE), message


def test_the_corpus_covers_every_expectation(corpus: dict[str, Path]) -> None:
    assert sorted(corpus) == sorted(CASES)
    assert {case.removesuffix("_file") for case in CASES} == set(EXPECTED), "every case has its expected message"


@pytest.mark.parametrize("case", CASES)
def test_every_crafted_model_is_refused_by_open_model(case: str, corpus: dict[str, Path]) -> None:
    """Every generator is built, as export does: each case fails with its own one-line message."""
    path = corpus[case]
    with unblocking(fifos_under(path)) as rescued:
        with pytest.raises(CheckpointError) as err:
            for generator in open_model(path).generators:
                generator.network  # noqa: B018 - builds and loads it
    assert not rescued, f"{case}: hung reading a named pipe"
    check_message(str(err.value), case, path)


@pytest.mark.parametrize("case", CASES)
def test_every_crafted_model_is_refused_by_from_pretrained(case: str, corpus: dict[str, Path]) -> None:
    path = corpus[case]
    with unblocking(fifos_under(path)) as rescued:
        with pytest.raises(CheckpointError) as err:
            Translator.from_pretrained(path, "cpu", direction(case))
    assert not rescued, f"{case}: hung reading a named pipe"
    check_message(str(err.value), case, path)


def test_absurd_networks_are_refused_before_anything_is_allocated(corpus: dict[str, Path]) -> None:
    """A network of ~2e10 weights (80 GB) that every option range allows is refused from its meta-device layout:
    the process does not grow."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for case in ("network_huge_in_range", "ckpt_network_huge_in_range"):
        with pytest.raises(CheckpointError, match="over the limit"):
            open_model(corpus[case]).generator().network  # noqa: B018
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 500, f"the process grew by {grown_mib:.0f} MiB"


def test_the_parameter_limit_is_checked_before_the_weights_are_read(tmp_path: Path, monkeypatch) -> None:
    """With the limit below a tiny network's size, even a well-formed release is refused, and its weights file is
    never opened: the layout comes from the meta device."""
    from hostile.models import good_release

    from i2i.artifact import release as release_module

    release = good_release(tmp_path / "r")
    monkeypatch.setattr(weights_module, "MAX_PARAMETERS", 1000)
    monkeypatch.setattr(
        release_module, "read_safetensors", lambda *a, **k: pytest.fail("weights read before the check")
    )
    with pytest.raises(CheckpointError, match=r"would hold [\d,]+ values, over the limit of 1,000"):
        open_model(release).generator().network  # noqa: B018


def test_the_good_release_and_checkpoint_of_the_corpus_load(tmp_path: Path) -> None:
    """The corpus's crafts are all that is wrong with its cases: the files they start from load and translate."""
    from hostile.models import good_release, good_state

    from i2i.training.checkpoint import save_state

    release = good_release(tmp_path / "release")
    run = tmp_path / "run"
    save_state(run / "checkpoints" / "last.pt", good_state(tmp_path))
    image = torch.randint(0, 256, (40, 50, 3), dtype=torch.uint8).numpy()
    for path in (release, run):
        assert Translator.from_pretrained(path, "cpu")([image])[0].shape == (40, 50, 3)


@pytest.mark.parametrize(
    ("dtype", "message"),
    [
        (torch.float16, "is float16, the model's is float32"),
        (torch.float64, "is float64, the model's is float32"),
        (torch.bfloat16, "is bfloat16, the model's is float32"),
        (torch.int64, "is int64, the model's is float32"),
    ],
)
def test_load_weights_never_casts(dtype: torch.dtype, message: str) -> None:
    """The one home of the checks (releases and checkpoints alike): a tensor of another dtype is refused, naming
    the source and the tensor; BatchNorm's integer counter must stay an integer too."""
    _, net = tiny_network()
    state = dict(net.state_dict())
    key = next(iter(state))
    state[key] = state[key].to(dtype)
    with pytest.raises(CheckpointError, match=f"^somewhere: tensor '{key}' {message}"):
        load_weights(net, state, "somewhere", "unet")
    state = dict(net.state_dict())
    counter = next(k for k in state if k.endswith("num_batches_tracked"))
    state[counter] = state[counter].float()
    with pytest.raises(CheckpointError, match=f"tensor '{counter}' is float32, the model's is int64"):
        load_weights(net, state, "somewhere", "unet")


def test_load_weights_refuses_nonfinite_values_and_non_tensors() -> None:
    _, net = tiny_network()
    state = {k: v.clone() for k, v in net.state_dict().items()}
    buffer = next(k for k in state if k.endswith("running_mean"))
    state[buffer][0] = float("-inf")
    assert first_nonfinite(state) == buffer
    before = net.state_dict()[buffer].clone()
    with pytest.raises(CheckpointError, match=f"^x.pt: tensor '{buffer}' holds NaN or inf values"):
        load_weights(net, state, "x.pt", "unet")
    assert torch.equal(net.state_dict()[buffer], before), "nothing was loaded"
    with pytest.raises(CheckpointError, match="is not a named tensor"):
        load_weights(net, {**state, "downs.0.0.weight": [1.0]}, "x.pt", "unet")
    with pytest.raises(CheckpointError, match="not a mapping of tensors"):
        load_weights(net, [1, 2], "x.pt", "unet")  # type: ignore[arg-type]
