#!/usr/bin/env python
"""Render nbs/index.ipynb as README.md (Quarto, which nbdev_readme needs, is unavailable here).

    python .ci/readme.py          write README.md
    python .ci/readme.py --check  exit 1 (with a diff) when README.md is out of date
"""
import difflib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = "<!-- Generated from nbs/index.ipynb by .ci/readme.py: edit the notebook, then run `make readme`. -->\n\n"


def _directives(src: list[str]) -> tuple[dict, list[str]]:
    flags, body = {}, []
    for line in src:
        s = line.strip()
        if s.startswith("#|") and not body:
            key, _, val = s[2:].strip().partition(":")
            flags[key.strip()] = val.strip() or True
        else:
            body.append(line)
    return flags, body


def _output(o: dict) -> str:
    if o.get("output_type") == "stream":
        return "```\n" + "".join(o["text"]).rstrip() + "\n```\n"
    data = o.get("data", {})
    if "text/markdown" in data:
        return "".join(data["text/markdown"]).rstrip() + "\n"
    if "text/plain" in data:
        return "```\n" + "".join(data["text/plain"]).rstrip() + "\n```\n"
    return ""


def render(nb_path: Path) -> str:
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    parts = []
    for cell in nb["cells"]:
        src = cell["source"] if isinstance(cell["source"], list) else cell["source"].splitlines(True)
        flags, body = _directives(src)
        if "hide" in flags or flags.get("include") == "false":
            continue
        if cell["cell_type"] == "markdown":
            parts.append("".join(src).strip() + "\n")
        elif cell["cell_type"] == "code":
            if flags.get("echo") != "false" and "".join(body).strip():
                parts.append("```python\n" + "".join(body).rstrip() + "\n```\n")
            if flags.get("output") != "false":
                parts += [x for x in map(_output, cell.get("outputs", [])) if x]
    return HEADER + "\n".join(parts)


def main(argv: list[str]) -> int:
    text = render(ROOT / "nbs" / "index.ipynb")
    readme = ROOT / "README.md"
    if "--check" in argv:
        have = readme.read_text(encoding="utf-8") if readme.exists() else ""
        if have != text:
            diff = difflib.unified_diff(have.splitlines(), text.splitlines(), "README.md", "from nbs/index.ipynb", lineterm="")
            print("README.md is out of sync with nbs/index.ipynb (run `make readme`):", file=sys.stderr)
            print("\n".join(list(diff)[:60]), file=sys.stderr)
            return 1
        return 0
    readme.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
