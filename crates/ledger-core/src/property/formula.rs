//! Computing formulas for a fee config: an upstream formula code or a small arithmetic
//! expression over named room/config variables.
//!
//! The expression language is parsed by hand (recursive descent) and evaluated in
//! `Decimal`, so prices never pass through binary floating point. The original text is
//! kept so a config reads back exactly as it was written.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FormulaError {
    #[error("empty computing formula")]
    Empty,
    #[error("unsupported computing formula {0}")]
    UnsupportedCode(String),
    #[error("unknown variable {name:?} at position {pos}")]
    UnknownVariable { name: String, pos: usize },
    #[error("unexpected character {found:?} at position {pos}")]
    UnexpectedChar { found: char, pos: usize },
    #[error("expected {expected} at position {pos}")]
    Expected { expected: &'static str, pos: usize },
    #[error("invalid number {text:?} at position {pos}")]
    BadNumber { text: String, pos: usize },
    #[error("division by zero")]
    DivisionByZero,
    #[error("arithmetic overflow")]
    Overflow,
}

/// The upstream formula codes we can price (see DOMAIN-NOTES "Per-cycle amount").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FormulaCode {
    /// 1001: unit price × built-up area + additional amount.
    BuiltUpArea,
    /// 2002: fixed additional amount.
    Fixed,
    /// 3003: unit price × indoor area + additional amount.
    RoomArea,
    /// 1101: the room's rent.
    Rent,
    /// 1102: the room's rent with periodic increases.
    RentWithIncrease,
    /// 4004: the fee's own amount.
    Dynamic,
    /// 8008: the fee's own amount, entered by hand.
    ManualDynamic,
}

impl FormulaCode {
    pub fn from_code(code: &str) -> Result<Self, FormulaError> {
        Ok(match code {
            "1001" => Self::BuiltUpArea,
            "2002" => Self::Fixed,
            "3003" => Self::RoomArea,
            "1101" => Self::Rent,
            "1102" => Self::RentWithIncrease,
            "4004" => Self::Dynamic,
            "8008" => Self::ManualDynamic,
            // Meter-based and upstream-custom codes (5005, 6006, 7007, 9009) need inputs this
            // ledger does not hold, so they are refused rather than priced wrongly.
            other => return Err(FormulaError::UnsupportedCode(other.to_owned())),
        })
    }

    pub fn code(self) -> &'static str {
        match self {
            Self::BuiltUpArea => "1001",
            Self::Fixed => "2002",
            Self::RoomArea => "3003",
            Self::Rent => "1101",
            Self::RentWithIncrease => "1102",
            Self::Dynamic => "4004",
            Self::ManualDynamic => "8008",
        }
    }
}

/// A named input an expression may refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variable {
    BuiltUpArea,
    RoomArea,
    SquarePrice,
    AdditionalAmount,
    RoomRent,
}

impl Variable {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "面积" | "area" | "builtUpArea" => Self::BuiltUpArea,
            "室内面积" | "roomArea" => Self::RoomArea,
            "单价" | "squarePrice" => Self::SquarePrice,
            "附加费" | "additionalAmount" => Self::AdditionalAmount,
            "租金" | "roomRent" | "rent" => Self::RoomRent,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Num(Decimal),
    Var(Variable),
    Neg(Box<Node>),
    Bin(BinOp, Box<Node>, Box<Node>),
}

/// A parsed arithmetic expression together with the text it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expr {
    source: String,
    root: Node,
}

impl Expr {
    pub fn parse(text: &str) -> Result<Self, FormulaError> {
        let chars: Vec<char> = text.chars().collect();
        let mut p = Parser { chars, pos: 0 };
        p.skip_ws();
        if p.at_end() {
            return Err(FormulaError::Empty);
        }
        let root = p.expr()?;
        p.skip_ws();
        if let Some(c) = p.peek() {
            return Err(FormulaError::UnexpectedChar {
                found: c,
                pos: p.pos + 1,
            });
        }
        Ok(Self {
            source: text.to_owned(),
            root,
        })
    }

    pub fn text(&self) -> &str {
        &self.source
    }

    /// Evaluates with `lookup` supplying each variable's value.
    pub fn eval(&self, lookup: &dyn Fn(Variable) -> Decimal) -> Result<Decimal, FormulaError> {
        eval_node(&self.root, lookup)
    }
}

fn eval_node(node: &Node, lookup: &dyn Fn(Variable) -> Decimal) -> Result<Decimal, FormulaError> {
    Ok(match node {
        Node::Num(n) => *n,
        Node::Var(v) => lookup(*v),
        Node::Neg(inner) => -eval_node(inner, lookup)?,
        Node::Bin(op, l, r) => {
            let a = eval_node(l, lookup)?;
            let b = eval_node(r, lookup)?;
            let out = match op {
                BinOp::Add => a.checked_add(b),
                BinOp::Sub => a.checked_sub(b),
                BinOp::Mul => a.checked_mul(b),
                BinOp::Div if b.is_zero() => return Err(FormulaError::DivisionByZero),
                BinOp::Div => a.checked_div(b),
            };
            out.ok_or(FormulaError::Overflow)?
        }
    })
}

/// Recursive-descent parser; positions in errors are 1-based character columns.
struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        // U+3000 (ideographic space) is whitespace too, so full-width input works.
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    /// Next operator or parenthesis, folding full-width forms onto ASCII.
    fn peek_symbol(&mut self) -> Option<char> {
        self.skip_ws();
        self.peek().map(|c| match c {
            '×' | '＊' => '*',
            '÷' | '／' => '/',
            '－' => '-',
            '＋' => '+',
            '（' => '(',
            '）' => ')',
            other => other,
        })
    }

    fn expr(&mut self) -> Result<Node, FormulaError> {
        let mut left = self.term()?;
        while let Some(op @ ('+' | '-')) = self.peek_symbol() {
            self.pos += 1;
            let right = self.term()?;
            let op = if op == '+' { BinOp::Add } else { BinOp::Sub };
            left = Node::Bin(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn term(&mut self) -> Result<Node, FormulaError> {
        let mut left = self.unary()?;
        while let Some(op @ ('*' | '/')) = self.peek_symbol() {
            self.pos += 1;
            let right = self.unary()?;
            let op = if op == '*' { BinOp::Mul } else { BinOp::Div };
            left = Node::Bin(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Node, FormulaError> {
        if self.peek_symbol() == Some('-') {
            self.pos += 1;
            return Ok(Node::Neg(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Node, FormulaError> {
        match self.peek_symbol() {
            None => Err(FormulaError::Expected {
                expected: "a number, variable or '('",
                pos: self.pos + 1,
            }),
            Some('(') => {
                self.pos += 1;
                let inner = self.expr()?;
                if self.peek_symbol() != Some(')') {
                    return Err(FormulaError::Expected {
                        expected: "')'",
                        pos: self.pos + 1,
                    });
                }
                self.pos += 1;
                Ok(inner)
            }
            Some(c) if c.is_ascii_digit() || c == '.' => {
                let begin = self.pos;
                while self.peek().is_some_and(|c| c.is_ascii_digit() || c == '.') {
                    self.pos += 1;
                }
                let text: String = self.chars[begin..self.pos].iter().collect();
                Decimal::from_str(&text)
                    .map(Node::Num)
                    .map_err(|_| FormulaError::BadNumber {
                        text,
                        pos: begin + 1,
                    })
            }
            Some(c) if c.is_alphabetic() || c == '_' => {
                let begin = self.pos;
                while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    self.pos += 1;
                }
                let name: String = self.chars[begin..self.pos].iter().collect();
                Variable::from_name(&name)
                    .map(Node::Var)
                    .ok_or(FormulaError::UnknownVariable {
                        name,
                        pos: begin + 1,
                    })
            }
            Some(_) => Err(FormulaError::UnexpectedChar {
                found: self.chars[self.pos],
                pos: self.pos + 1,
            }),
        }
    }
}

/// A config's computing formula.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Formula {
    Code(FormulaCode),
    Expr(Expr),
}

impl Formula {
    /// All ASCII digits (ignoring surrounding whitespace) is a code; anything else an expression.
    pub fn parse(text: &str) -> Result<Self, FormulaError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(FormulaError::Empty);
        }
        if trimmed.bytes().all(|b| b.is_ascii_digit()) {
            return FormulaCode::from_code(trimmed).map(Self::Code);
        }
        Expr::parse(text).map(Self::Expr)
    }

    /// Whether pricing needs a rent-increase schedule (1102).
    pub fn needs_rate(&self) -> bool {
        matches!(self, Self::Code(FormulaCode::RentWithIncrease))
    }

    /// The text to store: the canonical code, or the expression exactly as written.
    pub fn text(&self) -> &str {
        match self {
            Self::Code(c) => c.code(),
            Self::Expr(e) => e.text(),
        }
    }
}

impl fmt::Display for Formula {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn vars(v: Variable) -> Decimal {
        match v {
            Variable::BuiltUpArea => dec!(100),
            Variable::RoomArea => dec!(80),
            Variable::SquarePrice => dec!(2.5),
            Variable::AdditionalAmount => dec!(10),
            Variable::RoomRent => dec!(1000),
        }
    }

    fn eval(text: &str) -> Result<Decimal, FormulaError> {
        match Formula::parse(text)? {
            Formula::Expr(e) => e.eval(&vars),
            Formula::Code(c) => panic!("{text} parsed as code {c:?}"),
        }
    }

    #[test]
    fn codes_parse_and_round_trip() {
        for code in ["1001", "2002", "3003", "1101", "1102", "4004", "8008"] {
            let f = Formula::parse(code).unwrap();
            assert!(matches!(f, Formula::Code(_)));
            assert_eq!(f.text(), code);
            assert_eq!(f.needs_rate(), code == "1102");
        }
        for code in ["5005", "6006", "7007", "9009", "1234"] {
            assert_eq!(
                Formula::parse(code).unwrap_err().to_string(),
                format!("unsupported computing formula {code}")
            );
        }
    }

    #[test]
    fn expressions_evaluate() {
        let cases = [
            // 100 * 2.5 + 10 = 260
            ("面积 * 单价 + 附加费", dec!(260)),
            ("area*squarePrice+additionalAmount", dec!(260)),
            // 80 * 2.5 = 200
            ("室内面积×单价", dec!(200)),
            // (1000 + 10) / 2 = 505
            ("（租金 + 附加费）÷ 2", dec!(505)),
            // 1000 - 10 * 2 = 980 (precedence)
            ("rent - additionalAmount * 2", dec!(980)),
            // 1000 － 10 via full-width minus = 990
            ("roomRent－附加费", dec!(990)),
            // unary minus: -(-10) + 1 = 11
            ("--附加费 + 1", dec!(11)),
            // 100 / 4 = 25
            ("builtUpArea / 4", dec!(25)),
            // 0.5 * 80 = 40, surrounding whitespace ignored
            ("  0.5 * roomArea  ", dec!(40)),
        ];
        for (text, want) in cases {
            assert_eq!(eval(text).unwrap(), want, "{text}");
        }
    }

    #[test]
    fn expressions_keep_their_text() {
        let text = "面积 * 单价 + 附加费";
        assert_eq!(Formula::parse(text).unwrap().text(), text);
    }

    #[test]
    fn expression_errors_name_problem_and_position() {
        let cases = [
            ("面积 * 价格", "unknown variable \"价格\" at position 6"),
            (
                "面积 * ",
                "expected a number, variable or '(' at position 6",
            ),
            ("(面积 + 1", "expected ')' at position 8"),
            ("面积 $ 1", "unexpected character '$' at position 4"),
            ("1.2.3", "invalid number \"1.2.3\" at position 1"),
            ("面积 1", "unexpected character '1' at position 4"),
            ("   ", "empty computing formula"),
        ];
        for (text, want) in cases {
            assert_eq!(
                Formula::parse(text).unwrap_err().to_string(),
                want,
                "{text}"
            );
        }
        assert_eq!(
            eval("面积 / (附加费 - 10)"),
            Err(FormulaError::DivisionByZero)
        );
    }
}
