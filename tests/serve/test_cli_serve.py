"""``i2i serve``'s command line: what it serves, and one-line refusals before anything listens."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from serve_helpers import BUNDLED

from i2i.cli import main
from i2i.errors import I2IError
from i2i.serve.catalog import model_paths


def test_model_arguments_name_the_models() -> None:
    bundled = model_paths([str(BUNDLED)])
    assert [name for name, _ in bundled] == ["facades", "shoes", "sketch-classifier", "sketch2photo"]
    assert model_paths([]) == bundled  # none named: the bundled models
    assert model_paths([f"labels={BUNDLED / 'facades'}"]) == [("labels", BUNDLED / "facades")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["no/such/model"], "no/such/model: no such model"),
        ([f"a={BUNDLED / 'facades'}", f"a={BUNDLED / 'shoes'}"], "two models named a"),
        ([str(BUNDLED / "facades"), str(BUNDLED / "facades")], "two models named facades"),
    ],
)
def test_bad_model_arguments_are_refused(args: list[str], message: str) -> None:
    with pytest.raises(I2IError, match=message):
        model_paths(args)


def test_a_folder_name_that_cannot_be_a_url_needs_a_name(tmp_path: Path) -> None:
    odd = tmp_path / "my model"
    odd.symlink_to(BUNDLED / "facades", target_is_directory=True)
    with pytest.raises(I2IError, match="cannot be a model name .* NAME=PATH"):
        model_paths([str(odd)])
    assert model_paths([f"mine={odd}"])[0][0] == "mine"


def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("i2i: error: ") and err.count("\n") == 1 and "no such model" in err
    assert main(["serve", "--workers", "0", str(BUNDLED / "facades")]) == 2
    assert "workers must be 1..64" in capsys.readouterr().err
    assert main(["serve", str(BUNDLED / "models.txt")]) == 2
    capsys.readouterr()


def test_a_port_in_use_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port), "--device", "cpu", str(BUNDLED / "sketch-classifier")]) == 2
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err and "Traceback" not in err
