"""Shell completion in a real bash: the script ``rudratune --print-completion bash`` prints, sourced, and its
``_shtab_rudratune`` function driven the way bash drives it (``COMP_WORDS``, ``COMP_CWORD``)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from rudratune.cli import PICK_RULES
from rudratune.search.results import PICK_RULES as RULES
from tests.helpers import cli

DRIVE = """
source "$1"
shift
COMP_WORDS=(rudratune "$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}; COMPREPLY=()
_shtab_rudratune rudratune "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\\n' "${COMPREPLY[@]}"
"""


@pytest.fixture(scope="module")
def script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    result = cli("--print-completion", "bash")
    assert result.returncode == 0, result.stderr
    path = tmp_path_factory.mktemp("completion") / "rudratune.bash"
    path.write_text(result.stdout)
    return path


@pytest.fixture(scope="module")
def cwd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cwd")
    (root / "runs" / "sweep1").mkdir(parents=True)
    (root / "spaces").mkdir()
    (root / "spaces" / "unet.yaml").write_text("")
    (root / "notes.yaml").write_text("")
    return root


def complete(script: Path, cwd: Path, *words: str) -> set[str]:
    bash = shutil.which("bash")
    assert bash, "bash is needed to test completion"
    done = subprocess.run(
        [bash, "--norc", "--noprofile", "-c", DRIVE, "drive", str(script), *words],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return {line for line in done.stdout.splitlines() if line}


@pytest.mark.parametrize("command", ["show", "export", "report", "resume"])
def test_sweep_folders_complete_as_folders_only(script: Path, cwd: Path, command: str) -> None:
    assert complete(script, cwd, command, "runs/") == {"runs/sweep1"}
    assert "notes.yaml" not in complete(script, cwd, command, "")


@pytest.mark.parametrize(
    ("command", "typed", "expected"), [("run", "spaces/", "spaces/unet.yaml"), ("train", "no", "notes.yaml")]
)
def test_config_files_complete_as_files(
    script: Path, cwd: Path, command: str, typed: str, expected: str
) -> None:
    assert complete(script, cwd, command, typed) == {expected}


def test_pick_completes_its_rules_and_not_its_margin(script: Path, cwd: Path) -> None:
    assert tuple(RULES) == PICK_RULES  # the completion's list is the rules' own
    assert complete(script, cwd, "export", "runs/sweep1", "--pick", "") == set(RULES)
    assert complete(script, cwd, "export", "runs/sweep1", "--pick", "fe") == {"fewest-flops-within"}
    assert complete(script, cwd, "export", "runs/sweep1", "--pick", "fastest-within", "") == set()
