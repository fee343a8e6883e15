"""The step images as root filesystems for the lab kubelet's image mode (kubelet.py).

The images the rendered templates name are built as the image tier builds them
(tests/images/buildah.py; buildah's layer cache reuses every unchanged layer), then each gets one
working container (`buildah from`), mounted (`buildah mount`); when the block ends each is
unmounted and removed, so buildah's storage keeps only the images.

    refs = template_images(REPO / "workflows" / "manifests")
    build_for(refs)
    with mounted_images(refs, lab.bin / "argoexec") as roots, lab.image_mode(roots):
        ...  # pods of these images run from their root filesystems
"""

from __future__ import annotations

import contextlib
import os
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path

import yaml

from tests.argo_real.kubelet import ImageRoot
from tests.images.buildah import build_images, checked, image_config, run

PT_INTERP = 3


def images_by_template(manifests: Path) -> dict[str, str]:
    """The image of each container template in the manifests in the folder, by template name."""
    return {
        template["name"]: str(template["container"]["image"])
        for path in sorted(manifests.glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        for template in (doc.get("spec") or {}).get("templates") or []
        if "image" in (template.get("container") or {})
    }


def template_images(manifests: Path) -> list[str]:
    """Every container image the manifests in the folder name, sorted."""
    return sorted(set(images_by_template(manifests).values()))


def split_ref(ref: str) -> tuple[str, str, str]:
    """`localhost/xetra-etl/extract:0.1.0` -> registry, image name, tag."""
    path, _, tag = ref.rpartition(":")
    registry, _, name = path.rpartition("/")
    if not (registry and name and tag):
        raise ValueError(f"image {ref!r} is not <registry>/<name>:<tag>")
    return registry, name, tag


def build_for(refs: Iterable[str]) -> dict[str, float]:
    """Build the images with the registry and tag the references use; seconds per reference."""
    wanted: dict[tuple[str, str], list[str]] = {}
    for ref in refs:
        registry, name, tag = split_ref(ref)
        wanted.setdefault((registry, tag), []).append(name)
    seconds: dict[str, float] = {}
    for (registry, tag), names in wanted.items():
        built = build_images(registry, tag, names)
        unknown = sorted(set(names) - set(built.refs))
        if unknown:
            raise ValueError(f"no Dockerfile under images/ for {unknown} ({registry}, tag {tag})")
        seconds.update({built.refs[name]: s for name, s in built.build_seconds.items()})
    return seconds


def elf_interpreter(binary: Path) -> str | None:
    """The program interpreter (PT_INTERP) of a 64-bit little-endian ELF; None when static."""
    with open(binary, "rb") as elf:
        header = elf.read(64)
        if header[:4] != b"\x7fELF" or header[4] != 2 or header[5] != 1:
            raise ValueError(f"{binary} is not a 64-bit little-endian ELF file")
        phoff, phentsize, phnum = (
            struct.unpack_from("<Q", header, 32)[0],
            *struct.unpack_from("<HH", header, 54),
        )
        for index in range(phnum):
            elf.seek(phoff + index * phentsize)
            kind, _, offset, _, _, size = struct.unpack("<IIQQQQ", elf.read(40))
            if kind == PT_INTERP:
                elf.seek(offset)
                return elf.read(size).rstrip(b"\0").decode()
    return None


def in_root(rootfs: Path, path: str) -> bool:
    """Whether `path` exists inside `rootfs`, following its symlinks within it (a few hops)."""
    current = path
    for _ in range(8):
        local = rootfs / current.lstrip("/")
        if not os.path.islink(local):
            return local.exists()
        target = os.readlink(local)
        current = target if target.startswith("/") else str(Path(current).parent / target)
    return False


def check_argoexec_runs(ref: str, root: ImageRoot, argoexec: Path) -> None:
    """The emissary in main is the lab's argoexec run inside the image: its loader must be there."""
    loader = elf_interpreter(argoexec)
    if loader and not in_root(root.rootfs, loader):
        raise RuntimeError(
            f"image {ref} has no {loader}, which {argoexec} (linked dynamically) needs: build "
            "argoexec static (CGO_ENABLED=0, as Argo's release does) or use a glibc base image"
        )


@contextlib.contextmanager
def mounted_images(refs: Iterable[str], argoexec: Path) -> Iterator[dict[str, ImageRoot]]:
    """One mounted working container per image; unmounted and removed when the block ends."""
    roots: dict[str, ImageRoot] = {}
    with contextlib.ExitStack() as undo:
        for ref in refs:
            container = checked(["buildah", "from", "--pull=never", ref]).strip().splitlines()[-1]
            undo.callback(run, ["buildah", "rm", container])
            rootfs = Path(checked(["buildah", "mount", container]).strip())
            undo.callback(run, ["buildah", "umount", container])
            config = image_config(ref)
            roots[ref] = ImageRoot(
                rootfs=rootfs,
                env=dict(item.split("=", 1) for item in config.get("Env") or []),
                working_dir=str(config.get("WorkingDir") or ""),
                entrypoint=list(config.get("Entrypoint") or []),
                cmd=list(config.get("Cmd") or []),
            )
            check_argoexec_runs(ref, roots[ref], argoexec)
        yield roots
