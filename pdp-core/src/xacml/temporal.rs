//! placeholder
#[derive(Clone, Debug)]
pub struct Time;
#[derive(Clone, Debug)]
pub struct Date;
#[derive(Clone, Debug)]
pub struct DateTime;
#[derive(Clone, Debug)]
pub struct DayTimeDuration;
#[derive(Clone, Debug)]
pub struct YearMonthDuration;
