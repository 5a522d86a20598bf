//! Bounds of numeric flags, in one wording: clap checks them when it parses the command line,
//! and a request built without clap (tests, other commands) is checked again when it runs.

/// Seconds greater than 0 and at most `max` (a zero timeout would fail every request at once).
pub fn seconds(v: f64, max: u32) -> Result<f64, String> {
    if v.is_finite() && v > 0.0 && v <= f64::from(max) {
        Ok(v)
    } else {
        Err(format!("expected seconds greater than 0 and at most {max}"))
    }
}

/// A count from 1 to `max`.
pub fn count(v: usize, max: usize) -> Result<usize, String> {
    if (1..=max).contains(&v) {
        Ok(v)
    } else {
        Err(format!("expected a whole number from 1 to {max}"))
    }
}

/// clap parser: seconds in (0, `max`].
pub fn seconds_flag(max: u32) -> impl Fn(&str) -> Result<f64, String> + Clone + Send + Sync {
    move |s| {
        let v: f64 = s
            .trim()
            .parse()
            .map_err(|_| format!("expected seconds greater than 0 and at most {max}"))?;
        seconds(v, max)
    }
}

/// clap parser: a count in 1..=`max`.
pub fn count_flag(max: usize) -> impl Fn(&str) -> Result<usize, String> + Clone + Send + Sync {
    move |s| {
        let v: usize = s
            .trim()
            .parse()
            .map_err(|_| format!("expected a whole number from 1 to {max}"))?;
        count(v, max)
    }
}

/// The most seconds `--timeout` (per API request) may be.
pub const API_TIMEOUT_MAX: u32 = 3600;
/// The most seconds `--probe-timeout` and `--firmware-timeout` may be.
pub const PROBE_TIMEOUT_MAX: u32 = 600;
/// The most probes `--concurrency` allows in flight.
pub const CONCURRENCY_MAX: usize = 4096;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_and_nonsense_are_refused_with_the_bounds() {
        let t = seconds_flag(3600);
        assert_eq!(t("2.5"), Ok(2.5));
        assert_eq!(t("3600"), Ok(3600.0));
        for bad in ["0", "-1", "3601", "nan", "inf", "ten"] {
            assert_eq!(
                t(bad),
                Err("expected seconds greater than 0 and at most 3600".to_string()),
                "{bad}"
            );
        }
        let c = count_flag(4096);
        assert_eq!(c("32"), Ok(32));
        assert_eq!(
            c("0"),
            Err("expected a whole number from 1 to 4096".to_string())
        );
        assert_eq!(
            c("4097"),
            Err("expected a whole number from 1 to 4096".to_string())
        );
        assert!(c("-1").is_err());
    }
}
