//! When a failed delivery is tried again: exponential steps with jitter, over more than a day.
use std::time::Duration;

/// Delays between attempts: after the n-th failed attempt the delivery waits `steps[n-1]`
/// (±20 % jitter, so receivers recovering from an outage are not hit in lockstep); after the
/// last step's attempt fails, the delivery is Dead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetrySchedule {
    steps: Vec<Duration>,
}

impl Default for RetrySchedule {
    /// 5 s, 30 s, 2 m, 10 m, 30 m, 1 h, 3 h, 6 h, 12 h, 12 h: eleven attempts over ~34.7 h.
    fn default() -> RetrySchedule {
        RetrySchedule::parse("5s,30s,2m,10m,30m,1h,3h,6h,12h,12h").expect("the default schedule parses")
    }
}

impl RetrySchedule {
    /// Parses `STOWAWAY_CALLBACK_RETRY_SCHEDULE`: comma-separated durations with a unit
    /// (`ms`, `s`, `m`, `h`), e.g. `5s,30s,2m`. An empty list means no retries.
    pub fn parse(spec: &str) -> Result<RetrySchedule, String> {
        let steps = spec
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(parse_duration)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RetrySchedule { steps })
    }

    /// The wait after `failed` attempts (counted since the last resend), or None when the
    /// schedule is used up.
    pub fn delay_after(&self, failed: u32) -> Option<Duration> {
        let step = *self.steps.get(failed.checked_sub(1)? as usize)?;
        Some(step.mul_f64(0.8 + 0.4 * fastrand::f64()))
    }

    /// The attempts a delivery gets: the first plus one per step.
    pub fn attempts(&self) -> usize {
        self.steps.len() + 1
    }

    /// The nominal time from the first attempt to the last.
    pub fn span(&self) -> Duration {
        self.steps.iter().sum()
    }
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().map_err(|_| format!("{s:?} is not a duration like 500ms, 5s, 2m or 1h"))?;
    let unit_ms = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return Err(format!("{s:?} has no unit: use ms, s, m or h")),
    };
    Ok(Duration::from_millis(n.saturating_mul(unit_ms)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_schedule_spans_more_than_a_day() {
        let s = RetrySchedule::default();
        assert!(s.span() > Duration::from_secs(24 * 3600), "{:?}", s.span());
        assert_eq!(s.attempts(), 11);
    }

    #[test]
    fn delays_follow_the_steps_with_jitter() {
        let s = RetrySchedule::parse("100ms, 2s,1m").unwrap();
        assert_eq!(s.delay_after(0), None);
        for _ in 0..100 {
            let d = s.delay_after(2).unwrap();
            assert!(d >= Duration::from_millis(1600) && d <= Duration::from_millis(2400), "{d:?}");
        }
        assert!(s.delay_after(3).unwrap() >= Duration::from_secs(48));
        assert_eq!(s.delay_after(4), None);
        assert_eq!(RetrySchedule::parse("").unwrap().delay_after(1), None);
    }

    #[test]
    fn bad_schedules_are_refused() {
        for bad in ["5", "5x", "s", "-1s", "1.5s"] {
            assert!(RetrySchedule::parse(bad).is_err(), "{bad}");
        }
    }
}
