"""The embedded coding task's tiny language: one-line integer functions of ``x``.

A program is ``f(x) = <expr>``; an expression uses ``x``, integer literals, ``+ - * %`` (usual
precedence, left associative; ``%`` is Python's floor modulo), unary minus, parentheses and the
calls ``max(a, b)``, ``min(a, b)``, ``abs(a)``. Example: ``f(x) = max((x + 3) * 2, 7)``.

The interpreter is our own (a recursive-descent parser and an AST walker), so running generated
code needs no ``eval``, no subprocess and no sandbox: the language has no names besides ``x``, no
loops, no I/O. A program longer than `MAX_CHARS`, nested deeper than `MAX_DEPTH`, taking more
than `MAX_STEPS` evaluation steps or producing a number of more than `MAX_DIGITS` digits is
rejected (a parse error or a runtime error), so even hostile text costs microseconds.
"""

from __future__ import annotations

import re

MAX_CHARS = 300
MAX_DEPTH = 40
MAX_STEPS = 10_000
MAX_DIGITS = 60
FUNCTIONS = {"max": 2, "min": 2, "abs": 1}
_TOKEN = re.compile(r"\s*(?:(\d+)|([A-Za-z_]\w*)|(.))")
_HEAD = re.compile(r"^\s*f\s*\(\s*x\s*\)\s*=(.*)$")


class TinyError(ValueError):
    """A program that does not parse (`SyntaxError`-like) or fails while running."""


class ParseError(TinyError):
    pass


class RunError(TinyError):
    pass


def _tokens(text: str) -> list[tuple[str, object]]:
    out = []
    for num, name, sym in _TOKEN.findall(text):
        if num:
            if len(num) > MAX_DIGITS:
                raise ParseError(f"number literal of {len(num)} digits")
            out.append(("num", int(num)))
        elif name:
            out.append(("name", name))
        elif sym.strip():
            if sym not in "+-*%(),":
                raise ParseError(f"unexpected character {sym!r}")
            out.append((sym, sym))
    return out


class _Parser:
    def __init__(self, tokens):
        self.toks, self.i = tokens, 0

    def peek(self):
        return self.toks[self.i][0] if self.i < len(self.toks) else None

    def take(self, kind):
        if self.peek() != kind:
            got = self.toks[self.i][1] if self.i < len(self.toks) else "end of program"
            raise ParseError(f"expected {kind!r}, got {got!r}")
        self.i += 1
        return self.toks[self.i - 1][1]

    def expr(self, depth):
        if depth > MAX_DEPTH:
            raise ParseError(f"nested deeper than {MAX_DEPTH}")
        node = self.term(depth + 1)
        while self.peek() in ("+", "-"):
            op = self.take(self.peek())
            node = (op, node, self.term(depth + 1))
        return node

    def term(self, depth):
        node = self.unary(depth + 1)
        while self.peek() in ("*", "%"):
            op = self.take(self.peek())
            node = (op, node, self.unary(depth + 1))
        return node

    def unary(self, depth):
        if depth > MAX_DEPTH:
            raise ParseError(f"nested deeper than {MAX_DEPTH}")
        if self.peek() == "-":
            self.take("-")
            return ("neg", self.unary(depth + 1))
        return self.atom(depth + 1)

    def atom(self, depth):
        kind = self.peek()
        if kind == "num":
            return ("num", self.take("num"))
        if kind == "(":
            self.take("(")
            node = self.expr(depth + 1)
            self.take(")")
            return node
        if kind == "name":
            name = self.take("name")
            if name == "x":
                return ("x",)
            if name not in FUNCTIONS:
                raise ParseError(f"unknown name {name!r} (the language has x, {', '.join(FUNCTIONS)})")
            self.take("(")
            args = [self.expr(depth + 1)]
            while self.peek() == ",":
                self.take(",")
                args.append(self.expr(depth + 1))
            self.take(")")
            if len(args) != FUNCTIONS[name]:
                raise ParseError(f"{name} takes {FUNCTIONS[name]} argument(s), got {len(args)}")
            return (name, *args)
        got = self.toks[self.i][1] if self.i < len(self.toks) else "end of program"
        raise ParseError(f"expected a number, x, a call or '(', got {got!r}")


def parse(program: str) -> tuple:
    """The AST of ``f(x) = <expr>``; raises `ParseError` naming what is wrong."""
    if not isinstance(program, str):
        raise ParseError(f"program must be a string, got {type(program).__name__}")
    if len(program) > MAX_CHARS:
        raise ParseError(f"program longer than {MAX_CHARS} characters")
    m = _HEAD.match(program)
    if not m:
        raise ParseError("a program starts with 'f(x) ='")
    p = _Parser(_tokens(m.group(1)))
    if p.peek() is None:
        raise ParseError("empty body")
    node = p.expr(0)
    if p.peek() is not None:
        raise ParseError(f"unexpected {p.toks[p.i][1]!r} after the expression")
    return node


def run(ast: tuple, x: int) -> int:
    """Evaluate a parsed program at `x`; raises `RunError` (modulo by zero, step or size limit)."""
    steps = [0]
    limit = 10**MAX_DIGITS

    def ev(node):
        steps[0] += 1
        if steps[0] > MAX_STEPS:
            raise RunError(f"more than {MAX_STEPS} steps")
        kind = node[0]
        if kind == "num":
            return node[1]
        if kind == "x":
            return x
        if kind == "neg":
            return -ev(node[1])
        vals = [ev(a) for a in node[1:]]
        if kind == "+":
            v = vals[0] + vals[1]
        elif kind == "-":
            v = vals[0] - vals[1]
        elif kind == "*":
            v = vals[0] * vals[1]
        elif kind == "%":
            if vals[1] == 0:
                raise RunError("modulo by zero")
            v = vals[0] % vals[1]
        elif kind == "max":
            v = max(vals)
        elif kind == "min":
            v = min(vals)
        else:  # abs
            v = abs(vals[0])
        if abs(v) >= limit:
            raise RunError(f"a value of more than {MAX_DIGITS} digits")
        return v

    return ev(ast)


def check(program: str, tests: list) -> tuple[bool, bool, str | None]:
    """(parses, passes every ``[x, y]`` test, error message or None). Never raises on the
    program's text: a bad program is a failed check."""
    parses, n_passed, detail = run_tests(program, tests)
    return parses, parses and n_passed == len(tests), detail


def run_tests(program: str, tests: list) -> tuple[bool, int, str | None]:
    """(parses, number of ``[x, y]`` tests passed, first failure's message or None). Every test
    runs (a runtime error fails only its own test), so the count is a partial credit."""
    try:
        ast = parse(program)
    except ParseError as e:
        return False, 0, f"parse error: {e}"
    n_passed, detail = 0, None
    for x, y in tests:
        try:
            ok = run(ast, x) == y
            msg = None if ok else f"f({x}) != {y}"
        except RunError as e:
            ok, msg = False, f"runtime error: {e}"
        n_passed += ok
        detail = detail or msg
    return True, n_passed, detail
