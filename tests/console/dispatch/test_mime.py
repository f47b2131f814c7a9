"""The job drag payload and the no-Qt rule of console/dispatch."""

from __future__ import annotations

import subprocess
import sys

import pytest

from console.dispatch.mime import MIME_TYPE, BadJobPayload, JobRef, decode_job, encode_job
from tests.conftest import ROOT


def test_round_trip() -> None:
    assert MIME_TYPE == "application/x-cityops-job"
    for ref in (JobRef(12, 3), JobRef(7, 1, from_crew_id=2)):
        assert decode_job(encode_job(ref)) == ref


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xff\xfe",
        b"[1, 2]",
        b'{"job_id": "12", "version": 1}',
        b'{"job_id": 12}',
        b'{"job_id": true, "version": 1}',
        b'{"job_id": -1, "version": 1}',
        b'{"job_id": 1, "version": 1, "from_crew_id": "x"}',
        b'{"job_id": 1, "version": 1, "pad": "' + b"x" * 2000 + b'"}',
    ],
)
def test_malformed_payloads_are_refused(data: bytes) -> None:
    with pytest.raises(BadJobPayload):
        decode_job(data)


def test_dispatch_models_import_without_qt() -> None:
    code = (
        "import sys, console.dispatch, console.dispatch.controller;"
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph'))];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
