import json

import pytest

from monge.cli.main import main


@pytest.fixture
def monge(capsys):
    """Run ``monge`` in-process: returns (exit code, stdout, stderr)."""
    def run(*args):
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return code, out, err
    return run


def read_json(path):
    return json.loads(path.read_text())


@pytest.fixture(scope="session")
def quick_tour(tmp_path_factory):
    """``monge tour --quick`` once per test session (the tour's tests share an xdist group)."""
    out = tmp_path_factory.mktemp("tour") / "run"
    assert main(["tour", "--quick", "--out", str(out), "--quiet"]) == 0
    return out
