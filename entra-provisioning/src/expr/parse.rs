//! The expression grammar, as Microsoft's reference describes it ("Reference for writing
//! expressions for attribute mappings in Microsoft Entra ID", *Syntax overview*):
//!
//! ```text
//! expr     = primary [ op primary ]            ; op: = <> > >= < <= (IIF's condition)
//! primary  = call | attribute | string | number | "vbBinaryCompare" | "vbTextCompare"
//! call     = name "(" [ arg *( "," arg ) ] ")" ; an empty arg is an omitted optional one
//! attribute= "[" 1*(any but "]") "]"
//! string   = DQUOTE *( "\" DQUOTE / "\\" / any but DQUOTE ) DQUOTE
//! number   = [ "-" ] 1*DIGIT [ "." 1*DIGIT ] | "&H" 1*HEXDIG
//! ```
//!
//! A number with a fraction (`Len(42568.75)`) is kept as its text; `&HF7` is VBA's hex.
//!
//! Whitespace is allowed between tokens. Function names are matched without regard to case
//! (the portal accepts `Iif` and `IIF` alike). A backslash escapes `"` and `\`; before any
//! other character it stands for itself, so regular expressions such as `"\d+"` read as written.
//! Argument counts are checked here, so a mapping with a wrong count fails when it is loaded,
//! not when the first user flows.

use std::fmt;

use super::Function;

/// A parsed expression. Offsets are byte offsets into the source text.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A string constant, `"…"`, unescaped.
    Str(String),
    /// An integer constant.
    Num(i64),
    /// An Entra attribute, `[name]`.
    Attr {
        /// The attribute's name as written.
        name: String,
        /// Where the `[` is.
        at: usize,
    },
    /// A function call.
    Call {
        /// The function.
        function: Function,
        /// Its arguments; `None` where one was left empty (`ToLower(x, )`).
        args: Vec<Option<Expr>>,
        /// Where the function's name starts.
        at: usize,
        /// The source text of the whole call, for traces.
        text: String,
    },
    /// `left op right` (IIF's condition).
    Compare(CompareOp, Box<Expr>, Box<Expr>),
}

/// A comparison operator of IIF's condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
}

impl CompareOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::Ne => "<>",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
        }
    }
}

/// Why an expression does not parse: what was expected, and the byte offset where.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("at offset {offset}: {message}")]
pub struct ParseError {
    /// Byte offset into the expression.
    pub offset: usize,
    /// What is wrong there.
    pub message: String,
}

/// Parses one expression (the whole text).
///
/// # Errors
/// [`ParseError`] with the offset of the first thing that is not the grammar above: an
/// unknown function, a wrong number of arguments, an unterminated string or attribute,
/// trailing text, more than [`MAX_CHARS`] characters.
pub fn parse(source: &str) -> Result<Expr, ParseError> {
    if let Some((offset, _)) = source.char_indices().nth(MAX_CHARS) {
        return Err(ParseError {
            offset,
            message: format!(
                "longer than the {MAX_CHARS} characters Entra allows for one expression"
            ),
        });
    }
    let mut p = Parser {
        src: source,
        pos: 0,
    };
    p.skip_ws();
    if p.pos == source.len() {
        return Err(p.error("expected an expression, found nothing"));
    }
    let e = p.expr(0)?;
    p.skip_ws();
    if p.pos != source.len() {
        return Err(p.error(format!(
            "unexpected {:?} after the expression",
            p.rest().chars().next().unwrap_or(' ')
        )));
    }
    Ok(e)
}

/// The longest expression Entra accepts ("The maximum supported length for a single attribute
/// mapping expression is 10,000 characters").
pub const MAX_CHARS: usize = 10_000;

/// Calls nested deeper than this are refused: a stack bound for hostile mappings, so that
/// evaluation fits a 2 MiB thread stack even in a debug build (the walkthroughs' expressions
/// nest four deep).
const MAX_DEPTH: usize = 32;

struct Parser<'a> {
    src: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        self.src.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    fn error(&self, message: impl Into<String>) -> ParseError {
        ParseError {
            offset: self.pos,
            message: message.into(),
        }
    }

    fn expr(&mut self, depth: usize) -> Result<Expr, ParseError> {
        let left = self.primary(depth)?;
        self.skip_ws();
        let op = [
            ("<>", CompareOp::Ne),
            (">=", CompareOp::Ge),
            ("<=", CompareOp::Le),
            ("=", CompareOp::Eq),
            (">", CompareOp::Gt),
            ("<", CompareOp::Lt),
        ]
        .into_iter()
        .find(|(s, _)| self.rest().starts_with(s));
        if let Some((symbol, op)) = op {
            self.pos += symbol.len();
            self.skip_ws();
            let right = self.primary(depth)?;
            return Ok(Expr::Compare(op, Box::new(left), Box::new(right)));
        }
        Ok(left)
    }

    fn primary(&mut self, depth: usize) -> Result<Expr, ParseError> {
        match self.peek() {
            Some('"') => self.string(),
            Some('[') => self.attribute(),
            Some(c) if c == '-' || c == '&' || c.is_ascii_digit() => self.number(),
            Some(c) if c.is_ascii_alphabetic() => self.call(depth),
            Some(c) => Err(self.error(format!(
                "expected a function, an [attribute], a \"string\" or a number, found {c:?}"
            ))),
            None => Err(self.error("expected an expression, found the end")),
        }
    }

    fn string(&mut self) -> Result<Expr, ParseError> {
        let start = self.pos;
        self.bump();
        let mut out = String::new();
        loop {
            match self.bump() {
                None => {
                    return Err(ParseError {
                        offset: start,
                        message: "string not closed: a \" is missing".into(),
                    });
                }
                Some('"') => return Ok(Expr::Str(out)),
                Some('\\') => match self.peek() {
                    Some(c @ ('"' | '\\')) => {
                        self.bump();
                        out.push(c);
                    }
                    _ => out.push('\\'),
                },
                Some(c) => out.push(c),
            }
        }
    }

    fn attribute(&mut self) -> Result<Expr, ParseError> {
        let at = self.pos;
        self.bump();
        let Some(len) = self.rest().find(']') else {
            return Err(ParseError {
                offset: at,
                message: "attribute not closed: a ] is missing".into(),
            });
        };
        let name = self.rest()[..len].trim().to_owned();
        if name.is_empty() {
            return Err(ParseError {
                offset: at,
                message: "empty attribute name []".into(),
            });
        }
        self.pos += len + 1;
        Ok(Expr::Attr { name, at })
    }

    fn number(&mut self) -> Result<Expr, ParseError> {
        let start = self.pos;
        if self.rest().starts_with("&H") || self.rest().starts_with("&h") {
            self.pos += 2;
            while self.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
                self.bump();
            }
            let digits = &self.src[start + 2..self.pos];
            return i64::from_str_radix(digits, 16)
                .map(Expr::Num)
                .map_err(|_| ParseError {
                    offset: start,
                    message: format!(
                        "{:?} is not a hexadecimal number",
                        &self.src[start..self.pos]
                    ),
                });
        }
        if self.peek() == Some('-') {
            self.bump();
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
        }
        if self.peek() == Some('.') {
            self.bump();
            let digits = self.pos;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.bump();
            }
            if self.pos == digits {
                return Err(self.error("expected digits after the decimal point"));
            }
            return Ok(Expr::Str(self.src[start..self.pos].to_owned()));
        }
        let text = &self.src[start..self.pos];
        text.parse().map(Expr::Num).map_err(|_| ParseError {
            offset: start,
            message: format!("{text:?} is not a whole number that fits in 64 bits"),
        })
    }

    fn call(&mut self, depth: usize) -> Result<Expr, ParseError> {
        let at = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            self.bump();
        }
        let name = &self.src[at..self.pos];
        // VBA's comparison constants, InStr's fourth argument.
        if matches!(name, "vbBinaryCompare" | "vbTextCompare") {
            return Ok(Expr::Str(name.to_owned()));
        }
        let Some(function) = Function::from_name(name) else {
            return Err(ParseError {
                offset: at,
                message: format!("unknown function {name:?}"),
            });
        };
        if depth >= MAX_DEPTH {
            return Err(ParseError {
                offset: at,
                message: format!("functions nested more than {MAX_DEPTH} deep"),
            });
        }
        self.skip_ws();
        if self.peek() != Some('(') {
            return Err(self.error(format!("expected ( after {}", function.name())));
        }
        self.bump();
        let mut args = Vec::new();
        self.skip_ws();
        if self.peek() == Some(')') {
            self.bump();
        } else {
            loop {
                self.skip_ws();
                let arg = match self.peek() {
                    Some(',' | ')') => None,
                    _ => Some(self.expr(depth + 1)?),
                };
                args.push(arg);
                self.skip_ws();
                match self.bump() {
                    Some(',') => continue,
                    Some(')') => break,
                    Some(c) => {
                        self.pos -= c.len_utf8();
                        return Err(self.error(format!(
                            "expected , or ) in the arguments of {}, found {c:?}",
                            function.name()
                        )));
                    }
                    None => {
                        return Err(self.error(format!(
                            "the arguments of {} are not closed: a ) is missing",
                            function.name()
                        )));
                    }
                }
            }
        }
        let (min, max) = function.arity();
        if args.len() < min || max.is_some_and(|max| args.len() > max) {
            let expected = match max {
                Some(max) if max == min => format!("{min}"),
                Some(max) => format!("{min} to {max}"),
                None => format!("at least {min}"),
            };
            return Err(ParseError {
                offset: at,
                message: format!(
                    "{} takes {expected} argument(s), given {}",
                    function.name(),
                    args.len()
                ),
            });
        }
        if function == Function::Switch && args.len() % 2 != 0 {
            return Err(ParseError {
                offset: at,
                message: format!(
                    "Switch takes a source, a default and key/value pairs (an even count), given {}",
                    args.len()
                ),
            });
        }
        if let Some(i) = function
            .required_args()
            .find(|&i| args.get(i).is_some_and(Option::is_none))
        {
            return Err(ParseError {
                offset: at,
                message: format!(
                    "{}: argument {} may not be left empty",
                    function.name(),
                    i + 1
                ),
            });
        }
        Ok(Expr::Call {
            function,
            args,
            at,
            text: self.src[at..self.pos].to_owned(),
        })
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Str(s) => {
                f.write_str("\"")?;
                for c in s.chars() {
                    if matches!(c, '"' | '\\') {
                        f.write_str("\\")?;
                    }
                    write!(f, "{c}")?;
                }
                f.write_str("\"")
            }
            Expr::Num(n) => write!(f, "{n}"),
            Expr::Attr { name, .. } => write!(f, "[{name}]"),
            Expr::Call { text, .. } => f.write_str(text),
            Expr::Compare(op, l, r) => write!(f, "{l}{}{r}", op.symbol()),
        }
    }
}
