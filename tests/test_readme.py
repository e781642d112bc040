"""Every command block of the README works as written, so the README cannot drift from the code.

Shell blocks are run in a fresh temporary folder laid out like a clone (this project's
`.venv`, data and package linked in); a block preceded by `<!-- not run: why -->` is not run,
and says why. Cron lines, the usage synopsis, CSV examples and the layout tree are checked
against the command line, the list parser and the files themselves.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import sqlite3
import subprocess
from contextlib import closing, suppress
from pathlib import Path

import click
import pytest

from archive_spider.cli import main
from archive_spider.publications import read_publications

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
FENCE = re.compile(
    r"(?:<!-- not run: (?P<why>[^>]+) -->\n\s*)?```(?P<lang>\w*)\n(?P<body>.*?)```", re.S
)
BLOCKS = [(m["lang"], m["body"], m["why"]) for m in FENCE.finditer(README)]
# What a fresh clone has beside the README, linked into the temporary folder.
CLONE = (".venv", "archive_spider", "data", "tests", "scrapy.cfg", "pyproject.toml")


def blocks_to_run() -> list:
    """The shell blocks not marked `not run`, named by their first command."""
    run = [body for kind, body, why in BLOCKS if kind == "sh" and not why]
    return [pytest.param(body, id=" ".join(body.split()[:2])) for body in run]


def commands(body: str) -> list[list[str]]:
    """The archive-spider invocations of a block, as argument lists (continuations joined)."""
    found = []
    for line in body.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split, lexer.commenters = True, "#"
        words: list[str] = []
        for token in [*lexer, ";"]:
            if token.strip("&;|<>") and not token.startswith(">"):
                words.append(token)
                continue
            while words and not words[0].endswith("archive-spider"):
                words.pop(0)
            if words:
                found.append(words[1:])
            words = []
    return found


@pytest.mark.parametrize("body", blocks_to_run())
def test_each_shell_block_runs_as_written(tmp_path, body):
    for name in CLONE:
        (tmp_path / name).symlink_to(ROOT / name)
    (tmp_path / "data").unlink()
    (tmp_path / "data").mkdir()  # the block may write its archive there
    for path in (ROOT / "data").iterdir():
        (tmp_path / "data" / path.name).symlink_to(path)
    environment = {**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}"}
    log = tmp_path / "block.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            ["bash", "-euo", "pipefail", "-c", body],
            cwd=tmp_path,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # servers started with & go with the group
        )
        try:
            process.wait(timeout=300)
        finally:
            with suppress(ProcessLookupError):  # the servers it started, if any
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 0, f"{body}\n{log.read_text()}"
    archives = list(tmp_path.rglob("*.db"))
    assert archives, "each block that is run writes an archive"
    for archive in archives:
        with closing(sqlite3.connect(archive)) as conn:
            assert conn.execute("SELECT count(*) FROM posts").fetchone()[0] > 0


def test_blocks_not_run_say_why_and_the_rest_are_run():
    reasons = [why for _, _, why in BLOCKS if why]
    assert reasons and all(len(why.split()) >= 3 for why in reasons)
    assert len(blocks_to_run()) >= 3


INVOKING = [
    body
    for lang, body, _ in BLOCKS
    if lang in ("cron", "sh") and commands(body) and "SOURCE..." not in body
]


@pytest.mark.parametrize("body", INVOKING)
def test_every_archive_spider_command_parses(body):
    for args in commands(body):
        with click.Context(main) as context:
            command = main.get_command(context, args[0])
            assert command is not None, args
            command.make_context(args[0], args[1:], parent=context)


def test_the_synopsis_names_only_real_options():
    (synopsis,) = [b for lang, b, _ in BLOCKS if lang == "sh" and "SOURCE..." in b]
    for line in re.split(r"\n(?=archive-spider )", synopsis.strip()):
        name = line.split()[1]
        command = main.commands[name]
        known = {opt for param in command.params for opt in param.opts}
        named = set(re.findall(r"(?<![\w-])(--?[a-z][\w-]*)", line))
        assert named <= known, (name, named - known)


def test_csv_examples_are_valid_publication_lists(tmp_path):
    examples = [b for lang, b, _ in BLOCKS if lang == "csv"]
    assert examples
    for number, body in enumerate(examples):
        listed = tmp_path / f"{number}.csv"
        listed.write_text(body, encoding="utf-8")
        assert read_publications(listed)


def test_the_layout_tree_names_files_that_exist():
    (tree,) = [b for lang, b, _ in BLOCKS if lang == "" and b.startswith("archive_spider/")]
    folders: dict[int, Path] = {}
    checked = 0
    for line in tree.splitlines():
        indent = len(line) - len(line.lstrip())
        first = line.strip().split("  ", 1)[0]  # the names, before their description
        if not re.fullmatch(r"[\w./]+(?:\.py|/)(?:, [\w./]+\.py)*", first):
            continue  # a description running on
        for name in first.split(", "):
            path = folders.get(indent - 2, ROOT) / name
            assert path.exists(), f"{path.relative_to(ROOT)} is in the README's layout"
            checked += 1
            if name.endswith("/"):
                folders[indent] = path
    assert checked > 30
