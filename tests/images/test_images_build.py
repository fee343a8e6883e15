"""Every step image, built with buildah on a local Debian base and run: help, contents, size,
and the whole pipeline through the images against a real S3 server.

Slow (builds images): marker `images`, run by `make test-images` and in CI after
`make images-deps`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from tests.argo_sim import FAILED, SUCCEEDED, ArgoSim
from tests.argo_sim.cluster import minikube_artifact_repository
from tests.e2e.conftest import LAST, Place, make_place
from tests.images.buildah import (
    BuiltImages,
    StepContainers,
    checked,
    container_of,
    exec_argv,
    image_config,
    image_size,
    run,
)
from xetra_etl.common.infra.naming import (
    CONFIG_PATH_IN_POD,
    IMAGES,
    STEP_IMAGE,
    STEPS,
    console_script,
    image_ref,
)
from xetra_etl.workflows.render import rendered_files
from xetra_etl.workflows.settings import RUN_AS_USER, RenderSettings

pytestmark = pytest.mark.images

MB = 1_000_000
# Budget of each image over its base: the control images hold boto3 and PyYAML only.
BUDGET_MB = {"discover": 40, "merge": 40, "extract": 300, "transform": 300, "load": 300}
DATA_MODULES = ("pyarrow", "pandas", "numpy")
WF = "xetra-etl-images"


def test_images_stay_within_size_budget_when_built_on_the_base(
    built_images: BuiltImages, base_size: int
) -> None:
    assert set(BUDGET_MB) == set(IMAGES)
    added = {name: image_size(ref) - base_size for name, ref in built_images.refs.items()}
    print(f"\nbase {built_images.base}: {base_size / MB:.1f} MB")
    for name, size in added.items():
        print(
            f"{built_images.refs[name]}: +{size / MB:.1f} MB over base "
            f"(budget {BUDGET_MB[name]} MB), built in {built_images.build_seconds[name]:.1f}s"
        )
    over = {
        name: round(size / MB, 1) for name, size in added.items() if size > BUDGET_MB[name] * MB
    }
    assert not over, f"images over budget (MB): {over}"


@pytest.mark.parametrize("step", STEPS)
def test_step_image_prints_help_and_exits_0_when_given_only_help(
    built_images: BuiltImages, step: str
) -> None:
    ref = built_images.refs[STEP_IMAGE[step]]
    config = image_config(ref)
    # The image's own entrypoint for its first step; notify's template overrides the command.
    command = config["Entrypoint"] if config["Entrypoint"] == [console_script(step)] else None
    argv = [*(command or [console_script(step)]), "--help"]
    with container_of(ref) as container:
        result = run(exec_argv(container, argv))
    assert result.returncode == 0, result.stderr
    # The console script is an alias of the subcommand: its help names the one documented form.
    assert f"usage: xetra-etl {step}" in result.stdout


@pytest.mark.parametrize("image", IMAGES)
def test_image_runs_as_non_root_with_json_logs_when_inspected(
    built_images: BuiltImages, image: str
) -> None:
    config = image_config(built_images.refs[image])
    first_step = next(step for step in STEPS if STEP_IMAGE[step] == image)
    assert config["Entrypoint"] == [console_script(first_step)]
    assert config["User"] == f"{RUN_AS_USER}:{RUN_AS_USER}"
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["XETRA_LOG_FORMAT"] == "json"
    assert not [name for name in env if any(s in name for s in ("SECRET", "TOKEN", "PASSWORD"))]
    with container_of(built_images.refs[image]) as container:
        uid = checked(exec_argv(container, ["id", "-u"])).strip()
    assert uid == str(RUN_AS_USER)


@pytest.mark.parametrize("image", IMAGES)
def test_image_holds_only_its_steps_dependencies_when_built(
    built_images: BuiltImages, image: str
) -> None:
    probe = (
        "import importlib.util as u; "
        "print(','.join(m for m in ('pyarrow','pandas','numpy','hera','pytest','pip') "
        "if u.find_spec(m)))"
    )
    with container_of(built_images.refs[image]) as container:
        present = set(
            filter(None, checked(exec_argv(container, ["python", "-c", probe])).strip().split(","))
        )
    assert not present & {"hera", "pytest", "pip"}
    if image in ("discover", "merge"):
        assert not present & set(DATA_MODULES), f"{image} must hold no pyarrow/pandas/numpy"
    else:
        assert present == {"pyarrow", "numpy"}


@pytest.fixture
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Place:
    """Demo source data and an empty target on SeaweedFS."""
    return make_place("seaweedfs", request, tmp_path)


@pytest.fixture
def manifests() -> list[dict[str, Any]]:
    import yaml

    return [yaml.safe_load(text) for _, text in rendered_files(RenderSettings())]


def test_pipeline_through_images_matches_local_run_when_run_by_argo_double(
    built_images: BuiltImages, manifests: list[dict[str, Any]], place: Place
) -> None:
    library = next(d for d in manifests if d["metadata"]["name"] == "xetra-etl-steps")
    assert {t["container"]["image"] for t in library["spec"]["templates"]} == {
        image_ref(step) for step in STEPS
    }
    assert set(built_images.refs.values()) == {image_ref(step) for step in STEPS}
    runner = StepContainers()
    sim = ArgoSim(
        manifests,
        submit="xetra-etl",
        name=WF,
        work_dir=place.tmp / "argo",
        parameters={"last-date": LAST.isoformat()},
        env=place.env,  # S3 credentials and endpoint, as the Secret and ConfigMap give them
        path_map={CONFIG_PATH_IN_POD: place.write_config()},
        artifact_repository=minikube_artifact_repository(),
        runner=runner,
    )
    try:
        phase = sim.run()
        failures = "\n".join(
            f"{n.name}: {n.stderr[-2000:]}" for n in sim.nodes.values() if n.phase == FAILED
        )
        assert phase == SUCCEEDED, failures
        assert {run.image for run in sim.runs} == set(built_images.refs.values())
        # A read-only root file system: nothing but /tmp (and the mounts buildah makes) changed.
        writes = runner.changed_outside(
            ["/tmp", "/proc", "/sys", "/dev", "/run", "/etc/xetra", "/etc/hosts",
             "/etc/resolv.conf", "/etc/hostname"]
        )  # fmt: skip
        assert writes == {ref: [] for ref in runner.containers}
    finally:
        runner.close()

    image_rows = place.report_rows()
    assert image_rows, "the images wrote no report"
    local = dataclasses.replace(place, target_uri=place.target_uri.replace("images-out", "local"))
    report = local.run(local.write_config("local.yaml"))
    assert report["exit_code"] == 0, report["stderr"][-3000:]
    assert image_rows == local.report_rows()
    assert image_rows == place.expected_rows()
    keys = {info.key for info in place.target.list("runs/")}
    assert f"runs/{WF}/summary.json" in keys
