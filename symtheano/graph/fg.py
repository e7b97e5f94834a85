"""FunctionGraph: a graph with declared inputs and outputs, whose nodes know
their clients, so that rewrites can replace a variable everywhere it is used.
"""

from __future__ import annotations

from symtheano.graph.basic import Constant, graph_inputs, toposort


class FunctionGraph:
    """The subgraph between `inputs` and `outputs`, owned by one compiled function.

    The variables and nodes passed in must not be shared with a user's graph:
    `function` clones them first, since `replace` rewires nodes in place.
    """

    def __init__(self, inputs, outputs):
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.clients = {}  # variable -> list of (node, input index); "output" for outputs
        self.apply_nodes = set()
        self.variables = set()
        for v in self.inputs:
            self._add_variable(v)
        known = set(map(id, self.inputs))
        for v in graph_inputs(self.outputs):
            if id(v) not in known and not isinstance(v, Constant):
                raise ValueError(f"{v} is needed to compute the outputs but is not an input")
        for node in toposort(self.outputs):
            self._import_node(node)
        for i, out in enumerate(self.outputs):
            self._add_variable(out)
            self.clients[out].append(("output", i))

    def _add_variable(self, v):
        if v not in self.clients:
            self.clients[v] = []
            self.variables.add(v)

    def _import_node(self, node):
        if node in self.apply_nodes:
            return False
        self.apply_nodes.add(node)
        for i, inp in enumerate(node.inputs):
            self._add_variable(inp)
            self.clients[inp].append((node, i))
        for out in node.outputs:
            self._add_variable(out)
        return True

    def _prune(self, var):
        """Drop the node producing `var` (and what only it used) if nothing uses it."""
        stack = [var]
        while stack:
            v = stack.pop()
            node = v.owner
            if node is None or node not in self.apply_nodes:
                continue
            if any(self.clients.get(o) for o in node.outputs):
                continue
            self.apply_nodes.discard(node)
            for o in node.outputs:
                self.clients.pop(o, None)
                self.variables.discard(o)
            for i, inp in enumerate(node.inputs):
                uses = self.clients.get(inp, [])
                if (node, i) in uses:
                    uses.remove((node, i))
                stack.append(inp)

    def replace(self, old, new, reason=None):
        """Make every client of `old` use `new` instead; returns the nodes imported."""
        return self.replace_all([(old, new)], reason)

    def replace_all(self, pairs, reason=None):
        """Replace several variables at once (a node's outputs); returns the new nodes."""
        imported = []
        for old, new in pairs:
            if old.type.ndim != getattr(new.type, "ndim", None):
                raise TypeError(f"replacing {old} ({old.type}) by {new} ({new.type}): "
                                "types differ")
            for node in self._new_nodes(new):
                if self._import_node(node):
                    imported.append(node)
                    # What a rewrite builds computes (part of) what `old` computed:
                    # errors at run time point to the user's line that built `old`.
                    for out in node.outputs:
                        out.site = old.site
            self._swap(old, new)
        for old, _ in pairs:
            self._prune(old)
        return imported

    def _new_nodes(self, var):
        """Nodes computing `var` that are not yet in the graph, inputs first.

        The walk stops at nodes already in the graph, so a replacement costs time
        in proportion to what it adds, not to the depth of the graph below it."""
        order, seen = [], set()
        stack = [(var, False)]
        while stack:
            v, expanded = stack.pop()
            node = v.owner if not expanded else v
            if node is None or node in self.apply_nodes:
                continue
            if expanded:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((i, False) for i in reversed(node.inputs))
        return order

    def _swap(self, old, new):
        if old is new:
            return
        self._add_variable(new)
        for client, i in list(self.clients.get(old, [])):
            if client == "output":
                self.outputs[i] = new
            else:
                client.inputs[i] = new
            self.clients[new].append((client, i))
        self.clients[old] = []

    def toposort(self):
        """The nodes in an order where each comes after the nodes it depends on."""
        return toposort(self.outputs)

    def __repr__(self):
        return f"FunctionGraph({self.inputs} -> {self.outputs})"
