"""Random Ansible inventories (INI, YAML, group_vars/, host_vars/) for differential tests against ansible.

Seeded: a failing case names its seed, and `write_case(seed, dir)` rebuilds it."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

GROUPS = ["web", "db", "app", "lb", "g1", "g_2", "prod", "stage", "eu", "us", "cache", "all", "ungrouped"]
HOSTS = [
    "h1",
    "h2",
    "web01",
    "db-1",
    "10.0.0.5",
    "host.example.com",
    "app",
    "x_y",
    "h[1:3]",
    "n[a:c]",
    "w[01:10:3]",
]
VARS = [
    "x",
    "y",
    "z",
    "port_no",
    "ansible_host",
    "ansible_port",
    "ansible_user",
    "ansible_group_priority",
    "deep",
]
# Raw INI value texts: Ansible literal_evals them (host lines after shlex, vars lines as they are).
INI_VALUES = [
    "1", "0", "-5", "+5", "007", "0x10", "1.5", "1e3", "True", "False", "None", "yes", "no", "abc",
    "a.b", "a-b", "'1'", '"two words"', "'[1, 2]'", "[1, 2]", "(1, 2)", "{1, 2}", "{'a': 1}", "b'by'",
    "1+2j", "...", "é", "'a#b'", "x=y", '"\'q\'"', "''", "a,b", "[1, [2, {'k': None}]]", "{'k': 'v'}",
    "1_000", "0o17", "0b101",
]  # fmt: skip
YAML_VALUES = [
    "1", '"1"', "yes", "no", "~", "1.5", "1e3", "0x1F", "0o17", "012", "1:30", "2024-01-01", "[1, 2]",
    "{a: 1}", "!unsafe '{{ x }}'", '"a b"', "'it''s'", ".inf", "null", "true", "True", "ON", "-7",
    "[a, {b: [c]}]", "''", '"{{ templated }}"', "123456789012345678901234567890", "{a: {b: 1}, c: [1, 2]}",
]  # fmt: skip
PRIORITIES = ["1", "2", "5", "10"]
# prober refuses connection settings it cannot use (ports that are no port, hosts that are no string), so
# these vars get values that both accept; tests of the refusals are separate.
CONNECTION_VALUES = {
    "ansible_host": ["10.0.0.1", "db.example.com", "h1"],
    "ansible_port": ["22", "2222", "'2200'"],
    "ansible_user": ["deploy", "'root'"],
}


@dataclass
class Spec:
    """An inventory as plain data: what each group has, in the order it is written."""

    groups: dict[str, dict[str, list]] = field(default_factory=dict)  # name → hosts/children/vars
    host_vars: dict[str, list[tuple[str, str]]] = field(default_factory=dict)


def random_spec(rng: random.Random, values: list[str]) -> Spec:
    spec = Spec()
    names = rng.sample(GROUPS, rng.randint(1, 6))
    for name in names:
        spec.groups[name] = {"hosts": [], "children": [], "vars": []}
    for index, name in enumerate(names):
        body = spec.groups[name]
        later = [n for n in names[index + 1 :] if n not in ("all", "ungrouped")]
        body["children"] = rng.sample(later, rng.randint(0, min(2, len(later))))  # a DAG: no loops
        for host in rng.sample(HOSTS, rng.randint(0, 3)):
            port = f":{rng.choice([22, 2222])}" if rng.random() < 0.15 and "[" not in host else ""
            host_vars = [_pair(rng, values) for _ in range(rng.randint(0, 2))]
            body["hosts"].append((host + port, host_vars))
        body["vars"] = [_pair(rng, values) for _ in range(rng.randint(0, 3))]
    return spec


def _pair(rng: random.Random, values: list[str]) -> tuple[str, str]:
    name = rng.choice(VARS)
    return name, rng.choice(CONNECTION_VALUES.get(name, values))


def _var(name: str, value: str, rng: random.Random) -> tuple[str, str]:
    return (name, rng.choice(PRIORITIES)) if name == "ansible_group_priority" else (name, value)


def to_ini(spec: Spec, rng: random.Random) -> str:
    """Sections in random order; children may be named before their group is declared."""
    blocks = []
    for name, body in spec.groups.items():
        lines = [f"[{name}]"]
        for host, host_vars in body["hosts"]:
            lines.append(
                " ".join(
                    [host, *(f"{k}={_ini_token(v)}" for k, v in host_vars if k != "ansible_group_priority")]
                )
            )
        blocks.append(lines)
        if body["children"]:
            blocks.append([f"[{name}:children]", *body["children"]])
        if body["vars"]:
            blocks.append(
                [f"[{name}:vars]", *(f"{k}={v}" for k, v in (_var(k, v, rng) for k, v in body["vars"]))]
            )
    first, rest = blocks[:1], blocks[1:]
    rng.shuffle(rest)
    return "\n".join(line for block in first + rest for line in block) + "\n"


def _ini_token(value: str) -> str:
    """A value as one shell word: quoted when it has spaces or quotes of its own."""
    if any(c in value for c in " \"'#\\"):
        return "'" + value.replace("'", "'\"'\"'") + "'"
    return value


def to_yaml(spec: Spec, rng: random.Random) -> str:
    """Nested under `all:` (whose own vars and hosts are the `all` group's), each group written in full
    where it is first reached."""
    written = {"all"}
    top = spec.groups.get("all", {"hosts": [], "children": [], "vars": []})
    others = [name for name in spec.groups if name != "all"]
    lines = ["all:"]
    _yaml_body(spec, {**top, "children": others}, 0, lines, written, rng)
    return "\n".join(lines) + "\n"


def _yaml_group(
    spec: Spec, name: str, depth: int, lines: list[str], written: set[str], rng: random.Random
) -> None:
    lines.append(f"{'  ' * depth}{json.dumps(name)}:")
    if name not in written:
        written.add(name)
        _yaml_body(spec, spec.groups[name], depth, lines, written, rng)


def _yaml_body(
    spec: Spec, body: dict[str, list], depth: int, lines: list[str], written: set[str], rng: random.Random
) -> None:
    pad = "  " * depth
    if body["vars"]:
        lines.append(f"{pad}  vars:")
        lines += [f"{pad}    {k}: {v}" for k, v in (_var(k, v, rng) for k, v in body["vars"])]
    if body["hosts"]:
        lines.append(f"{pad}  hosts:")
        for host, host_vars in body["hosts"]:
            lines.append(f"{pad}    {json.dumps(host)}:")
            lines += [f"{pad}      {k}: {v}" for k, v in host_vars if k != "ansible_group_priority"]
    children = [child for child in body["children"] if child not in written or depth > 0]
    if children:
        lines.append(f"{pad}  children:")
        for child in children:
            _yaml_group(spec, child, depth + 2, lines, written, rng)


def var_files(spec: Spec, rng: random.Random) -> dict[str, str]:
    """Random group_vars/ and host_vars/ files (every extension Ansible reads, and directories)."""
    files: dict[str, str] = {}
    hosts = list(
        dict.fromkeys(
            h.split(":")[0] for body in spec.groups.values() for h, _ in body["hosts"] if "[" not in h
        )
    )
    for kind, names in (("group_vars", list(dict.fromkeys([*spec.groups, "all"]))), ("host_vars", hosts)):
        for name in rng.sample(names, min(len(names), rng.randint(0, 3))):
            content = "\n".join(
                f"{k}: {rng.choice(CONNECTION_VALUES.get(k, YAML_VALUES))}" for k in rng.sample(VARS, 2)
            )
            shape = rng.choice(["", ".yml", ".yaml", ".json", "/"])
            if shape == ".json":
                files[f"{kind}/{name}.json"] = json.dumps(
                    {rng.choice(VARS[:4]): rng.randint(0, 9), "deep": [1]}
                )
            elif shape == "/":
                files[f"{kind}/{name}/10.yml"] = content
                files[f"{kind}/{name}/20.yaml"] = f"{rng.choice(VARS[:4])}: from-dir"
            else:
                files[f"{kind}/{name}{shape}"] = content
    return files


def write_case(seed: int, root: Path) -> Path:
    """The inventory for a seed, written under root; returns the source to read (a file or a directory)."""
    rng = random.Random(seed)
    fmt = rng.choice(["ini", "yaml", "dir"])
    spec = random_spec(rng, INI_VALUES if fmt == "ini" else YAML_VALUES)
    root.mkdir(parents=True, exist_ok=True)
    files = var_files(spec, rng) if rng.random() < 0.7 else {}
    if fmt == "dir":
        other = random_spec(rng, INI_VALUES)
        files["inventory/01-main.yml"] = to_yaml(spec, rng)
        files["inventory/02-extra"] = to_ini(other, rng)
        files = {k if k.startswith("inventory/") else f"inventory/{k}": v for k, v in files.items()}
        source = root / "inventory"
    else:
        name = "hosts.ini" if fmt == "ini" else "hosts.yml"
        files[name] = to_ini(spec, rng) if fmt == "ini" else to_yaml(spec, rng)
        source = root / name
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return source


# Lines that are fine in most places, then lines that are wrong in most places.
COMMON_LINES = [
    "[web]", "[db]", "[web:vars]", "[db:children]", "[prod:children]", "[all:vars]", "[ungrouped]", "[g-1]",
    "web", "db", "prod", "h1", "h2 a=1", "h3:2222", "[::1]:22", "2001:db8::2", "h[1:3]", "h[a:c]", "h[3:1]",
    "h[:2]", "h1 'a=b c'", "h1 a='x y' b=\"[1, 2]\"", "x=1", "x = 2 # c", "h1 # comment", "; comment",
    "h1 ansible_port=22 ansible_host=10.0.0.1", "all", "ungrouped", "h1 k={'a':1}", "h1 k=[[[[1]]]]",
]  # fmt: skip
ODD_LINES = [
    "[web:oops]", "[bad name]", "h4: x=1", "h[01:3]", "h[1:2:0]", "h[x:9]", "h]1[", "h1 a = 1",
    "h1 a=\"unclosed", "x", "---", "h1 k={[1]: 2}",
]  # fmt: skip
INI_LINES = COMMON_LINES + ODD_LINES


def random_ini_text(rng: random.Random) -> str:
    """Arbitrary INI-ish lines, an odd one now and then: valid or not, ansible decides."""
    odd = rng.random() < 0.5
    pick = [
        rng.choice(ODD_LINES if odd and rng.random() < 0.2 else COMMON_LINES)
        for _ in range(rng.randint(1, 12))
    ]
    return "\n".join(pick) + "\n"
