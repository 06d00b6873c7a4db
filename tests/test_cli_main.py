"""The command line's entry point: exit statuses, interruption, closed pipes, --version."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import vpccni_model
from vpccni_model.cli import EXIT_INTERRUPTED, EXIT_USAGE, main
from vpccni_model.cli import _steady as steady_command


def test_version_names_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"vpccni-model {vpccni_model.__version__}\n"


def test_ctrl_c_exits_130_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(*_args: object, **_kwargs: object) -> object:
        raise KeyboardInterrupt

    monkeypatch.setattr(steady_command, "steady_state", interrupted)
    assert (
        main(["steady-state", "--instance", "m5.large", "--pods", "3"]) == EXIT_INTERRUPTED == 130
    )
    err = capsys.readouterr().err
    assert err == "vpccni-model: interrupted\n"


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["steady-state", "--instance", "m5.larg"]) == EXIT_USAGE == 2
    assert "did you mean m5.large" in capsys.readouterr().err


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    # A reader that goes away after one line, as `| head -1` does.
    root = Path(vpccni_model.__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    command = [sys.executable, "-m", "vpccni_model", "steady-state", "--instance", "m5.24xlarge"]
    # 110 KB of JSON: more than a pipe buffer holds, so the writer meets the closed pipe.
    arguments = [*command, "--pods", "0-400", "--json"]
    producer = subprocess.Popen(arguments, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert producer.stdout is not None
    producer.stdout.readline()
    producer.stdout.close()
    _, err = producer.communicate(timeout=120)
    assert producer.returncode == 0
    assert b"Traceback" not in err and b"BrokenPipeError" not in err
