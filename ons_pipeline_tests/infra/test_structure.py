"""Module wiring checked without ``terraform validate`` (which needs providers from the internet).

Every ``var.``/``local.``/resource/``data.``/``module.`` reference resolves inside its module, every
module call passes only declared inputs and all required ones, every referenced module output
exists, every ``moved`` block lands on something declared, and the one root module is run with
each environment's tfvars (declared variables only, all required ones) and backend file.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ons_pipeline_tests.infra.hcl import (
    ENVS,
    ENVS_DIR,
    INFRA_DIR,
    MODULES_DIR,
    ROOT_DIR,
    Module,
    all_dirs,
    expr,
    module,
    module_dirs,
    references,
    tfbackend,
    tfvars,
    walk_strings,
)

VAR_RE = re.compile(r"\bvar\.([A-Za-z0-9_]+)")
LOCAL_RE = re.compile(r"\blocal\.([A-Za-z0-9_]+)")
MODULE_RE = re.compile(r"\bmodule\.([A-Za-z0-9_]+)\.([A-Za-z0-9_]+)")
RESOURCE_RE = re.compile(r"(?<![\w.])((?:aws|random)_[a-z0-9_]+\.[A-Za-z0-9_]+)\b")
DATA_RE = re.compile(r"\bdata\.((?:aws|random)_[a-z0-9_]+\.[A-Za-z0-9_]+)\b")
META_ARGS = {"source", "count", "for_each", "depends_on", "providers", "version"}
# The module calls of the root: modules/stack made them before the environments became tfvars.
FORMER_STACK_MODULES = {"kms", "network", "storage", "influxdb", "monitoring", "iam", "dagster"}
# Added since: the query API (a root module call) and the load balancer it shares with Dagster.
API_MODULES = {"api", "alb"}
# Objects the query API's deployment moved, by the module holding the moved block: the Dagster UI
# load balancer into modules/alb, the execution role's policy into modules/iam, the pipeline token's
# secret into the for_each that also holds the API's token, the pipeline alarms into the resource
# that also holds the API's.
API_MOVES = {
    "dagster": {
        "aws_security_group.alb[0]": "module.ui_alb[0].aws_security_group.this",
        "aws_vpc_security_group_ingress_rule.alb_https": (
            "module.ui_alb[0].aws_vpc_security_group_ingress_rule.https"
        ),
        "aws_vpc_security_group_egress_rule.alb_to_webserver[0]": (
            "module.ui_alb[0].aws_vpc_security_group_egress_rule.to_targets"
        ),
        "aws_vpc_security_group_ingress_rule.webserver_from_alb[0]": (
            "module.ui_alb[0].aws_vpc_security_group_ingress_rule.targets_from_alb"
        ),
        "aws_lb.ui[0]": "module.ui_alb[0].aws_lb.this",
        "aws_lb_target_group.webserver[0]": "module.ui_alb[0].aws_lb_target_group.this",
        "aws_lb_listener.https[0]": "module.ui_alb[0].aws_lb_listener.https",
    },
    "infra": {
        "module.dagster.aws_iam_role_policy.execution": (
            'module.iam.aws_iam_role_policy.execution["execution"]'
        ),
    },
    "monitoring": {
        "aws_cloudwatch_metric_alarm.pipeline": "aws_cloudwatch_metric_alarm.metric",
    },
    "influxdb": {
        "aws_secretsmanager_secret.pipeline_token": 'aws_secretsmanager_secret.token["pipeline"]',
        "aws_secretsmanager_secret_version.pipeline_token_placeholder": (
            'aws_secretsmanager_secret_version.token_placeholder["pipeline"]'
        ),
    },
}


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(INFRA_DIR)) for p in paths]


def _everything(mod: Module) -> list[object]:
    return [
        mod.resources,
        mod.data,
        mod.outputs,
        mod.locals,
        mod.modules,
        {
            name: {k: v for k, v in body.items() if k != "description"}
            for name, body in mod.variables.items()
        },
    ]


def _expressions(mod: Module) -> list[str]:
    return [s for s in walk_strings(_everything(mod)) if "${" in s]


def _source_dir(mod: Module, call: dict) -> Path:
    return (mod.path / call["source"]).resolve()


def test_layout() -> None:
    assert (INFRA_DIR / "README.md").is_file()
    assert {p.name for p in module_dirs()} == FORMER_STACK_MODULES | API_MODULES
    for name in ("versions.tf", "main.tf", "variables.tf", "outputs.tf", "moved.tf"):
        assert (ROOT_DIR / name).is_file(), f"{name} missing from the root module"
    for path in module_dirs():
        for name in ("main.tf", "variables.tf", "outputs.tf"):
            assert (path / name).is_file(), f"{path.name}/{name} missing"


def test_one_root_module_and_one_tfvars_and_backend_file_per_environment() -> None:
    """No copied root per environment: .tf files live only in the root and in modules/<name>/."""
    tf_dirs = {p.parent for p in INFRA_DIR.rglob("*.tf") if ".terraform" not in p.parts}
    assert tf_dirs == {ROOT_DIR, *module_dirs()}, sorted(str(d) for d in tf_dirs)
    expected = {f"{env}.{suffix}" for env in ENVS for suffix in ("tfvars", "tfbackend")}
    assert {p.name for p in ENVS_DIR.iterdir()} == expected
    for env in ENVS:
        assert tfvars(env)["environment"] == env, f"envs/{env}.tfvars sets another environment"


@pytest.mark.parametrize("path", all_dirs(), ids=_ids(all_dirs()))
def test_references_resolve(path: Path) -> None:
    mod = module(path)
    everything = _everything(mod)
    undeclared_vars = references(everything, VAR_RE) - set(mod.variables)
    assert not undeclared_vars, f"undeclared variables: {sorted(undeclared_vars)}"
    undeclared_locals = references(everything, LOCAL_RE) - set(mod.locals)
    assert not undeclared_locals, f"undeclared locals: {sorted(undeclared_locals)}"

    declared_resources = {f"{t}.{n}" for t, n in mod.resources}
    declared_data = {f"{t}.{n}" for t, n in mod.data}
    used_resources: set[str] = set()
    used_data: set[str] = set()
    for text in _expressions(mod):
        used_resources.update(RESOURCE_RE.findall(text))
        used_data.update(DATA_RE.findall(text))
    assert not used_resources - declared_resources, sorted(used_resources - declared_resources)
    assert not used_data - declared_data, sorted(used_data - declared_data)


@pytest.mark.parametrize("path", all_dirs(), ids=_ids(all_dirs()))
def test_module_calls_match_module_interfaces(path: Path) -> None:
    mod = module(path)
    for name, call in mod.modules.items():
        child = module(_source_dir(mod, call))
        passed = set(call) - META_ARGS
        unknown = passed - set(child.variables)
        assert not unknown, f"module {name}: unknown inputs {sorted(unknown)}"
        required = {v for v, body in child.variables.items() if "default" not in body}
        missing = required - passed
        assert not missing, f"module {name}: required inputs not passed {sorted(missing)}"

    for text in _expressions(mod):
        for called, output in MODULE_RE.findall(text):
            assert called in mod.modules, f"module.{called} is not called in {path.name}"
            child = module(_source_dir(mod, mod.modules[called]))
            assert output in child.outputs, f"module.{called} has no output {output!r}"


@pytest.mark.parametrize("env", ENVS)
def test_tfvars_set_declared_and_required_variables(env: str) -> None:
    root = module(ROOT_DIR)
    values = set(tfvars(env))
    assert not values - set(root.variables), (
        f"unknown tfvars: {sorted(values - set(root.variables))}"
    )
    required = {v for v, body in root.variables.items() if "default" not in body}
    assert required, "every variable of the root has a default: nothing ties it to an environment"
    assert not required - values, f"required variables without a value: {sorted(required - values)}"


def test_backend_files_name_a_distinct_encrypted_state_per_environment() -> None:
    text = (ROOT_DIR / "versions.tf").read_text(encoding="utf-8")
    assert re.search(r'backend "s3" \{\s*\}', text), "the backend stays a partial configuration"
    keys = {}
    for env in ENVS:
        backend = tfbackend(env)
        for setting in ("bucket", "key", "region"):
            assert isinstance(backend.get(setting), str), f"envs/{env}.tfbackend: no {setting}"
            assert backend[setting].strip(), f"envs/{env}.tfbackend: empty {setting}"
        assert backend["key"] == f"ons-pipeline/{env}/terraform.tfstate"
        assert backend["region"] == tfvars(env)["region"]
        assert backend.get("encrypt") is True, f"envs/{env}.tfbackend: encrypt = true missing"
        assert backend.get("use_lockfile") is True, f"envs/{env}.tfbackend: no state locking"
        keys[env] = backend["key"]
    assert len(set(keys.values())) == len(ENVS), f"two environments share one state: {keys}"


def test_provider_and_terraform_versions_pinned() -> None:
    text = (ROOT_DIR / "versions.tf").read_text(encoding="utf-8")
    assert re.search(r'required_version\s*=\s*">= 1\.9"', text)
    assert re.search(r'source\s*=\s*"hashicorp/aws"\s*\n\s*version\s*=\s*"~> 6\.\d+"', text)
    assert 'backend "s3"' in text


def _declared(mod: Module) -> set[str]:
    return (
        {f"{t}.{n}" for t, n in mod.resources}
        | {f"data.{t}.{n}" for t, n in mod.data}
        | {f"module.{n}" for n in mod.modules}
    )


def _block(address: str) -> str:
    """``aws_x.y["k"]`` or ``module.m[0]`` -> ``aws_x.y`` or ``module.m``: the declared block."""
    return re.sub(r"\[[^\]]*\]", "", address)


def _moves(mod: Module) -> list[tuple[str, str]]:
    return [(expr(block["from"]), expr(block["to"])) for block in mod.moved]


def _is_declared(mod: Module, address: str) -> bool:
    """Whether ``address`` (``module.m.aws_x.y["k"]`` and the like) names a declared block,
    following module calls into their source directories."""
    address = _block(address)
    while address.startswith("module.") and address.count(".") > 1:
        call, address = address.removeprefix("module.").split(".", 1)
        if call not in mod.modules:
            return False
        mod = module(_source_dir(mod, mod.modules[call]))
    return address in _declared(mod)


def _follow(moves: dict[str, str], address: str) -> str:
    """Where ``address`` ends after a chain of moves (A to B, later B to C), a move of a whole
    block carrying its instances (``aws_x.b["k"]`` follows ``aws_x.b`` to ``aws_x.c["k"]``)."""
    seen: set[str] = set()
    while address not in seen:
        seen.add(address)
        block = _block(address)
        if address in moves:
            address = moves[address]
        elif block in moves:
            address = moves[block] + address[len(block) :]
    return address


@pytest.mark.parametrize("path", all_dirs(), ids=_ids(all_dirs()))
def test_moved_blocks_land_on_declared_objects(path: Path) -> None:
    """A ``moved`` block to an undeclared address would not save the object from destruction."""
    mod = module(path)
    moves = _moves(mod)
    for source, target in moves:
        assert source != target, f"{path.name}: {source} moved to itself"
        end = _follow(dict(moves), target)
        assert _is_declared(mod, end), f"{path.name}: {source} moved to undeclared {end}"
        if source == _block(source):  # a whole block moved: the old one must be gone
            assert not _is_declared(mod, source), f"{path.name}: {source} moved, still declared"
    sources = [source for source, _ in moves]
    targets = [target for _, target in moves]
    assert len(set(sources)) == len(sources), f"{path.name}: one address moved twice"
    assert len(set(targets)) == len(targets), f"{path.name}: two objects moved to one address"


def test_the_former_stack_modules_keep_their_state() -> None:
    moves = dict(_moves(module(ROOT_DIR)))
    assert set(module(ROOT_DIR).modules) == FORMER_STACK_MODULES | {"api"}
    for name in FORMER_STACK_MODULES:
        assert moves.get(f"module.stack.module.{name}") == f"module.{name}", name


@pytest.mark.parametrize("where", sorted(API_MOVES))
def test_the_objects_the_api_deployment_moved_keep_their_state(where: str) -> None:
    """Each object the query API's deployment reshaped has its moved block, in the module that
    holds both addresses (an object left out would be destroyed and created again)."""
    path = ROOT_DIR if where == "infra" else MODULES_DIR / where
    moves = dict(_moves(module(path)))
    for source, target in API_MOVES[where].items():
        assert moves.get(source) == target, f"{where}: {source} not moved to {target}"


def test_variable_values_satisfy_the_influxdb_module_rules() -> None:
    """The tfvars choices the plan would reject, caught here (allowed classes and tiers)."""
    instance_types = {
        "db.influx.medium",
        "db.influx.large",
        "db.influx.xlarge",
        "db.influx.2xlarge",
        "db.influx.4xlarge",
        "db.influx.8xlarge",
        "db.influx.12xlarge",
        "db.influx.16xlarge",
    }
    for env in ENVS:
        values = tfvars(env)
        assert values["influxdb_engine"] in {"v2", "v3"}
        assert values["influxdb_instance_type"] in instance_types
        tier = values.get("influxdb_storage_type", "InfluxIOIncludedT1")
        storage = values.get("influxdb_allocated_storage", 20)
        assert 20 <= storage <= 16384
        if tier != "InfluxIOIncludedT1":
            assert storage >= 400, f"{env}: {tier} needs at least 400 GiB"
        zones = values["availability_zones"]
        assert 2 <= len(zones) <= 3 and len(set(zones)) == len(zones)
        assert all(z.startswith(values["region"]) for z in zones)
        if values.get("influxdb_deployment_type") == "WITH_MULTIAZ_STANDBY":
            assert len(zones) >= 2


def test_prod_is_highly_available() -> None:
    prod = tfvars("prod")
    assert prod["influxdb_deployment_type"] == "WITH_MULTIAZ_STANDBY"
    assert prod["rds_multi_az"] is True
    assert prod["single_nat_gateway"] is False
    assert len(prod["availability_zones"]) == 3
