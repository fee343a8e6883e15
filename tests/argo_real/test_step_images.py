"""Image mode's plumbing that needs neither buildah nor the lab (part of `make test`): which
images the templates name, and whether an image root holds the loader a dynamically linked
binary asks for."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.argo_real.kubelet import ImageRoot
from tests.argo_real.lab import REPO
from tests.argo_real.step_images import (
    check_argoexec_runs,
    elf_interpreter,
    in_root,
    split_ref,
    template_images,
)
from xetra_etl.common.infra.naming import STEPS, image_ref


def test_template_images_are_the_step_images_the_rendered_templates_name() -> None:
    assert template_images(REPO / "workflows" / "manifests") == sorted(
        {image_ref(step) for step in STEPS}
    )


def test_split_ref_gives_registry_name_and_tag_and_refuses_a_ref_without_tag() -> None:
    assert split_ref("localhost/xetra-etl/extract:0.1.0") == (
        "localhost/xetra-etl",
        "extract",
        "0.1.0",
    )
    with pytest.raises(ValueError, match="not <registry>/<name>:<tag>"):
        split_ref("extract")


def test_elf_interpreter_of_a_dynamically_linked_binary_is_its_loader() -> None:
    python = Path(os.path.realpath(sys.executable))
    loader = elf_interpreter(python)
    assert loader is not None and Path(loader).name.startswith("ld-"), loader
    assert Path(loader).exists()


def test_elf_interpreter_refuses_a_file_that_is_not_elf(tmp_path: Path) -> None:
    script = tmp_path / "script"
    script.write_text("#!/bin/sh\n" + "echo\n" * 20)
    with pytest.raises(ValueError, match="not a 64-bit little-endian ELF"):
        elf_interpreter(script)


def test_in_root_follows_absolute_symlinks_inside_the_root_not_on_the_host(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "lib" / "x86_64-linux-gnu").mkdir(parents=True)
    (root / "lib64").mkdir()
    (root / "lib" / "x86_64-linux-gnu" / "ld-linux-x86-64.so.2").write_bytes(b"")
    (root / "lib64" / "ld-linux-x86-64.so.2").symlink_to(
        "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
    )
    (root / "lib64" / "relative.so").symlink_to("../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")
    (root / "lib64" / "host-only").symlink_to(str(Path(sys.executable).resolve()))
    assert in_root(root, "/lib64/ld-linux-x86-64.so.2")
    assert in_root(root, "/lib64/relative.so")
    assert not in_root(root, "/lib64/host-only")  # exists on the host, not in the image
    assert not in_root(root, "/lib/ld-musl-x86_64.so.1")


def test_an_image_without_the_loader_of_argoexec_is_refused_with_what_to_do(
    tmp_path: Path,
) -> None:
    argoexec = Path(os.path.realpath(sys.executable))  # any dynamically linked binary
    empty = ImageRoot(rootfs=tmp_path, env={}, working_dir="", entrypoint=[], cmd=[])
    with pytest.raises(RuntimeError, match="CGO_ENABLED=0"):
        check_argoexec_runs("localhost/static:1", empty, argoexec)
