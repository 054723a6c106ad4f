"""The root command: help, version, start-up cost, python -m."""

import subprocess
import sys

from fer_cli import __version__


def test_help_lists_every_command(runner, app):
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("prepare", "train", "evaluate", "predict", "export"):
        assert command in result.stdout


def test_each_command_help_has_examples(runner, app):
    for command in ("prepare", "train", "evaluate", "predict", "export"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0, command
        assert "Examples" in result.stdout and "fer " + command in result.stdout


def test_version(runner, app):
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.strip() == f"fer {__version__}"


def test_help_does_not_import_tensorflow():
    code = "import sys; from fer_cli.cli import app\ntry:\n app(['--help'])\nexcept SystemExit: pass\n" \
        "for c in ('train','predict','export','evaluate','prepare'):\n try:\n  app([c,'--help'])\n except SystemExit: pass\n" \
        "heavy = [m for m in ('tensorflow','keras','onnxruntime','sklearn','matplotlib') if m in sys.modules]\nprint('HEAVY', heavy, file=sys.stderr)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "HEAVY []" in result.stderr


def test_python_dash_m(tmp_path):
    result = subprocess.run([sys.executable, "-m", "fer_cli", "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == f"fer {__version__}"


def test_unknown_command_is_a_usage_error(runner, app):
    result = runner.invoke(app, ["frobnicate"])
    assert result.exit_code == 2
