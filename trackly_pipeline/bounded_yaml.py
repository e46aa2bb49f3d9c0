"""yaml.safe_load, refusing a document whose aliases stand for too many values (an "alias bomb").

A YAML alias (`*name`) repeats its anchor's value (`&name`) without copying it, so a few nested
aliases stand for billions of values: 700 bytes took 20 s and 2.4 GB once any str() or loop walked
them (trackly.yaml, issue 15). The count is made on the parsed nodes, where an alias is one shared
node, before any value is built. A trackly.yaml needs few: `<<: *defaults` to share settings.
"""

from __future__ import annotations

from typing import Any

import yaml

MAX_ALIASED_VALUES = 10_000


class YamlRefused(ValueError):
    """A document refused before it was built; the message says why."""


def safe_load(text: str) -> Any:
    """yaml.safe_load(text), or YamlRefused when its aliases add more than MAX_ALIASED_VALUES values.
    Deep nesting raises RecursionError, as in yaml.safe_load."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        added = _aliased_values(node)
        if added > MAX_ALIASED_VALUES:
            raise YamlRefused(
                f"its YAML aliases (*name) repeat {added:,} values, more than the "
                f"{MAX_ALIASED_VALUES:,} allowed (a few nested aliases can stand for billions); "
                "write the values out"
            )
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _aliased_values(root: yaml.Node) -> int:
    """How many values the aliases add: the values with each alias replaced by a copy of its anchor's
    value, less the distinct nodes written. Linear in the nodes (each node's size is computed once)."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise YamlRefused(
                "a YAML alias (*name) inside the value of its own anchor (&name): that value would contain itself"
            )
        open_nodes.add(key)
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [child for pair in node.value for child in pair]
        else:
            children = []
        sizes[key] = 1 + sum(size(child) for child in children)
        open_nodes.discard(key)
        return sizes[key]

    return size(root) - len(sizes)
