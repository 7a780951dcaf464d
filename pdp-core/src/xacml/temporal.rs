//! The XML Schema date, time and duration types used by XACML (core spec A.2, A.3.7, A.3.8).
//!
//! Values keep their own timezone (or none) so that they print back as written; comparison and
//! equality follow XQuery (`op:dateTime-equal`, `op:time-less-than`, ...) with an implicit
//! timezone of UTC for values written without one, as XACML recommends for a context handler
//! that has no better default. Fractional seconds are kept to the nanosecond; further digits are
//! dropped when parsing (they cannot matter to a policy). Years follow XML Schema 1.1 / XQuery:
//! year `0000` is accepted and means 1 BCE, so that every computed value parses back.
//!
//! Durations keep the components as written (`P12DT148H` stays `P12DT148H`) and compare by
//! their total length, because XACML functions never produce a duration, only read literals.

use std::cmp::Ordering;
use std::fmt;

const NANOS_PER_SEC: i128 = 1_000_000_000;
const NANOS_PER_DAY: i128 = 86_400 * NANOS_PER_SEC;
/// Years beyond this magnitude are rejected: it keeps all arithmetic inside `i64`/`i128` and no
/// policy needs them.
const MAX_YEAR: i64 = 999_999_999;
/// Cap on each numeric duration component, for the same reason.
const MAX_COMPONENT: u64 = 1_000_000_000_000;

/// A timezone offset in minutes east of UTC (-14:00 ..= +14:00), or none.
pub type Tz = Option<i16>;

/// Why a temporal lexical form does not parse.
type ParseResult<T> = Result<T, &'static str>;

// ---------------------------------------------------------------------------------------------
// Calendar helpers (proleptic Gregorian, astronomical years).

fn is_leap(y: i64) -> bool {
    y.rem_euclid(4) == 0 && (y.rem_euclid(100) != 0 || y.rem_euclid(400) == 0)
}

fn days_in_month(y: i64, m: u8) -> u8 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u8, d: u8) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, u8, u8) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

// ---------------------------------------------------------------------------------------------
// Lexical helpers.

/// A tiny cursor over ASCII input; every method fails instead of panicking.
struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(s: &'a str) -> Self {
        Cursor {
            s: s.as_bytes(),
            pos: 0,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8, what: &'static str) -> ParseResult<()> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(what)
        }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    /// Reads a run of ASCII digits (possibly empty) and returns it.
    fn digits(&mut self) -> &'a [u8] {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        &self.s[start..self.pos]
    }

    /// Reads exactly `n` digits as a number.
    fn fixed(&mut self, n: usize, what: &'static str) -> ParseResult<u32> {
        let mut v = 0u32;
        for _ in 0..n {
            match self.peek() {
                Some(c @ b'0'..=b'9') => {
                    v = v * 10 + u32::from(c - b'0');
                    self.pos += 1;
                }
                _ => return Err(what),
            }
        }
        Ok(v)
    }
}

fn digits_value(d: &[u8], max: u64) -> Option<u64> {
    let mut v: u64 = 0;
    for &c in d {
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
        if v > max {
            return None;
        }
    }
    Some(v)
}

fn parse_year(c: &mut Cursor<'_>) -> ParseResult<i64> {
    let neg = c.eat(b'-');
    let d = c.digits();
    if d.len() < 4 {
        return Err("the year needs at least four digits");
    }
    if d.len() > 4 && d[0] == b'0' {
        return Err("a year of more than four digits may not start with 0");
    }
    let v = digits_value(d, MAX_YEAR as u64).ok_or("the year is out of range")? as i64;
    Ok(if neg { -v } else { v })
}

fn parse_month_day(c: &mut Cursor<'_>, year: i64) -> ParseResult<(u8, u8)> {
    c.expect(b'-', "expected '-' after the year")?;
    let m = c.fixed(2, "expected a two-digit month")? as u8;
    if !(1..=12).contains(&m) {
        return Err("the month must be 01 to 12");
    }
    c.expect(b'-', "expected '-' after the month")?;
    let d = c.fixed(2, "expected a two-digit day")? as u8;
    if d < 1 || d > days_in_month(year, m) {
        return Err("the day does not exist in that month");
    }
    Ok((m, d))
}

/// Parses `hh:mm:ss(.s+)?` and returns nanoseconds of the day; `24:00:00` gives a full day.
fn parse_clock(c: &mut Cursor<'_>) -> ParseResult<u64> {
    let h = c.fixed(2, "expected a two-digit hour")?;
    c.expect(b':', "expected ':' after the hour")?;
    let mi = c.fixed(2, "expected two-digit minutes")?;
    c.expect(b':', "expected ':' after the minutes")?;
    let s = c.fixed(2, "expected two-digit seconds")?;
    let mut nanos = 0u64;
    if c.eat(b'.') {
        let frac = c.digits();
        if frac.is_empty() {
            return Err("expected digits after '.'");
        }
        for i in 0..9 {
            nanos = nanos * 10 + frac.get(i).map_or(0, |&d| u64::from(d - b'0'));
        }
    }
    if mi > 59 || s > 59 {
        return Err("minutes and seconds must be 00 to 59");
    }
    if h == 24 {
        if mi == 0 && s == 0 && nanos == 0 {
            return Ok(86_400 * 1_000_000_000);
        }
        return Err("24 is only allowed as 24:00:00");
    }
    if h > 23 {
        return Err("the hour must be 00 to 23");
    }
    Ok((u64::from(h) * 3600 + u64::from(mi) * 60 + u64::from(s)) * 1_000_000_000 + nanos)
}

fn parse_tz(c: &mut Cursor<'_>) -> ParseResult<Tz> {
    if c.at_end() {
        return Ok(None);
    }
    if c.eat(b'Z') {
        return Ok(Some(0));
    }
    let sign: i16 = if c.eat(b'+') {
        1
    } else if c.eat(b'-') {
        -1
    } else {
        return Err("unexpected text where a timezone may follow");
    };
    let h = c.fixed(2, "expected a two-digit timezone hour")? as i16;
    c.expect(b':', "expected ':' in the timezone")?;
    let m = c.fixed(2, "expected two-digit timezone minutes")? as i16;
    if m > 59 || h > 14 || (h == 14 && m != 0) {
        return Err("the timezone must be between -14:00 and +14:00");
    }
    Ok(Some(sign * (h * 60 + m)))
}

fn finish(c: &Cursor<'_>) -> ParseResult<()> {
    if c.at_end() {
        Ok(())
    } else {
        Err("unexpected trailing text")
    }
}

fn write_year(f: &mut fmt::Formatter<'_>, y: i64) -> fmt::Result {
    if y < 0 {
        write!(f, "-{:04}", -y)
    } else {
        write!(f, "{y:04}")
    }
}

fn write_clock(f: &mut fmt::Formatter<'_>, nanos_of_day: u64) -> fmt::Result {
    let secs = nanos_of_day / 1_000_000_000;
    let frac = nanos_of_day % 1_000_000_000;
    write!(
        f,
        "{:02}:{:02}:{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )?;
    write_frac(f, frac as u32)
}

fn write_frac(f: &mut fmt::Formatter<'_>, frac: u32) -> fmt::Result {
    if frac == 0 {
        return Ok(());
    }
    let s = format!("{frac:09}");
    write!(f, ".{}", s.trim_end_matches('0'))
}

fn write_tz(f: &mut fmt::Formatter<'_>, tz: Tz) -> fmt::Result {
    match tz {
        None => Ok(()),
        Some(0) => f.write_str("Z"),
        Some(m) => {
            let sign = if m < 0 { '-' } else { '+' };
            let m = m.unsigned_abs();
            write!(f, "{sign}{:02}:{:02}", m / 60, m % 60)
        }
    }
}

/// Minutes east of UTC as nanoseconds; no timezone means UTC (the implicit timezone).
fn tz_nanos(tz: Tz) -> i128 {
    i128::from(tz.unwrap_or(0)) * 60 * NANOS_PER_SEC
}

// ---------------------------------------------------------------------------------------------
// time

/// `xs:time`: a time of day with an optional timezone.
#[derive(Clone, Copy, Debug)]
pub struct Time {
    nanos_of_day: u64,
    tz: Tz,
}

impl Time {
    /// Parses the XML Schema lexical form (`13:20:00`, `13:20:00.5-05:00`, `24:00:00` = midnight).
    pub fn parse(s: &str) -> Result<Time, &'static str> {
        let mut c = Cursor::new(s);
        let nanos = parse_clock(&mut c)?;
        let tz = parse_tz(&mut c)?;
        finish(&c)?;
        Ok(Time {
            nanos_of_day: nanos % (NANOS_PER_DAY as u64),
            tz,
        })
    }

    /// Builds a time from its parts; `None` when out of range.
    pub fn new(nanos_of_day: u64, tz: Tz) -> Option<Time> {
        (nanos_of_day < NANOS_PER_DAY as u64 && tz.is_none_or(|m| m.abs() <= 840))
            .then_some(Time { nanos_of_day, tz })
    }

    pub fn timezone(&self) -> Tz {
        self.tz
    }

    pub fn nanos_of_day(&self) -> u64 {
        self.nanos_of_day
    }

    /// The position on the XQuery reference day (1972-12-31) in UTC, in nanoseconds; may fall
    /// outside `0..day` for times with a timezone. `default_tz` stands in for a missing one.
    pub fn utc_nanos(&self, default_tz: Tz) -> i128 {
        i128::from(self.nanos_of_day) - tz_nanos(self.tz.or(default_tz))
    }

    /// Ordering per `op:time-less-than` (implicit timezone UTC).
    pub fn compare(&self, other: &Time) -> Ordering {
        self.utc_nanos(None).cmp(&other.utc_nanos(None))
    }
}

impl PartialEq for Time {
    fn eq(&self, other: &Self) -> bool {
        self.compare(other) == Ordering::Equal
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_clock(f, self.nanos_of_day)?;
        write_tz(f, self.tz)
    }
}

// ---------------------------------------------------------------------------------------------
// date

/// `xs:date`: a calendar day with an optional timezone.
#[derive(Clone, Copy, Debug)]
pub struct Date {
    year: i64,
    month: u8,
    day: u8,
    tz: Tz,
}

impl Date {
    /// Parses the XML Schema lexical form (`2002-10-10`, `-0044-03-15Z`, `2002-10-10+13:00`).
    pub fn parse(s: &str) -> Result<Date, &'static str> {
        let mut c = Cursor::new(s);
        let year = parse_year(&mut c)?;
        let (month, day) = parse_month_day(&mut c, year)?;
        let tz = parse_tz(&mut c)?;
        finish(&c)?;
        Ok(Date {
            year,
            month,
            day,
            tz,
        })
    }

    pub fn year(&self) -> i64 {
        self.year
    }
    pub fn month(&self) -> u8 {
        self.month
    }
    pub fn day(&self) -> u8 {
        self.day
    }
    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// The start of the day in UTC, nanoseconds since the Unix epoch (XQuery compares dates by
    /// their starting instants).
    fn instant(&self) -> i128 {
        i128::from(days_from_civil(self.year, self.month, self.day)) * NANOS_PER_DAY
            - tz_nanos(self.tz)
    }

    /// Ordering per `op:date-less-than` (implicit timezone UTC).
    pub fn compare(&self, other: &Date) -> Ordering {
        self.instant().cmp(&other.instant())
    }

    /// `date-add-yearMonthDuration` (and subtract with a negated duration): adds months, pinning
    /// the day to the end of a shorter month (XML Schema Appendix E). `None` when out of range.
    pub fn add_months(&self, months: i64) -> Option<Date> {
        let (year, month, day) = add_months(self.year, self.month, self.day, months)?;
        Some(Date {
            year,
            month,
            day,
            tz: self.tz,
        })
    }
}

fn add_months(year: i64, month: u8, day: u8, months: i64) -> Option<(i64, u8, u8)> {
    let total = year
        .checked_mul(12)?
        .checked_add(i64::from(month) - 1)?
        .checked_add(months)?;
    let y = total.div_euclid(12);
    let m = (total.rem_euclid(12) + 1) as u8;
    if y.abs() > MAX_YEAR {
        return None;
    }
    Some((y, m, day.min(days_in_month(y, m))))
}

impl PartialEq for Date {
    fn eq(&self, other: &Self) -> bool {
        self.compare(other) == Ordering::Equal
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_year(f, self.year)?;
        write!(f, "-{:02}-{:02}", self.month, self.day)?;
        write_tz(f, self.tz)
    }
}

// ---------------------------------------------------------------------------------------------
// dateTime

/// `xs:dateTime`: a date and a time of day with an optional timezone.
#[derive(Clone, Copy, Debug)]
pub struct DateTime {
    year: i64,
    month: u8,
    day: u8,
    nanos_of_day: u64,
    tz: Tz,
}

impl DateTime {
    /// 1970-01-01T00:00:00Z.
    pub const UNIX_EPOCH: DateTime = DateTime {
        year: 1970,
        month: 1,
        day: 1,
        nanos_of_day: 0,
        tz: Some(0),
    };

    /// Parses the XML Schema lexical form (`2002-05-30T09:30:10.5Z`); `T24:00:00` is the start of
    /// the next day, as XML Schema 1.0 defines.
    pub fn parse(s: &str) -> Result<DateTime, &'static str> {
        let mut c = Cursor::new(s);
        let year = parse_year(&mut c)?;
        let (month, day) = parse_month_day(&mut c, year)?;
        c.expect(b'T', "expected 'T' between the date and the time")?;
        let nanos = parse_clock(&mut c)?;
        let tz = parse_tz(&mut c)?;
        finish(&c)?;
        let local = i128::from(days_from_civil(year, month, day)) * NANOS_PER_DAY + nanos as i128;
        DateTime::from_local_nanos(local, tz).ok_or("the year is out of range")
    }

    /// The instant `unix_secs` + `nanos` in UTC, written with a `Z` timezone.
    pub fn from_unix(unix_secs: i64, nanos: u32) -> Option<DateTime> {
        let local = i128::from(unix_secs) * NANOS_PER_SEC + i128::from(nanos.min(999_999_999));
        DateTime::from_local_nanos(local, Some(0))
    }

    fn from_local_nanos(local: i128, tz: Tz) -> Option<DateTime> {
        let days = i64::try_from(local.div_euclid(NANOS_PER_DAY)).ok()?;
        let nanos_of_day = local.rem_euclid(NANOS_PER_DAY) as u64;
        // Keep days in a range where civil_from_days cannot overflow.
        if days.abs() > 400 * (MAX_YEAR + 1) {
            return None;
        }
        let (year, month, day) = civil_from_days(days);
        if year.abs() > MAX_YEAR {
            return None;
        }
        Some(DateTime {
            year,
            month,
            day,
            nanos_of_day,
            tz,
        })
    }

    fn local_nanos(&self) -> i128 {
        i128::from(days_from_civil(self.year, self.month, self.day)) * NANOS_PER_DAY
            + i128::from(self.nanos_of_day)
    }

    /// Nanoseconds since the Unix epoch, UTC (implicit timezone UTC).
    pub fn instant(&self) -> i128 {
        self.local_nanos() - tz_nanos(self.tz)
    }

    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// The date part, keeping the timezone.
    pub fn date(&self) -> Date {
        Date {
            year: self.year,
            month: self.month,
            day: self.day,
            tz: self.tz,
        }
    }

    /// The time part, keeping the timezone.
    pub fn time(&self) -> Time {
        Time {
            nanos_of_day: self.nanos_of_day,
            tz: self.tz,
        }
    }

    /// Ordering per `op:dateTime-less-than` (implicit timezone UTC).
    pub fn compare(&self, other: &DateTime) -> Ordering {
        self.instant().cmp(&other.instant())
    }

    /// `dateTime-add-dayTimeDuration`; subtraction passes the negated duration. Keeps the
    /// timezone. `None` when the result is out of range.
    pub fn add_day_time(&self, d: &DayTimeDuration, negate: bool) -> Option<DateTime> {
        let delta = if negate {
            -d.total_nanos()
        } else {
            d.total_nanos()
        };
        DateTime::from_local_nanos(self.local_nanos().checked_add(delta)?, self.tz)
    }

    /// `dateTime-add-yearMonthDuration`: adds months, pinning the day to the end of a shorter
    /// month (XML Schema Appendix E). `None` when out of range.
    pub fn add_months(&self, months: i64) -> Option<DateTime> {
        let (year, month, day) = add_months(self.year, self.month, self.day, months)?;
        Some(DateTime {
            year,
            month,
            day,
            ..*self
        })
    }
}

impl PartialEq for DateTime {
    fn eq(&self, other: &Self) -> bool {
        self.compare(other) == Ordering::Equal
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}T", self.date_no_tz())?;
        write_clock(f, self.nanos_of_day)?;
        write_tz(f, self.tz)
    }
}

impl DateTime {
    fn date_no_tz(&self) -> Date {
        Date {
            tz: None,
            ..self.date()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// durations

/// `xs:dayTimeDuration`: days, hours, minutes and seconds, kept as written.
#[derive(Clone, Copy, Debug)]
pub struct DayTimeDuration {
    negative: bool,
    days: u64,
    hours: u64,
    minutes: u64,
    seconds: u64,
    nanos: u32,
}

impl DayTimeDuration {
    /// Parses `-?P(nD)?(T(nH)?(nM)?(n(.n)?S)?)?` with at least one component.
    pub fn parse(s: &str) -> Result<DayTimeDuration, &'static str> {
        let mut c = Cursor::new(s);
        let negative = c.eat(b'-');
        c.expect(b'P', "a duration starts with 'P'")?;
        let mut d = DayTimeDuration {
            negative,
            days: 0,
            hours: 0,
            minutes: 0,
            seconds: 0,
            nanos: 0,
        };
        let mut any = false;
        let mut in_time = false;
        // Allowed designators in order; each may appear at most once.
        let mut next_allowed = 0;
        while !c.at_end() {
            if c.eat(b'T') {
                if in_time {
                    return Err("'T' may appear only once");
                }
                in_time = true;
                if c.at_end() {
                    return Err("'T' must be followed by hours, minutes or seconds");
                }
                next_allowed = next_allowed.max(1);
                continue;
            }
            let digits = c.digits();
            if digits.is_empty() {
                return Err("expected a number");
            }
            let v = digits_value(digits, MAX_COMPONENT).ok_or("a component is too large")?;
            let mut nanos = 0u32;
            let has_frac = c.eat(b'.');
            if has_frac {
                let frac = c.digits();
                if frac.is_empty() {
                    return Err("expected digits after '.'");
                }
                for i in 0..9 {
                    nanos = nanos * 10 + frac.get(i).map_or(0, |&d| u32::from(d - b'0'));
                }
            }
            let (slot, designator_ok) = match c.peek() {
                Some(b'D') if !in_time => (1, true),
                Some(b'H') if in_time => (2, true),
                Some(b'M') if in_time => (3, true),
                Some(b'S') if in_time => (4, true),
                _ => (0, false),
            };
            if !designator_ok {
                return Err("expected D, or H, M, S after 'T'");
            }
            if slot <= next_allowed {
                return Err("components are out of order or repeated");
            }
            if has_frac && slot != 4 {
                return Err("only seconds may have a fraction");
            }
            c.pos += 1;
            next_allowed = slot;
            any = true;
            match slot {
                1 => d.days = v,
                2 => d.hours = v,
                3 => d.minutes = v,
                _ => {
                    d.seconds = v;
                    d.nanos = nanos;
                }
            }
        }
        if !any {
            return Err("a duration needs at least one component");
        }
        Ok(d)
    }

    /// The signed length in nanoseconds.
    pub fn total_nanos(&self) -> i128 {
        let secs = i128::from(self.days) * 86_400
            + i128::from(self.hours) * 3600
            + i128::from(self.minutes) * 60
            + i128::from(self.seconds);
        let n = secs * NANOS_PER_SEC + i128::from(self.nanos);
        if self.negative {
            -n
        } else {
            n
        }
    }
}

impl PartialEq for DayTimeDuration {
    fn eq(&self, other: &Self) -> bool {
        self.total_nanos() == other.total_nanos()
    }
}

impl fmt::Display for DayTimeDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.total_nanos() == 0 {
            return f.write_str("PT0S");
        }
        if self.negative {
            f.write_str("-")?;
        }
        f.write_str("P")?;
        if self.days != 0 {
            write!(f, "{}D", self.days)?;
        }
        if self.hours != 0 || self.minutes != 0 || self.seconds != 0 || self.nanos != 0 {
            f.write_str("T")?;
            if self.hours != 0 {
                write!(f, "{}H", self.hours)?;
            }
            if self.minutes != 0 {
                write!(f, "{}M", self.minutes)?;
            }
            if self.seconds != 0 || self.nanos != 0 {
                write!(f, "{}", self.seconds)?;
                write_frac(f, self.nanos)?;
                f.write_str("S")?;
            }
        }
        Ok(())
    }
}

/// `xs:yearMonthDuration`: years and months, kept as written.
#[derive(Clone, Copy, Debug)]
pub struct YearMonthDuration {
    negative: bool,
    years: u64,
    months: u64,
}

impl YearMonthDuration {
    /// Parses `-?P(nY)?(nM)?` with at least one component.
    pub fn parse(s: &str) -> Result<YearMonthDuration, &'static str> {
        let mut c = Cursor::new(s);
        let negative = c.eat(b'-');
        c.expect(b'P', "a duration starts with 'P'")?;
        let mut d = YearMonthDuration {
            negative,
            years: 0,
            months: 0,
        };
        let mut seen_y = false;
        let mut seen_m = false;
        while !c.at_end() {
            let digits = c.digits();
            if digits.is_empty() {
                return Err("expected a number followed by Y or M");
            }
            let v = digits_value(digits, MAX_COMPONENT).ok_or("a component is too large")?;
            if c.eat(b'Y') && !seen_y && !seen_m {
                seen_y = true;
                d.years = v;
            } else if c.eat(b'M') && !seen_m {
                seen_m = true;
                d.months = v;
            } else {
                return Err("expected nY then nM, each at most once");
            }
        }
        if !seen_y && !seen_m {
            return Err("a duration needs at least one component");
        }
        Ok(d)
    }

    /// The signed length in months.
    pub fn total_months(&self) -> i64 {
        // Components are capped at MAX_COMPONENT, so this cannot overflow.
        let n = self.years as i64 * 12 + self.months as i64;
        if self.negative {
            -n
        } else {
            n
        }
    }
}

impl PartialEq for YearMonthDuration {
    fn eq(&self, other: &Self) -> bool {
        self.total_months() == other.total_months()
    }
}

impl fmt::Display for YearMonthDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.total_months() == 0 {
            return f.write_str("P0M");
        }
        if self.negative {
            f.write_str("-")?;
        }
        f.write_str("P")?;
        if self.years != 0 {
            write!(f, "{}Y", self.years)?;
        }
        if self.months != 0 {
            write!(f, "{}M", self.months)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str) -> DateTime {
        DateTime::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn calendar_round_trip() {
        for days in [-1_000_000i64, -719_468, -1, 0, 1, 11_016, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn time_lexical_forms() {
        assert_eq!(Time::parse("13:20:00").unwrap().to_string(), "13:20:00");
        assert_eq!(
            Time::parse("13:20:00.500-05:00").unwrap().to_string(),
            "13:20:00.5-05:00"
        );
        assert_eq!(
            Time::parse("08:23:47+00:00").unwrap().to_string(),
            "08:23:47Z"
        );
        // XML Schema 1.0: 24:00:00 is the same as 00:00:00.
        assert_eq!(
            Time::parse("24:00:00").unwrap(),
            Time::parse("00:00:00").unwrap()
        );
        for bad in [
            "",
            "1:20:00",
            "13:60:00",
            "13:20:60",
            "25:00:00",
            "24:00:01",
            "13:20",
            "13:20:00+15:00",
            "13:20:00+01",
            "13:20:00 ",
            "13:20:00.",
            "13:20:00Zx",
        ] {
            assert!(Time::parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn time_comparison_uses_timezones() {
        // XQuery op:time-equal example: 08:00:00+09:00 and 17:00:00-06:00 are false, because
        // on the reference date 1972-12-31 they fall on different days (23:00Z on the 30th
        // and 23:00Z on the 31st).
        assert_ne!(
            Time::parse("08:00:00+09:00").unwrap(),
            Time::parse("17:00:00-06:00").unwrap()
        );
        // Without a timezone the implicit one is UTC.
        assert_eq!(
            Time::parse("12:00:00").unwrap(),
            Time::parse("12:00:00Z").unwrap()
        );
        assert_eq!(
            Time::parse("12:00:00-01:00")
                .unwrap()
                .compare(&Time::parse("12:30:00Z").unwrap()),
            Ordering::Greater
        );
    }

    #[test]
    fn date_lexical_forms() {
        assert_eq!(Date::parse("2002-10-10").unwrap().to_string(), "2002-10-10");
        assert_eq!(
            Date::parse("2002-10-10+13:00").unwrap().to_string(),
            "2002-10-10+13:00"
        );
        assert_eq!(
            Date::parse("-0044-03-15").unwrap().to_string(),
            "-0044-03-15"
        );
        assert_eq!(
            Date::parse("12004-02-29").unwrap().to_string(),
            "12004-02-29"
        );
        assert!(Date::parse("2000-02-29").is_ok());
        for bad in [
            "2001-02-29",
            "1900-02-29",
            "02-10-10",
            "2002-13-01",
            "2002-00-01",
            "2002-04-31",
            "02002-01-01",
            "2002-1-01",
            "2002-10-10T00:00:00",
        ] {
            assert!(Date::parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn date_comparison_uses_starting_instants() {
        // XQuery op:date-equal examples (implicit timezone taken as UTC here).
        assert_ne!(
            Date::parse("2004-12-25Z").unwrap(),
            Date::parse("2004-12-25+07:00").unwrap()
        );
        assert_eq!(
            Date::parse("2004-12-25-12:00").unwrap(),
            Date::parse("2004-12-26+12:00").unwrap()
        );
        assert_eq!(
            Date::parse("2004-12-25")
                .unwrap()
                .compare(&Date::parse("2004-12-26").unwrap()),
            Ordering::Less
        );
    }

    #[test]
    fn date_time_lexical_forms() {
        assert_eq!(
            dt("2002-05-30T09:30:10.5Z").to_string(),
            "2002-05-30T09:30:10.5Z"
        );
        assert_eq!(
            dt("2002-05-30T09:30:10-06:00").to_string(),
            "2002-05-30T09:30:10-06:00"
        );
        // XML Schema 1.0: 24:00:00 is the first instant of the next day.
        assert_eq!(dt("1999-12-31T24:00:00").to_string(), "2000-01-01T00:00:00");
        for bad in [
            "2002-05-30",
            "2002-05-30T09:30",
            "2002-05-30 09:30:10",
            "2002-05-30T09:30:10+2",
        ] {
            assert!(DateTime::parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn date_time_equality_is_instant_equality() {
        // XQuery op:dateTime-equal examples.
        assert_eq!(
            dt("2002-04-02T12:00:00-01:00"),
            dt("2002-04-02T17:00:00+04:00")
        );
        assert_ne!(dt("2002-04-02T12:00:00"), dt("2002-04-02T23:00:00+06:00"));
        assert_eq!(dt("2002-04-02T12:00:00"), dt("2002-04-02T12:00:00Z"));
        assert_eq!(dt("2005-04-04T24:00:00"), dt("2005-04-05T00:00:00"));
        assert_eq!(
            dt("2002-04-02T12:00:00-01:00").compare(&dt("2002-04-02T12:30:00Z")),
            Ordering::Greater
        );
    }

    #[test]
    fn add_day_time_duration() {
        let d = DayTimeDuration::parse("P3DT1H").unwrap();
        assert_eq!(
            dt("2000-10-30T11:12:00")
                .add_day_time(&d, false)
                .unwrap()
                .to_string(),
            "2000-11-02T12:12:00"
        );
        let d = DayTimeDuration::parse("P3DT1H15M").unwrap();
        assert_eq!(
            dt("2000-10-30T11:12:00")
                .add_day_time(&d, true)
                .unwrap()
                .to_string(),
            "2000-10-27T09:57:00"
        );
        // Negative durations and crossing a leap day.
        let d = DayTimeDuration::parse("-PT1S").unwrap();
        assert_eq!(
            dt("2000-03-01T00:00:00Z")
                .add_day_time(&d, false)
                .unwrap()
                .to_string(),
            "2000-02-29T23:59:59Z"
        );
    }

    #[test]
    fn add_year_month_duration_pins_the_day() {
        // XQuery fn:dateTime-add-yearMonthDuration examples.
        let d = YearMonthDuration::parse("P1Y2M").unwrap();
        assert_eq!(
            dt("2000-10-30T11:12:00")
                .add_months(d.total_months())
                .unwrap()
                .to_string(),
            "2001-12-30T11:12:00"
        );
        let d = YearMonthDuration::parse("P1Y2M").unwrap();
        assert_eq!(
            dt("2000-10-30T11:12:00")
                .add_months(-d.total_months())
                .unwrap()
                .to_string(),
            "1999-08-30T11:12:00"
        );
        let d = YearMonthDuration::parse("P1Y").unwrap();
        assert_eq!(
            Date::parse("2000-02-29Z")
                .unwrap()
                .add_months(-d.total_months())
                .unwrap()
                .to_string(),
            "1999-02-28Z"
        );
        let d = YearMonthDuration::parse("-P2Y11M").unwrap();
        assert_eq!(
            Date::parse("2000-10-30")
                .unwrap()
                .add_months(-d.total_months())
                .unwrap()
                .to_string(),
            "2003-09-30"
        );
        assert_eq!(
            Date::parse("2000-01-31")
                .unwrap()
                .add_months(1)
                .unwrap()
                .to_string(),
            "2000-02-29"
        );
        assert!(Date::parse("999999999-12-31")
            .unwrap()
            .add_months(1)
            .is_none());
    }

    #[test]
    fn day_time_duration_lexical_forms() {
        for ok in [
            "P3DT10H30M",
            "PT5H",
            "-PT0.5S",
            "P12DT148H18M21S",
            "P50DT5H4M3S",
            "PT1.25S",
        ] {
            assert_eq!(DayTimeDuration::parse(ok).unwrap().to_string(), ok);
        }
        assert_eq!(DayTimeDuration::parse("P0D").unwrap().to_string(), "PT0S");
        assert_eq!(
            DayTimeDuration::parse("PT36H").unwrap(),
            DayTimeDuration::parse("P1DT12H").unwrap()
        );
        for bad in [
            "P", "PT", "P1Y", "P1M", "PT1D", "P1H", "1D", "P1DT", "PT1.5M", "P-1D", "PT1S1M",
            "P1D1D",
        ] {
            assert!(
                DayTimeDuration::parse(bad).is_err(),
                "{bad:?} should not parse"
            );
        }
    }

    #[test]
    fn year_month_duration_lexical_forms() {
        for ok in ["P1Y2M", "-P5Y3M", "P18M", "P3Y", "-P28Y7M"] {
            assert_eq!(YearMonthDuration::parse(ok).unwrap().to_string(), ok);
        }
        assert_eq!(
            YearMonthDuration::parse("P18M").unwrap(),
            YearMonthDuration::parse("P1Y6M").unwrap()
        );
        for bad in ["P", "P1D", "PT1H", "P1M1Y", "P1.5Y", "-P", "P1Y1Y"] {
            assert!(
                YearMonthDuration::parse(bad).is_err(),
                "{bad:?} should not parse"
            );
        }
    }
}
