//! Dates as the expression language handles them: .NET custom date and time format strings
//! (FormatDateTime), the lenient parse behind CDate, the `M/d/yyyy h:mm:ss tt` rendering of
//! CDate, Now and DateAdd, AD's FILETIME (DateFromNum, NumFromDate), and Visual Basic's
//! DateAdd/DateDiff intervals.
//!
//! Our own code: the .NET format language is part of the semantics being simulated, and no
//! crate implements it; `time` does the calendar arithmetic.

use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// `M/d/yyyy h:mm:ss tt` in UTC, as CDate, Now and DateAdd return dates.
pub fn general(d: OffsetDateTime) -> String {
    format(d, "M/d/yyyy h:mm:ss tt").unwrap_or_default()
}

/// Renders `d` (in its own offset) with a .NET custom format string.
///
/// Supported: `yyyy yy y MM M MMM MMMM dd d ddd dddd HH H hh h mm m ss s f… F… tt t zzz zz z
/// K`, `'…'` / `"…"` literals, `\x` escapes; any other character stands for itself.
///
/// # Errors
/// A message naming a specifier this implementation does not know.
pub fn format(d: OffsetDateTime, fmt: &str) -> Result<String, String> {
    let mut out = String::new();
    for token in tokens(fmt) {
        match token {
            Token::Literal(s) => out.push_str(&s),
            Token::Spec(c, n) => out.push_str(&spec(d, c, n)?),
        }
    }
    Ok(out)
}

fn spec(d: OffsetDateTime, c: char, n: usize) -> Result<String, String> {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let hour12 = match d.hour() % 12 {
        0 => 12,
        h => h,
    };
    let offset = d.offset();
    let sign = if offset.is_negative() { '-' } else { '+' };
    let (oh, om) = (
        offset.whole_hours().unsigned_abs(),
        offset.minutes_past_hour().unsigned_abs(),
    );
    Ok(match (c, n) {
        ('y', 1) => (d.year() % 100).to_string(),
        ('y', 2) => format!("{:02}", d.year() % 100),
        ('y', n) => format!("{:0n$}", d.year()),
        ('M', 1) => u8::from(d.month()).to_string(),
        ('M', 2) => format!("{:02}", u8::from(d.month())),
        ('M', 3) => MONTHS[usize::from(u8::from(d.month())) - 1][..3].to_owned(),
        ('M', _) => MONTHS[usize::from(u8::from(d.month())) - 1].to_owned(),
        ('d', 1) => d.day().to_string(),
        ('d', 2) => format!("{:02}", d.day()),
        ('d', 3) => d.weekday().to_string()[..3].to_owned(),
        ('d', _) => d.weekday().to_string(),
        ('H', 1) => d.hour().to_string(),
        ('H', _) => format!("{:02}", d.hour()),
        ('h', 1) => hour12.to_string(),
        ('h', _) => format!("{hour12:02}"),
        ('m', 1) => d.minute().to_string(),
        ('m', _) => format!("{:02}", d.minute()),
        ('s', 1) => d.second().to_string(),
        ('s', _) => format!("{:02}", d.second()),
        ('f' | 'F', n) if n <= 7 => {
            let digits = format!("{:07}", d.nanosecond() / 100);
            let s = &digits[..n];
            if c == 'F' {
                s.trim_end_matches('0').to_owned()
            } else {
                s.to_owned()
            }
        }
        ('t', 1) => if d.hour() < 12 { "A" } else { "P" }.to_owned(),
        ('t', _) => if d.hour() < 12 { "AM" } else { "PM" }.to_owned(),
        ('z', 1) => format!("{sign}{oh}"),
        ('z', 2) => format!("{sign}{oh:02}"),
        ('z', _) => format!("{sign}{oh:02}:{om:02}"),
        ('K', _) if offset.is_utc() => "Z".to_owned(),
        ('K', _) => format!("{sign}{oh:02}:{om:02}"),
        (c, n) => {
            return Err(format!(
                "the format specifier {:?} is not supported",
                c.to_string().repeat(n)
            ));
        }
    })
}

enum Token {
    Literal(String),
    Spec(char, usize),
}

fn tokens(fmt: &str) -> Vec<Token> {
    let chars: Vec<char> = fmt.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        match c {
            'y' | 'M' | 'd' | 'H' | 'h' | 'm' | 's' | 'f' | 'F' | 't' | 'z' | 'K' => {
                let n = chars[i..].iter().take_while(|&&x| x == c).count();
                out.push(Token::Spec(c, n));
                i += n;
            }
            '\'' | '"' => {
                let lit: String = chars[i + 1..].iter().take_while(|&&x| x != c).collect();
                i += lit.chars().count() + 2;
                out.push(Token::Literal(lit));
            }
            '\\' => {
                out.push(Token::Literal(
                    chars.get(i + 1).map(char::to_string).unwrap_or_default(),
                ));
                i += 2;
            }
            c => {
                out.push(Token::Literal(c.to_string()));
                i += 1;
            }
        }
    }
    out
}

/// Parses `text` exactly by a .NET custom format string (FormatDateTime's inputFormat, as
/// `DateTime.ParseExact` with `RoundtripKind | AllowLeadingWhite | AllowTrailingWhite`). A
/// literal `Z` or a `K` reading `Z` means UTC; without an offset the time is taken as UTC.
///
/// # Errors
/// A message saying where the text stops matching the format.
pub fn parse_exact(text: &str, fmt: &str) -> Result<OffsetDateTime, String> {
    let s: Vec<char> = text.trim().chars().collect();
    let mut i = 0;
    let (mut year, mut month, mut day) = (1i32, 1u8, 1u8);
    let (mut hour, mut minute, mut second, mut nanos) = (0u8, 0u8, 0u8, 0u32);
    let mut pm: Option<bool> = None;
    let mut offset = UtcOffset::UTC;
    let digits = |i: &mut usize, min: usize, max: usize| -> Result<u32, String> {
        let n = s[*i..]
            .iter()
            .take(max)
            .take_while(|c| c.is_ascii_digit())
            .count();
        if n < min {
            return Err(format!("expected {min} digit(s) at position {}", *i + 1));
        }
        let v: String = s[*i..*i + n].iter().collect();
        *i += n;
        v.parse().map_err(|_| format!("{v:?} is not a number"))
    };
    let small = |v: u32| u8::try_from(v).map_err(|_| format!("{v} is out of range"));
    for token in tokens(fmt) {
        match token {
            Token::Literal(lit) => {
                for c in lit.chars() {
                    if s.get(i) != Some(&c) {
                        return Err(format!(
                            "expected {c:?} at position {} of {text:?} (format {fmt:?})",
                            i + 1
                        ));
                    }
                    i += 1;
                }
            }
            Token::Spec(c, n) => match c {
                'y' => {
                    let v = digits(&mut i, n.min(4), if n <= 2 { 2 } else { n.max(4) })?;
                    year = i32::try_from(v).map_err(|_| "year out of range".to_owned())?;
                    if n <= 2 {
                        // .NET's two-digit year cutoff: 00–49 are 2000s, 50–99 the 1900s.
                        year += if year < 50 { 2000 } else { 1900 };
                    }
                }
                'M' => month = small(digits(&mut i, if n == 1 { 1 } else { 2 }, 2)?)?,
                'd' => day = small(digits(&mut i, if n == 1 { 1 } else { 2 }, 2)?)?,
                'H' | 'h' => hour = small(digits(&mut i, if n == 1 { 1 } else { 2 }, 2)?)?,
                'm' => minute = small(digits(&mut i, if n == 1 { 1 } else { 2 }, 2)?)?,
                's' => second = small(digits(&mut i, if n == 1 { 1 } else { 2 }, 2)?)?,
                'f' | 'F' => {
                    let width = s[i..]
                        .iter()
                        .take(n)
                        .take_while(|c| c.is_ascii_digit())
                        .count();
                    if width > 0 || c == 'f' {
                        let v = digits(&mut i, if c == 'f' { n } else { 1 }, n)?;
                        let width = u32::try_from(width).unwrap_or(9).min(9);
                        nanos = v * 10u32.pow(9 - width);
                    }
                }
                't' => {
                    let word: String = s[i..].iter().take(n.min(2)).collect();
                    pm = Some(word.to_ascii_uppercase().starts_with('P'));
                    if !matches!(word.to_ascii_uppercase().as_str(), "AM" | "PM" | "A" | "P") {
                        return Err(format!("expected AM or PM at position {}", i + 1));
                    }
                    i += word.chars().count();
                }
                'z' | 'K' => {
                    if c == 'K' && s.get(i) == Some(&'Z') {
                        i += 1;
                        continue;
                    }
                    let (o, used) = parse_offset(&s[i..]).ok_or_else(|| {
                        format!("expected an offset such as -07:00 at position {}", i + 1)
                    })?;
                    offset = o;
                    i += used;
                }
                _ => return Err(format!("the format specifier {c:?} is not supported")),
            },
        }
    }
    if i != s.len() {
        return Err(format!(
            "{text:?} has more than the format {fmt:?} describes (from position {})",
            i + 1
        ));
    }
    if let Some(pm) = pm {
        if !(1..=12).contains(&hour) {
            return Err(format!("hour {hour} is not a 12-hour clock hour"));
        }
        hour = hour % 12 + if pm { 12 } else { 0 };
    }
    build(year, month, day, hour, minute, second, nanos, offset)
}

#[allow(clippy::too_many_arguments)]
fn build(
    year: i32,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
    nanos: u32,
    offset: UtcOffset,
) -> Result<OffsetDateTime, String> {
    let month = Month::try_from(month).map_err(|e| e.to_string())?;
    let date = Date::from_calendar_date(year, month, day).map_err(|e| e.to_string())?;
    let time = Time::from_hms_nano(hour, minute, second, nanos).map_err(|e| e.to_string())?;
    Ok(PrimitiveDateTime::new(date, time).assume_offset(offset))
}

/// `Z`, `±HH:mm`, `±HHmm` or `±HH`; returns the offset and the characters used.
fn parse_offset(s: &[char]) -> Option<(UtcOffset, usize)> {
    if s.first() == Some(&'Z') {
        return Some((UtcOffset::UTC, 1));
    }
    let sign: i8 = match s.first()? {
        '+' => 1,
        '-' => -1,
        _ => return None,
    };
    let d = |k: usize| s.get(k).and_then(|c| c.to_digit(10));
    let h = i8::try_from(d(1)? * 10 + d(2)?).ok()?;
    let (m, used) = match (s.get(3), d(3), d(4), d(5)) {
        (Some(':'), _, Some(a), Some(b)) => (a * 10 + b, 6),
        (_, Some(a), Some(b), _) => (a * 10 + b, 5),
        _ => (0, 3),
    };
    let m = i8::try_from(m).ok()?;
    Some((UtcOffset::from_hms(sign * h, sign * m, 0).ok()?, used))
}

/// The lenient parse behind CDate, DateDiff's and NumFromDate's string arguments: ISO 8601
/// dates with or without a time (`T` or a space) and offset (`2012-03-16-07:00`,
/// `2009-06-15T01:45:30-07:00`, `2021-08-24`, `2020-12-31 23:59:59-08:00`), and the
/// `M/d/yyyy h:mm:ss tt` form these functions return. No offset means UTC.
///
/// # Errors
/// A message quoting the text.
pub fn parse_lenient(text: &str) -> Result<OffsetDateTime, String> {
    let t = text.trim();
    const FORMATS: [&str; 6] = [
        "M/d/yyyy h:mm:ss tt",
        "M/d/yyyy",
        "yyyy-MM-dd",
        "yyyy-MM-ddK",
        "yyyy-MM-dd HH:mm:ssK",
        "yyyy-MM-dd HH:mm:ss",
    ];
    for f in FORMATS {
        if let Ok(d) = parse_exact(t, f) {
            return Ok(d);
        }
    }
    // ISO 8601 with T and optional fractions.
    let iso = t.replacen('T', " ", 1);
    for f in [
        "yyyy-MM-dd HH:mm:ssK",
        "yyyy-MM-dd HH:mm:ss.FFFFFFFK",
        "yyyy-MM-dd HH:mm:ss.FFFFFFF",
        "yyyy-MM-dd HH:mmK",
        "yyyy-MM-dd HH:mm",
    ] {
        if let Ok(d) = parse_exact(&iso, f) {
            return Ok(d);
        }
    }
    Err(format!("{text:?} is not a date and time CDate can read"))
}

/// 100-nanosecond intervals from 1601-01-01 UTC to the Unix epoch.
const FILETIME_EPOCH: i128 = 116_444_736_000_000_000;

/// AD's date format (FILETIME: 100 ns ticks since 1601-01-01 UTC) to a date.
///
/// # Errors
/// A message when the number is outside the dates `time` can hold.
pub fn from_filetime(ticks: i64) -> Result<OffsetDateTime, String> {
    let nanos = (i128::from(ticks) - FILETIME_EPOCH) * 100;
    OffsetDateTime::from_unix_timestamp_nanos(nanos).map_err(|e| format!("{ticks}: {e}"))
}

/// A date in AD's date format (FILETIME).
pub fn to_filetime(d: OffsetDateTime) -> i64 {
    let ticks = d.unix_timestamp_nanos() / 100 + FILETIME_EPOCH;
    i64::try_from(ticks).unwrap_or(i64::MAX)
}

/// A Visual Basic date interval (DateAdd and DateDiff): `yyyy m d ww h n s`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interval {
    /// `yyyy`
    Year,
    /// `m`
    Month,
    /// `d`
    Day,
    /// `ww`
    Week,
    /// `h`
    Hour,
    /// `n`
    Minute,
    /// `s`
    Second,
}

impl Interval {
    /// Reads an interval code (case-sensitive, as documented).
    ///
    /// # Errors
    /// A message listing the codes.
    pub fn parse(code: &str) -> Result<Interval, String> {
        Ok(match code {
            "yyyy" => Interval::Year,
            "m" => Interval::Month,
            "d" => Interval::Day,
            "ww" => Interval::Week,
            "h" => Interval::Hour,
            "n" => Interval::Minute,
            "s" => Interval::Second,
            other => {
                return Err(format!(
                    "{other:?} is not an interval: one of yyyy, m, d, ww, h, n, s"
                ));
            }
        })
    }
}

/// DateAdd: `n` intervals after `d` (before when negative). Months and years keep the day,
/// or the month's last day when it has fewer (VB's rule).
///
/// # Errors
/// A message when the result is outside the dates `time` can hold.
pub fn add(d: OffsetDateTime, interval: Interval, n: i64) -> Result<OffsetDateTime, String> {
    let overflow = || format!("adding {n} {interval:?} to {} overflows", general(d));
    let months = |m: i64| -> Result<OffsetDateTime, String> {
        let total = (i64::from(d.year()) * 12 + i64::from(u8::from(d.month())) - 1)
            .checked_add(m)
            .ok_or_else(overflow)?;
        let year = i32::try_from(total.div_euclid(12)).map_err(|_| overflow())?;
        let month =
            Month::try_from(u8::try_from(total.rem_euclid(12) + 1).map_err(|_| overflow())?)
                .map_err(|_| overflow())?;
        let day = d.day().min(time::util::days_in_month(month, year));
        let date = Date::from_calendar_date(year, month, day).map_err(|_| overflow())?;
        Ok(d.replace_date(date))
    };
    let seconds_per = match interval {
        Interval::Year => return months(n.checked_mul(12).ok_or_else(overflow)?),
        Interval::Month => return months(n),
        Interval::Day => 86_400,
        Interval::Week => 7 * 86_400,
        Interval::Hour => 3_600,
        Interval::Minute => 60,
        Interval::Second => 1,
    };
    n.checked_mul(seconds_per)
        .map(Duration::seconds)
        .and_then(|span| d.checked_add(span))
        .ok_or_else(overflow)
}

/// DateDiff: `d2 − d1` in intervals, both taken in UTC (where UTC is still a date `time`
/// holds). Years and months count calendar
/// boundaries (VB: the month parts' difference, the day ignored); weeks count Sundays
/// crossed; days, hours, minutes and seconds are the elapsed time, truncated toward zero.
pub fn diff(interval: Interval, d1: OffsetDateTime, d2: OffsetDateTime) -> i64 {
    let utc = |d: OffsetDateTime| d.checked_to_offset(UtcOffset::UTC).unwrap_or(d);
    let (d1, d2) = (utc(d1), utc(d2));
    let elapsed = d2 - d1;
    match interval {
        Interval::Year => i64::from(d2.year() - d1.year()),
        Interval::Month => {
            i64::from(d2.year() - d1.year()) * 12 + i64::from(u8::from(d2.month()))
                - i64::from(u8::from(d1.month()))
        }
        Interval::Day => elapsed.whole_days(),
        Interval::Week => {
            let sunday = |d: OffsetDateTime| {
                d.date().to_julian_day() - i32::from(d.weekday().number_days_from_sunday())
            };
            i64::from(sunday(d2) - sunday(d1)) / 7
        }
        Interval::Hour => elapsed.whole_hours(),
        Interval::Minute => elapsed.whole_minutes(),
        Interval::Second => elapsed.whole_seconds(),
    }
}
