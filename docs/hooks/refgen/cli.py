"""The CLI page, from the argparse parser of `recsys` (recsys_assets/cli/main.py): every command, its arguments,
their defaults and help."""

from __future__ import annotations

import argparse

from .markdown import anchor, code, paragraph, table, text

# the width of the usage lines: fixed, so the page does not depend on the terminal that builds it
USAGE_WIDTH = 100


def usage(parser: argparse.ArgumentParser) -> str:
    formatter = argparse.HelpFormatter(parser.prog, width=USAGE_WIDTH)
    formatter.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups)
    return formatter.format_help().strip()


def commands(parser: argparse.ArgumentParser) -> list[tuple[str, str, argparse.ArgumentParser]]:
    """(name, one-line help, parser) of every sub-command, in the order `recsys --help` lists them."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            found += [(name, helps.get(name) or "", sub) for name, sub in action.choices.items()]
    return found


def help_text(action: argparse.Action, parser: argparse.ArgumentParser) -> str:
    if not action.help or action.help == argparse.SUPPRESS:
        return ""
    values = {**vars(action), "prog": parser.prog}
    if action.choices is not None:
        values["choices"] = ", ".join(map(str, action.choices))
    try:
        return action.help % values
    except (KeyError, ValueError, TypeError):
        return action.help


def argument_rows(parser: argparse.ArgumentParser) -> list[list[str]]:
    rows = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        names = ", ".join(action.option_strings) if action.option_strings else (action.metavar or action.dest)
        if action.option_strings and action.nargs != 0:
            names += f" {action.metavar or action.dest.upper()}"
        choices = ", ".join(code(c) for c in action.choices) if action.choices else ""
        default = action.default
        shown_default = ""
        if action.option_strings and default not in (None, argparse.SUPPRESS, False) and action.nargs != 0:
            shown_default = code(default)
        required = "yes" if (action.required or not action.option_strings) and action.nargs not in ("?", "*") else "no"
        rows.append([code(names), required, shown_default, choices, text(help_text(action, parser))])
    return rows


def render() -> str:
    from recsys_assets.cli.main import build_parser

    parser = build_parser()
    out = [paragraph(parser.description), "```text\n" + usage(parser) + "\n```\n"]
    found = commands(parser)
    out.append(
        table(
            ["command", "what it does"],
            [[f"[{code('recsys ' + name)}](#{anchor('cmd', name)})", text(h)] for name, h, _ in found],
        )
    )
    for name, one_line, sub in found:
        out.append(f"## `recsys {name}` {{#{anchor('cmd', name)}}}\n")
        out.append(paragraph(sub.description or one_line))
        out.append("```text\n" + usage(sub) + "\n```\n")
        rows = argument_rows(sub)
        out.append(table(["argument", "required", "default", "choices", "help"], rows) or "No arguments.\n")
        if commands(sub):  # nested sub-commands
            for inner, inner_help, inner_parser in commands(sub):
                out.append(f"### `recsys {name} {inner}` {{#{anchor('cmd', name + '-' + inner)}}}\n")
                out.append(paragraph(inner_parser.description or inner_help))
                out.append("```text\n" + usage(inner_parser) + "\n```\n")
                out.append(
                    table(["argument", "required", "default", "choices", "help"], argument_rows(inner_parser))
                    or "No arguments.\n"
                )
    return "\n".join(out)
