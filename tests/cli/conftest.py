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
