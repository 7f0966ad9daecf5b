import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from monge.cli.main import SUBCOMMANDS, build_parser, main


def test_help_lists_the_subcommands(monge):
    code, out, _ = monge("--help")
    assert code == 0
    for name in ("transport", "tour"):
        assert name in out


def test_no_subcommand_is_a_usage_error(monge):
    code, _, err = monge()
    assert code == 2
    assert "required" in err


def test_version(monge):
    code, out, _ = monge("--version")
    assert code == 0 and out.startswith("monge ")


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_every_subcommand_takes_the_common_options(name):
    args = build_parser().parse_args([name, "--out", "somewhere", "--seed", "3", "--quiet"])
    assert (args.out, args.seed, args.quiet, args.command) == ("somewhere", 3, True, name)
    assert callable(args.func)


@pytest.mark.parametrize("seed", ["-1", "x"])
def test_bad_seed_is_a_usage_error(monge, seed):
    code, _, err = monge("transport", "--example", "monge6", "--seed", seed)
    assert code == 2
    assert "--seed" in err


def test_user_errors_are_one_line_without_traceback(monge, tmp_path):
    code, out, err = monge("transport", tmp_path / "missing.npy", tmp_path / "b.npy", "--out", tmp_path / "run")
    assert code == 2
    assert err.strip().count("\n") == 0
    assert err.startswith("monge transport: error: A: no such file")
    assert "Traceback" not in err
    assert not (tmp_path / "run").exists()  # nothing is written for bad input


def test_traceback_on_request(tmp_path, monkeypatch):
    monkeypatch.setenv("MONGE_TRACEBACK", "1")
    with pytest.raises(FileNotFoundError):
        main(["transport", str(tmp_path / "missing.npy"), str(tmp_path / "b.npy")])


def _console_script():
    found = Path(sys.executable).with_name("monge")
    return str(found) if found.exists() else shutil.which("monge")


def test_runs_as_a_module_process(tmp_path):
    out = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "monge.cli.main", "transport", "--example", "monge6", "--out", str(out)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Distance" in done.stdout
    assert (out / "summary.json").exists() and (out / "figures" / "figure_2_2.png").exists()


def test_console_script_reports_bad_input_in_one_line(tmp_path):
    script = _console_script()
    if script is None:
        pytest.skip("the monge console script is not installed")
    bad = subprocess.run([script, "transport", "nothing.csv", "nothing.csv"], capture_output=True, text=True,
                         cwd=tmp_path, timeout=120)
    assert bad.returncode == 2
    assert bad.stderr.strip() == "monge transport: error: A: no such file: nothing.csv"
    assert not (tmp_path / "runs").exists()


def test_system_errors_are_one_line_naming_the_path(tmp_path, monkeypatch, capsys):
    """Disk full or a read-only folder is the system's refusal, not bad input: one line, exit 1."""
    import errno

    import monge.cli.transport as transport_command

    def full(args):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "run" / "plan.npy"))

    monkeypatch.setattr(transport_command, "run", full)
    monkeypatch.delenv("MONGE_TRACEBACK", raising=False)
    code = main(["transport", "--example", "monge6", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 1
    assert err.strip().splitlines() == [f"monge transport: error: {tmp_path / 'run' / 'plan.npy'}: No space left on device"]


def test_a_flow_whose_energy_rises_names_dt(tmp_path, capsys):
    """A gradient flow's energy never rises: a step that raises it is refused, naming --dt."""
    code = main(["flow", "--example", "relu-teacher", "--dt", "50", "--out", str(tmp_path / "run"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "the energy rose from" in err and "(--dt)" in err


def test_bad_inputs_name_the_flag_or_the_argument(tmp_path, capsys):
    import numpy as np

    assert main(["transport", "--example", "monge6", "--seed", str(2**70), "--out", str(tmp_path / "a")]) == 2
    assert "--seed: 1180591620717411303424; expected a non-negative integer below 2**63" in capsys.readouterr().err
    assert main(["classify", "--data", "moons", "--n-samples", "-5", "--out", str(tmp_path / "b")]) == 2
    assert "n_samples (--n-samples): -5; expected an integer >= 2" in capsys.readouterr().err
    far = tmp_path / "far.npy"
    np.save(far, np.random.default_rng(0).random((20, 2)) * 1e200)
    assert main(["transport", str(far), str(far), "--out", str(tmp_path / "c")]) == 2
    assert "the clouds span" in capsys.readouterr().err


def test_a_failed_run_leaves_a_fresh_out_as_it_was(tmp_path, capsys):
    """A flow that diverges writes its folder first; the failure takes it away again (new or empty --out)."""
    absent = tmp_path / "absent"
    assert main(["flow", "--example", "relu-teacher", "--dt", "50", "--out", str(absent), "--quiet"]) == 2
    assert not absent.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["flow", "--example", "relu-teacher", "--dt", "50", "--out", str(empty), "--quiet"]) == 2
    assert empty.is_dir() and not any(empty.iterdir())
    capsys.readouterr()


def test_a_bug_is_shown_as_a_bug(tmp_path, monkeypatch):
    """Only the user's refused input is one line: any other exception (a bare ValueError too) keeps its traceback."""
    import monge.cli.transport as transport_command

    def bug(args):
        raise ValueError("unsupported format string passed to NoneType.__format__")

    monkeypatch.setattr(transport_command, "run", bug)
    monkeypatch.delenv("MONGE_TRACEBACK", raising=False)
    with pytest.raises(ValueError, match="NoneType"):
        main(["transport", "--example", "monge6", "--out", str(tmp_path / "run")])


def test_help_does_not_load_torch():
    """``monge --help`` imports no subcommand (and no torch): it answers at once."""
    code = ("import sys; from monge.cli.main import main; assert main(['--help']) == 0; "
            "assert 'torch' not in sys.modules, 'torch was imported'; "
            "assert not [m for m in sys.modules if m.startswith('monge.cli.') and m != 'monge.cli.main']")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "classify" in done.stdout and "tour" in done.stdout
