"""Custom import-linter contracts for rules the built-in contract types cannot express.

- ``stdlib_only``: the listed packages import nothing outside themselves and the standard library
  (the domain must stay importable with no third-party package installed).
- ``independent_children``: every direct child of ``parent`` except ``shared`` is independent of
  every other (no import chain between them), so a new engine folder is covered automatically.
"""

import sys

from importlinter import Contract, ContractCheck, fields, output


class StdlibOnlyContract(Contract):
    type_name = "stdlib_only"
    source_modules = fields.ListField(subfield=fields.ModuleField())

    def check(self, graph, verbose: bool) -> ContractCheck:  # type: ignore[no-untyped-def]
        violations = []
        for source in self.source_modules:
            root = source.name
            for module in sorted({root, *graph.find_descendants(root)}):
                for imported in sorted(graph.find_modules_directly_imported_by(module)):
                    top = imported.split(".")[0]
                    if imported == root or imported.startswith(root + "."):
                        continue
                    if top in sys.stdlib_module_names:
                        continue
                    violations.append((module, imported))
        return ContractCheck(kept=not violations, metadata={"violations": violations})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for module, imported in check.metadata["violations"]:
            output.print_error(f"{module} imports {imported}, which is not in the standard library")
            output.new_line()


class IndependentChildrenContract(Contract):
    type_name = "independent_children"
    parent = fields.ModuleField()
    shared = fields.ListField(subfield=fields.StringField(), required=False, default=[])

    def check(self, graph, verbose: bool) -> ContractCheck:  # type: ignore[no-untyped-def]
        parent = self.parent.name
        shared = {f"{parent}.{name}" for name in self.shared}
        children = sorted(
            m for m in graph.find_children(parent) if m not in shared and not m.split(".")[-1].startswith("_")
        )
        violations = []
        for importer in children:
            for imported in children:
                if importer == imported:
                    continue
                chain = graph.find_shortest_chain(importer=importer, imported=imported, as_packages=True)
                if chain:
                    violations.append((importer, imported, chain))
        return ContractCheck(kept=not violations, metadata={"violations": violations, "children": children})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for importer, imported, chain in check.metadata["violations"]:
            output.print_error(f"{importer} must not depend on {imported}: {' -> '.join(chain)}")
            output.new_line()
