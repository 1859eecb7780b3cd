"""Parse rule text into the syntax tree: recursive descent, never ``eval``.

Grammar, loosest first::

    rule       := ACTION "if" expr
    expr       := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | comparison
    comparison := sum [(== != < <= > >=) sum | ["not"] "in" list]
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/") unary)*
    unary      := "-" unary | atom
    atom       := NUMBER | STRING | true | false | NAME | ":" NAME ":" | "(" expr ")"
    list       := "[" [literal ("," literal)* [","]] "]" | "@" NAME

Comparisons do not chain (``a < b < c`` is an error, not a surprise).
"""

from __future__ import annotations

from cardwatch.rules.errors import RuleSyntaxError
from cardwatch.rules.lexer import Token, tokenize
from cardwatch.rules.nodes import (
    Arith,
    Attr,
    Bool,
    Compare,
    Expr,
    In,
    ListLiteral,
    ListRef,
    Logic,
    Neg,
    Not,
    Num,
    Str,
)

__all__ = ["parse_expression", "parse_rule"]

_COMPARISONS = frozenset({"==", "!=", "<", "<=", ">", ">="})


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def error(self, message: str, token: Token | None = None) -> RuleSyntaxError:
        t = token or self.tok
        return RuleSyntaxError(message, self.text, t.position)

    def at(self, kind: str, value: str | None = None, ahead: int = 0) -> bool:
        t = self.tokens[min(self.i + ahead, len(self.tokens) - 1)]
        return t.kind == kind and (value is None or t.value == value)

    def take(self) -> Token:
        t = self.tok
        self.i += 1
        return t

    def expect(self, kind: str, value: str, what: str) -> Token:
        if not self.at(kind, value):
            raise self.error(f"expected {what}")
        return self.take()

    def finish(self) -> None:
        if not self.at("end"):
            found = self.tok.value or self.tok.kind
            raise self.error(f"unexpected {found!r}: expected 'and', 'or' or the end of the rule")

    def expr(self) -> Expr:
        node = self.conjunction()
        while self.at("kw", "or"):
            at = self.take().position
            node = Logic("or", node, self.conjunction(), at)
        return node

    def conjunction(self) -> Expr:
        node = self.negation()
        while self.at("kw", "and"):
            at = self.take().position
            node = Logic("and", node, self.negation(), at)
        return node

    def negation(self) -> Expr:
        if self.at("kw", "not") and not self.at("kw", "in", ahead=1):
            at = self.take().position
            return Not(self.negation(), at)
        return self.comparison()

    def comparison(self) -> Expr:
        left = self.sum()
        node: Expr
        if self.at("op") and self.tok.value in _COMPARISONS:
            t = self.take()
            node = Compare(str(t.value), left, self.sum(), t.position)
        elif self.at("kw", "in"):
            at = self.take().position
            node = In(left, self.target(), position=at)
        elif self.at("kw", "not") and self.at("kw", "in", ahead=1):
            at = self.tok.position
            self.i += 2
            node = In(left, self.target(), negated=True, position=at)
        else:
            return left
        if (self.at("op") and self.tok.value in _COMPARISONS) or self.at("kw", "in"):
            raise self.error("comparisons do not chain: use 'and'")
        return node

    def sum(self) -> Expr:
        node = self.product()
        while self.at("op", "+") or self.at("op", "-"):
            t = self.take()
            node = Arith(str(t.value), node, self.product(), t.position)
        return node

    def product(self) -> Expr:
        node = self.unary()
        while self.at("op", "*") or self.at("op", "/"):
            t = self.take()
            node = Arith(str(t.value), node, self.unary(), t.position)
        return node

    def unary(self) -> Expr:
        if self.at("op", "-"):
            at = self.take().position
            return Neg(self.unary(), at)
        return self.atom()

    def atom(self) -> Expr:
        t = self.tok
        if t.kind == "num":
            self.take()
            return Num(float(t.value), t.position)
        if t.kind == "str":
            self.take()
            return Str(str(t.value), t.position)
        if t.kind == "name":
            self.take()
            return Attr(str(t.value), t.position)
        if t.kind == "kw" and t.value in ("true", "false"):
            self.take()
            return Bool(t.value == "true", t.position)
        if self.at("op", "("):
            self.take()
            node = self.expr()
            self.expect("op", ")", "')'")
            return node
        if t.kind == "list":
            raise self.error("a list can only follow 'in'")
        if t.kind == "end":
            raise self.error("the rule ends too early")
        raise self.error(f"unexpected {t.value!r}")

    def target(self) -> ListLiteral | ListRef:
        if self.at("list"):
            t = self.take()
            return ListRef(str(t.value), t.position)
        at = self.expect("op", "[", "a list: '[...]' or '@name'").position
        items: list[float | str] = []
        while not self.at("op", "]"):
            items.append(self.literal())
            if not self.at("op", ","):
                break
            self.take()
        self.expect("op", "]", "',' or ']'")
        return ListLiteral(tuple(items), at)

    def literal(self) -> float | str:
        sign = 1.0
        if self.at("op", "-"):
            self.take()
            sign = -1.0
            if not self.at("num"):
                raise self.error("expected a number after '-'")
        t = self.take()
        if t.kind == "num":
            return sign * float(t.value)
        if t.kind == "str":
            return str(t.value)
        if t.kind == "kw" and t.value in ("true", "false"):
            return 1.0 if t.value == "true" else 0.0
        raise self.error("a list holds only strings and numbers", t)


def parse_expression(text: str) -> Expr:
    """The syntax tree of a condition.

    >>> parse_expression('amount > 5 * card_amount_mean_30d')
    Compare(op='>', left=Attr(name='amount'), right=Arith(op='*', left=Num(value=5.0), \
right=Attr(name='card_amount_mean_30d')))
    """
    p = _Parser(text)
    node = p.expr()
    p.finish()
    return node


def parse_rule(text: str) -> tuple[str, Expr]:
    """Split ``ACTION if CONDITION`` into the action word (as written) and the condition's tree.

    The caller checks that the word is an action it knows.

    >>> parse_rule('review if merchant_fraud_rate > 0.05')[0]
    'review'
    """
    p = _Parser(text)
    if not p.at("name"):
        raise p.error("a rule starts with its action: allow, challenge, decline or review")
    action = str(p.take().value)
    p.expect("kw", "if", "'if' after the action")
    node = p.expr()
    p.finish()
    return action, node
