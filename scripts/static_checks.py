#!/usr/bin/env python3
"""Static checks of the isp_data_recurring addon, without importing Odoo.

Checks:
- the manifest: version 18.0.x.y.z, license, author, website, images (files
  that exist), depends; no key with an empty value;
- every file of the manifest's ``data`` and ``demo`` lists exists and parses
  (XML with xml.etree, CSV with csv), with Odoo 18 pitfalls flagged
  (``<tree>``, ``attrs``/``states`` in views, ``numbercall``/``doall`` on
  ir.cron);
- security/ir.model.access.csv: the exact header, 0/1 permissions, unique ids,
  models defined or extended by the addon (``_name``/``_inherit`` in models/
  and wizards/) or by the dependency named in the id (``product.model_x``),
  groups defined earlier in the load order or by a dependency;
- every ``from . import x`` in the addon's ``__init__.py`` files names a file
  that exists, and core/tests is not a package (see ``check_core_tests``);
- pyproject.toml's [project] version, if any, equals the manifest's.

Dependency models come from the Odoo addons folders: $ODOO_ADDONS_DIRS
(comma-separated, set by scripts/odoo_env.sh), else the folders next to the
``odoo`` package found by importlib (not imported). Without Odoo, a small
allow-list of core models is used instead, and the output says so.

Exit status 1 when any check fails.
"""

from __future__ import annotations

import ast
import csv
import importlib.util
import os
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ACCESS_HEADER = [
    "id",
    "name",
    "model_id:id",
    "group_id:id",
    "perm_read",
    "perm_write",
    "perm_create",
    "perm_unlink",
]
LICENSES = {
    "GPL-2",
    "GPL-2 or any later version",
    "GPL-3",
    "GPL-3 or any later version",
    "AGPL-3",
    "LGPL-3",
    "Other OSI approved licence",
    "OEEL-1",
    "OPL-1",
    "Other proprietary",
}
REQUIRED_KEYS = ("name", "version", "license", "author", "website", "images", "depends")
# Used only when no Odoo addons folder can be found.
CORE_MODELS = {
    "account.account",
    "account.journal",
    "account.move",
    "account.move.line",
    "account.payment",
    "account.payment.register",
    "account.tax",
    "ir.attachment",
    "ir.config_parameter",
    "ir.cron",
    "ir.model",
    "ir.rule",
    "ir.sequence",
    "ir.ui.view",
    "mail.activity",
    "mail.message",
    "mail.template",
    "product.category",
    "product.pricelist",
    "product.product",
    "product.template",
    "product.template.attribute.line",
    "res.company",
    "res.config.settings",
    "res.currency",
    "res.groups",
    "res.country",
    "res.partner",
    "res.partner.bank",
    "res.partner.category",
    "res.users",
    "sale.order",
    "sale.order.line",
    "uom.uom",
}


class Report:
    def __init__(self) -> None:
        self.errors: list[str] = []
        self.warnings: list[str] = []
        self.notes: list[str] = []

    def error(self, msg: str) -> None:
        self.errors.append(msg)

    def warn(self, msg: str) -> None:
        self.warnings.append(msg)

    def note(self, msg: str) -> None:
        self.notes.append(msg)


def rel(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


# --- models ----------------------------------------------------------------


def _str_values(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.List, ast.Tuple)):
        return [
            e.value
            for e in node.elts
            if isinstance(e, ast.Constant) and isinstance(e.value, str)
        ]
    return []


def models_in_file(path: Path) -> tuple[set[str], set[str]]:
    """(_name values, _inherit-only values) of the classes in one file."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    except (SyntaxError, UnicodeDecodeError, OSError):
        return set(), set()
    names: set[str] = set()
    inherits: set[str] = set()
    for cls in ast.walk(tree):
        if not isinstance(cls, ast.ClassDef):
            continue
        cls_name: list[str] = []
        cls_inherit: list[str] = []
        for stmt in cls.body:
            if isinstance(stmt, ast.Assign):
                targets, value = stmt.targets, stmt.value
            elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                targets, value = [stmt.target], stmt.value
            else:
                continue
            for t in targets:
                if isinstance(t, ast.Name) and t.id == "_name":
                    cls_name = _str_values(value)
                elif isinstance(t, ast.Name) and t.id == "_inherit":
                    cls_inherit = _str_values(value)
        names.update(cls_name)
        if not cls_name:
            inherits.update(cls_inherit)
    return names, inherits


def models_in_dirs(dirs: list[Path]) -> tuple[set[str], set[str]]:
    names: set[str] = set()
    inherits: set[str] = set()
    for d in dirs:
        if not d.is_dir():
            continue
        for py in sorted(d.rglob("*.py")):
            if "tests" in py.relative_to(d).parts:
                continue
            n, i = models_in_file(py)
            names |= n
            inherits |= i
    return names, inherits


# --- Odoo addons -------------------------------------------------------------


def odoo_addons_dirs(report: Report) -> list[Path]:
    env = os.environ.get("ODOO_ADDONS_DIRS", "").strip()
    if env:
        dirs = [Path(p) for p in re.split(r"[,:]", env) if p]
        return [d for d in dirs if d.is_dir()]
    try:
        spec = importlib.util.find_spec("odoo")
    except (ImportError, ValueError):
        spec = None
    if not spec or not spec.submodule_search_locations:
        return []
    pkg = Path(list(spec.submodule_search_locations)[0])
    release = pkg / "release.py"
    m = re.search(
        r"^version_info\s*=\s*\(\s*(?:[A-Z_]+\s*,\s*)?(\d+)",
        release.read_text(encoding="utf-8") if release.is_file() else "",
        re.M,
    )
    if not m or m.group(1) != "18":
        report.note(f"odoo package at {pkg} is not Odoo 18: not used")
        return []
    return [d.resolve() for d in (pkg / "addons", pkg.parent / "addons") if d.is_dir()]


def read_manifest(path: Path) -> dict:
    return ast.literal_eval(path.read_text(encoding="utf-8"))


def dependency_closure(
    depends: list[str], addons_dirs: list[Path], report: Report
) -> dict[str, Path]:
    """Module name -> folder, for depends and their own depends (and base)."""
    found: dict[str, Path] = {}
    todo = list(depends) + ["base"]
    while todo:
        mod = todo.pop()
        if mod in found:
            continue
        for d in addons_dirs:
            manifest = d / mod / "__manifest__.py"
            if manifest.is_file():
                found[mod] = d / mod
                try:
                    todo.extend(read_manifest(manifest).get("depends", []))
                except (SyntaxError, ValueError) as exc:
                    report.warn(f"cannot read {manifest}: {exc}")
                break
        else:
            report.error(
                f"__manifest__.py: dependency '{mod}' not found in the Odoo "
                f"addons folders ({', '.join(map(str, addons_dirs))})"
            )
    return found


# --- manifest ----------------------------------------------------------------


def check_manifest(manifest: dict, report: Report) -> None:
    for key, value in manifest.items():
        if value in ("", None, [], {}, ()):
            report.error(f"__manifest__.py: key '{key}' is empty (drop it or fill it)")
    for key in REQUIRED_KEYS:
        if key not in manifest:
            report.error(f"__manifest__.py: '{key}' is missing")
    version = manifest.get("version", "")
    if version and not re.fullmatch(r"18\.0\.\d+\.\d+\.\d+", str(version)):
        report.error(
            f"__manifest__.py: version '{version}' is not of the form 18.0.x.y.z"
        )
    lic = manifest.get("license")
    if lic and lic not in LICENSES:
        report.error(f"__manifest__.py: license '{lic}' is not one Odoo knows")
    for key in ("author", "website", "name"):
        if key in manifest and not isinstance(manifest[key], str):
            report.error(f"__manifest__.py: '{key}' must be a string")
    images = manifest.get("images", [])
    if not isinstance(images, list):
        report.error("__manifest__.py: 'images' must be a list")
    else:
        for img in images:
            if not (ROOT / img).is_file():
                report.error(f"__manifest__.py: image '{img}' does not exist")
    for key in ("data", "demo", "depends"):
        if key in manifest and not isinstance(manifest[key], list):
            report.error(f"__manifest__.py: '{key}' must be a list")


# --- data files --------------------------------------------------------------

ARCH_PITFALLS = (
    (re.compile(r"<tree[\s>/]"), "<tree> is <list> in Odoo 18"),
    (re.compile(r"\sattrs\s*="), "'attrs' is rejected by Odoo 18 (use invisible=...)"),
    (
        re.compile(r"\sstates\s*="),
        "'states' is rejected by Odoo 18 (use invisible=...)",
    ),
)


def check_xml(path: Path, report: Report, defined_ids: set[str]) -> None:
    name = rel(path)
    try:
        tree = ET.parse(path)
    except ET.ParseError as exc:
        report.error(f"{name}: XML does not parse: {exc}")
        return
    root = tree.getroot()
    if root.tag not in ("odoo", "openerp"):
        report.error(f"{name}: root element is <{root.tag}>, expected <odoo>")
    for el in root.iter():
        xml_id = el.get("id")
        if xml_id and el.tag in ("record", "menuitem", "template", "function"):
            defined_ids.add(xml_id)
        if el.tag != "record":
            continue
        for field in el.findall("field"):
            fname = field.get("name")
            if el.get("model") == "ir.cron" and fname in ("numbercall", "doall"):
                report.error(
                    f"{name}: ir.cron '{xml_id}' sets '{fname}',"
                    " which no longer exists in Odoo 18"
                )
            if fname == "arch":
                arch = "".join(
                    ET.tostring(child, encoding="unicode") for child in field
                )
                for pattern, msg in ARCH_PITFALLS:
                    if pattern.search(arch):
                        report.error(f"{name}: view '{xml_id}': {msg}")


def check_access_csv(
    path: Path,
    report: Report,
    ctx: dict,
) -> None:
    name = rel(path)
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        report.error(f"{name}: CSV does not parse: {exc}")
        return
    if not rows:
        report.error(f"{name}: empty file")
        return
    header = [h.strip() for h in rows[0]]
    if header != ACCESS_HEADER:
        report.error(f"{name}: header is {header}, expected {','.join(ACCESS_HEADER)}")
        return
    seen: set[str] = set()
    for lineno, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        where = f"{name}:{lineno}"
        if len(row) != len(ACCESS_HEADER):
            report.error(f"{where}: {len(row)} columns, expected {len(ACCESS_HEADER)}")
            continue
        rec = dict(zip(ACCESS_HEADER, (c.strip() for c in row), strict=True))
        if rec["id"] in seen:
            report.error(f"{where}: duplicate id '{rec['id']}'")
        seen.add(rec["id"])
        for perm in ACCESS_HEADER[4:]:
            if rec[perm] not in ("0", "1"):
                report.error(f"{where}: {perm} is '{rec[perm]}', expected 0 or 1")
        check_model_ref(rec["model_id:id"], where, report, ctx)
        if rec["group_id:id"]:
            check_group_ref(rec["group_id:id"], where, report, ctx)


def _model_xmlid(model: str) -> str:
    return "model_" + model.replace(".", "_")


def check_model_ref(ref: str, where: str, report: Report, ctx: dict) -> None:
    module, _, local = ref.rpartition(".")
    if not local.startswith("model_"):
        report.error(f"{where}: model_id '{ref}' is not a model xml id (model_...)")
        return
    if module in ("", ctx["addon"]):
        ours = {_model_xmlid(m) for m in ctx["own_names"] | ctx["own_inherits"]}
        if local not in ours:
            report.error(
                f"{where}: model_id '{ref}': no model of this addon has that id "
                f"(models: {', '.join(sorted(ctx['own_names'])) or 'none'}); "
                "a dependency's model needs its module prefix, e.g. "
                "'product.model_product_template'"
            )
        return
    if ctx["dep_models"] is None:
        if local not in {_model_xmlid(m) for m in CORE_MODELS}:
            report.error(
                f"{where}: model_id '{ref}' is not in the allow-list of core models"
                " (Odoo not found, so dependencies could not be scanned)"
            )
        return
    if module not in ctx["dep_models"]:
        report.error(
            f"{where}: model_id '{ref}': module '{module}' is not a dependency"
            " of this addon (add it to 'depends')"
        )
        return
    if local not in {_model_xmlid(m) for m in ctx["dep_models"][module]}:
        report.error(
            f"{where}: model_id '{ref}': module '{module}' neither defines nor"
            " extends that model"
        )


def check_group_ref(ref: str, where: str, report: Report, ctx: dict) -> None:
    module, _, local = ref.rpartition(".")
    if module in ("", ctx["addon"]):
        if local not in ctx["ids_so_far"]:
            report.error(
                f"{where}: group '{ref}' is not defined in a data file loaded"
                " before this one"
            )
    elif ctx["dep_models"] is not None and module not in ctx["dep_models"]:
        report.error(f"{where}: group '{ref}': module '{module}' is not a dependency")


def check_data_files(manifest: dict, report: Report, ctx: dict) -> None:
    for key in ("data", "demo"):
        for entry in manifest.get(key, []) or []:
            path = ROOT / entry
            where = f"__manifest__.py['{key}']: {entry}"
            if not path.is_file():
                report.error(f"{where}: file does not exist")
                continue
            suffix = path.suffix.lower()
            if suffix == ".xml":
                check_xml(path, report, ctx["ids_so_far"])
            elif suffix == ".csv":
                if path.name == "ir.model.access.csv":
                    check_access_csv(path, report, ctx)
                else:
                    try:
                        with path.open(newline="", encoding="utf-8") as fh:
                            rows = list(csv.reader(fh))
                    except (OSError, UnicodeDecodeError, csv.Error) as exc:
                        report.error(f"{rel(path)}: CSV does not parse: {exc}")
                        continue
                    if not rows or "id" not in [h.strip() for h in rows[0]]:
                        report.error(f"{rel(path)}: CSV has no 'id' column")
            elif suffix != ".sql":
                report.error(f"{where}: unsupported data file type '{suffix}'")


# --- python packages -------------------------------------------------------


def check_init_imports(report: Report) -> None:
    """`from . import x` in the addon's __init__.py files must name files."""
    for init in sorted(ROOT.rglob("__init__.py")):
        parts = init.relative_to(ROOT).parts
        if (
            parts[0] in (".venv", ".build", ".pgdata", ".git")
            or "node_modules" in parts
        ):
            continue
        try:
            tree = ast.parse(init.read_text(encoding="utf-8"), str(init))
        except SyntaxError as exc:
            report.error(f"{rel(init)}: syntax error: {exc}")
            continue
        for node in tree.body:
            if isinstance(node, ast.ImportFrom) and node.level == 1 and not node.module:
                for alias in node.names:
                    base = init.parent / alias.name
                    if not (
                        base.with_suffix(".py").is_file()
                        or (base / "__init__.py").is_file()
                    ):
                        report.error(
                            f"{rel(init)}: imports '{alias.name}', but neither "
                            f"{rel(base)}.py nor {rel(base)}/__init__.py exists"
                        )
    for pkg in ("models", "wizards", "tests"):
        init = ROOT / pkg / "__init__.py"
        if not init.is_file():
            continue
        text = init.read_text(encoding="utf-8")
        for py in sorted((ROOT / pkg).glob("*.py")):
            if py.name in ("__init__.py", "common.py") or py.name.startswith("_"):
                continue
            if pkg == "tests" and not py.name.startswith("test_"):
                continue
            if not re.search(rf"\b{re.escape(py.stem)}\b", text):
                report.warn(
                    f"{rel(py)} is not imported by {rel(init)}"
                    + (
                        " (Odoo's own test runner will not run it)"
                        if pkg == "tests"
                        else ""
                    )
                )


def check_core_tests(report: Report) -> None:
    """core/tests must not be a package.

    The repository root is the addon: its __init__.py imports models, so Odoo
    (and Odoo 18 refuses models imported outside odoo.addons). If core/tests
    had an __init__.py, pytest would name the test modules after the packages
    above them, up to the root, and import the root __init__.py to run the
    plain suite. Plain tests import the rules with ``from core import ...``
    (pyproject.toml puts the root on sys.path) and run with
    ``pytest -p no:odoo --confcutdir=core/tests core/tests``.
    """
    if (ROOT / "core" / "tests" / "__init__.py").exists():
        report.error(
            "core/tests/__init__.py exists: remove it. With it, pytest imports the "
            "whole addon (and Odoo) to run the plain suite; plain tests import "
            "'from core import ...' instead"
        )


def check_pyproject(manifest: dict, report: Report) -> None:
    path = ROOT / "pyproject.toml"
    if not path.is_file():
        return
    try:
        import tomllib
    except ImportError:  # Python 3.10
        report.note("pyproject.toml not checked (no tomllib before Python 3.11)")
        return
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        report.error(f"pyproject.toml does not parse: {exc}")
        return
    version = data.get("project", {}).get("version")
    if version and version != manifest.get("version"):
        report.error(
            f"pyproject.toml: [project] version {version} differs from the "
            f"manifest's {manifest.get('version')}"
        )


def main() -> int:
    report = Report()
    manifest_path = ROOT / "__manifest__.py"
    try:
        manifest = read_manifest(manifest_path)
    except (OSError, SyntaxError, ValueError) as exc:
        print(f"static checks: cannot read {manifest_path}: {exc}", file=sys.stderr)
        return 1
    addon = os.environ.get("ISP_ADDON", "isp_data_recurring")
    check_manifest(manifest, report)

    own_names, own_inherits = models_in_dirs([ROOT / "models", ROOT / "wizards"])
    addons_dirs = odoo_addons_dirs(report)
    dep_models: dict[str, set[str]] | None
    if addons_dirs:
        closure = dependency_closure(manifest.get("depends", []), addons_dirs, report)
        dep_models = {}
        for mod, folder in closure.items():
            names, inherits = models_in_dirs([folder])
            dep_models[mod] = names | inherits
        report.note(
            f"dependency models read from {len(closure)} modules in "
            f"{', '.join(map(str, addons_dirs))}"
        )
    else:
        dep_models = None
        report.note(
            "Odoo addons folders not found: dependency models checked against an "
            f"allow-list of {len(CORE_MODELS)} core models"
        )
    ctx = {
        "addon": addon,
        "own_names": own_names,
        "own_inherits": own_inherits,
        "dep_models": dep_models,
        "ids_so_far": set(),
    }
    check_data_files(manifest, report, ctx)
    check_init_imports(report)
    check_core_tests(report)
    check_pyproject(manifest, report)

    for note in report.notes:
        print(f"static checks: note: {note}")
    for warning in report.warnings:
        print(f"static checks: warning: {warning}")
    for error in report.errors:
        print(f"static checks: ERROR: {error}", file=sys.stderr)
    if report.errors:
        print(f"static checks: FAILED ({len(report.errors)} error(s))", file=sys.stderr)
        return 1
    print(
        f"static checks: OK ({len(manifest.get('data', []))} data and "
        f"{len(manifest.get('demo', []))} demo files, "
        f"{len(own_names)} models of this addon)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
