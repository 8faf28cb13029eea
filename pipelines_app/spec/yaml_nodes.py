"""Reading a pipeline file's YAML into plain data while remembering the node (line, column) behind every value.

PyYAML's own constructor forgets positions and silently keeps the last of two equal keys, so the data is built
here from the composed node tree: every path (a tuple of keys and list indices) maps back to its node, which is
how a problem found later, by pydantic or by the semantic checks, is reported at the right line and column.
"""

import math
from dataclasses import dataclass, field
from typing import Any

import yaml

from .errors import SpecError

Path = tuple[str | int, ...]

YAML_TAG_PREFIX = "tag:yaml.org,2002:"
MERGE_TAG = YAML_TAG_PREFIX + "merge"
TIMESTAMP_TAG = YAML_TAG_PREFIX + "timestamp"
SCALAR_TAGS = {YAML_TAG_PREFIX + name for name in ("null", "bool", "int", "float", "str")}
MAPPING_TAG = YAML_TAG_PREFIX + "map"
SEQUENCE_TAG = YAML_TAG_PREFIX + "seq"
# Aliases can make a small file expand into millions of values ("billion laughs"); no real pipeline comes close.
MAX_VALUES = 100_000
MAX_FLOW_DEPTH = 100

MISSING = object()


def format_path(path: Path) -> str:
    """('stages', 1, 'steps', 0, 'type') -> 'stages[1].steps[0].type'."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


@dataclass
class LoadedYaml:
    """The data of a pipeline file, where each value came from, and the problems met while reading it."""

    text: str
    data: Any = None
    nodes: dict[Path, yaml.Node] = field(default_factory=dict)
    key_nodes: dict[Path, yaml.Node] = field(default_factory=dict)
    errors: list[SpecError] = field(default_factory=list)
    # True when nothing usable could be read (syntax error, empty file, not a mapping at the top).
    fatal: bool = False

    def get(self, path: Path, default=MISSING):
        """The value at `path`, or `default` when the path does not lead anywhere."""
        value = self.data
        for part in path:
            if isinstance(value, dict) and isinstance(part, str) and part in value:
                value = value[part]
            elif isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
                value = value[part]
            else:
                return default
        return value

    def node_for(self, path: Path, key: bool = False) -> yaml.Node | None:
        """The node at `path` (its key node when `key`), else the node of the nearest enclosing value."""
        if key and path in self.key_nodes:
            return self.key_nodes[path]
        for end in range(len(path), -1, -1):
            node = self.nodes.get(path[:end])
            if node is not None:
                return node
        return None

    def position(self, path: Path, key: bool = False) -> tuple[int, int]:
        """1-based (line, column) of the value at `path`, or of its key."""
        node = self.node_for(path, key)
        if node is None:
            return 1, 1
        return node.start_mark.line + 1, node.start_mark.column + 1

    def error(self, path: Path, message: str, key: bool = False) -> SpecError:
        line, column = self.position(path, key)
        return SpecError(line, column, message, format_path(path))

    def error_in_text(self, path: Path, fragment: str, message: str) -> SpecError:
        """An error pointing at `fragment` inside the single-line text value at `path` (else at the value)."""
        line, column = self.position(path)
        node = self.nodes.get(path)
        if node is not None and node.start_mark.line == node.end_mark.line:
            source = self.text[node.start_mark.index : node.end_mark.index]
            offset = source.find(fragment)
            if offset >= 0:
                column += offset
        return SpecError(line, column, message, format_path(path))


def load_yaml(text: str) -> LoadedYaml:
    """Compose `text` and build its data; syntax problems become errors instead of exceptions."""
    loaded = LoadedYaml(text=text)
    too_deep = _flow_too_deep(text)
    if too_deep:
        loaded.errors = [too_deep]
        loaded.fatal = True
        return loaded
    loader = None
    try:
        # The reader checks for forbidden characters as soon as it is made, so that is inside the try too.
        loader = yaml.SafeLoader(text)
        root = loader.get_single_node()
        if root is None:
            return _fatal(loaded, "the file is empty; a pipeline file starts with 'version: 1'")
        loaded.data = _Builder(loader, loaded).build(root, ())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        loaded.errors = [SpecError(line, column, readable_yaml_problem(exc))]
        loaded.fatal = True
        return loaded
    except yaml.YAMLError as exc:
        # ReaderError: a character YAML forbids (NUL, other control characters); it only knows the offset.
        position = getattr(exc, "position", 0) or 0
        line = text.count("\n", 0, position) + 1
        column = position - (text.rfind("\n", 0, position) + 1) + 1
        character = getattr(exc, "character", None)
        shown = f" (#x{character:04x})" if isinstance(character, int) else ""
        loaded.errors = [SpecError(line, column, f"the file contains a character YAML does not allow{shown}")]
        loaded.fatal = True
        return loaded
    except _TooBig:
        return _fatal(loaded, "the file expands to too many values; aliases ('*name') are nested too deeply")
    except RecursionError:
        return _fatal(loaded, "the file is nested too deeply to be a pipeline file")
    finally:
        if loader is not None:
            loader.dispose()
    if not isinstance(loaded.data, dict):
        kind = "a list" if isinstance(loaded.data, list) else "a single value"
        return _fatal(
            loaded,
            f"the top of a pipeline file must be keys and values such as 'version: 1', 'name:' and 'stages:', "
            f"not {kind}",
        )
    return loaded


def _flow_too_deep(text: str) -> SpecError | None:
    """An error at the first '[' or '{' nested deeper than MAX_FLOW_DEPTH, found by a quick scan.

    PyYAML's scanner slows down with the square of the nesting depth of '[...]' and '{...}' (6 KB of brackets
    take seconds), so files nested far beyond any real pipeline are refused before it sees them. Quoted text and
    comments are skipped; the scan is rough, which only matters past a depth no pipeline reaches."""
    depth, line, column, quote = 0, 1, 0, ""
    in_comment = False
    previous = "\n"
    for character in text:
        column += 1
        if character == "\n":
            # Quoted text may run over several lines; a comment ends here.
            line, column, in_comment = line + 1, 0, False
        elif in_comment:
            pass
        elif quote:
            if character == quote and previous != "\\":
                quote = ""
        elif character in "'\"" and (previous in " \t\n[{,:" or column == 1):
            quote = character
        elif character == "#" and previous in " \t\n":
            in_comment = True
        elif character in "[{":
            depth += 1
            if depth > MAX_FLOW_DEPTH:
                return SpecError(line, column, f"lists and mappings are nested more than {MAX_FLOW_DEPTH} deep here")
        elif character in "]}":
            depth = max(depth - 1, 0)
        previous = character
    return None


def _fatal(loaded: LoadedYaml, message: str) -> LoadedYaml:
    loaded.errors = [SpecError(1, 1, message)]
    loaded.fatal = True
    return loaded


class _TooBig(Exception):
    pass


def _shown_tag(tag: str) -> str:
    return "!!" + tag[len(YAML_TAG_PREFIX) :] if tag.startswith(YAML_TAG_PREFIX) else tag


class _Builder:
    """Turns composed nodes into dicts, lists and scalars, recording nodes and problems on the way."""

    def __init__(self, loader: yaml.SafeLoader, loaded: LoadedYaml):
        self.loader = loader
        self.loaded = loaded
        self.count = 0
        # Nodes being built right now: an alias back to one of them would recurse forever.
        self.active: set[int] = set()

    def problem(self, node: yaml.Node, path: Path, message: str):
        mark = node.start_mark
        self.loaded.errors.append(SpecError(mark.line + 1, mark.column + 1, message, format_path(path)))

    def build(self, node: yaml.Node, path: Path):
        self.count += 1
        if self.count > MAX_VALUES:
            raise _TooBig
        self.loaded.nodes[path] = node
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path)
        if id(node) in self.active:
            self.problem(node, path, "this alias refers to a value that contains itself")
            return None
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                if node.tag != SEQUENCE_TAG:
                    self.problem(node, path, f"the tag '{_shown_tag(node.tag)}' is not allowed in a pipeline file")
                return [self.build(child, (*path, index)) for index, child in enumerate(node.value)]
            if node.tag != MAPPING_TAG:
                self.problem(node, path, f"the tag '{_shown_tag(node.tag)}' is not allowed in a pipeline file")
            return self.mapping(node, path)
        finally:
            self.active.discard(id(node))

    def scalar(self, node: yaml.ScalarNode, path: Path):
        if node.tag == TIMESTAMP_TAG:
            # JSON has no dates and no field of the format wants one; keep what was written.
            return node.value
        if node.tag not in SCALAR_TAGS:
            self.problem(node, path, f"the tag '{_shown_tag(node.tag)}' is not allowed in a pipeline file")
            return node.value
        try:
            value = self.loader.construct_object(node)
        except (yaml.YAMLError, ValueError, OverflowError):
            self.problem(node, path, f"the value '{node.value[:40]}' cannot be read")
            return node.value
        if isinstance(value, float) and not math.isfinite(value):
            self.problem(node, path, f"'{node.value}' is not a finite number")
        return value

    def mapping(self, node: yaml.MappingNode, path: Path) -> dict:
        result: dict[str, Any] = {}
        # Merged keys ('<<: *defaults') first, so that keys written in this mapping win, as YAML says.
        for key_node, value_node in node.value:
            if key_node.tag == MERGE_TAG:
                self.merge(value_node, path, result)
        seen: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            if key_node.tag == MERGE_TAG:
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.problem(key_node, path, "a key must be a plain word, not a list or a mapping")
                continue
            # The written text is the key: YAML 1.1 would read the key 'on' (notifications) as true.
            key = key_node.value
            if key in seen:
                first = seen[key].start_mark.line + 1
                self.problem(key_node, (*path, key), f"duplicate key '{key}' (first given on line {first})")
            seen[key] = key_node
            self.loaded.key_nodes[(*path, key)] = key_node
            result[key] = self.build(value_node, (*path, key))
        return result

    def merge(self, value_node: yaml.Node, path: Path, result: dict):
        mapping_node = self.loaded.nodes[path]
        sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
        # With several sources the first one wins, so apply them last to first.
        for source in reversed(sources):
            if not isinstance(source, yaml.MappingNode):
                self.problem(source, path, "'<<' can only merge mappings")
                continue
            result.update(self.build(source, path))
        # Building a source recorded it at `path`; a missing key is still reported at this mapping.
        self.loaded.nodes[path] = mapping_node


_TOKENS = {
    "'<stream end>'": "the end of the file",
    "<stream end>": "the end of the file",
    "'<block end>'": "the end of an indented block",
    "<block end>": "the end of an indented block",
    "'<block mapping start>'": "an indented key",
    "'<block sequence start>'": "a '-' list item",
    "'<scalar>'": "a value",
    "'<document start>'": "'---'",
    "'?'": "a key",
    "'-'": "a '-' list item",
}


def readable_yaml_problem(exc: yaml.MarkedYAMLError) -> str:
    """PyYAML's parser wording turned into a sentence a pipeline author can act on."""
    problem = exc.problem or exc.context or "the YAML cannot be read"
    context = exc.context or ""
    opened_on = f" on line {exc.context_mark.line + 1}" if exc.context_mark else ""
    if problem.startswith("mapping values are not allowed"):
        return "a ':' is not allowed here; check this line's indentation, or quote a value that contains ': '"
    if "'\\t'" in problem:
        return "tab characters cannot indent YAML; use spaces"
    if "that cannot start any token" in problem:
        character = problem.split("'")[1] if problem.count("'") >= 2 else "this character"
        return f"a value cannot start with '{character}'; put it in quotes"
    if "expected <block end>" in problem:
        return "this line does not line up with the lines above it; check its indentation"
    if "expected ',' or ']'" in problem:
        return f"the list opened with '['{opened_on} is not closed with ']' (or an item lacks a ',' before it)"
    if "expected ',' or '}'" in problem:
        return f"the mapping opened with '{{'{opened_on} is not closed with '}}' (or an entry lacks a ',' before it)"
    if "quoted scalar" in context:
        return f"the quoted text that starts{opened_on} is never closed"
    if problem.startswith("found undefined alias"):
        name = problem.split("'")[1] if problem.count("'") >= 2 else ""
        return f"'*{name}' refers to an anchor '&{name}' that is not defined before it"
    if "another document" in problem:
        return "the file holds more than one YAML document ('---'); a pipeline file is a single document"
    if "could not find expected ':'" in problem:
        return "a key here has no ':' after it"
    sentence = f"{context}: {problem}" if exc.context and exc.problem else problem
    for token, words in _TOKENS.items():
        sentence = sentence.replace(token, words)
    return sentence
