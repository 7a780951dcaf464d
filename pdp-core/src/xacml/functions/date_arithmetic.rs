//! Date and time arithmetic (A.3.7): adding and subtracting durations.
//!
//! The result keeps the timezone of the date argument (XML Schema Appendix E); a day that does
//! not exist in the resulting month is pinned to the month's last day. A result beyond the
//! supported year range is a processing error.

use crate::xacml::value::Value;

use super::args::{
    self, fixed, fn_id, ret, DATE, DATE_TIME, DAY_TIME_DURATION, YEAR_MONTH_DURATION,
};
use super::registry::Entry;
use super::{FnError, Function, StrictFn, Val};

fn out_of_range() -> FnError {
    FnError::new("date arithmetic: the result is outside the supported range of years")
}

fn date_time_day_time(a: &[Val], negate: bool) -> Result<Val, FnError> {
    match (args::single(a, 0)?, args::single(a, 1)?) {
        (Value::DateTime(t), Value::DayTimeDuration(d)) => ret(Value::DateTime(
            t.add_day_time(d, negate).ok_or_else(out_of_range)?,
        )),
        _ => Err(FnError::new("expected a dateTime and a dayTimeDuration")),
    }
}

fn date_time_year_month(a: &[Val], negate: bool) -> Result<Val, FnError> {
    match (args::single(a, 0)?, args::single(a, 1)?) {
        (Value::DateTime(t), Value::YearMonthDuration(d)) => {
            let months = if negate {
                -d.total_months()
            } else {
                d.total_months()
            };
            ret(Value::DateTime(
                t.add_months(months).ok_or_else(out_of_range)?,
            ))
        }
        _ => Err(FnError::new("expected a dateTime and a yearMonthDuration")),
    }
}

fn date_year_month(a: &[Val], negate: bool) -> Result<Val, FnError> {
    match (args::single(a, 0)?, args::single(a, 1)?) {
        (Value::Date(t), Value::YearMonthDuration(d)) => {
            let months = if negate {
                -d.total_months()
            } else {
                d.total_months()
            };
            ret(Value::Date(t.add_months(months).ok_or_else(out_of_range)?))
        }
        _ => Err(FnError::new("expected a date and a yearMonthDuration")),
    }
}

pub(super) static DATE_TIME_ADD_DAY_TIME_DURATION: StrictFn = fixed(
    fn_id!("3.0", "dateTime-add-dayTimeDuration"),
    &[DATE_TIME, DAY_TIME_DURATION],
    DATE_TIME,
    |a| date_time_day_time(a, false),
);
pub(super) static DATE_TIME_SUBTRACT_DAY_TIME_DURATION: StrictFn = fixed(
    fn_id!("3.0", "dateTime-subtract-dayTimeDuration"),
    &[DATE_TIME, DAY_TIME_DURATION],
    DATE_TIME,
    |a| date_time_day_time(a, true),
);
pub(super) static DATE_TIME_ADD_YEAR_MONTH_DURATION: StrictFn = fixed(
    fn_id!("3.0", "dateTime-add-yearMonthDuration"),
    &[DATE_TIME, YEAR_MONTH_DURATION],
    DATE_TIME,
    |a| date_time_year_month(a, false),
);
pub(super) static DATE_TIME_SUBTRACT_YEAR_MONTH_DURATION: StrictFn = fixed(
    fn_id!("3.0", "dateTime-subtract-yearMonthDuration"),
    &[DATE_TIME, YEAR_MONTH_DURATION],
    DATE_TIME,
    |a| date_time_year_month(a, true),
);
pub(super) static DATE_ADD_YEAR_MONTH_DURATION: StrictFn = fixed(
    fn_id!("3.0", "date-add-yearMonthDuration"),
    &[DATE, YEAR_MONTH_DURATION],
    DATE,
    |a| date_year_month(a, false),
);
pub(super) static DATE_SUBTRACT_YEAR_MONTH_DURATION: StrictFn = fixed(
    fn_id!("3.0", "date-subtract-yearMonthDuration"),
    &[DATE, YEAR_MONTH_DURATION],
    DATE,
    |a| date_year_month(a, true),
);

/// Each function under its XACML 3.0 id and its deprecated 1.0 id (section 10.2.8).
macro_rules! both_ids {
    ($( $stat:ident: $name:literal; )*) => {
        pub(super) static ENTRIES: &[Entry] = &[
            $(
                (fn_id!("3.0", $name), Function::Strict(&$stat)),
                (fn_id!("1.0", $name), Function::Strict(&$stat)),
            )*
        ];
    };
}

both_ids! {
    DATE_TIME_ADD_DAY_TIME_DURATION: "dateTime-add-dayTimeDuration";
    DATE_TIME_SUBTRACT_DAY_TIME_DURATION: "dateTime-subtract-dayTimeDuration";
    DATE_TIME_ADD_YEAR_MONTH_DURATION: "dateTime-add-yearMonthDuration";
    DATE_TIME_SUBTRACT_YEAR_MONTH_DURATION: "dateTime-subtract-yearMonthDuration";
    DATE_ADD_YEAR_MONTH_DURATION: "date-add-yearMonthDuration";
    DATE_SUBTRACT_YEAR_MONTH_DURATION: "date-subtract-yearMonthDuration";
}

#[cfg(test)]
mod tests {
    use super::super::args::testing::*;
    use super::*;
    use crate::xacml::datatype::DataType as T;

    #[test]
    fn date_time_and_day_time_duration() {
        // XQuery op:add-dayTimeDuration-to-dateTime example.
        let r = show(
            &DATE_TIME_ADD_DAY_TIME_DURATION,
            &[
                v(T::DateTime, "2000-10-30T11:12:00"),
                v(T::DayTimeDuration, "P3DT1H15M"),
            ],
        );
        assert_eq!(r, "2000-11-02T12:27:00");
        // XQuery op:subtract-dayTimeDuration-from-dateTime example.
        let r = show(
            &DATE_TIME_SUBTRACT_DAY_TIME_DURATION,
            &[
                v(T::DateTime, "2000-10-30T11:12:00"),
                v(T::DayTimeDuration, "P3DT1H15M"),
            ],
        );
        assert_eq!(r, "2000-10-27T09:57:00");
        // The timezone is kept.
        let r = show(
            &DATE_TIME_ADD_DAY_TIME_DURATION,
            &[
                v(T::DateTime, "2002-12-31T23:00:00-05:00"),
                v(T::DayTimeDuration, "PT2H"),
            ],
        );
        assert_eq!(r, "2003-01-01T01:00:00-05:00");
    }

    #[test]
    fn year_month_duration() {
        // XQuery op:add-yearMonthDuration-to-dateTime / -date examples.
        let r = show(
            &DATE_TIME_ADD_YEAR_MONTH_DURATION,
            &[
                v(T::DateTime, "2000-10-30T11:12:00"),
                v(T::YearMonthDuration, "P1Y2M"),
            ],
        );
        assert_eq!(r, "2001-12-30T11:12:00");
        let r = show(
            &DATE_TIME_SUBTRACT_YEAR_MONTH_DURATION,
            &[
                v(T::DateTime, "2000-10-30T11:12:00"),
                v(T::YearMonthDuration, "P1Y2M"),
            ],
        );
        assert_eq!(r, "1999-08-30T11:12:00");
        let r = show(
            &DATE_ADD_YEAR_MONTH_DURATION,
            &[v(T::Date, "2000-10-30"), v(T::YearMonthDuration, "P1Y2M")],
        );
        assert_eq!(r, "2001-12-30");
        let r = show(
            &DATE_SUBTRACT_YEAR_MONTH_DURATION,
            &[v(T::Date, "2000-02-29Z"), v(T::YearMonthDuration, "P1Y")],
        );
        assert_eq!(r, "1999-02-28Z");
        let r = show(
            &DATE_SUBTRACT_YEAR_MONTH_DURATION,
            &[v(T::Date, "2000-10-30"), v(T::YearMonthDuration, "-P1Y2M")],
        );
        assert_eq!(r, "2001-12-30");
    }

    #[test]
    fn out_of_range_results_are_errors() {
        fails(
            &DATE_ADD_YEAR_MONTH_DURATION,
            &[
                v(T::Date, "999999999-12-01"),
                v(T::YearMonthDuration, "P1M"),
            ],
        );
        fails(
            &DATE_TIME_ADD_DAY_TIME_DURATION,
            &[
                v(T::DateTime, "999999999-12-31T23:00:00"),
                v(T::DayTimeDuration, "PT1H"),
            ],
        );
        fails(&DATE_ADD_YEAR_MONTH_DURATION, &[i(1), i(2)]);
    }
}
