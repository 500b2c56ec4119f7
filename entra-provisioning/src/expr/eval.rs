//! Evaluation: each function's behaviour, with the reference's rules quoted where they decide.

use std::cell::RefCell;

use base64::Engine as _;
use indexmap::IndexMap;
use rand::rngs::StdRng;
use rand::{RngExt as _, SeedableRng as _};
use time::OffsetDateTime;

use super::dates::{self, Interval};
use super::diacritics;
use super::function::Function;
use super::parse::{CompareOp, Expr};
use super::value::Value;

/// What an evaluation reads besides the user: the clock (Now), the random source (Guid,
/// RandomString), SelectUniqueValue's uniqueness oracle and the tenant's default domain.
pub struct Env<'a> {
    /// The Entra user's attributes by name (looked up without regard to case).
    pub user: &'a IndexMap<String, Value>,
    /// What Now returns.
    pub now: OffsetDateTime,
    /// Guid's and RandomString's generator, seeded so that runs repeat.
    pub rng: RefCell<StdRng>,
    /// Whether a value SelectUniqueValue generated is already taken in the target; `None`
    /// when the caller has no target to ask (every value is then free).
    pub taken: Option<&'a dyn Fn(&str) -> bool>,
    /// DefaultDomain's answer; `None` makes DefaultDomain an error.
    pub default_domain: Option<String>,
}

impl<'a> Env<'a> {
    /// An environment over `user` with the clock at `now` and the generator seeded by `seed`.
    pub fn new(user: &'a IndexMap<String, Value>, now: OffsetDateTime, seed: u64) -> Env<'a> {
        Env {
            user,
            now,
            rng: RefCell::new(StdRng::seed_from_u64(seed)),
            taken: None,
            default_domain: None,
        }
    }

    fn attribute(&self, name: &str) -> Value {
        self.user
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map_or(Value::Null, |(_, v)| v.clone())
    }
}

/// One function call's result, for a trace: the call as written and the value it gave.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// The call's source text.
    pub call: String,
    /// Its result (`[Redact]` inside Redact).
    pub value: String,
}

/// The result of evaluating an expression.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// The value the mapping flows.
    pub value: Value,
    /// IgnoreFlowIfNullOrEmpty met null or empty: the attribute is left out of the flow.
    pub ignore_flow: bool,
    /// Redact was used: logs show `[Redact]` instead of the value.
    pub redacted: bool,
    /// Every call's result, innermost first.
    pub steps: Vec<Step>,
}

/// Why an expression could not be evaluated.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// A function was given something it cannot use.
    #[error("{function} (at offset {at}): {message}")]
    Invalid {
        /// The function's name.
        function: &'static str,
        /// The byte offset of the call.
        at: usize,
        /// What was wrong.
        message: String,
    },
    /// The function needs what only Entra's cloud has.
    #[error("{function} (at offset {at}) is not supported outside Entra: {reason}")]
    Unsupported {
        /// The function's name.
        function: &'static str,
        /// The byte offset of the call.
        at: usize,
        /// Why.
        reason: String,
    },
    /// SelectUniqueValue found every candidate taken: Entra escrows the user.
    #[error("SelectUniqueValue: every candidate value is taken in the target ({0})")]
    NoUniqueValue(String),
}

/// Evaluates `expr` over the user in `env`.
///
/// # Errors
/// [`EvalError`] naming the function and offset that failed.
pub fn evaluate(expr: &Expr, env: &Env<'_>) -> Result<Evaluation, EvalError> {
    let mut cx = Cx {
        env,
        ignore_flow: false,
        redacted: 0,
        redact_calls: 0,
        steps: Vec::new(),
    };
    let value = cx.eval(expr, true)?;
    Ok(Evaluation {
        value,
        ignore_flow: cx.ignore_flow,
        redacted: cx.redact_calls > 0,
        steps: cx.steps,
    })
}

struct Cx<'e, 'a> {
    env: &'e Env<'a>,
    ignore_flow: bool,
    /// Depth of Redact calls being evaluated.
    redacted: usize,
    /// Redact calls completed so far.
    redact_calls: usize,
    steps: Vec<Step>,
}

/// The longest value a call may yield (1 MiB): attribute values are far smaller, and a
/// mapping that multiplies strings (nested Replace) stops here instead of exhausting memory.
pub const MAX_VALUE_BYTES: usize = 1 << 20;

fn text(v: &Value) -> String {
    v.text().unwrap_or_default()
}

impl Cx<'_, '_> {
    fn eval(&mut self, expr: &Expr, top: bool) -> Result<Value, EvalError> {
        match expr {
            Expr::Str(s) => Ok(Value::Str(s.clone())),
            Expr::Num(n) => Ok(Value::Int(*n)),
            Expr::Attr { name, .. } => Ok(self.env.attribute(name)),
            Expr::Compare(op, l, r) => {
                let (l, r) = (self.eval(l, false)?, self.eval(r, false)?);
                Ok(Value::Bool(compare(*op, &l, &r)))
            }
            Expr::Call {
                function,
                args,
                at,
                text: call,
            } => {
                if *function == Function::Redact {
                    self.redacted += 1;
                }
                let redacts_before = self.redact_calls;
                let value = self.call(*function, args, *at, top);
                let redacting = self.redacted > 0;
                if *function == Function::Redact {
                    self.redacted -= 1;
                    self.redact_calls += 1;
                }
                // An error inside Redact would quote the value it hides.
                let value = value.map_err(|e| {
                    if redacting {
                        EvalError::Invalid {
                            function: function.name(),
                            at: *at,
                            message: "fails on a redacted value ([Redact])".into(),
                        }
                    } else {
                        e
                    }
                })?;
                if text(&value).len() > MAX_VALUE_BYTES {
                    return Err(EvalError::Invalid {
                        function: function.name(),
                        at: *at,
                        message: format!(
                            "the result is longer than {MAX_VALUE_BYTES} bytes, far beyond any \
                             attribute value"
                        ),
                    });
                }
                // A result computed from a redacted value is redacted too: the logs never
                // show it, however it was transformed.
                let hidden = self.redacted > 0 || self.redact_calls > redacts_before;
                self.steps.push(Step {
                    call: call.clone(),
                    value: if hidden {
                        "[Redact]".into()
                    } else {
                        value.to_string()
                    },
                });
                Ok(value)
            }
        }
    }

    fn arg(&mut self, args: &[Option<Expr>], i: usize) -> Result<Value, EvalError> {
        match args.get(i) {
            Some(Some(e)) => self.eval(e, false),
            _ => Ok(Value::Null),
        }
    }

    fn given(args: &[Option<Expr>], i: usize) -> bool {
        matches!(args.get(i), Some(Some(_)))
    }

    #[allow(clippy::too_many_lines)]
    fn call(
        &mut self,
        f: Function,
        args: &[Option<Expr>],
        at: usize,
        top: bool,
    ) -> Result<Value, EvalError> {
        use Function as F;
        let invalid = |message: String| EvalError::Invalid {
            function: f.name(),
            at,
            message,
        };
        let int = |v: &Value, what: &str| -> Result<i64, EvalError> {
            match v {
                Value::Int(i) => Ok(*i),
                v => text(v).trim().parse().map_err(|_| EvalError::Invalid {
                    function: f.name(),
                    at,
                    message: format!("{what} must be a whole number, got {v}"),
                }),
            }
        };
        let date = |v: &Value| -> Result<OffsetDateTime, EvalError> {
            match v {
                Value::Date(d) => Ok(*d),
                Value::Null => Err(EvalError::Invalid {
                    function: f.name(),
                    at,
                    message: "the date is null".into(),
                }),
                v => dates::parse_lenient(&text(v))
                    .and_then(|d| {
                        d.checked_to_offset(time::UtcOffset::UTC)
                            .ok_or_else(|| format!("{} is outside the dates in UTC", text(v)))
                    })
                    .map_err(|message| EvalError::Invalid {
                        function: f.name(),
                        at,
                        message,
                    }),
            }
        };
        Ok(match f {
            F::Append => {
                let (s, suffix) = (self.arg(args, 0)?, self.arg(args, 1)?);
                Value::Str(text(&s) + &text(&suffix))
            }
            F::AppRoleAssignmentsComplex => {
                return Err(EvalError::Unsupported {
                    function: f.name(),
                    at,
                    reason: "it builds role objects from the tenant's app roles".into(),
                });
            }
            F::BitAnd => {
                let (a, b) = (self.arg(args, 0)?, self.arg(args, 1)?);
                Value::Int(int(&a, "value1")? & int(&b, "value2")?)
            }
            F::CBool => {
                let v = self.arg(args, 0)?;
                // "If the expression evaluates to a non-zero value, then CBool returns True, else
                // it returns False": null and text that is neither a number nor True are False.
                Value::Bool(truth(&v).unwrap_or(false))
            }
            F::CDate => {
                let v = self.arg(args, 0)?;
                Value::Date(date(&v)?)
            }
            F::Coalesce => {
                let mut found = Value::Null;
                for i in 0..args.len() {
                    let v = self.arg(args, i)?;
                    if v != Value::Null {
                        found = v;
                        break;
                    }
                }
                found
            }
            F::ConvertToBase64 => {
                let s = text(&self.arg(args, 0)?);
                let utf16: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
                Value::Str(base64::engine::general_purpose::STANDARD.encode(utf16))
            }
            F::ConvertToUTF8Hex => {
                let s = text(&self.arg(args, 0)?);
                Value::Str(s.bytes().map(|b| format!("{b:02X}")).collect())
            }
            F::Count => {
                Value::Int(i64::try_from(self.arg(args, 0)?.values().len()).unwrap_or(i64::MAX))
            }
            F::CStr => match self.arg(args, 0)? {
                Value::Null => Value::Null,
                v => Value::Str(text(&v)),
            },
            F::DateAdd => {
                let interval = Interval::parse(&text(&self.arg(args, 0)?)).map_err(invalid)?;
                let n = int(&self.arg(args, 1)?, "value")?;
                let d = date(&self.arg(args, 2)?)?;
                Value::Date(dates::add(d, interval, n).map_err(invalid)?)
            }
            F::DateDiff => {
                let interval = Interval::parse(&text(&self.arg(args, 0)?)).map_err(invalid)?;
                let d1 = date(&self.arg(args, 1)?)?;
                let d2 = date(&self.arg(args, 2)?)?;
                Value::Int(dates::diff(interval, d1, d2))
            }
            F::DateFromNum => {
                let n = int(&self.arg(args, 0)?, "value")?;
                Value::Date(dates::from_filetime(n).map_err(invalid)?)
            }
            F::DefaultDomain => match &self.env.default_domain {
                Some(d) => Value::Str(d.clone()),
                None => {
                    return Err(invalid(
                        "the tenant has no default verified domain set".into(),
                    ));
                }
            },
            F::FormatDateTime => {
                // FormatDateTime(source, dateTimeStyles, inputFormat, outputFormat), or the
                // three-argument form without dateTimeStyles.
                let (input, output) = if args.len() == 4 { (2, 3) } else { (1, 2) };
                let source = self.arg(args, 0)?;
                if source == Value::Null {
                    return Ok(Value::Null);
                }
                let input = text(&self.arg(args, input)?);
                let output = text(&self.arg(args, output)?);
                let d = match &source {
                    Value::Date(d) => *d,
                    v => dates::parse_exact(&text(v), &input).map_err(invalid)?,
                };
                Value::Str(dates::format(d, &output).map_err(invalid)?)
            }
            F::Guid => {
                let bytes: [u8; 16] = self.env.rng.borrow_mut().random();
                Value::Str(
                    uuid::Builder::from_random_bytes(bytes)
                        .into_uuid()
                        .to_string(),
                )
            }
            F::IgnoreFlowIfNullOrEmpty => {
                let v = self.arg(args, 0)?;
                if v.is_null_or_empty() {
                    self.ignore_flow = true;
                }
                v
            }
            F::IIF => {
                let condition = match args.first() {
                    Some(Some(e)) => e,
                    _ => return Err(invalid("no condition".into())),
                };
                if let Some(name) = null_attribute_in(condition, self.env) {
                    // "If the source attribute used within the IIF function is empty or null,
                    // the condition check fails": the condition is false.
                    self.steps.push(Step {
                        call: format!("IIF condition {condition}"),
                        value: format!(
                            "false: [{name}] is null or empty, so the condition check fails \
                             (Microsoft suggests Switch([{name}], …, \"\", …))"
                        ),
                    });
                    return self.arg(args, 2);
                }
                let c = self.eval(condition, false)?;
                let yes = truth(&c)
                    .ok_or_else(|| invalid(format!("the condition {c} is not true or false")))?;
                self.arg(args, if yes { 1 } else { 2 })?
            }
            F::InStr => {
                let hay = text(&self.arg(args, 0)?);
                let needle = text(&self.arg(args, 1)?);
                let start = if Self::given(args, 2) {
                    int(&self.arg(args, 2)?, "start")?
                } else {
                    1
                };
                let text_compare = text(&self.arg(args, 3)?) == "vbTextCompare";
                if start < 1 {
                    return Err(invalid(format!("start must be 1 or more, got {start}")));
                }
                // Positions count characters of the text as given; vbTextCompare folds each
                // character on its own, so folding never shifts them.
                let fold = |c: char| if text_compare { simple_lower(c) } else { c };
                let hay: Vec<char> = hay.chars().map(fold).collect();
                let needle: Vec<char> = needle.chars().map(fold).collect();
                let skip = usize::try_from(start - 1).unwrap_or(usize::MAX);
                let found = if needle.is_empty() {
                    (skip <= hay.len()).then_some(skip)
                } else {
                    (skip..hay.len())
                        .find(|&i| hay.get(i..i + needle.len()) == Some(needle.as_slice()))
                };
                Value::Int(found.map_or(0, |i| i64::try_from(i + 1).unwrap_or(0)))
            }
            F::IsNull => Value::Bool(self.arg(args, 0)? == Value::Null),
            F::IsNullOrEmpty => Value::Bool(self.arg(args, 0)?.is_null_or_empty()),
            F::IsPresent => Value::Bool(!self.arg(args, 0)?.is_null_or_empty()),
            F::IsString => {
                Value::Bool(!matches!(self.arg(args, 0)?, Value::Null | Value::Multi(_)))
            }
            F::Item => {
                let values = self.arg(args, 0)?.values();
                let i = int(&self.arg(args, 1)?, "index")?;
                let slot = usize::try_from(i).ok().and_then(|i| i.checked_sub(1));
                match slot.and_then(|i| values.get(i)) {
                    Some(v) => v.clone(),
                    None => {
                        return Err(invalid(format!(
                            "index {i} is outside the attribute's {} value(s) (the first is 1)",
                            values.len()
                        )));
                    }
                }
            }
            F::Join => {
                let separator = text(&self.arg(args, 0)?);
                let mut parts = Vec::new();
                for i in 1..args.len() {
                    for v in self.arg(args, i)?.values() {
                        if !v.is_null_or_empty() {
                            parts.push(text(&v));
                        }
                    }
                }
                Value::Str(parts.join(&separator))
            }
            F::Left => {
                // "If numChars = 0, return empty string. If numChars < 0, return input string.
                // If string is null, return empty string."
                let s = text(&self.arg(args, 0)?);
                let n = int(&self.arg(args, 1)?, "NumChars")?;
                Value::Str(if n < 0 {
                    s
                } else {
                    s.chars()
                        .take(usize::try_from(n).unwrap_or(usize::MAX))
                        .collect()
                })
            }
            F::Len => Value::Int(
                i64::try_from(text(&self.arg(args, 0)?).chars().count()).unwrap_or(i64::MAX),
            ),
            F::Mid => {
                let source = self.arg(args, 0)?;
                let start = int(&self.arg(args, 1)?, "start")?;
                let length = int(&self.arg(args, 2)?, "length")?;
                if start < 1 {
                    return Err(invalid(format!(
                        "start must be 1 or more (the first character is 1), got {start}"
                    )));
                }
                if source == Value::Null {
                    return Ok(Value::Null);
                }
                let skip = usize::try_from(start - 1).unwrap_or(usize::MAX);
                let take = usize::try_from(length.max(0)).unwrap_or(usize::MAX);
                Value::Str(text(&source).chars().skip(skip).take(take).collect())
            }
            F::NormalizeDiacritics => match self.arg(args, 0)? {
                Value::Null => Value::Null,
                v => Value::Str(diacritics::normalize(&text(&v))),
            },
            F::Not => {
                let v = self.arg(args, 0)?;
                Value::Bool(!matches!(truth(&v), Some(true)))
            }
            F::Now => Value::Date(
                self.env
                    .now
                    .checked_to_offset(time::UtcOffset::UTC)
                    .unwrap_or(self.env.now),
            ),
            F::NumFromDate => {
                let d = date(&self.arg(args, 0)?)?;
                Value::Int(dates::to_filetime(d))
            }
            F::PCase => {
                let s = text(&self.arg(args, 0)?);
                let separators = if Self::given(args, 1) {
                    Some(text(&self.arg(args, 1)?))
                } else {
                    None
                };
                Value::Str(pcase(&s, separators.as_deref()))
            }
            F::RandomString => {
                let mut n = [0i64; 5];
                for (i, slot) in n.iter_mut().enumerate() {
                    *slot = int(&self.arg(args, i)?, "each count")?;
                }
                let avoid = text(&self.arg(args, 5)?);
                Value::Str(
                    random_string(&mut self.env.rng.borrow_mut(), n, &avoid).map_err(invalid)?,
                )
            }
            F::Redact => self.arg(args, 0)?,
            F::RemoveDuplicates => {
                let mut seen: Vec<Value> = Vec::new();
                for v in self.arg(args, 0)?.values() {
                    if !seen.contains(&v) {
                        seen.push(v);
                    }
                }
                Value::Multi(seen)
            }
            F::Replace => self.replace(args, &invalid)?,
            F::SelectUniqueValue => {
                if !top {
                    return Err(invalid(
                        "it must be the whole expression, not nested (as the reference says)"
                            .into(),
                    ));
                }
                let mut tried = Vec::new();
                for i in 0..args.len() {
                    let candidate = text(&self.arg(args, i)?);
                    let taken = self.env.taken.is_some_and(|taken| taken(&candidate));
                    if !taken {
                        return Ok(Value::Str(candidate));
                    }
                    tried.push(candidate);
                }
                return Err(EvalError::NoUniqueValue(tried.join(", ")));
            }
            F::SingleAppRoleAssignment => self
                .arg(args, 0)?
                .values()
                .into_iter()
                .next()
                .unwrap_or(Value::Null),
            F::Split => {
                let source = self.arg(args, 0)?;
                if source == Value::Null {
                    return Ok(Value::Null);
                }
                let delimiter = text(&self.arg(args, 1)?);
                if delimiter.is_empty() {
                    return Err(invalid("the delimiter is empty".into()));
                }
                Value::Multi(
                    text(&source)
                        .split(delimiter.as_str())
                        .map(|p| Value::Str(p.trim_matches(' ').to_owned()))
                        .collect(),
                )
            }
            F::StripSpaces => match self.arg(args, 0)? {
                Value::Null => Value::Null,
                v => Value::Str(text(&v).replace(' ', "")),
            },
            F::Switch => {
                // Case-sensitive; a null source matches the key "".
                let source = text(&self.arg(args, 0)?);
                let mut i = 2;
                while i + 1 < args.len() {
                    if text(&self.arg(args, i)?) == source {
                        return self.arg(args, i + 1);
                    }
                    i += 2;
                }
                self.arg(args, 1)?
            }
            F::ToLower | F::ToUpper => {
                let v = self.arg(args, 0)?;
                if v == Value::Null {
                    return Ok(Value::Null);
                }
                let culture = text(&self.arg(args, 1)?).to_ascii_lowercase();
                let turkic = culture == "tr"
                    || culture.starts_with("tr-")
                    || culture == "az"
                    || culture.starts_with("az-");
                let s = text(&v);
                // .NET's invariant culture maps case one character to one: "ß" stays "ß" in
                // ToUpper. Turkish and Azeri map I/ı and İ/i.
                Value::Str(
                    s.chars()
                        .map(|c| match (f, turkic, c) {
                            (F::ToLower, true, 'I') => 'ı',
                            (F::ToLower, true, 'İ') => 'i',
                            (F::ToLower, _, c) => simple_lower(c),
                            (_, true, 'i') => 'İ',
                            (_, _, c) => simple_upper(c),
                        })
                        .collect(),
                )
            }
            F::Word => {
                let s = text(&self.arg(args, 0)?);
                let n = int(&self.arg(args, 1)?, "WordNumber")?;
                let delimiters: Vec<char> = text(&self.arg(args, 2)?).chars().collect();
                let word = usize::try_from(n)
                    .ok()
                    .and_then(|n| n.checked_sub(1))
                    .and_then(|i| {
                        s.split(|c| delimiters.contains(&c))
                            .filter(|w| !w.is_empty())
                            .nth(i)
                    });
                Value::Str(word.unwrap_or_default().to_owned())
            }
        })
    }

    /// Replace's five modes, chosen by which arguments are given (the reference's list).
    fn replace(
        &mut self,
        args: &[Option<Expr>],
        invalid: &dyn Fn(String) -> EvalError,
    ) -> Result<Value, EvalError> {
        let source = self.arg(args, 0)?;
        let given = |i| Self::given(args, i);
        let regex = if given(2) {
            let p = text(&self.arg(args, 2)?);
            Some(
                regex::Regex::new(&p)
                    .map_err(|e| invalid(format!("the pattern {p:?} cannot be read: {e}")))?,
            )
        } else {
            None
        };
        let group = if given(3) {
            Some(text(&self.arg(args, 3)?))
        } else {
            None
        };
        match (given(1), regex, group) {
            // regexPattern, regexGroupName, replacementAttributeName: the source if it has a
            // value, else the group matched in the replacement attribute.
            (_, Some(re), Some(group)) if given(5) && !given(4) => {
                if !source.is_null_or_empty() {
                    return Ok(source);
                }
                let other = text(&self.arg(args, 5)?);
                Ok(re
                    .captures(&other)
                    .and_then(|c| c.name(&group))
                    .map_or(Value::Null, |m| Value::Str(m.as_str().to_owned())))
            }
            (_, Some(re), Some(group)) => {
                if source == Value::Null {
                    return Ok(Value::Null);
                }
                let s = text(&source);
                let replacement = text(&self.arg(args, 4)?);
                bounded(
                    re.captures_iter(&s).count(),
                    replacement.len(),
                    s.len(),
                    invalid,
                )?;
                let mut out = String::new();
                let mut last = 0;
                for c in re.captures_iter(&s) {
                    if let Some(m) = c.name(&group) {
                        out.push_str(&s[last..m.start()]);
                        out.push_str(&replacement);
                        last = m.end();
                    }
                }
                out.push_str(&s[last..]);
                Ok(Value::Str(out))
            }
            (_, Some(re), None) => {
                if source == Value::Null {
                    return Ok(Value::Null);
                }
                let replacement = text(&self.arg(args, 4)?);
                let source = text(&source);
                // An expansion (${name}) can be as long as the source itself.
                let each = replacement.len()
                    + if replacement.contains('$') {
                        source.len()
                    } else {
                        0
                    };
                bounded(re.find_iter(&source).count(), each, source.len(), invalid)?;
                Ok(Value::Str(
                    re.replace_all(&source, replacement.as_str()).into_owned(),
                ))
            }
            (true, None, _) if given(6) => {
                let old = text(&self.arg(args, 1)?);
                let template = text(&self.arg(args, 6)?);
                if old.is_empty() {
                    return Err(invalid("oldValue is empty".into()));
                }
                let source = text(&source);
                bounded(
                    template.matches(old.as_str()).count(),
                    source.len(),
                    template.len(),
                    invalid,
                )?;
                Ok(Value::Str(template.replace(&old, &source)))
            }
            (true, None, _) => {
                if source == Value::Null {
                    return Ok(Value::Null);
                }
                let old = text(&self.arg(args, 1)?);
                if old.is_empty() {
                    return Err(invalid("oldValue is empty".into()));
                }
                let new = text(&self.arg(args, 4)?);
                let source = text(&source);
                bounded(
                    source.matches(old.as_str()).count(),
                    new.len(),
                    source.len(),
                    invalid,
                )?;
                Ok(Value::Str(source.replace(&old, &new)))
            }
            (false, None, _) => Err(invalid(
                "give oldValue or regexPattern (the second or third argument)".into(),
            )),
        }
    }
}

/// Refuses a replacement whose result (`base` bytes plus `count` insertions of `each`) would
/// pass [`MAX_VALUE_BYTES`], before building it.
fn bounded(
    count: usize,
    each: usize,
    base: usize,
    invalid: &dyn Fn(String) -> EvalError,
) -> Result<(), EvalError> {
    let size = count.saturating_mul(each).saturating_add(base);
    if size > MAX_VALUE_BYTES {
        return Err(invalid(format!(
            "the result would be about {size} bytes, more than {MAX_VALUE_BYTES}"
        )));
    }
    Ok(())
}

/// The value as a boolean: booleans, numbers (non-zero is true, as CBool), and the texts
/// `True`/`False` (any case) or a number; `None` for anything else.
fn truth(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Int(i) => Some(*i != 0),
        Value::Str(s) => {
            let s = s.trim();
            if s.eq_ignore_ascii_case("true") {
                Some(true)
            } else if s.eq_ignore_ascii_case("false") {
                Some(false)
            } else {
                s.parse::<f64>().ok().map(|n| n != 0.0)
            }
        }
        _ => None,
    }
}

fn compare(op: CompareOp, l: &Value, r: &Value) -> bool {
    let ordering = match (l, r) {
        (Value::Date(a), Value::Date(b)) => a.cmp(b),
        _ => {
            let (a, b) = (text(l), text(r));
            match (a.trim().parse::<i64>(), b.trim().parse::<i64>()) {
                (Ok(x), Ok(y)) => x.cmp(&y),
                _ => a.cmp(&b),
            }
        }
    };
    match op {
        CompareOp::Eq => ordering.is_eq(),
        CompareOp::Ne => ordering.is_ne(),
        CompareOp::Gt => ordering.is_gt(),
        CompareOp::Ge => ordering.is_ge(),
        CompareOp::Lt => ordering.is_lt(),
        CompareOp::Le => ordering.is_le(),
    }
}

/// The first attribute an IIF condition compares that is null or empty (the reference: "If
/// the source attribute used within the IIF function is empty or null, the condition check
/// fails").
fn null_attribute_in(condition: &Expr, env: &Env<'_>) -> Option<String> {
    let check = |e: &Expr| match e {
        Expr::Attr { name, .. } if env.attribute(name).is_null_or_empty() => Some(name.clone()),
        _ => None,
    };
    match condition {
        Expr::Compare(_, l, r) => check(l).or_else(|| check(r)),
        Expr::Call {
            args,
            function: Function::IsNullOrEmpty | Function::IsPresent | Function::IsNull,
            ..
        } => args.iter().flatten().find_map(check),
        e => check(e),
    }
}

/// PCase: lower-case everything, then upper-case the first letter of each word. Without
/// separators a word starts after any character that is not a letter, a digit or an
/// apostrophe (.NET ToTitleCase's categories); with them, only after those characters.
fn pcase(s: &str, separators: Option<&str>) -> String {
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if start {
            out.extend(c.to_uppercase());
        } else {
            out.extend(c.to_lowercase());
        }
        start = match separators {
            Some(seps) => seps.contains(c),
            None => {
                !(c.is_alphanumeric()
                    || c == '\''
                    || c == '\u{2019}'
                    || unicode_normalization::char::is_combining_mark(c))
            }
        };
    }
    out
}

/// `c` in lower case when that is one character, else `c` (.NET's invariant mapping).
fn simple_lower(c: char) -> char {
    let mut l = c.to_lowercase();
    match (l.next(), l.next()) {
        (Some(x), None) => x,
        _ => c,
    }
}

/// `c` in upper case when that is one character, else `c`.
fn simple_upper(c: char) -> char {
    let mut u = c.to_uppercase();
    match (u.next(), u.next()) {
        (Some(x), None) => x,
        _ => c,
    }
}

/// The special characters of Windows' "Password must meet complexity requirements".
const SPECIAL: &str = "~!@#$%^&*_-+=`|\\(){}[]:;\"'<>,.?/";

fn random_string(rng: &mut StdRng, n: [i64; 5], avoid: &str) -> Result<String, String> {
    let [length, numbers, special, capital, lower] = n;
    if n.iter().any(|&x| x < 0) {
        return Err("counts cannot be negative".into());
    }
    if !(1..=256).contains(&length) {
        return Err(format!("Length must be 1 to 256, got {length}"));
    }
    if let Some(x) = n.iter().find(|&&x| x > length) {
        return Err(format!("a minimum ({x}) is more than Length {length}"));
    }
    if numbers + special + capital + lower > length {
        return Err(format!(
            "the minimums add up to {}, more than Length {length}",
            numbers + special + capital + lower
        ));
    }
    let set = |all: &str| -> Vec<char> { all.chars().filter(|c| !avoid.contains(*c)).collect() };
    let digits = set("0123456789");
    let specials = set(SPECIAL);
    let upper = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ");
    let lowers = set("abcdefghijklmnopqrstuvwxyz");
    let mut out = Vec::new();
    for (pool, count, name) in [
        (&digits, numbers, "numbers"),
        (&specials, special, "special characters"),
        (&upper, capital, "capitals"),
        (&lowers, lower, "lower-case letters"),
    ] {
        if count > 0 && pool.is_empty() {
            return Err(format!("CharactersToAvoid leaves no {name}"));
        }
        for _ in 0..count {
            out.push(pool[rng.random_range(0..pool.len())]);
        }
    }
    let any: Vec<char> = [digits, specials, upper, lowers].concat();
    while i64::try_from(out.len()).unwrap_or(i64::MAX) < length {
        if any.is_empty() {
            return Err("CharactersToAvoid leaves no characters".into());
        }
        out.push(any[rng.random_range(0..any.len())]);
    }
    for i in (1..out.len()).rev() {
        let j = rng.random_range(0..=i);
        out.swap(i, j);
    }
    Ok(out.into_iter().collect())
}
